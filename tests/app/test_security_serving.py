"""`engage serve` as a real process on a real socket: slow clients are cut off (S13), and a client's
address comes from X-Forwarded-For only when a trusted proxy sent it (S5)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from engage.settings import Settings
from tests.support import ROOT, SECRET

pytestmark = pytest.mark.slow

Serve = Callable[..., str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve(settings: Settings, tmp_path: Path) -> Iterator[Serve]:
    """Starts `engage serve` with extra environment; returns its base URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**extra: str) -> str:
        port = _free_port()
        environment = {
            "PATH": "/usr/bin:/bin",
            "ENGAGE_ENV": "test",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url or "",
            "SMS_GATEWAY": "console",
            "VAR_DIR": str(tmp_path / "var"),
            **extra,
        }
        with (tmp_path / f"serve-{port}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "engage", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=log,
            )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return url
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("engage serve did not answer within 30 s")

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def _seconds_until_closed(url: str, first: bytes, dribble: bytes, limit: float = 15.0) -> float:
    """Sends `first`, then one byte of `dribble` every 0.2 s; returns when the server closed on us."""
    host, port = url.removeprefix("http://").split(":")
    began = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=0.2) as connection:
        if first:
            connection.sendall(first)
        position = 0
        while time.monotonic() - began < limit:
            try:
                if connection.recv(4096) == b"":
                    return time.monotonic() - began
            except TimeoutError:
                pass
            except ConnectionResetError:
                return time.monotonic() - began
            try:
                connection.sendall(dribble[position % len(dribble) : position % len(dribble) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - began
            position += 1
    raise AssertionError(f"still connected after {limit} s")


def test_a_slow_header_client_is_disconnected_within_the_request_timeout(serve: Serve) -> None:
    """S13: a client sending its headers a byte at a time was never timed out (200 slow-header and 200
    slow-body sockets open after 60 s). Now the request must arrive whole within HTTP_REQUEST_TIMEOUT."""
    url = serve(HTTP_REQUEST_TIMEOUT="2")
    slow_headers = _seconds_until_closed(url, b"GET / HTTP/1.1\r\nHost: x\r\n", b"X-Slow: aaaaaaaa\r\n")
    assert 1.5 <= slow_headers <= 5.0
    # A body that trickles in goes the same way.
    slow_body = _seconds_until_closed(
        url,
        b"POST /api/v1/signup/code HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n",
        b"{",
    )
    assert 1.5 <= slow_body <= 5.0
    # A client that sends its request at once is served as before, on a kept-alive connection too.
    with httpx.Client(base_url=url) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz").status_code == 200


def test_a_silent_connection_is_closed_within_the_request_timeout(serve: Serve) -> None:
    """S13: a connection opened and left silent was held open for ever (uvicorn's keep-alive timeout only
    starts after a first response)."""
    url = serve(HTTP_REQUEST_TIMEOUT="2")
    host, port = url.removeprefix("http://").split(":")
    began = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        assert connection.recv(1) == b""
    assert 1.5 <= time.monotonic() - began <= 5.0


def _code(url: str, number: int, forwarded_for: str) -> int:
    response = httpx.post(
        f"{url}/api/v1/signup/code",
        json={"phone": f"+86138{number:08d}"},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=10,
    )
    return response.status_code


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(serve: Serve, settings: Settings) -> None:
    """S5: from 127.0.0.1 a spoofed X-Forwarded-For escaped an exhausted per-address limit, because
    uvicorn trusted loopback by default. With TRUSTED_PROXIES unset nothing is trusted: the connecting
    address is the client, whatever the header says."""
    url = serve(CODE_REQUESTS_PER_IP_PER_HOUR="2", FORWARDED_ALLOW_IPS="*")
    answers = [_code(url, n, f"203.0.113.{n}") for n in range(1, 4)]
    assert answers == [202, 202, 429]
    keys = redis.Redis.from_url(settings.redis_url or "").keys("engage:rl:code:ip:*")
    assert keys == [b"engage:rl:code:ip:127.0.0.1"]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    serve: Serve, settings: Settings
) -> None:
    """S5: behind a proxy on another address every client shared one counter (the 31st client of the
    hour got 429). A proxy named in TRUSTED_PROXIES passes the client's address on, and the per-address
    limits count that."""
    url = serve(CODE_REQUESTS_PER_IP_PER_HOUR="2", TRUSTED_PROXIES="10.9.0.0/16, 127.0.0.1")
    assert [_code(url, n, f"203.0.113.{n}") for n in range(1, 4)] == [202, 202, 202]
    assert [_code(url, n, "198.51.100.7") for n in range(4, 7)] == [202, 202, 429]
    keys = redis.Redis.from_url(settings.redis_url or "").keys("engage:rl:code:ip:*")
    assert b"engage:rl:code:ip:127.0.0.1" not in keys
    assert b"engage:rl:code:ip:198.51.100.7" in keys
