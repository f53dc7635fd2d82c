"""Jobs of a notice's fan-out (bulk queue). Both take ids, reload, check state, act: running either twice
sends nothing twice.

fan_out(notice_id): publishes a scheduled notice once its time has come, holds a non-urgent notice's
    texts until the quiet hours end, inserts one queued text per recipient, commits, then enqueues
    send_batch jobs over id ranges.
send_batch(notice_id, first_id, last_id): claims the range's queued texts of residents still opted in,
    a chunk at a time and only as fast as the sender's global rate allows, sends up to 64 at once
    (the SDK's asyncio client), records each answer. Transient refusals are retried in the job with
    exponential backoff and jitter, then the job raises and rq's Retry brings it back later. A send
    whose answer never came ("maybe sent") stays claimed for workers.reconcile to look up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, Table, bindparam, exists, select, update
from sqlalchemy.orm import Session

from engage import jobs
from engage.audit.services import SYSTEM, record
from engage.db import sync_session, utcnow
from engage.notices import fanout, lifecycle, progress
from engage.notices.deliveries.rules import OPTED_OUT_MESSAGE
from engage.notices.models import Notice, NoticeStatus
from engage.notices.progress import BatchRef
from engage.queues import redis_connection
from engage.residents.models import Resident
from engage.sms.delivery import status_callback_url
from engage.sms.gateway import AsyncSender, GatewayError, SendResult, SmsGateway
from engage.sms.gateways import sender_of
from engage.sms.models import MessageStatus, SmsMessage
from engage.sms.rate import SendRate
from workers import context

log = logging.getLogger(__name__)

CONCURRENCY = 64  # sends in flight per batch; they wait on the network, not the CPU
CHUNK = 128  # texts claimed (and rate tokens asked for) at a time
FLUSH = 64  # answers recorded per transaction: fewer answers to reconcile if the worker dies
ROUNDS = 4  # in-job rounds for transient refusals (429, 5xx) before handing to rq's Retry
BACKOFF = 0.5  # seconds before the second round, doubling after; jittered
UNSUBSCRIBED = 21610  # Twilio: the recipient texted STOP to our sender; we must not text them again
OPTED_OUT = OPTED_OUT_MESSAGE  # the organizer view counts these as opted out


class TransientFailures(Exception):
    """Some texts of a batch met only transient refusals; they are queued again for rq's Retry."""


def fan_out(notice_id: int) -> int:
    """Queue the notice's texts and enqueue their batches; returns the number of batches."""
    settings = context.settings()
    assert settings.redis_url
    with sync_session(context.engine()) as session:
        notice = session.get(Notice, notice_id)
        if notice is None or not _publish_if_due(session, notice):
            log.info("notice %s: not published, nothing to fan out", notice_id)
            return 0
        until = _quiet_until(notice)
        if until is not None:
            notice.texts_held_until = until
            session.commit()
            jobs.enqueue_fan_out(settings.redis_url, notice_id, until)
            log.info("notice %s: quiet hours, texts held until %s", notice_id, until.isoformat())
            return 0
        notice.texts_held_until = None
        recipients = fanout.create_messages(session, notice, settings)
        notice.fanned_out_at = utcnow()  # with the rows, in one commit: the sweeper's mark
        batches = fanout.queued_batches(session, notice_id)
    # Committed: every enqueued id range names rows that exist.
    for batch in batches:
        jobs.enqueue_batch(settings.redis_url, notice_id, batch.first_id, batch.last_id)
    log.info("notice %s: %d recipients, %d batches", notice_id, recipients, len(batches))
    return len(batches)


def _quiet_until(notice: Notice) -> datetime | None:
    return fanout.texts_held_until(notice, utcnow(), context.settings())


def _publish_if_due(session: Session, notice: Notice) -> bool:
    change = lifecycle.publish_due(notice, utcnow())
    if change is not None:
        change.apply(notice)
        record(session, SYSTEM, change.action, "notice", notice.id, change.details)
    return notice.status == NoticeStatus.PUBLISHED


@dataclass(frozen=True)
class _Outcome:
    message_id: int
    resident_id: int | None
    result: SendResult | None = None
    error: GatewayError | None = None


Claimed = Row[int, str, str, int | None]


