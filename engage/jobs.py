"""Background work: the job names, and the one way work reaches the queue.

The database is the record of all work, queued or timed: a text is a `queued` row, a fan-out is a
published notice not yet `fanned_out_at`, a period's close is its `closes_at`, a stage's edge its dates,
a panel's reminder and lapse its reply deadline. Redis only makes it fast. So every enqueue here is an
accelerator: when Redis refuses, the failure is logged and the work waits for the sweeper
(`workers.sweep`), which finds it in the database and enqueues it again. Callers commit first, then
enqueue (a job never sees a row that might still roll back); services say what to enqueue in an
`After`, and `dispatch` (or `after_commit` from async handlers) enqueues it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from anyio import to_thread
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError
from rq import Retry

from engage.db import utcnow
from engage.queues import QueueName, queue, redis_connection

log = logging.getLogger(__name__)

# The jobs, by the names rq imports them under. Nothing else in engage/ names a job.
SEND_MESSAGE = "workers.sms.send_message"
FAN_OUT = "workers.fanout.fan_out"
SEND_BATCH = "workers.fanout.send_batch"
CLOSE_PERIOD = "workers.notices.close_period"
PANEL_REMINDERS = "workers.panels.send_reminders"
PANEL_LAPSE = "workers.panels.lapse"
SELECTION_TICK = "workers.selections.tick"
RECONCILE = "workers.reconcile.reconcile"
PURGE = "workers.privacy.purge"  # the daily retention purge (engage.privacy)

# A single text refused for a moment comes back after these pauses (rq's Retry, and `retry_at` for
# the sweeper when Redis forgot the retry).
TEXT_RETRY_INTERVALS = (5, 30, 120, 600, 1800)
# Transient refusals left after a send batch's own retries come back later, with growing pauses.
BATCH_RETRY_INTERVALS = (30, 120, 600, 1800, 3600)


def enqueue(
    redis_url: str,
    name: str,
    *args: Any,
    job_id: str,
    on: QueueName = QueueName.DEFAULT,
    at: datetime | None = None,
    retry: Retry | None = None,
    result_ttl: int | None = None,
) -> bool:
    """Enqueue one job (or schedule it at `at`); False when Redis refused, which the sweeper covers."""
    options: dict[str, Any] = {"job_id": job_id, "retry": retry}
    if result_ttl is not None:
        options["result_ttl"] = result_ttl
    try:
        target = queue(redis_url, on)
        if at is not None:
            target.enqueue_at(at, name, *args, **options)  # rq's scheduler enqueues it when due
        else:
            target.enqueue(name, *args, **options)
    except RedisError as error:
        log.warning("job %s not enqueued (%s); the sweeper will enqueue it", job_id, type(error).__name__)
        return False
    return True


def jittered(seconds: float) -> float:
    """Between half and the whole of `seconds` ("equal jitter")."""
    return seconds / 2 + random.uniform(0, seconds / 2)


def text_job_id(message_id: int) -> str:
    return f"sms-{message_id}"  # enqueuing the same message twice makes one job


def retry_pause(intervals: tuple[int, ...], attempts: int) -> int:
    """The pause before the next try of something tried `attempts` times (the last pause repeats)."""
    return intervals[min(max(attempts, 1), len(intervals)) - 1]


def _enqueue_text(redis_url: str, message_id: int, priority: QueueName, pipeline: Any) -> None:
    queue(redis_url, priority).enqueue(
        SEND_MESSAGE,
        message_id,
        job_id=text_job_id(message_id),
        retry=Retry(max=len(TEXT_RETRY_INTERVALS), interval=list(TEXT_RETRY_INTERVALS)),
        pipeline=pipeline,
    )


def enqueue_text(redis_url: str, message_id: int, priority: QueueName = QueueName.DEFAULT) -> bool:
    """Send one committed text. False when Redis refused (the sweeper sends it)."""
    try:
        pipeline = redis_connection(redis_url).pipeline()
        _enqueue_text(redis_url, message_id, priority, pipeline)
        pipeline.execute()  # one round trip (rq alone would take two)
    except RedisError as error:
        log.warning("sms %s not enqueued (%s); the sweeper will", message_id, type(error).__name__)
        return False
    return True


async def enqueue_text_async(
    redis: AsyncRedis, redis_url: str, message_id: int, priority: QueueName = QueueName.DEFAULT
) -> None:
    """enqueue_text for handlers: the same rq job, sent in one round trip on the app's async Redis, with
    no thread. rq builds its commands into a sync pipeline that is never executed; they are replayed
    here. (A queue's first use in a process asks the server for its version, once, on rq's sync
    connection.) Raises for Redis: a resident is waiting for this text, the caller answers 503."""
    recorder = redis_connection(redis_url).pipeline()
    _enqueue_text(redis_url, message_id, priority, recorder)
    async with redis.pipeline(transaction=True) as pipeline:
        for args, options in recorder.command_stack:
            pipeline.execute_command(*args, **options)
        await pipeline.execute()


def batch_retry() -> Retry:
    """rq's Retry with jitter: batches refused at the same moment do not all come back at once."""
    return Retry(max=len(BATCH_RETRY_INTERVALS), interval=[round(jittered(s)) for s in BATCH_RETRY_INTERVALS])


