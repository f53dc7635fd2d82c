"""The sweeper: the database says what work is due; whatever no job covers is enqueued again.

Redis holds the queues and rq's schedule, and forgets them when it restarts empty. Every piece of work
is also a fact in the database, so after SWEEP_AFTER_SECONDS without a job the sweeper enqueues:
- texts `queued` (past their `retry_at`): single texts one job each, a notice's texts as send batches;
- notices published, or scheduled and due, whose fan-out has not run (`fanned_out_at` unset);
- notice periods past their closing moment, still open;
- selection stages past their opening or closing moment, not blocked, that have not moved;
- panels past their reminder moment with members not yet reminded, or past their reply deadline with
  members still invited.

"No job covers it" means no job of that work waits in an rq queue or runs; for texts, a retry waiting in
rq's schedule counts too. Every job reloads and checks state before acting, so a sweep that races a
late job costs a no-op, never a second text; and a sweep run twice enqueues nothing the second time
(its jobs now cover the work). One sweeper runs at a time across processes and machines: it holds a
lease in the database (`engage.leases`). It runs inside the periodic reconciliation job
(`workers.reconcile`) and from `engage sweep`.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from engage import jobs, leases
from engage.db import sync_session, utcnow
from engage.notices.fanout import BATCH_SIZE
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objections.models import NoticePeriod
from engage.panels.models import MemberStatus, Panel, PanelMember, PanelStatus
from engage.panels.seats.schedule import reminder_at
from engage.queues import WORKER_QUEUES, redis_connection
from engage.residents.models import Resident
from engage.selections.models import Selection, SelectionStatus, Stage, StageStatus
from engage.sms.models import MessageStatus, SmsMessage
from workers import context

log = logging.getLogger(__name__)

LEASE = "sweeper"
LEASE_TTL = timedelta(minutes=2)  # a sweeper that died gives way after this
TEXTS_PER_SWEEP = 20_000  # single texts looked at per sweep; the rest wait for the next one
HOLDER = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LiveJobs:
    """Ids of the jobs rq has waiting, running or (separately) scheduled, read once per sweep."""

    def __init__(self, redis: Redis) -> None:
        self.running: set[str] = set()
        self.scheduled: set[str] = set()
        for name in WORKER_QUEUES:
            target = Queue(name.value, connection=redis, serializer=JSONSerializer)
            self.running.update(target.get_job_ids())
            self.running.update(_decoded(redis.lrange(target.intermediate_queue_key, 0, -1)))
            self.running.update(StartedJobRegistry(queue=target).get_job_ids())
            self.scheduled.update(ScheduledJobRegistry(queue=target).get_job_ids())  # type: ignore[no-untyped-call]

    def covers(self, prefix: str, *, scheduled: bool = False) -> bool:
        """A job whose id starts with `prefix` waits or runs (or, with `scheduled`, waits for its time)."""
        ids = self.running | self.scheduled if scheduled else self.running
        return any(job_id.startswith(prefix) for job_id in ids)


def _decoded(values: Iterable[bytes | str]) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else v for v in values]


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One sweep; returns what it enqueued, by kind ({"elsewhere": 1} when another sweeper runs)."""
    settings = context.settings()
    assert settings.redis_url
    now = now or utcnow()
    with sync_session(context.engine()) as session:
        if not leases.take(session, LEASE, HOLDER, LEASE_TTL):
            return {"elsewhere": 1}
    try:
        live = LiveJobs(redis_connection(settings.redis_url))
        cutoff = now - timedelta(seconds=settings.sweep_after_seconds)
        counts: Counter[str] = Counter()
        with sync_session(context.engine()) as session:
            counts["fan_outs"] = _fan_outs(session, live, cutoff)
            counts["period_closes"] = _period_closes(session, live, cutoff)
            counts["stage_ticks"] = _stage_ticks(session, live, cutoff)
            counts.update(_panels(session, live, now, cutoff))
            counts["texts"] = _single_texts(session, live, cutoff)
            counts["batches"] = _notice_texts(session, live, cutoff)
    finally:
        with sync_session(context.engine()) as session:
            leases.give_back(session, LEASE, HOLDER)
    found = {kind: count for kind, count in counts.items() if count}
    if found:
        log.info("swept: %s", found)
    return found


def _redis_url() -> str:
    url = context.settings().redis_url
    assert url
    return url


def _fan_outs(session: Session, live: LiveJobs, cutoff: datetime) -> int:
    due = func.coalesce(Notice.texts_held_until, Notice.publish_at, Notice.published_at)
    ids = session.execute(
        select(Notice.id).where(
            Notice.fanned_out_at.is_(None),
            Notice.status.in_([NoticeStatus.SCHEDULED, NoticeStatus.PUBLISHED]),
            due <= cutoff,
        )
    ).scalars()
    enqueued = 0
    for notice_id in ids:
        if not live.covers(jobs.fan_out_job_id(notice_id)):
            enqueued += jobs.enqueue_fan_out(_redis_url(), notice_id)
    return enqueued


def _period_closes(session: Session, live: LiveJobs, cutoff: datetime) -> int:
    ids = session.execute(
        select(NoticePeriod.notice_id)
        .join(Notice, Notice.id == NoticePeriod.notice_id)
        .where(
            Notice.status == NoticeStatus.PUBLISHED,
            NoticePeriod.closed_at.is_(None),
            NoticePeriod.suspended_at.is_(None),
            NoticePeriod.closes_at <= cutoff,
        )
    ).scalars()
    enqueued = 0
    for notice_id in ids:
        job_id = jobs.close_period_job_id(notice_id)
        if not live.covers(job_id):
            enqueued += jobs.enqueue(_redis_url(), jobs.CLOSE_PERIOD, notice_id, job_id=job_id)
    return enqueued


