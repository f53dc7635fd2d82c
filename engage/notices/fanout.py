"""Fan-out of a published notice: who receives it, what their text says, and one queued SmsMessage per
recipient. Runs in the rq job (sync session); the web side uses `recipients` and `sms_text` for the
preview, so the numbers an organizer sees are the ones that will be sent.

The rows are committed by the caller before any batch is enqueued (`engage.jobs.enqueue_batch`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engage import quiet_hours as quiet
from engage.db import utcnow
from engage.notices.models import Audience, Notice
from engage.residents.models import Resident, ResidentRole, ResidentRoleKind, Subscription, SubscriptionKind
from engage.settings import Settings
from engage.sms.models import MessageStatus, SmsMessage
from engage.sms.texts import render

BATCH_SIZE = 1000  # messages per send job; claimed and recorded in chunks, up to 64 sends at a time
INSERT_CHUNK = 1000


def notice_link(settings: Settings, notice_id: int) -> str:
    return f"{settings.public_base_url.rstrip('/')}/notices/{notice_id}"


def text_locale(locale: str) -> str:
    """Notices are written in two languages: English readers get English, everyone else Chinese."""
    return "en" if locale == "en" else "zh_CN"


def texts_held_until(notice: Notice, now: datetime, settings: Settings) -> datetime | None:
    """When a notice's texts due at `now` may go, if not now: non-urgent ones wait out the quiet hours.
    Checked at publishing (the answer shows it) and again by the jobs when they run."""
    if notice.urgent:
        return None
    return quiet.held_until(now, quiet.parse_window(settings.sms_quiet_hours), settings.tz)


def sms_text(notice: Notice, locale: str, settings: Settings) -> str:
    """The whole text a recipient in `locale` gets: signature, title, body and the page's address."""
    return render(
        "notice",
        locale,
        settings.signature(locale),
        title=notice.title(locale).strip(),
        body=notice.body(locale).strip(),
        link=notice_link(settings, notice.id),
    )


def _subscribed(kind: SubscriptionKind, values: Sequence[str]) -> ColumnElement[bool]:
    """No subscription of this kind means every value of it; otherwise one of `values` must match."""
    any_of_kind = exists().where(Subscription.resident_id == Resident.id, Subscription.kind == kind.value)
    matching = exists().where(
        Subscription.resident_id == Resident.id,
        Subscription.kind == kind.value,
        Subscription.value.in_(list(values)),
    )
    return or_(~any_of_kind, matching)


def recipients(kind: str, audience: str, community_codes: Sequence[str]) -> Select[int, str | None, str]:
    """(resident id, phone, locale) of every resident a notice goes to, by id."""
    active_subscriber = exists().where(
        ResidentRole.resident_id == Resident.id,
        ResidentRole.role == ResidentRoleKind.SUBSCRIBER.value,
        ResidentRole.withdrawn_at.is_(None),
    )
    query = select(Resident.id, Resident.phone, Resident.locale).where(
        active_subscriber, Resident.sms_opt_out_at.is_(None), Resident.phone.is_not(None)
    )
    if audience != Audience.ALL:
        query = query.where(_subscribed(SubscriptionKind.NOTICE, [kind]))
    if audience == Audience.COMMUNITIES:
        query = query.where(_subscribed(SubscriptionKind.COMMUNITY, community_codes))
    return query.order_by(Resident.id)


def recipients_of(notice: Notice) -> Select[int, str | None, str]:
    return recipients(notice.kind, notice.audience, notice.community_codes)


def _insert(session: Session) -> Any:
    """INSERT ... ON CONFLICT (notice_id, resident_id) DO NOTHING, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(SmsMessage).on_conflict_do_nothing(index_elements=["notice_id", "resident_id"])


@dataclass(frozen=True)
class Batch:
    first_id: int
    last_id: int
    size: int


def create_messages(session: Session, notice: Notice, settings: Settings) -> int:
    """Insert one queued text per recipient (none twice, however often this runs); returns how many
    recipients there are. The caller commits."""
    rows = session.execute(recipients_of(notice)).all()
    texts: dict[str, str] = {}
    now = utcnow()
    values = []
    for resident_id, phone, locale in rows:
        locale = text_locale(locale)
        if locale not in texts:
            texts[locale] = sms_text(notice, locale, settings)
        values.append(
            {
                "to": phone,
                "body": texts[locale],
                # A sandbox token made the notice: its texts are recorded, never sent.
                "status": (MessageStatus.SANDBOX if notice.sandbox else MessageStatus.QUEUED).value,
                "attempts": 0,
                "created_at": now,
                "notice_id": notice.id,
                "resident_id": resident_id,
            }
        )
    statement = _insert(session)
    for start in range(0, len(values), INSERT_CHUNK):
        session.execute(statement, values[start : start + INSERT_CHUNK])
    return len(values)


def queued_batches(session: Session, notice_id: int, size: int = BATCH_SIZE) -> list[Batch]:
    """The notice's queued messages as id ranges of at most `size` messages each."""
    ids = session.execute(
        select(SmsMessage.id)
        .where(SmsMessage.notice_id == notice_id, SmsMessage.status == MessageStatus.QUEUED)
        .order_by(SmsMessage.id)
    ).scalars()
    return [Batch(chunk[0], chunk[-1], len(chunk)) for chunk in _chunks(list(ids), size)]


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
