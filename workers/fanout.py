"""Jobs of a notice's fan-out (bulk queue). Both take ids, reload, check state, act: running either twice
sends nothing twice.

fan_out(notice_id): publishes a scheduled notice once its time has come, inserts one queued text per
    recipient, commits, then enqueues send_batch jobs over id ranges.
send_batch(notice_id, first_id, last_id): claims the range's queued texts of residents still opted in,
    sends them 16 at a time, records each answer. Transient refusals are retried in the job a few
    times, then the job raises and rq's Retry brings it back later for what is still queued.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Row, exists, update
from sqlalchemy.orm import Session

from engage.audit.services import SYSTEM, record
from engage.db import sync_session, utcnow
from engage.notices import fanout
from engage.notices.models import Notice, NoticeStatus
from engage.residents.models import Resident
from engage.sms.delivery import status_callback_url
from engage.sms.gateway import GatewayError, SendResult
from engage.sms.models import MessageStatus, SmsMessage
from workers import context

log = logging.getLogger(__name__)

THREADS = 16  # the twilio SDK is synchronous: concurrency comes from threads waiting on HTTP
PAUSES = (0.0, 0.5, 2.0)  # in-job rounds for transient refusals (429, 5xx) before handing to rq
UNSUBSCRIBED = 21610  # Twilio: the recipient texted STOP to our sender; we must not text them again
OPTED_OUT = "resident opted out before sending"


class TransientFailures(Exception):
    """Some texts of a batch met only transient refusals; they are queued again for rq's Retry."""


def fan_out(notice_id: int) -> int:
    """Queue the notice's texts and enqueue their batches; returns the number of batches."""
    settings = context.settings()
    with sync_session(context.engine()) as session:
        notice = session.get(Notice, notice_id)
        if notice is None or not _publish_if_due(session, notice):
            log.info("notice %s: not published, nothing to fan out", notice_id)
            return 0
        recipients = fanout.create_messages(session, notice, settings)
        batches = fanout.queued_batches(session, notice_id)
    # Committed: every enqueued id range names rows that exist.
    assert settings.redis_url
    for batch in batches:
        fanout.enqueue_batch(settings.redis_url, notice_id, batch.first_id, batch.last_id)
    log.info("notice %s: %d recipients, %d batches", notice_id, recipients, len(batches))
    return len(batches)


def _publish_if_due(session: Session, notice: Notice) -> bool:
    if notice.status == NoticeStatus.SCHEDULED and (
        notice.publish_at is None or notice.publish_at <= utcnow()
    ):
        notice.status = NoticeStatus.PUBLISHED
        notice.published_at = utcnow()
        record(session, SYSTEM, "notice.publish", "notice", notice.id, {"scheduled": True})
    return notice.status == NoticeStatus.PUBLISHED


@dataclass(frozen=True)
class _Outcome:
    message_id: int
    resident_id: int | None
    result: SendResult | None = None
    error: GatewayError | None = None


def send_batch(notice_id: int, first_id: int, last_id: int) -> dict[str, int]:
    """Send the queued texts of one id range; returns counts by outcome."""
    totals: Counter[str] = Counter()
    for pause in PAUSES:
        time.sleep(pause)
        counts = _round(notice_id, first_id, last_id)
        totals.update({key: value for key, value in counts.items() if key != "retry"})
        if not counts["retry"]:
            return dict(totals)
    raise TransientFailures(f"notice {notice_id} batch {first_id}-{last_id}: {counts['retry']} still queued")


def _round(notice_id: int, first_id: int, last_id: int) -> Counter[str]:
    claimed = _claim(notice_id, first_id, last_id)
    if not claimed:
        return Counter()
    callback = status_callback_url(context.settings())
    gateway = context.gateway()

    def send(row: Row[int, str, str, int | None]) -> _Outcome:
        message_id, to, body, resident_id = row
        try:
            return _Outcome(message_id, resident_id, result=gateway.send(to, body, status_callback=callback))
        except GatewayError as error:
            return _Outcome(message_id, resident_id, error=error)

    # No transaction is open while the gateway is called.
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sms-batch") as pool:
        outcomes = list(pool.map(send, claimed))
    return _record(outcomes)


def _claim(notice_id: int, first_id: int, last_id: int) -> list[Row[int, str, str, int | None]]:
    """Claim (queued -> sending) the range's texts whose resident is still opted in; fail the others.

    The opt-out is checked in the claim itself, just before sending: a STOP that committed a moment ago
    is seen here."""
    in_range = (
        SmsMessage.notice_id == notice_id,
        SmsMessage.id.between(first_id, last_id),
        SmsMessage.status == MessageStatus.QUEUED,
    )
    opted_in = exists().where(
        Resident.id == SmsMessage.resident_id,
        Resident.sms_opt_out_at.is_(None),
        Resident.phone.is_not(None),
    )
    now = utcnow()
    with sync_session(context.engine()) as session:
        claimed = session.execute(
            update(SmsMessage)
            .where(*in_range, opted_in)
            .values(status=MessageStatus.SENDING, claimed_at=now, attempts=SmsMessage.attempts + 1)
            .returning(SmsMessage.id, SmsMessage.to, SmsMessage.body, SmsMessage.resident_id)
        ).all()
        skipped = session.execute(
            update(SmsMessage)
            .where(*in_range)
            .values(status=MessageStatus.FAILED, error_message=OPTED_OUT)
            .returning(SmsMessage.id)
        ).all()
    if skipped:
        log.info("notice %s: %d texts skipped, their residents opted out", notice_id, len(skipped))
    return list(claimed)


def _record(outcomes: list[_Outcome]) -> Counter[str]:
    counts: Counter[str] = Counter()
    now = utcnow()
    sent = [
        {
            "id": o.message_id,
            "status": MessageStatus.SENT.value,
            "gateway_id": o.result.gateway_id,
            "sent_at": now,
        }
        for o in outcomes
        if o.result is not None
    ]
    counts["sent"] = len(sent)
    with sync_session(context.engine()) as session:
        if sent:
            session.execute(update(SmsMessage), sent)  # bulk UPDATE by primary key
        for outcome in outcomes:
            if outcome.error is not None:
                counts["retry" if outcome.error.transient else "failed"] += 1
                _record_failure(session, outcome, outcome.error)
    return counts


def _record_failure(session: Session, outcome: _Outcome, error: GatewayError) -> None:
    status = MessageStatus.QUEUED if error.transient else MessageStatus.FAILED
    session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == outcome.message_id)
        .values(status=status, error_code=error.code, error_message=str(error)[:500])
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