def _stage_ticks(session: Session, live: LiveJobs, cutoff: datetime) -> int:
    stages = session.execute(
        select(Stage)
        .join(Selection, Selection.id == Stage.selection_id)
        .where(
            Selection.status == SelectionStatus.PUBLISHED,
            or_(
                and_(Stage.status == StageStatus.PENDING, Stage.opens_at <= cutoff),
                and_(Stage.status == StageStatus.OPEN, Stage.closes_at <= cutoff),
            ),
        )
        .order_by(Stage.selection_id, Stage.position)
    ).scalars()
    enqueued = 0
    for stage in stages:
        if (stage.outcome or {}).get("blocked"):
            continue  # a rule stopped it; the organizer acts, not the clock
        if stage.status == StageStatus.PENDING and not _previous_closed(session, stage):
            continue  # the previous stage's close opens it
        if live.covers(f"selection-{stage.selection_id}-{stage.kind}-"):
            continue
        edge = stage.opens_at if stage.status == StageStatus.PENDING else stage.closes_at
        job_id = jobs.tick_job_id(stage.selection_id, stage.kind, edge)
        enqueued += jobs.enqueue(
            _redis_url(), jobs.SELECTION_TICK, stage.selection_id, stage.kind, job_id=job_id
        )
    return enqueued


def _previous_closed(session: Session, stage: Stage) -> bool:
    previous = session.execute(
        select(Stage.status).where(Stage.selection_id == stage.selection_id, Stage.position < stage.position)
    ).scalars()
    return all(status == StageStatus.CLOSED for status in previous)


def _panels(session: Session, live: LiveJobs, now: datetime, cutoff: datetime) -> Counter[str]:
    counts: Counter[str] = Counter()
    textable = (
        select(PanelMember.id)
        .join(Resident, Resident.id == PanelMember.resident_id)
        .where(Resident.phone.is_not(None), Resident.sms_opt_out_at.is_(None))
    )
    panels = session.execute(
        select(Panel)
        .where(Panel.status == PanelStatus.DRAWN, Panel.reply_deadline.is_not(None))
        .options(selectinload(Panel.members))
    ).scalars()
    reachable = set(session.execute(textable).scalars())
    for panel in panels:
        deadline = panel.reply_deadline
        assert deadline is not None
        invited = [m for m in panel.members if m.status == MemberStatus.INVITED and m.invited_at is not None]
        if deadline <= cutoff:
            if any(m.invited_at is not None and m.invited_at <= deadline for m in invited):
                job_id = f"panel-{panel.id}-lapse"
                if not live.covers(job_id):
                    counts["lapses"] += jobs.enqueue(_redis_url(), jobs.PANEL_LAPSE, panel.id, job_id=job_id)
            continue
        if deadline <= now:
            continue
        waiting = [
            m
            for m in invited
            if m.reminded_at is None and m.id in reachable and _reminder_due(deadline, m, cutoff)
        ]
        if waiting and not live.covers(f"panel-{panel.id}-reminders"):
            job_id = f"panel-{panel.id}-reminders-swept-{int(time.time())}"
            counts["reminders"] += jobs.enqueue(_redis_url(), jobs.PANEL_REMINDERS, panel.id, job_id=job_id)
    return counts


def _reminder_due(deadline: datetime, member: PanelMember, cutoff: datetime) -> bool:
    assert member.invited_at is not None
    when = reminder_at(deadline, member.invited_at)
    return when is not None and when <= cutoff


def _waiting_texts(cutoff: datetime) -> object:
    return and_(
        SmsMessage.status == MessageStatus.QUEUED,
        func.coalesce(SmsMessage.retry_at, SmsMessage.created_at) <= cutoff,
    )


def _single_texts(session: Session, live: LiveJobs, cutoff: datetime) -> int:
    ids = session.execute(
        select(SmsMessage.id)
        .where(SmsMessage.notice_id.is_(None), _waiting_texts(cutoff))  # type: ignore[arg-type]
        .order_by(SmsMessage.id)
        .limit(TEXTS_PER_SWEEP)
    ).scalars()
    enqueued = 0
    for message_id in ids:
        if not live.covers(jobs.text_job_id(message_id), scheduled=True):
            enqueued += jobs.enqueue_text(_redis_url(), message_id)
    return enqueued


def _notice_texts(session: Session, live: LiveJobs, cutoff: datetime) -> int:
    notice_ids = session.execute(
        select(SmsMessage.notice_id)
        .where(SmsMessage.notice_id.is_not(None), _waiting_texts(cutoff))  # type: ignore[arg-type]
        .distinct()
    ).scalars()
    enqueued = 0
    for notice_id in list(notice_ids):
        assert notice_id is not None
        # A batch waiting, running or scheduled (held for the morning, or a retry) covers the notice's
        # texts; so does its fan-out, which enqueues the batches.
        if live.covers(jobs.batch_job_prefix(notice_id), scheduled=True) or live.covers(
            jobs.fan_out_job_id(notice_id), scheduled=True
        ):
            continue
        ids = list(
            session.execute(
                select(SmsMessage.id)
                .where(SmsMessage.notice_id == notice_id, SmsMessage.status == MessageStatus.QUEUED)
                .order_by(SmsMessage.id)
            ).scalars()
        )
        again = f"swept-{int(time.time())}"
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start : start + BATCH_SIZE]
            enqueued += jobs.enqueue_batch(_redis_url(), notice_id, chunk[0], chunk[-1], again=again)
    return enqueued
