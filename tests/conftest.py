"""The test harness every issue builds on: real databases, a real Redis, a real HTTP fake of the SMS
gateway, a live server and headless Chromium at a phone's viewport.

DATABASE_URL naming PostgreSQL runs the suite there (in a fresh database created for the run);
otherwise it runs on SQLite. REDIS_URL names the Redis to use (its database is emptied before each
test); unset, an embedded server is started for the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engage.app import create_app
from engage.db import make_sync_engine
from engage.migrate import upgrade
from engage.models import Base
from engage.settings import Settings, load_settings
from engage.testing.fake_twilio import FakeTwilio

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = Path(os.environ.get("TEST_OUTPUT", ROOT / "test-output"))
SECRET = "test-secret-key-0123456789abcdef"


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgresql", "postgres")) else None


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(migrated_sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database for this test (always available)."""
    path = tmp_path / "engage.db"
    shutil.copyfile(migrated_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str | None]:
    """A database of our own on the PostgreSQL server DATABASE_URL names, dropped after the run."""
    base = _postgres_url()
    if base is None:
        yield None
        return
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"engage_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    test_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade(test_url)
    yield test_url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = make_sync_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        # TRUNCATE fires no row triggers, so the append-only audit table can be emptied between tests.
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # A test may have dropped the append-only guard to play a tampering DBA; put it back.
        connection.execute(
            text(
                "CREATE OR REPLACE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
                "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
            )
        )
        connection.execute(
            text("INSERT INTO audit_head (id, entries, last_hash) VALUES (1, 0, :h)"), {"h": "0" * 64}
        )
    engine.dispose()


@pytest.fixture
def database_url(postgres_server_url: str | None, request: pytest.FixtureRequest) -> str:
    """The database under test: PostgreSQL when DATABASE_URL names it, else a fresh SQLite file."""
    if postgres_server_url is not None:
        _empty_postgres(postgres_server_url)
        return postgres_server_url
    return str(request.getfixturevalue("sqlite_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def each_database_url(request: pytest.FixtureRequest) -> str:
    """For tests that must hold on both databases in one run: SQLite always, PostgreSQL when named."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    url = request.getfixturevalue("postgres_server_url")
    if url is None:
        pytest.skip("PostgreSQL not configured (set DATABASE_URL=postgresql+psycopg://...)")
    _empty_postgres(url)
    return str(url)


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from engage.redis_embedded import start

    url, process = start(tmp_path_factory.mktemp("redis"))
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    redis.Redis.from_url(redis_server_url).flushdb()
    return redis_server_url


def make_settings(database_url: str, redis_url: str, var_dir: Path, **overrides: str) -> Settings:
    environ = {
        "ENGAGE_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "SMS_GATEWAY": "console",
        "PUBLIC_BASE_URL": "http://testserver.local",
        # No quiet hours unless a test sets them: texts must not depend on the hour the suite runs.
        "SMS_QUIET_HOURS": "",
    }
    environ.update(overrides)
    return load_settings(environ, var_dir=var_dir)


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, redis_url, tmp_path / "var")


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def db(settings: Settings) -> Iterator[Any]:
    """A sync session for arranging and checking data; commits when the test asks."""
    from sqlalchemy.orm import Session

    engine = make_sync_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    def __init__(self, app: Litestar, port: int | None = None) -> None:
        self.port = port or _free_port()  # a port chosen first, when the app must know its own address
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live_server(app: Litestar) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


TWILIO_SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "fake-auth-token-for-tests"
TWILIO_SERVICE = "MG" + "0" * 31 + "2"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(TWILIO_SID, TWILIO_TOKEN) as fake:
        yield fake


def twilio_environment(fake: FakeTwilio) -> dict[str, str]:
    """The settings that point the real twilio SDK at the local fake."""
    return {
        "SMS_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": TWILIO_SERVICE,
        "TWILIO_API_BASE_URL": fake.base_url,
    }


@pytest.fixture
def twilio_settings(database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio) -> Settings:
    """Settings whose SMS gateway is the real twilio SDK, pointed at the local fake."""
    return make_settings(database_url, redis_url, tmp_path / "var", **twilio_environment(fake_twilio))


def run_jobs(settings: Settings) -> None:
    """Work every queued job with a real rq worker in burst mode, in this process."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from engage.queues import WORKER_QUEUES, redis_connection
    from workers import context

    context.use(settings)
    assert settings.redis_url
    worker = SimpleWorker(
        [q.value for q in WORKER_QUEUES],
        connection=redis_connection(settings.redis_url),
        serializer=JSONSerializer,
    )
    worker.work(burst=True)


@pytest.fixture(scope="session")
def output_dir(request: pytest.FixtureRequest) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install chromium fonts-noto-cjk; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    """A fresh browser context at a phone's viewport (390x844), touch enabled."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main thread
    for the whole session (the browser is session-scoped), which async tests after it cannot share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
