"""Notice fan-out throughput: one notice to 100,000 subscribers through PostgreSQL, Redis and two
`engage worker` processes, the texts going through the twilio SDK to the local Twilio-speaking server
answering each message after 50 ms; then, in the same run and conditions, the naive design (one rq job
per text, `workers.sms.send_message`, run by the plain forking `rq worker`) on a sample.

    .venv/bin/python bench/sms_fanout.py [--recipients 100000] [--workers 2] [--latency 0.05]
        [--baseline-sample 2000] [--rate 5000] [--database-url ...] [--redis-url ...]

`seconds` runs from the publish (the fan-out job enqueued) to the last text the gateway accepted;
`duplicates` and `lost` are counted by the gateway. The fake gateway runs in this process (threads;
it has the process to itself: the bench only waits). The Redis database named is emptied.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engage import jobs  # noqa: E402
from engage.migrate import upgrade  # noqa: E402
from engage.models import Base  # noqa: E402, F401 - every table mapped
from engage.notices.models import Notice, NoticeStatus  # noqa: E402
from engage.residents.models import Resident, ResidentRole  # noqa: E402
from engage.sms.models import SmsMessage  # noqa: E402
from engage.testing.fake_twilio import FakeTwilio  # noqa: E402

SID, TOKEN, SERVICE = "AC" + "0" * 31 + "8", "bench-token", "MG" + "0" * 31 + "8"
SEED_CHUNK = 10_000


def fresh_database(server_url: str) -> str:
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"engage_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    database = url.set(database=name).render_as_string(hide_password=False)
    upgrade(database)
    return database


def drop_database(database: str) -> None:
    url = make_url(database)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def phone(n: int) -> str:
    return f"+8613{n:09d}"


def seed(engine: Engine, count: int) -> float:
    """`count` opted-in subscribers (residents and roles), with Core executemany; returns seconds."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for start in range(0, count, SEED_CHUNK):
            numbers = range(start, min(count, start + SEED_CHUNK))
            connection.execute(
                insert(Resident),
                [
                    {"phone": phone(n), "locale": "en" if n % 3 == 0 else "zh_CN", "verified_at": now}
                    for n in numbers
                ],
            )
        ids = connection.execute(select(Resident.id)).scalars().all()
        for start in range(0, len(ids), SEED_CHUNK):
            connection.execute(
                insert(ResidentRole),
                [
                    {"resident_id": i, "role": "subscriber", "consented_at": now}
                    for i in ids[start : start + SEED_CHUNK]
                ],
            )
    return time.perf_counter() - started


def new_notice(engine: Engine, title: str) -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                insert(Notice).returning(Notice.id),
                {
                    "kind": "stage_result", "title_zh": title, "title_en": title,
                    "body_zh": "五里河社区主任候选人民主测评结果已公示，欢迎监督。",
                    "body_en": "The assessment results for the Wulihe director are public.",
                    "audience": "all", "community_codes": [], "status": NoticeStatus.PUBLISHED.value,
                    "urgent": True, "published_at": datetime.now(UTC), "created_by": "bench",
                },
            ).scalar_one()
        )  # fmt: skip


