"""The test harness every issue builds on: real databases, a real Redis, a real HTTP fake of the SMS
gateway, a live server and headless Chromium at a phone's viewport.

DATABASE_URL naming PostgreSQL runs the suite there (in a fresh database created for the run);
otherwise it runs on SQLite. REDIS_URL names the Redis to use (its database is emptied before each
test); unset, an embedded server is started for the run.

ENGAGE_TEST_ONE_APP=1 (what `make test-fast` sets) builds the app once per worker instead of once per
test: `create_app` registers some 440 handlers, about 0.6 s of CPU, which was half of the fast lane.
Each worker then keeps one SQLite file and one var folder, emptied between tests as the PostgreSQL
database always is, and the app's state is put back after each test. `make test` builds a fresh app
for every test.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis
from argon2 import PasswordHasher, profiles
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engage.accounts import credentials
from engage.app import create_app
from engage.db import make_sync_engine
from engage.migrate import upgrade
from engage.models import Base
from engage.residents.models import Community
from engage.settings import Settings
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import (
    TEXTING_COMMUNITIES,
    NoticeDistrict,
    PanelDistrict,
    Texting,
    add_volunteers,
    token_for,
)
from tests.support import (
    PHONE,
    ROOT,
    TWILIO_SID,
    TWILIO_TOKEN,
    LiveServer,
    listening_socket,
    make_settings,
    twilio_environment,
    url_of,
)
from workers import context

OUTPUT = Path(os.environ.get("TEST_OUTPUT", ROOT / "test-output"))


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgresql", "postgres")) else None


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


# What the tests check is what is hashed and verified, not what it costs (0.2 s a hash in production).
credentials.use_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))

ONE_APP = os.environ.get("ENGAGE_TEST_ONE_APP") == "1"
_apps: dict[str, Litestar] = {}  # one app per settings, in this worker (ONE_APP only)


@pytest.fixture(scope="session")
def worker_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker")


@pytest.fixture
def sqlite_url(migrated_sqlite_template: Path, tmp_path: Path, worker_folder: Path) -> str:
    """A fresh, migrated SQLite database for this test (always available): a copy of the template, or
    with ONE_APP the worker's own file, emptied (its app may still hold connections to it)."""
    if ONE_APP:
        path = worker_folder / "engage.db"
        if path.exists():
            _empty_sqlite(path)
        else:
            shutil.copyfile(migrated_sqlite_template, path)
        return f"sqlite:///{path}"
    path = tmp_path / "engage.db"
    shutil.copyfile(migrated_sqlite_template, path)
    return f"sqlite:///{path}"


def _empty_sqlite(path: Path) -> None:
    """What _empty_postgres does, on SQLite: no rows, counters from 1, the audit guard back in place."""
    connection = sqlite3.connect(path, timeout=10)
    try:
        connection.execute("PRAGMA foreign_keys=OFF")
        for event in ("update", "delete"):
            connection.execute(f"DROP TRIGGER IF EXISTS audit_entries_no_{event}")
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(f'DELETE FROM "{table.name}"')
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            connection.execute("DELETE FROM sqlite_sequence")
        for event in ("UPDATE", "DELETE"):
            connection.execute(
                f"CREATE TRIGGER audit_entries_no_{event.lower()} BEFORE {event} ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
            )
        connection.execute("INSERT INTO audit_head (id, entries, last_hash) VALUES (1, 0, ?)", ("0" * 64,))
        connection.commit()
    finally:
        connection.close()


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


def _worker_database(url: str) -> str:
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    if worker == 0:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{int(parts.path.lstrip('/') or 0) + worker}"))


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL, or an embedded Redis of this run. Each test empties its database, so under
    pytest-xdist worker gwN takes database N places after REDIS_URL's (-n 2 with /11 uses 11 and 12);
    without REDIS_URL each worker starts its own embedded server (and uses database N on it)."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield _worker_database(url)
        return
    from engage.redis_embedded import start

    url, process = start(tmp_path_factory.mktemp("redis"))
    # Its own database number too: should two workers' servers ever be given the same port, they
    # still would not empty each other's data.
    yield _worker_database(url)
    process.terminate()
    process.wait(10)


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    redis.Redis.from_url(redis_server_url).flushdb()
    return redis_server_url


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path, worker_folder: Path) -> Settings:
    if ONE_APP:
        var = worker_folder / "var"
        shutil.rmtree(var, ignore_errors=True)
        return make_settings(database_url, redis_url, var)
    return make_settings(database_url, redis_url, tmp_path / "var")