def send_batch(notice_id: int, first_id: int, last_id: int) -> dict[str, int]:
    """Send the queued texts of one id range; returns counts by outcome."""
    settings = context.settings()
    assert settings.redis_url
    redis = redis_connection(settings.redis_url)
    batch = BatchRef(notice_id, first_id, last_id)
    with sync_session(context.engine()) as session:
        notice = session.get(Notice, notice_id)
        until = _quiet_until(notice) if notice is not None else None
    if until is not None:  # a retry or a resumed batch that reached the quiet hours waits for morning
        jobs.enqueue_batch(settings.redis_url, notice_id, first_id, last_id, at=until, again="held")
        return {"held": 1}
    totals: Counter[str] = Counter()
    try:
        for round_number in range(ROUNDS):
            if round_number:
                time.sleep(jobs.jittered(BACKOFF * 2 ** (round_number - 1) * 2))
            counts = asyncio.run(_Round(batch, redis).run())
            totals.update({key: value for key, value in counts.items() if key != "retry"})
            if not counts["retry"]:
                return dict(totals)
    finally:
        progress.finish(redis, batch)
    raise TransientFailures(f"notice {notice_id} batch {first_id}-{last_id}: {counts['retry']} still queued")


class _Round:
    """One pass over the range: claim a chunk (after its rate tokens), send it, record answers."""

    def __init__(self, batch: BatchRef, redis: object) -> None:
        settings = context.settings()
        self.batch = batch
        self.redis = redis
        self.rate = SendRate(redis, sender_of(settings), settings.sms_rate_per_second)
        self.callback = status_callback_url(settings)
        self.counts: Counter[str] = Counter()
        self.answers: list[_Outcome] = []

    async def run(self) -> Counter[str]:
        progress.beat(self.redis, self.batch)
        slots = asyncio.Semaphore(CONCURRENCY)
        tasks: set[asyncio.Task[None]] = set()
        async with _sender(context.gateway()) as sender:
            while True:
                granted = await self._tokens(CHUNK)
                claimed = await asyncio.to_thread(_claim, self.batch, granted)
                if not claimed:
                    break
                progress.beat(self.redis, self.batch)
                for row in claimed:
                    await slots.acquire()
                    task = asyncio.create_task(self._send(sender, row))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    task.add_done_callback(lambda _: slots.release())
                if len(self.answers) >= FLUSH:
                    await self._flush()
            if tasks:
                await asyncio.wait(tasks)
        await self._flush()
        return self.counts

    async def _tokens(self, want: int) -> int:
        while True:
            granted, wait = self.rate.take(want)
            if granted:
                return granted
            progress.beat(self.redis, self.batch)  # waiting for the rate is progress, not a stall
            await asyncio.sleep(wait)

    async def _send(self, sender: AsyncSender, row: Claimed) -> None:
        message_id, to, body, resident_id = row
        try:
            result = await sender.send(to, body, status_callback=self.callback)
            self.answers.append(_Outcome(message_id, resident_id, result=result))
        except GatewayError as error:
            self.answers.append(_Outcome(message_id, resident_id, error=error))
        except Exception as error:  # a bug, not an answer: whether it went out is unknown
            log.exception("sms %s: unexpected error while sending", message_id)
            unknown = GatewayError(f"unexpected {type(error).__name__}", transient=True, maybe_sent=True)
            self.answers.append(_Outcome(message_id, resident_id, error=unknown))

    async def _flush(self) -> None:
        answers, self.answers = self.answers, []
        if answers:
            self.counts.update(await asyncio.to_thread(_record, answers))


class _ThreadSender:
    """A gateway without an asyncio client (the console one): its sends run in threads."""

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    async def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        return await asyncio.to_thread(self.gateway.send, to, body, status_callback=status_callback)


@asynccontextmanager
async def _sender(gateway: SmsGateway) -> AsyncIterator[AsyncSender]:
    opener = getattr(gateway, "async_sender", None)
    if opener is None:
        yield _ThreadSender(gateway)
        return
    async with opener(CONCURRENCY) as sender:
        yield sender


