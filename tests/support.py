"""The harness pieces a test calls itself: settings for a test, the SMS gateway fake's settings, a live
server, the job runner, and the environment of a real `engage` process a test starts. Fixtures are in
the conftest.py files; data and requests are in factories.py."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar

from engage.settings import Settings, load_settings
from engage.testing.fake_twilio import FakeTwilio

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-0123456789abcdef"
PHONE = {"width": 390, "height": 844}  # a phone's viewport, in CSS pixels
TWILIO_SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "fake-auth-token-for-tests"
TWILIO_SERVICE = "MG" + "0" * 31 + "2"


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


def twilio_environment(fake: FakeTwilio) -> dict[str, str]:
    """The settings that point the real twilio SDK at the local fake."""
    return {
        "SMS_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": TWILIO_SERVICE,
        "TWILIO_API_BASE_URL": fake.base_url,
    }


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


def listening_socket() -> socket.socket:
    """A socket bound to a port the system chose. Its address is known before the app that will serve it
    is made (Twilio signs PUBLIC_BASE_URL), and nothing else can take the port in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


class LiveServer:
    """The app served by uvicorn in a thread, on `sock` (bound here when not given)."""

    def __init__(self, app: Litestar, sock: socket.socket | None = None) -> None:
        self.socket = sock or listening_socket()
        self.url = url_of(self.socket)
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)  # a poll on `started`, bounded by the deadline
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


def process_environment(settings: Settings, secret: str, **extra: str) -> dict[str, str]:
    """What a real `engage worker` or `engage serve` started by a test runs with: the test's database,
    Redis and Twilio fake, quick stall and gateway timeouts, no quiet hours."""
    assert settings.redis_url and settings.twilio_api_base_url
    return {
        **os.environ,
        "ENGAGE_ENV": "test",
        "SECRET_KEY": secret,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "SMS_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid or "",
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token or "",
        "TWILIO_MESSAGING_SERVICE_SID": settings.twilio_messaging_service_sid or "",
        "TWILIO_API_BASE_URL": settings.twilio_api_base_url,
        "SMS_QUIET_HOURS": "",
        "SMS_STALL_SECONDS": "2",
        "SMS_GATEWAY_TIMEOUT": "2",
        **extra,
    }


def free_port() -> int:
    """A port free now, for a real process that must be told its port (a server this process starts
    itself binds a socket first instead: `listening_socket`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Any, seconds: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