def fan_out_job_id(notice_id: int) -> str:
    return f"notice-{notice_id}-fanout"


def enqueue_fan_out(redis_url: str, notice_id: int, at: datetime | None = None) -> bool:
    job_id = fan_out_job_id(notice_id)
    if at is not None and at > utcnow():
        job_id += f"-at-{int(at.timestamp())}"  # a fan-out held for the morning is a second job
    else:
        at = None  # due now
    return enqueue(
        redis_url, FAN_OUT, notice_id, job_id=job_id, on=QueueName.BULK, at=at, retry=batch_retry()
    )


def batch_job_prefix(notice_id: int) -> str:
    return f"notice-{notice_id}-batch-"


def enqueue_batch(
    redis_url: str,
    notice_id: int,
    first_id: int,
    last_id: int,
    *,
    at: datetime | None = None,
    again: str = "",
) -> bool:
    """`again` names a second run of the same range (held, resumed, retried, swept): a new job id, since
    rq would otherwise overwrite the first job's record. Running a range twice sends nothing twice."""
    job_id = f"{batch_job_prefix(notice_id)}{first_id}-{last_id}" + (f"-{again}" if again else "")
    if at is not None and at <= utcnow():
        at = None  # due now
    return enqueue(
        redis_url,
        SEND_BATCH,
        notice_id,
        first_id,
        last_id,
        job_id=job_id,
        on=QueueName.BULK,
        at=at,
        retry=batch_retry(),
    )


def close_period_job_id(notice_id: int) -> str:
    return f"notice-{notice_id}-period-close"


def schedule_close_period(redis_url: str, notice_id: int, closes_at: datetime) -> bool:
    """The closing job at the closing moment. One job id per notice: an extension reschedules it."""
    return enqueue(redis_url, CLOSE_PERIOD, notice_id, job_id=close_period_job_id(notice_id), at=closes_at)


def tick_job_id(selection_id: int, kind: str, when: datetime) -> str:
    return f"selection-{selection_id}-{kind}-{when.strftime('%Y%m%dT%H%M%S')}"


def schedule_tick(redis_url: str, selection_id: int, kind: str, when: datetime) -> bool:
    job_id = tick_job_id(selection_id, kind, when)
    return enqueue(redis_url, SELECTION_TICK, selection_id, kind, job_id=job_id, at=when)


@dataclass
class After:
    """Work for after the commit, returned by services: jobs only ever see committed rows."""

    notices: list[int] = field(default_factory=list)  # fan out now
    notices_at: list[tuple[int, datetime | None]] = field(default_factory=list)  # fan out then (or now)
    texts: list[int] = field(default_factory=list)  # send
    periods: list[tuple[int, datetime]] = field(default_factory=list)  # (notice, closing moment)
    schedule: list[tuple[datetime, int, str]] = field(default_factory=list)  # (when, selection, stage)
    priority: QueueName = QueueName.DEFAULT  # of the texts

    def extend(self, other: After) -> After:
        self.notices += other.notices
        self.notices_at += other.notices_at
        self.texts += other.texts
        self.schedule += other.schedule
        self.periods += other.periods
        return self


def dispatch(redis_url: str, after: After) -> None:
    """Enqueue what a committed change asked for. Nothing here raises for Redis: see the module doc."""
    for message_id in after.texts:
        enqueue_text(redis_url, message_id, after.priority)
    for notice_id in after.notices:
        enqueue_fan_out(redis_url, notice_id)
    for notice_id, at in after.notices_at:
        enqueue_fan_out(redis_url, notice_id, at)
    for notice_id, closes_at in after.periods:
        schedule_close_period(redis_url, notice_id, closes_at)
    for when, selection_id, kind in after.schedule:
        schedule_tick(redis_url, selection_id, kind, when)


async def after_commit(redis_url: str, after: After) -> None:
    """`dispatch` for async handlers: rq's client is sync, so it runs in a thread."""
    await to_thread.run_sync(dispatch, redis_url, after)


async def run_in_thread(work: Callable[..., object], *args: Any) -> None:
    """One of the enqueue helpers above, from an async handler after its commit (rq's client is sync)."""
    await to_thread.run_sync(lambda: work(*args))