def _claim(batch: BatchRef, limit: int) -> list[Claimed]:
    """Claim (queued -> sending) up to `limit` of the range's texts whose resident is still opted in;
    fail the others among them. The opt-out is checked in the claim itself, just before sending: a STOP
    that committed a moment ago is seen here. claimed_at is the moment the gateway call starts."""
    with sync_session(context.engine()) as session:
        chosen = select(SmsMessage.id).where(
            SmsMessage.notice_id == batch.notice_id,
            SmsMessage.id.between(batch.first_id, batch.last_id),
            SmsMessage.status == MessageStatus.QUEUED,
        )
        chosen = chosen.order_by(SmsMessage.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)  # a resumed twin takes other rows
        ids = list(session.execute(chosen).scalars())
        if not ids:
            return []
        opted_in = exists().where(
            Resident.id == SmsMessage.resident_id,
            Resident.sms_opt_out_at.is_(None),
            Resident.phone.is_not(None),
        )
        claimed = session.execute(
            update(SmsMessage)
            .where(SmsMessage.id.in_(ids), SmsMessage.status == MessageStatus.QUEUED, opted_in)
            .values(status=MessageStatus.SENDING, claimed_at=utcnow(), attempts=SmsMessage.attempts + 1)
            .returning(SmsMessage.id, SmsMessage.to, SmsMessage.body, SmsMessage.resident_id)
        ).all()
        skipped = session.execute(
            update(SmsMessage)
            .where(SmsMessage.id.in_(ids), SmsMessage.status == MessageStatus.QUEUED)
            .values(status=MessageStatus.FAILED, error_message=OPTED_OUT)
            .returning(SmsMessage.id)
        ).all()
    if skipped:
        log.info("notice %s: %d texts skipped, their residents opted out", batch.notice_id, len(skipped))
    return list(claimed)


def record_sent(session: Session, sent: Sequence[tuple[int, str]]) -> int:
    """(message id, gateway id) pairs: sending -> sent. A row no longer `sending` (reconciled meanwhile)
    is left alone. Returns how many rows changed."""
    if not sent:
        return 0
    table = SmsMessage.__table__
    assert isinstance(table, Table)
    statement = (
        update(table)
        .where(table.c.id == bindparam("message_id"), table.c.status == MessageStatus.SENDING.value)
        .values(status=MessageStatus.SENT.value, gateway_id=bindparam("sid"), sent_at=bindparam("at"))
    )
    now = utcnow()
    rows = [{"message_id": message_id, "sid": sid, "at": now} for message_id, sid in sent]
    result = session.execute(statement, rows)
    return int(getattr(result, "rowcount", 0) or 0)


def _record(outcomes: list[_Outcome]) -> Counter[str]:
    counts: Counter[str] = Counter()
    with sync_session(context.engine()) as session:
        counts["sent"] = record_sent(
            session, [(o.message_id, o.result.gateway_id) for o in outcomes if o.result is not None]
        )
        for outcome in outcomes:
            error = outcome.error
            if error is None:
                continue
            if error.maybe_sent:
                counts["unknown"] += 1  # left claimed: workers.reconcile asks the gateway
                _note_unknown(session, outcome.message_id, error)
                continue
            counts["retry" if error.transient else "failed"] += 1
            _record_failure(session, outcome, error)
    return counts


def _note_unknown(session: Session, message_id: int, error: GatewayError) -> None:
    session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == message_id, SmsMessage.status == MessageStatus.SENDING)
        .values(error_message=str(error)[:500])
    )


def _record_failure(session: Session, outcome: _Outcome, error: GatewayError) -> None:
    status = MessageStatus.QUEUED if error.transient else MessageStatus.FAILED
    # The batch's own rq Retry brings it back; retry_at is the same pause, kept where Redis cannot lose it.
    retry_at = utcnow() + timedelta(seconds=jobs.BATCH_RETRY_INTERVALS[0]) if error.transient else None
    session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == outcome.message_id, SmsMessage.status == MessageStatus.SENDING)
        .values(status=status, error_code=error.code, error_message=str(error)[:500], retry_at=retry_at)
    )
    if error.transient:
        return
    record(session, SYSTEM, "sms.failed", "sms_message", outcome.message_id, {"code": error.code})
    if error.code == UNSUBSCRIBED and outcome.resident_id is not None:
        _opt_out(session, outcome.resident_id)


def _opt_out(session: Session, resident_id: int) -> None:
    """The gateway says the resident unsubscribed (STOP to the carrier): record it as our own opt-out."""
    pseudonym = session.execute(
        update(Resident)
        .where(Resident.id == resident_id, Resident.sms_opt_out_at.is_(None))
        .values(sms_opt_out_at=utcnow())
        .returning(Resident.pseudonym)
    ).scalar_one_or_none()
    if pseudonym is not None:
        actor = f"resident:{pseudonym}"
        record(
            session,
            actor,
            "resident.sms_opt_out",
            "resident",
            pseudonym,
            {"via": "gateway", "code": UNSUBSCRIBED},
        )
        log.info("resident %s opted out: the gateway answered %d", pseudonym, UNSUBSCRIBED)
