"""Reconciliation (default queue): what a dead or stuck worker left behind, put right without sending
anything twice.

reconcile(): 1. batches with no progress for SMS_STALL_SECONDS are enqueued again (their unclaimed
    texts go out; claims make a second run harmless);
    2. texts claimed (`sending`) longer ago than SMS_STALL_SECONDS + the gateway timeout and still
    without a gateway id are looked up at the gateway (Twilio's message list by recipient since the
    claim): found -> recorded as sent with its id; the gateway never saw it -> queued and sent again.
    A lookup that fails leaves the text for the next run.

    3. the sweeper (workers.sweep) enqueues what the database says is due and no job covers.

It runs every SMS_STALL_SECONDS / 2 (at least every 5 s, at most every 30 s): each worker process
(`engage worker`, also the one `make run` starts) has a small ticker thread that enqueues it, and a
Redis key taken with SET NX makes one enqueue per period, however many workers there are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from engage import jobs
from engage.db import sync_session, utcnow
from engage.notices import progress
from engage.queues import redis_connection
from engage.sms.models import MessageStatus, SmsMessage
from workers import context, privacy
from workers.fanout import record_sent
from workers.sweep import sweep

log = logging.getLogger(__name__)

TICK_KEY = "engage:sms:reconcile:tick"
LOOKUPS_PER_RUN = 2000  # gateway list calls per run; the rest wait for the next run
LOOKUP_THREADS = 16
CLOCK_SKEW = timedelta(seconds=5)  # our clock against the gateway's, when asking "since the claim"


def interval(stall_seconds: int) -> float:
    return min(30.0, max(5.0, stall_seconds / 2))


def reconcile() -> dict[str, int]:
    settings = context.settings()
    assert settings.redis_url
    counts = {"resumed": resume_stalled(settings.redis_url, settings.sms_stall_seconds)}
    counts.update(look_up_unrecorded(settings.redis_url))
    counts.update({f"swept_{kind}": count for kind, count in sweep().items()})
    if any(counts.values()):
        log.info("reconciled: %s", counts)
    return counts


def resume_stalled(redis_url: str, stall_seconds: int) -> int:
    redis = redis_connection(redis_url)
    stalled = progress.stalled(redis, stall_seconds)
    now = time.time()
    for batch in stalled:
        # Its beat is moved to now so that the next run waits for the new job before judging it.
        progress.beat(redis, batch, now)
        again = f"resumed-{int(now)}"
        jobs.enqueue_batch(redis_url, batch.notice_id, batch.first_id, batch.last_id, again=again)
        log.warning("notice %s batch %s-%s: no progress, re-queued", *vars(batch).values())
    return len(stalled)


def look_up_unrecorded(redis_url: str) -> dict[str, int]:
    settings = context.settings()
    cutoff = utcnow() - timedelta(seconds=settings.sms_stall_seconds + settings.sms_gateway_timeout)
    with sync_session(context.engine()) as session:
        rows = session.execute(
            select(SmsMessage.id, SmsMessage.to, SmsMessage.body, SmsMessage.claimed_at, SmsMessage.notice_id)
            .where(SmsMessage.status == MessageStatus.SENDING, SmsMessage.claimed_at < cutoff)
            .order_by(SmsMessage.id)
            .limit(LOOKUPS_PER_RUN)
        ).all()
    counts = {"found": 0, "requeued": 0, "lookup_failed": 0}
    again: dict[int | None, list[int]] = defaultdict(list)
    # Each lookup is one gateway round trip: a few at once, as the sends were.
    with ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="sms-lookup") as pool:
        outcomes = list(pool.map(lambda row: _look_up(*row[:4]), rows))
    for (message_id, _, _, _, notice_id), outcome in zip(rows, outcomes, strict=True):
        counts[outcome] += 1
        if outcome == "requeued":
            again[notice_id].append(message_id)
    for notice_id, ids in again.items():
        if notice_id is None:
            for message_id in ids:
                jobs.enqueue_text(redis_url, message_id)
        else:
            jobs.enqueue_batch(redis_url, notice_id, min(ids), max(ids), again=f"found-{int(time.time())}")
    return counts


def _look_up(message_id: int, to: str, body: str, claimed_at: Any) -> str:
    gateway = context.gateway()
    find_sent = getattr(gateway, "find_sent", None)
    if find_sent is None:
        matches = []  # the console gateway keeps no list to ask; it is for development only
    else:
        try:
            matches = [m for m in find_sent(to, claimed_at - CLOCK_SKEW) if m.body in (None, body)]
        except Exception:
            log.warning("sms %s: gateway lookup failed; trying again next run", message_id, exc_info=True)
            return "lookup_failed"
    with sync_session(context.engine()) as session:
        known = set(
            session.execute(
                select(SmsMessage.gateway_id).where(
                    SmsMessage.gateway_id.in_([m.gateway_id for m in matches])
                )
            ).scalars()
        )
        unclaimed = [m for m in matches if m.gateway_id not in known]
        if unclaimed:
            # The oldest match is the one our claim sent (Twilio lists newest first).
            record_sent(session, [(message_id, unclaimed[-1].gateway_id)])
            log.debug("sms %s: the gateway had it; recorded its id", message_id)
            return "found"
        session.execute(
            update(SmsMessage)
            .where(SmsMessage.id == message_id, SmsMessage.status == MessageStatus.SENDING)
            .values(status=MessageStatus.QUEUED, error_message="the gateway never received it; sent again")
        )
    log.debug("sms %s: unknown to the gateway; queued again", message_id)
    return "requeued"


def enqueue_reconcile(redis_url: str, every: float) -> bool:
    """Enqueue one reconciliation job unless one was enqueued less than `every` seconds ago."""
    connection = redis_connection(redis_url)
    if not connection.set(TICK_KEY, str(time.time()), nx=True, px=int(every * 1000)):
        return False
    return jobs.enqueue(redis_url, jobs.RECONCILE, job_id=f"sms-reconcile-{time.time_ns()}", result_ttl=60)


def start_ticker(redis_url: str, stall_seconds: int) -> threading.Event:
    """A daemon thread enqueueing the job every interval, and the retention purge once a day; set the
    returned event to stop it."""
    stop = threading.Event()
    every = interval(stall_seconds)

    def tick() -> None:
        while not stop.is_set():
            try:
                enqueue_reconcile(redis_url, every)
                privacy.enqueue_daily(redis_url)
            except Exception:  # Redis away for a moment: the next tick tries again
                log.warning("could not enqueue the reconciliation job (Redis away?)")
            stop.wait(every / 2)

    threading.Thread(target=tick, name="sms-reconcile-ticker", daemon=True).start()
    return stop
