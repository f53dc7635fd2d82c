"""A notice's deliveries for organizers (async, web side): live counts, the export, trying failed texts
again. Retrying commits first; the caller then enqueues the send batches with the returned ids."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import record_async
from engage.errors import Conflict
from engage.notices import fanout
from engage.notices.deliveries import rules as deliveries
from engage.notices.deliveries.rules import ExportText, Summary, TextState
from engage.notices.models import PUBLIC_STATUSES
from engage.notices.services import get_notice
from engage.residents.models import Resident
from engage.sms.models import DeliveryStatus, MessageStatus, SmsMessage
from engage.sms.segments import count_segments

# Only whether the message says "opted out" matters for counting; the rest of it is free text.
_OPTED_OUT = case((SmsMessage.error_message == deliveries.OPTED_OUT_MESSAGE, deliveries.OPTED_OUT_MESSAGE))
_FAILED = or_(
    SmsMessage.status == MessageStatus.FAILED,
    SmsMessage.delivery_status.in_([DeliveryStatus.UNDELIVERED.value, DeliveryStatus.FAILED.value]),
)


async def summary(db: AsyncSession, notice_id: int) -> Summary:
    await get_notice(db, notice_id)
    query = (
        select(SmsMessage.status, SmsMessage.delivery_status, SmsMessage.error_code, _OPTED_OUT, func.count())
        .where(SmsMessage.notice_id == notice_id)
        .group_by(SmsMessage.status, SmsMessage.delivery_status, SmsMessage.error_code, _OPTED_OUT)
    )
    rows = (await db.execute(query)).all()
    return deliveries.summarize((TextState(s, d, code, note), int(n)) for s, d, code, note, n in rows)


async def export_rows(db: AsyncSession, notice_id: int) -> list[ExportText]:
    await get_notice(db, notice_id)
    query = (
        select(SmsMessage, Resident.pseudonym)
        .outerjoin(Resident, Resident.id == SmsMessage.resident_id)
        .where(SmsMessage.notice_id == notice_id)
        .order_by(SmsMessage.id)
    )
    return [
        ExportText(
            id=m.id,
            pseudonym=pseudonym,
            to=m.to,
            text=TextState(m.status, m.delivery_status, m.error_code, m.error_message),
            attempts=m.attempts,
            gateway_id=m.gateway_id,
            sent_at=m.sent_at,
            delivered_at=m.delivered_at,
        )
        for m, pseudonym in (await db.execute(query)).all()
    ]


async def retry_failed(db: AsyncSession, actor: str, notice_id: int) -> list[int]:
    """Queue again every failed text a second try may deliver; returns their ids (committed)."""
    notice = await get_notice(db, notice_id)
    if notice.status not in PUBLIC_STATUSES:
        raise Conflict(
            "status", f"only a published notice has texts to retry; this notice is {notice.status}"
        )
    candidates = await db.execute(
        select(
            SmsMessage.id,
            SmsMessage.status,
            SmsMessage.delivery_status,
            SmsMessage.error_code,
            SmsMessage.error_message,
        ).where(SmsMessage.notice_id == notice_id, _FAILED)
    )
    ids = [row.id for row in candidates.all() if deliveries.retryable(TextState(*row[1:]))]
    for chunk in _chunks(ids, 1000):
        await db.execute(
            update(SmsMessage)
            .where(SmsMessage.id.in_(chunk), _FAILED)
            .values(
                status=MessageStatus.QUEUED,
                gateway_id=None,
                delivery_status=None,
                delivered_at=None,
                sent_at=None,
                claimed_at=None,
                error_code=None,
                error_message=None,
            )
        )
    await record_async(db, actor, "notice.retry_failed", "notice", notice_id, {"texts": len(ids)})
    await db.commit()
    return ids


async def retry_estimate(db: AsyncSession, notice_id: int) -> tuple[int, int]:
    """(texts, segments) that `retry_failed` would send again now: what the confirmation page bills."""
    rows = await db.execute(
        select(
            SmsMessage.status,
            SmsMessage.delivery_status,
            SmsMessage.error_code,
            SmsMessage.error_message,
            SmsMessage.body,
        ).where(SmsMessage.notice_id == notice_id, _FAILED)
    )
    texts = segments = 0
    for status, delivery_status, code, message, body in rows.all():
        if deliveries.retryable(TextState(status, delivery_status, code, message)):
            texts += 1
            segments += count_segments(body).segments
    return texts, segments


def batches_of(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Id ranges of at most fanout.BATCH_SIZE of these ids each, for enqueue_batch."""
    ordered = sorted(ids)
    return [(chunk[0], chunk[-1]) for chunk in _chunks(ordered, fanout.BATCH_SIZE)]


def _chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
