"""CPU cost of each sign-up step beside a bare health check, in one process, one request at a time.

The app is called straight through ASGI (no HTTP server, no other clients), so the process's CPU time
per request is the app's own work: what decides how many sign-ups one web process can serve for each
health check it could serve instead. Unlike rates, these figures hold on a busy, shared machine.
Each resident asks for a code, verifies it (read from the text queued in the database) and completes.

    .venv/bin/python bench/signup_cpu.py [--requests 500] [--database-url ...] [--redis-url ...]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from signup import CODE, LIFTED, drop_database, fresh_database  # noqa: E402

REGISTRATION = {
    "name": "Bench Resident", "community": "wulihe", "age_band": "30-44", "gender": "female",
    "occupation": "employed", "participant_type": "resident", "roles": ["judge", "subscriber"],
    "consents": ["judge", "subscriber"], "notice_kinds": ["appointment"], "communities": ["wulihe"],
}  # fmt: skip


async def call(app: Any, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    """One request through the ASGI interface, as uvicorn would make it."""
    raw = json.dumps(body).encode() if body is not None else b""
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(raw)),
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip
    received = False
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            await asyncio.Event().wait()  # the client never disconnects
        received = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


PROFILED: dict[str, Any] = {}  # step name -> cProfile.Profile, with --profile


async def measure(database: str, requests: int, profile: str | None = None) -> dict[str, float]:
    from sqlalchemy import text

    from engage.app import create_app
    from engage.settings import load_settings

    app = create_app(load_settings())
    phones = [f"+86139{n:08d}" for n in range(requests)]
    tokens: dict[str, str] = {}
    sent: dict[str, str] = {}

    async def healthz(_: str) -> None:
        status, _body = await call(app, "GET", "/healthz")
        assert status == 200

    async def code(phone: str) -> None:
        status, body = await call(app, "POST", "/api/v1/signup/code", {"phone": phone})
        assert status == 202, body

    async def verify(phone: str) -> None:
        status, body = await call(app, "POST", "/api/v1/signup/verify", {"phone": phone, "code": sent[phone]})
        assert status == 200, body
        tokens[phone] = json.loads(body)["token"]

    async def complete(phone: str) -> None:
        status, body = await call(
            app, "POST", "/api/v1/signup/complete", {"token": tokens[phone], **REGISTRATION}
        )
        assert status == 201, body

    async def read_codes() -> None:
        async with app.state.db_sessions() as session:
            rows = await session.execute(text('SELECT "to", body FROM sms_messages'))
            for to, body in rows:
                found = CODE.search(body)
                if found:
                    sent[to] = found.group(1)

    async def timed(step: Callable[[str], Awaitable[None]], items: list[str]) -> float:
        profiler = None
        if profile in (step.__name__, "all"):
            import cProfile

            profiler = PROFILED.setdefault(step.__name__, cProfile.Profile(time.process_time))
            profiler.enable()
        started = time.process_time()
        for item in items:
            await step(item)
        used = (time.process_time() - started) * 1000 / len(items)
        if profiler is not None:
            profiler.disable()
        return used

    await timed(healthz, ["warm"] * 50)  # connections opened, statements compiled
    await timed(code, ["+8613800000000"])
    cpu = {"healthz": await timed(healthz, phones), "code": await timed(code, phones)}
    await read_codes()
    cpu["verify"] = await timed(verify, phones)
    cpu["complete"] = await timed(complete, phones)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per step")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument(
        "--profile",
        choices=("healthz", "code", "verify", "complete", "all"),
        help="run the step under cProfile (CPU time) and write the top functions to stderr (its figures then "
        "include the profiler's own cost)",
    )
    args = parser.parse_args()

    import redis
    import uvloop

    redis.Redis.from_url(args.redis_url).flushdb()
    database = fresh_database(args.database_url)
    os.environ.update(
        {"ENGAGE_ENV": "prod", "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789", "DATABASE_URL": database,
         "REDIS_URL": args.redis_url, "SMS_GATEWAY": "console", **LIFTED}
    )  # fmt: skip
    try:
        cpu = uvloop.run(measure(database, args.requests, args.profile))
    finally:
        drop_database(database)
        redis.Redis.from_url(args.redis_url).flushdb()  # the queued send jobs: no worker runs here
    for name, profiler in PROFILED.items():
        import pstats

        print(f"--- {name}", file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    flow = cpu["code"] + cpu["verify"] + cpu["complete"]
    result = {
        "benchmark": "signup_cpu",
        "cpu_ms_per_request": {step: round(ms, 3) for step, ms in cpu.items()},
        "cpu_ms_per_flow": round(flow, 3),
        "flow_cost_in_health_checks": round(flow / cpu["healthz"], 2),
        # A web process that did nothing but sign-ups could serve this share of its health-check rate.
        "web_bound_flow_share_of_healthz": round(cpu["healthz"] / flow, 3),
        "requests_per_step": args.requests,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
