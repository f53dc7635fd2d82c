"""`engage run` (what `make run` starts) on a laptop with nothing configured: SQLite under var/, an
embedded Redis, a worker and the web server; a console SMS and the demo district's texts land in
var/outbox.jsonl; a child that dies is started again; Ctrl-C stops all."""

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

pytestmark = [pytest.mark.slow, pytest.mark.laptop]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _health(url: str) -> dict[str, str] | None:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def _queued_texts(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        query = 'SELECT "to", body FROM sms_messages WHERE notice_id IS NULL ORDER BY id'
        rows = connection.execute(query).fetchall()
    return [(to, body) for to, body in rows if body != "演示短信 demo"]


def _workers(pid: int) -> list[psutil.Process]:
    """The worker processes `engage run` started (not their own children, nor the dead)."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if "worker" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_engage_run_serves_health_and_delivers_to_the_console_outbox(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SMS_GATEWAY", "ENGAGE_ENV"}
    }
    # The sweeper looks sooner than its production default, so the demo's texts go within seconds.
    env.update({"VAR_DIR": str(tmp_path / "var"), "PORT": str(port), "SWEEP_AFTER_SECONDS": "2"})
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
            if health and health["status"] == "ready":
                break
            time.sleep(0.25)
        assert health == {"status": "ready", "database": "ok", "redis": "ok", "migrations": "ok"}
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

        def outbox_lines() -> list[dict[str, str]]:
            return [json.loads(text) for text in outbox.read_text().splitlines()] if outbox.exists() else []

        # The demo's texts (jury invitations, evaluators' links) are committed by the seed before any
        # worker runs: the sweeper finds them queued and sends them, one each.
        demo_texts = _queued_texts(tmp_path / "var" / "engage.db")
        assert demo_texts, "the demo district seeds texts to send"

        demo = ("+8613800138000", "演示短信 demo")

        def sent() -> list[tuple[str, str]]:
            return [(line["to"], line["body"]) for line in outbox_lines()]

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not set(demo_texts) | {demo} <= set(sent()):
            time.sleep(0.5)
        assert sent().count(demo) == 1
        assert sorted(text for text in sent() if text in demo_texts) == sorted(demo_texts)  # each once

        # A worker that dies is started again, and texts go on going out.
        [worker] = _workers(run.pid)
        worker.kill()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [c for c in _workers(run.pid) if c.pid != worker.pid]:
            time.sleep(0.2)
        again = subprocess.run(
            [sys.executable, "-m", "engage", "sms", "send", "138 0013 8001", "再来一条"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 0, again.stderr
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and ("+8613800138001", "再来一条") not in sent():
            time.sleep(0.2)
        assert ("+8613800138001", "再来一条") in sent()
        children = psutil.Process(run.pid).children(recursive=True)
        with urllib.request.urlopen(f"{url}/dev/outbox?reveal=true", timeout=5) as page:
            assert "再来一条" in page.read().decode()  # the page lists the newest texts
    finally:
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=30)
    assert run.returncode == 0, output
    assert "Admin sign-in: admin@demo.engage.local / " in output
    assert not [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    assert "worker exited" in output and "restarting" in output
