"""Prometheus metrics at /metrics: what each web process measured, and what the database and Redis say.

Two kinds, so that any number of processes on any number of machines report one truth:
- Measured in the process: request latency by route template (`engage_http_request_duration_seconds`).
  Under `engage serve --workers N` the N processes share PROMETHEUS_MULTIPROC_DIR (prometheus-client's
  multiprocess mode), so one scrape of the port sums them; separate `engage serve` processes are
  separate scrape targets.
- Read at scrape time, the same from every process: texts by status and error code, sign-up codes
  issued, the age of the oldest due work no one has done (what the sweeper exists for), queue depths
  and live rq workers. The database part is computed at most once every SNAPSHOT_SECONDS for the whole
  deployment (the result waits in Redis), so scraping many processes does not multiply the queries.

Who may read it: with METRICS_TOKEN set, a request carrying `Authorization: Bearer <METRICS_TOKEN>`;
without it, only a client on this machine (127.0.0.1 or ::1, after the proxy's X-Forwarded-For).
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, cast

from litestar import Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from engage.db import utcnow
from engage.leases import Lease
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objections.models import NoticePeriod
from engage.panels.models import MemberStatus, Panel, PanelStatus
from engage.panels.seats.schedule import reminder_at
from engage.queues import WORKER_QUEUES
from engage.residents.models import Resident, VerificationCode
from engage.selections.models import Selection, SelectionStatus, Stage, StageStatus
from engage.sms.models import MessageStatus, SmsMessage

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
SNAPSHOT_KEY = "engage:metrics:database"
SNAPSHOT_SECONDS = 5
LOOPBACK = {"127.0.0.1", "::1"}

REQUEST_SECONDS = Histogram(
    "engage_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code",
    ["method", "route", "status"],
    # Pages and API calls answer in milliseconds; the tail that matters is under a second.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# -- measuring requests ------------------------------------------------------------------------------


class TimeRequests:
    """Outermost ASGI wrapper: times every HTTP request and labels it with the route template Litestar's
    router wrote into the scope (never the raw path: ids and tokens would make one series each)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fields = cast("dict[str, Any]", scope)
        if fields["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # a handler that raised through everything

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = fields.get("path_template") or "unmatched"
            REQUEST_SECONDS.labels(fields["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


# -- who may read it -----------------------------------------------------------------------------------


def may_read(token: str | None, client_host: str | None, authorization: str | None) -> bool:
    if token:
        offered = (authorization or "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(offered.encode(), token.encode())
    return client_host in LOOPBACK


# -- read at scrape time ---------------------------------------------------------------------------------


async def database_snapshot(session: AsyncSession, now: datetime) -> dict[str, Any]:
    texts = await session.execute(
        select(SmsMessage.status, SmsMessage.error_code, func.count()).group_by(
            SmsMessage.status, SmsMessage.error_code
        )
    )
    codes = await session.scalar(select(func.count()).select_from(VerificationCode))
    last_hour = await session.scalar(
        select(func.count()).where(VerificationCode.created_at >= now - timedelta(hours=1))
    )
    sweeper = await session.scalar(select(Lease.expires_at).where(Lease.name == "sweeper"))
    return {
        "texts": [[status, "" if code is None else str(code), n] for status, code, n in texts.all()],
        "codes": codes or 0,
        "codes_last_hour": last_hour or 0,
        "oldest_due": {kind: _age(now, due) for kind, due in (await _oldest_due(session, now)).items()},
        # Given back at the end of each sweep; in the future while one runs.
        "since_sweep": None if sweeper is None else max(0.0, (now - sweeper).total_seconds()),
    }


def _age(now: datetime, due: datetime | None) -> float:
    return 0.0 if due is None else max(0.0, (now - due).total_seconds())


async def _oldest_due(session: AsyncSession, now: datetime) -> dict[str, datetime | None]:
    """The moment the oldest piece of work of each kind fell due that is still not done: the same
    facts workers/sweep.py reads, without its grace period (a healthy system shows seconds here)."""
    text_due = func.coalesce(SmsMessage.retry_at, SmsMessage.created_at)
    fan_out_due = func.coalesce(Notice.texts_held_until, Notice.publish_at, Notice.published_at)
    return {
        "text": await session.scalar(
            select(func.min(text_due)).where(SmsMessage.status == MessageStatus.QUEUED, text_due <= now)
        ),
        "fan_out": await session.scalar(
            select(func.min(fan_out_due)).where(
                Notice.fanned_out_at.is_(None),
                Notice.status.in_([NoticeStatus.SCHEDULED, NoticeStatus.PUBLISHED]),
                fan_out_due <= now,
            )
        ),
        "period_close": await session.scalar(
            select(func.min(NoticePeriod.closes_at))
            .join(Notice, Notice.id == NoticePeriod.notice_id)
            .where(
                Notice.status == NoticeStatus.PUBLISHED,
                NoticePeriod.closed_at.is_(None),
                NoticePeriod.suspended_at.is_(None),
                NoticePeriod.closes_at <= now,
            )
        ),
        "stage_edge": await _stage_edge(session, now),
        **await _panels(session, now),
    }


async def _stage_edge(session: AsyncSession, now: datetime) -> datetime | None:
    stages = (
        await session.execute(
            select(Stage)
            .join(Selection, Selection.id == Stage.selection_id)
            .where(
                Selection.status == SelectionStatus.PUBLISHED,
                or_(
                    and_(Stage.status == StageStatus.PENDING, Stage.opens_at <= now),
                    and_(Stage.status == StageStatus.OPEN, Stage.closes_at <= now),
                ),
            )
        )
    ).scalars()
    earliest: datetime | None = None
    for stage in stages:
        if (stage.outcome or {}).get("blocked"):
            continue  # waits for the organizer, not for a worker
        if stage.status == StageStatus.PENDING:
            earlier = await session.scalars(
                select(Stage.status).where(
                    Stage.selection_id == stage.selection_id, Stage.position < stage.position
                )
            )
            if any(status != StageStatus.CLOSED for status in earlier):
                continue  # the previous stage's close opens it
        edge = stage.opens_at if stage.status == StageStatus.PENDING else stage.closes_at
        earliest = edge if earliest is None or edge < earliest else earliest
    return earliest


async def _panels(session: AsyncSession, now: datetime) -> dict[str, datetime | None]:
    panels = list(
        (
            await session.execute(
                select(Panel)
                .where(Panel.status == PanelStatus.DRAWN, Panel.reply_deadline.is_not(None))
                .options(selectinload(Panel.members))
            )
        ).scalars()
    )
    members = {m.resident_id for panel in panels for m in panel.members}
    reachable = set(
        (
            await session.execute(
                select(Resident.id).where(
                    Resident.id.in_(members), Resident.phone.is_not(None), Resident.sms_opt_out_at.is_(None)
                )
            )
        ).scalars()
    )
    lapse: datetime | None = None
    reminder: datetime | None = None
    for panel in panels:
        deadline = panel.reply_deadline
        assert deadline is not None
        invited = [m for m in panel.members if m.status == MemberStatus.INVITED and m.invited_at is not None]
        if deadline <= now:
            if invited and (lapse is None or deadline < lapse):
                lapse = deadline
            continue
        for member in invited:
            assert member.invited_at is not None
            when = reminder_at(deadline, member.invited_at)
            if member.reminded_at is None and member.resident_id in reachable and when and when <= now:
                reminder = when if reminder is None or when < reminder else reminder
    return {"panel_lapse": lapse, "panel_reminder": reminder}


async def cached_snapshot(redis: Redis, session: AsyncSession) -> dict[str, Any]:
    """The database snapshot, shared through Redis by every process for SNAPSHOT_SECONDS."""
    try:
        cached = await redis.get(SNAPSHOT_KEY)
    except RedisError:
        cached = None
    if cached:
        return json.loads(cached)  # type: ignore[no-any-return]
    snapshot = await database_snapshot(session, utcnow())
    with suppress(RedisError):  # served uncached; engage_redis_up says Redis is away
        await redis.set(SNAPSHOT_KEY, json.dumps(snapshot), ex=SNAPSHOT_SECONDS)
    return snapshot


async def queue_depths(redis: Redis) -> dict[str, Any]:
    depths: dict[tuple[str, str], int] = {}
    for queue in WORKER_QUEUES:
        depths[(queue.value, "queued")] = await redis.llen(f"rq:queue:{queue.value}")
        for state, registry in (
            ("started", StartedJobRegistry),
            ("scheduled", ScheduledJobRegistry),
            ("failed", FailedJobRegistry),
        ):
            depths[(queue.value, state)] = await redis.zcard(registry.key_template.format(queue.value))
    return {"depths": depths, "workers": await redis.scard("rq:workers")}


class Snapshot(Collector):
    """Gauges from one scrape's reading of the database and Redis."""

    def __init__(self, database: dict[str, Any] | None, redis: dict[str, Any] | None) -> None:
        self.database = database
        self.redis = redis

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "engage_database_up",
            "1 when the database answered this scrape",
            value=int(self.database is not None),
        )
        if self.database is not None:
            yield from self._database(self.database)
        yield GaugeMetricFamily(
            "engage_redis_up", "1 when Redis answered this scrape", value=0 if self.redis is None else 1
        )
        if self.redis is None:
            return
        depths = GaugeMetricFamily(
            "engage_queue_jobs", "rq jobs by queue and state", labels=["queue", "state"]
        )
        for (queue, state), count in sorted(self.redis["depths"].items()):
            depths.add_metric([queue, state], count)
        yield depths
        yield GaugeMetricFamily("engage_workers", "rq workers registered", value=self.redis["workers"])

    @staticmethod
    def _database(database: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
        texts = GaugeMetricFamily(
            "engage_texts",
            "Texts on record, by status (queued, sending, sent, failed) and gateway error code",
            labels=["status", "error_code"],
        )
        for status, code, count in database["texts"]:
            texts.add_metric([status, code], count)
        yield texts
        yield GaugeMetricFamily(
            "engage_signup_codes_issued",
            "Sign-up codes issued (each one texted)",
            value=database["codes"],
        )
        yield GaugeMetricFamily(
            "engage_signup_codes_issued_last_hour",
            "Sign-up codes issued in the last hour (compare with CODES_PER_HOUR)",
            value=database["codes_last_hour"],
        )
        oldest = GaugeMetricFamily(
            "engage_oldest_due_seconds",
            "Age of the oldest piece of work that fell due and is not done, by kind (0: none)",
            labels=["kind"],
        )
        for kind, age in sorted(database["oldest_due"].items()):
            oldest.add_metric([kind], age)
        yield oldest
        if database["since_sweep"] is not None:
            yield GaugeMetricFamily(
                "engage_sweep_last_seconds",
                "Seconds since a sweep last ended",
                value=database["since_sweep"],
            )


def _process_registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def exposition(collectors: Iterable[Collector]) -> bytes:
    scraped = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        scraped.register(collector)
    return generate_latest(_process_registry()) + generate_latest(scraped)


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    settings = request.app.state.settings
    client = request.client.host if request.client else None
    if not may_read(settings.metrics_token, client, request.headers.get("authorization")):
        return Response(b"metrics: forbidden\n", status_code=403, media_type="text/plain")
    redis: Redis = request.app.state.redis
    database: dict[str, Any] | None
    try:
        async with request.app.state.db_sessions() as session:
            database = await cached_snapshot(redis, session)
    except SQLAlchemyError:
        database = None  # engage_database_up says so; the rest still answers
    try:
        queues: dict[str, Any] | None = await queue_depths(redis)
    except RedisError:
        queues = None
    body = exposition([Snapshot(database, queues)])
    # The classic text format, which every Prometheus reads (Litestar adds the charset).
    return Response(body, media_type="text/plain; version=0.0.4")