def peak_rss_mb(pid: int) -> float | None:
    """The process' high-water mark of resident memory (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def wait_for(fake: FakeTwilio, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(fake.messages) >= count:
            return True
        time.sleep(0.25)
    return False


def tally(fake: FakeTwilio, expected: set[str], since: datetime) -> dict[str, Any]:
    messages = fake.messages
    counts = Counter(m.to for m in messages)
    last = max((m.date_created for m in messages), default=since)
    seconds = (last - since).total_seconds()
    return {
        "accepted": len(messages),
        "seconds": round(seconds, 2),
        "per_second": round(len(messages) / seconds, 1) if seconds > 0 else None,
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "lost": len(expected - counts.keys()),
    }


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def run_ours(
    engine: Engine, env: dict[str, str], fake: FakeTwilio, args: argparse.Namespace
) -> dict[str, Any]:
    workers = [
        subprocess.Popen([sys.executable, "-m", "engage", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(args.workers)
    ]  # fmt: skip
    try:
        time.sleep(3)  # the workers are up and idle, as they would be when an organizer publishes
        notice_id = new_notice(engine, "测评结果")
        started = datetime.now(UTC)
        jobs.enqueue_fan_out(args.redis_url, notice_id)
        finished = wait_for(fake, args.recipients, args.timeout)
        time.sleep(1)  # a duplicate would arrive after the last first copy
        result = tally(fake, {phone(n) for n in range(args.recipients)}, started)
        result["finished"] = finished
        result["peak_rss_mb"] = [peak_rss_mb(p.pid) for p in workers]
        result["cpu_seconds"] = [round(sum(psutil.Process(p.pid).cpu_times()[:2]), 1) for p in workers]
        with engine.connect() as connection:
            statuses = connection.execute(
                text("SELECT status, count(*) FROM sms_messages WHERE notice_id = :n GROUP BY status"),
                {"n": notice_id},
            ).all()
        result["rows"] = {status: count for status, count in statuses}
        return result
    finally:
        stop(workers)


def _rq_log() -> Any:
    """Where the plain rq workers log (BENCH_RQ_LOG, to look into a slow baseline), else nowhere."""
    return open(os.environ.get("BENCH_RQ_LOG", os.devnull), "ab")


def run_baseline(
    engine: Engine,
    env: dict[str, str],
    fake: FakeTwilio,
    args: argparse.Namespace,
    worker_class: str | None = None,
) -> dict[str, Any]:
    """The naive design: one row and one rq job per text, the plain forking `rq worker` (or, for
    comparison, the same jobs under rq's non-forking SimpleWorker)."""
    from engage.queues import QueueName, queue

    queue(args.redis_url, QueueName.DEFAULT).empty()  # what the previous run left (reconciliations, texts)
    fake.reset()
    fake.latency = args.latency
    notice_id = new_notice(engine, "baseline")
    sample = args.baseline_sample
    with engine.begin() as connection:
        rows = connection.execute(
            select(Resident.id, Resident.phone).order_by(Resident.id).limit(sample)
        ).all()
        connection.execute(
            insert(SmsMessage),
            [{"to": p, "body": f"baseline {i}", "status": "queued", "attempts": 0, "notice_id": notice_id, "resident_id": i} for i, p in rows],
        )  # fmt: skip
        ids = (
            connection.execute(select(SmsMessage.id).where(SmsMessage.notice_id == notice_id)).scalars().all()
        )
    rq = str(Path(sys.executable).with_name("rq"))
    workers = [
        subprocess.Popen(
            [rq, "worker", "-u", args.redis_url, "-S", "json", *(["-w", worker_class] if worker_class else []), "default"],
            env=env, cwd=ROOT, stdout=_rq_log(), stderr=subprocess.STDOUT,
        )
        for _ in range(args.workers)
    ]  # fmt: skip
    try:
        time.sleep(3)
        started = datetime.now(UTC)
        for message_id in ids:
            jobs.enqueue_text(args.redis_url, message_id)
        finished = wait_for(fake, len(ids), args.baseline_timeout)
        result = tally(fake, {p for _, p in rows}, started)
        if not finished:  # the cap ran out: the rate over the whole cap
            result["per_second"] = round(len(fake.messages) / args.baseline_timeout, 1)
        result["finished"] = finished
        result["sample"] = len(ids)
        return result
    finally:
        stop(workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the gateway takes per message")
    parser.add_argument("--rate", type=float, default=5000, help="SMS_RATE_PER_SECOND for the run")
    parser.add_argument("--baseline-sample", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--simple-baseline",
        action="store_true",
        help="also time one job per text under rq's non-forking SimpleWorker (how much is the fork)",
    )
    parser.add_argument("--baseline-timeout", type=float, default=180)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args()

    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    database = fresh_database(args.database_url)
    engine = create_engine(database)
    fake = FakeTwilio(SID, TOKEN, record_requests=False)
    fake.latency = args.latency
    load_before = os.getloadavg()
    bench_cpu = time.process_time()
    try:
        seed_seconds = seed(engine, args.recipients)
        with fake:
            env = {
                **os.environ, "ENGAGE_ENV": "prod", "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789", "DATABASE_URL": database,
                "REDIS_URL": args.redis_url, "SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
                "TWILIO_MESSAGING_SERVICE_SID": SERVICE, "TWILIO_API_BASE_URL": fake.base_url,
                "PUBLIC_BASE_URL": "https://engage.example.gov.cn", "SMS_RATE_PER_SECOND": str(args.rate),
                "SMS_QUIET_HOURS": "",
            }  # fmt: skip
            ours = run_ours(engine, env, fake, args)
            load_during = os.getloadavg()
            bench_cpu = time.process_time() - bench_cpu
            bench_rss = peak_rss_mb(os.getpid())
            baseline = run_baseline(engine, env, fake, args) if args.baseline_sample else None
            simple = (
                run_baseline(engine, env, fake, args, "rq.worker.SimpleWorker")
                if args.baseline_sample and args.simple_baseline
                else None
            )
    finally:
        engine.dispose()
        drop_database(database)
    result = {
        "benchmark": "sms_fanout",
        "recipients": args.recipients,
        "seconds": ours["seconds"],
        "per_second": ours["per_second"],
        "duplicates": ours["duplicates"],
        "lost": ours["lost"],
        "finished": ours["finished"],
        "rows": ours["rows"],
        "peak_rss_mb": {"workers": ours["peak_rss_mb"], "bench_and_fake_gateway": bench_rss},
        "cpu_seconds": {"workers": ours["cpu_seconds"], "bench_and_fake_gateway": round(bench_cpu, 1)},
        "baseline_per_second": baseline["per_second"] if baseline else None,
        "baseline": baseline,
        "one_job_per_text_simple_worker": simple,
        "speedup": round(ours["per_second"] / baseline["per_second"], 1)
        if baseline and baseline["per_second"] and ours["per_second"]
        else None,
        "worker_processes": args.workers,
        "gateway_latency_s": args.latency,
        "sms_rate_per_second": args.rate,
        "seed_seconds": round(seed_seconds, 1),
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after_fan_out": [round(x, 2) for x in load_during],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
