"""`engage run` (what `make run` starts) on a laptop with nothing configured: SQLite under var/, an
embedded Redis, a worker and the web server; a console SMS lands in var/outbox.jsonl; Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _health(url: str) -> dict[str, str] | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def test_engage_run_serves_health_and_delivers_to_the_console_outbox(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SMS_GATEWAY", "ENGAGE_ENV"}
    }
    env.update({"VAR_DIR": str(tmp_path / "var"), "PORT": str(port)})
    url = f"http://127.0.0.1:{port}"
    run = subprocess.Popen(
        [sys.executable, "-m", "engage", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline and run.poll() is None:
            health = _health(url)
            if health and health["status"] == "ok":
                break
            time.sleep(0.25)
        assert health == {"status": "ok", "database": "ok", "redis": "ok"}
        children = psutil.Process(run.pid).children(recursive=True)
        assert len(children) >= 3  # redis, worker, web
        # PUBLIC_BASE_URL is unset: the demo's texts link to the port being served, not to 8000.
        with sqlite3.connect(tmp_path / "var" / "engage.db") as database:
            bodies = [row[0] for row in database.execute("SELECT body FROM sms_messages")]
        urls = [url for body in bodies for url in re.findall(r"https?://[^\s，。；：）]+", body)]
        assert urls and all(u.startswith(f"{url}/") for u in urls), urls[:3]

        sent = subprocess.run(
            [sys.executable, "-m", "engage", "sms", "send", "138 0013 8000", "演示短信 demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        outbox = tmp_path / "var" / "outbox.jsonl"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not outbox.exists():
            time.sleep(0.2)
        [line] = [json.loads(text) for text in outbox.read_text().splitlines()]
        assert (line["to"], line["body"]) == ("+8613800138000", "演示短信 demo")
        with urllib.request.urlopen(f"{url}/dev/outbox?reveal=true", timeout=5) as page:
            assert "演示短信 demo" in page.read().decode()
    finally:
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=30)
    assert run.returncode == 0, output
    assert "Admin sign-in: admin@demo.engage.local / " in output
    assert not [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
