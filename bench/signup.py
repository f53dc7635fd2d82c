"""Sign-up throughput: drive the sign-up API of a running server (PostgreSQL, Redis, one web process,
rq workers) with 50 concurrent clients, and measure the same server's bare /healthz rate in the same run.

Each client plays a resident: ask for a code, wait for the SMS (a worker sends it through the twilio
SDK to a local Twilio-speaking server, which hands it to the client as a phone would get it), verify,
complete. The per-IP code limit is lifted for the run (all clients share 127.0.0.1); the output names
the setting. The output also gives the CPU time each process spent per health check and per sign-up,
which on a shared machine says more than the rates.

    .venv/bin/python bench/signup.py [--clients 50] [--seconds 20] [--warmup 3] [--workers 4]
                                     [--database-url ...] [--redis-url ...]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engage.migrate import upgrade  # noqa: E402

SID, TOKEN, SERVICE = "AC" + "0" * 31 + "9", "bench-token", "MG" + "0" * 31 + "9"
# All clients share 127.0.0.1: the per-address limits and the district's hourly cap on codes are lifted.
LIFTED = {
    "CODE_REQUESTS_PER_IP_PER_HOUR": "1000000000",
    "CODE_CHECKS_PER_IP_PER_HOUR": "1000000000",
    "CODES_PER_HOUR": "1000000000",
}
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_database(server_url: str) -> str:
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"engage_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    database = url.set(database=name).render_as_string(hide_password=False)
    upgrade(database)
    engine = create_engine(database)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO communities (code, name_zh, name_en) VALUES ('wulihe', '五里河社区', 'Wulihe')")
        )
    engine.dispose()
    return database


def drop_database(database: str) -> None:
    url = make_url(database)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


async def wait_for_code(
    session: aiohttp.ClientSession, gateway: str, phone: str, patience: float = 30
) -> str:
    """Read the text the way a phone gets it: pushed to it. The Twilio-speaking server answers the
    handset's request as soon as a text to that number arrives (polling its message list instead would
    cost the machine more than the sign-up it measures)."""
    params = {"To": phone, "wait": str(patience)}
    async with session.get(f"{gateway}/_phone/messages.json", params=params) as response:
        messages = (await response.json())["messages"]
    for message in messages:
        found = CODE.search(message["body"])
        if found:
            return found.group(1)
    raise TimeoutError(f"no code for {phone}")


async def resident(
    session: aiohttp.ClientSession,
    base: str,
    gateway: str,
    number: int,
    steps: dict[str, list[float]],
    delivery: list[float],
) -> None:
    phone = f"+86139{number:08d}"

    async def call(step: str, path: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
        started = time.perf_counter()
        async with session.post(base + path, json=body) as response:
            payload = await response.json()
            if response.status != expected:
                raise RuntimeError(f"{step}: {response.status} {payload}")
        steps[step].append(time.perf_counter() - started)
        return payload  # type: ignore[no-any-return]

    await call("code", "/api/v1/signup/code", {"phone": phone}, 202)
    waited = time.perf_counter()
    code = await wait_for_code(session, gateway, phone)
    delivery.append(time.perf_counter() - waited)
    verified = await call("verify", "/api/v1/signup/verify", {"phone": phone, "code": code}, 200)
    registration = {
        "token": verified["token"], "name": "Bench Resident", "community": "wulihe", "age_band": "30-44",
        "gender": "female", "occupation": "employed", "participant_type": "resident",
        "roles": ["judge", "subscriber"], "consents": ["judge", "subscriber"],
        "notice_kinds": ["appointment"], "communities": ["wulihe"],
    }  # fmt: skip
    await call("complete", "/api/v1/signup/complete", registration, 201)


async def run_flows(
    base: str, gateway: str, clients: int, seconds: float, numbers: Iterator[int]
) -> dict[str, Any]:
    steps: dict[str, list[float]] = {"code": [], "verify": [], "complete": []}
    delivery: list[float] = []
    done = 0
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            try:
                await resident(session, base, gateway, next(numbers), steps, delivery)
                done += 1
            except Exception as error:  # counted and reported, the run goes on
                errors.append(str(error)[:200])

    connector = aiohttp.TCPConnector(limit=clients * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.monotonic() - started
    return {
        "flows": done,
        "flow_per_second": round(done / elapsed, 1),
        "steps": {name: percentiles(samples) for name, samples in steps.items()},
        "sms_delivery": percentiles(delivery),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


async def run_healthz(base: str, clients: int, seconds: float) -> float:
    count = 0
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal count
        while time.monotonic() < deadline:
            async with session.get(base + "/healthz") as response:
                await response.read()
                if response.status == 200:
                    count += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        started = time.monotonic()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        return count / (time.monotonic() - started)


def database_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving the benchmark's database (its pools' connections)."""
    engine = create_engine(database)
    with engine.connect() as connection:
        pids = connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        found = [int(pid) for pid in pids]
    engine.dispose()
    return found