@pytest.fixture
def app(settings: Settings) -> Iterator[Litestar]:
    if not ONE_APP:
        yield create_app(settings)
        return
    key = settings.model_dump_json()
    if key not in _apps:
        _apps[key] = create_app(settings)
    app = _apps[key]
    _forget_connections(app)
    state = dict(app.state)
    yield app
    app.state.update(state)  # a test may plug in its own source or handler


def _forget_connections(app: Litestar) -> None:
    """Pooled connections belong to the event loop of the test that opened them; each test runs its own
    loop, so the next one starts with empty pools (dropped, not closed: their loop may be gone)."""
    app.state.redis.connection_pool.reset()
    app.state.db_sessions.kw["bind"].sync_engine.dispose(close=False)


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


@pytest.fixture
def live_server(app: Litestar) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(TWILIO_SID, TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture
def twilio_settings(database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio) -> Settings:
    """Settings whose SMS gateway is the real twilio SDK, pointed at the local fake."""
    return make_settings(database_url, redis_url, tmp_path / "var", **twilio_environment(fake_twilio))


@pytest.fixture(scope="session")
def output_dir(request: pytest.FixtureRequest) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


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
    for the whole session (the browser is session-scoped), which async tests after it cannot share.
    Before them the slow tests go first, so that two workers do not end on one long test each."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("browser") is not None,
            item.get_closest_marker("slow") is None,
        )
    )


# Districts the tests of more than one domain stand on (a domain's own are in tests/<domain>/conftest.py).


@pytest.fixture
def signup_district(db: Any) -> None:
    """Two communities a resident can sign up in on the pages: 五里河 (wulihe) and 南塔 (nanta)."""
    db.add_all(
        [
            Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"),
            Community(code="nanta", name_zh="南塔社区", name_en="Nanta"),
        ]
    )
    db.commit()


@pytest.fixture
def sms_district(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Any
) -> Iterator[Texting]:
    """A live server that knows its own public address (Twilio signs it), with three communities, and
    phones that text it through the fake gateway."""
    sock = listening_socket()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=url_of(sock),
        **twilio_environment(fake_twilio),
    )
    db.add_all([Community(code=code, name_zh=zh, name_en=en) for code, zh, en in TEXTING_COMMUNITIES])
    db.commit()
    with LiveServer(create_app(settings), sock) as server:
        yield Texting(fake_twilio, settings, server.url)


@pytest.fixture
def panel_district(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Any
) -> Iterator[PanelDistrict]:
    """A live server that knows its public address (Twilio signs it), 300 volunteers, an organizer."""
    sock = listening_socket()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=url_of(sock),
        **twilio_environment(fake_twilio),
    )
    add_volunteers(db)
    headers = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}
    with LiveServer(create_app(settings), sock) as server:
        yield PanelDistrict(fake_twilio, settings, server.url, headers, db)


@pytest.fixture
def panel_staff(client: TestClient[Litestar], settings: Settings, db: Any) -> dict[str, str]:
    """300 volunteers (every fourth reads English) and an organizer's bearer headers, for panels made
    through the test client; jobs called directly run in this process, on the test's database."""
    add_volunteers(db)
    context.use(settings)
    return {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}


@pytest.fixture
def notice_staff(settings: Settings, client: TestClient[Litestar]) -> dict[str, str]:
    """An organizer's bearer headers for notices and objections; the test client's pages in English
    unless a test asks otherwise; jobs called directly run in this process, on the test's database."""
    context.use(settings)
    client.headers["Accept-Language"] = "en"
    return {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}


@pytest.fixture
def notice_district(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Any
) -> Iterator[NoticeDistrict]:
    """A live server that knows its public address (Twilio signs it and posts reports there), two
    communities, and an organizer's API client."""
    sock = listening_socket()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=url_of(sock),
        **twilio_environment(fake_twilio),
    )
    db.add_all(
        [
            Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"),
            Community(code="dongxing", name_zh="东兴社区", name_en="Dongxing"),
        ]
    )
    db.commit()
    token = token_for(settings, "lin@district.gov.cn", "organizer")
    with LiveServer(create_app(settings), sock) as server:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
            yield NoticeDistrict(settings, server.url, api, fake_twilio)