def sessions_opened(database: str) -> int:
    """Connections PostgreSQL has accepted into the benchmark's database so far (a pool that keeps
    reconnecting shows here)."""
    engine = create_engine(database)
    with engine.connect() as connection:
        opened = connection.execute(
            text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()
    return int(opened)


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each process that is still there."""
    used = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:  # a PostgreSQL backend may close between the listing and the reading
            continue
        used[pid] = times.user + times.system
    return used


class CpuMeter:
    """CPU seconds each part of the run spends in a phase: the web process, the workers, the gateway,
    the clients (this process) and the database backends. Another agent's load does not count here,
    so these figures hold when the machine is shared and wall-clock rates do not."""

    def __init__(self, parts: dict[str, list[int]], database: str) -> None:
        self.parts, self.database = parts, database

    def _read(self) -> dict[str, dict[int, float]]:
        parts = {**self.parts, "postgres": database_backends(self.database)}
        return {name: cpu_seconds(pids) for name, pids in parts.items()}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        return {
            name: round(sum(used - self.before[name].get(pid, 0.0) for pid, used in after[name].items()), 2)
            for name in after
        }


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "engage", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_healthy(base: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of sign-ups run first, not counted")
    parser.add_argument("--workers", type=int, default=4, help="rq worker processes sending the codes")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()

    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    database = fresh_database(args.database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gateway_port = free_port()
    gateway = f"http://127.0.0.1:{gateway_port}"
    # The gateway runs in a process of its own, as a real one would, so it takes no CPU from the clients.
    fake = subprocess.Popen(
        [sys.executable, "-m", "engage.testing.fake_twilio", "--port", str(gateway_port), "--account-sid", SID, "--auth-token", TOKEN, "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        env = {
            **os.environ, "ENGAGE_ENV": "prod", "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789", "DATABASE_URL": database,
            "REDIS_URL": args.redis_url, "SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_MESSAGING_SERVICE_SID": SERVICE, "TWILIO_API_BASE_URL": gateway, "PUBLIC_BASE_URL": base, **LIFTED,
        }  # fmt: skip
        processes = [start(["serve", "--port", str(port)], env)] + [
            start(["worker"], env) for _ in range(args.workers)
        ]
        try:
            wait_healthy(base)
            meter = CpuMeter(
                {
                    "web": [processes[0].pid],
                    "workers": [p.pid for p in processes[1:]],
                    "gateway": [fake.pid],
                    "clients": [os.getpid()],
                },
                database,
            )
            meter.start()
            healthz = asyncio.run(run_healthz(base, args.clients, min(10.0, args.seconds)))
            healthz_cpu = meter.stop()
            numbers = iter(range(10**8))  # each resident a new number (a number may ask once a minute)
            # A running service is warm (connections open, statements compiled, scripts loaded): the
            # first seconds, when all clients arrive at once on a cold process, are run but not counted.
            asyncio.run(run_flows(base, gateway, args.clients, args.warmup, numbers))
            meter.start()
            opened = sessions_opened(database)
            flows = asyncio.run(run_flows(base, gateway, args.clients, args.seconds, numbers))
            flows_cpu = meter.stop()
            # less the two made by this script in between (the CPU meter and this second reading)
            opened = sessions_opened(database) - opened - 2
            rss = {p.pid: round(psutil.Process(p.pid).memory_info().rss / 2**20, 1) for p in processes}
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(20)
    finally:
        fake.terminate()
        fake.wait(10)
        drop_database(database)
    healthz_requests = healthz * min(10.0, args.seconds)
    result = {
        "benchmark": "signup",
        **{k: flows[k] for k in ("flow_per_second", "steps")},
        "healthz_per_second": round(healthz, 1),
        "flow_share_of_healthz": round(flows["flow_per_second"] / healthz, 3) if healthz else None,
        "clients": args.clients,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
        "flows": flows["flows"],
        "errors": flows["errors"],
        "first_error": flows["first_error"],
        "sms_delivery": flows["sms_delivery"],
        # CPU milliseconds per bare health check and per whole sign-up, by process: what decides the
        # ratio of the two rates once the cores are busy.
        "cpu_ms_per_healthz": {k: round(1000 * v / healthz_requests, 2) for k, v in healthz_cpu.items()},
        "cpu_ms_per_flow": {k: round(1000 * v / max(flows["flows"], 1), 2) for k, v in flows_cpu.items()},
        "database_connections_opened_during_flows": opened,
        "web_processes": 1,
        "worker_processes": args.workers,
        "limits_lifted": LIFTED,
        "rss_mb": list(rss.values()),
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
