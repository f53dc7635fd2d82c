"""Notices for organizers (async, web side): drafts, the SMS preview, publishing and closing.

Publishing commits the notice first; the caller then enqueues the fan-out job with its id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import record_async
from engage.db import utcnow
from engage.errors import Conflict, InvalidInput, NotFound, RuleBroken
from engage.i18n import gettext as _
from engage.notices import fanout, lifecycle
from engage.notices.models import PUBLIC_STATUSES, Audience, Notice, NoticeStatus
from engage.notices.objections import periods as period_services
from engage.settings import Settings
from engage.sms.segments import SegmentCount, cost, count_segments

FIELD_LOCALES = {"zh": "zh_CN", "en": "en"}  # title_zh/body_zh are sent to zh_CN readers


@dataclass(frozen=True)
class Draft:
    kind: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    audience: str
    community_codes: list[str]
    period_days: int | None = None  # public notice period in working days; None: the kind's default
    urgent: bool = False


@dataclass(frozen=True)
class LanguagePreview:
    locale: str
    count: SegmentCount
    recipients: int


@dataclass(frozen=True)
class Preview:
    languages: list[LanguagePreview]
    recipients: int
    segments: int
    cost: Decimal


async def get_notice(db: AsyncSession, notice_id: int) -> Notice:
    notice = await db.get(Notice, notice_id)
    if notice is None:
        raise NotFound("notice_id", f"no notice {notice_id}")
    return notice


async def list_notices(
    db: AsyncSession, status: str | None, limit: int, offset: int
) -> tuple[int, list[Notice]]:
    query = select(Notice)
    if status:
        query = query.where(Notice.status == status)
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    page = await db.execute(query.order_by(Notice.id.desc()).limit(limit).offset(offset))
    return int(total), list(page.scalars())


async def public_notices(db: AsyncSession, limit: int = 100) -> list[Notice]:
    query = (
        select(Notice)
        .where(Notice.status.in_([s.value for s in PUBLIC_STATUSES]))
        .order_by(Notice.published_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return list((await db.execute(query)).scalars())


async def public_notice(db: AsyncSession, notice_id: int) -> Notice:
    notice = await db.get(Notice, notice_id)
    if notice is None or notice.status not in PUBLIC_STATUSES:
        raise NotFound("notice_id", f"no notice {notice_id}")
    return notice


def _apply(notice: Notice, draft: Draft) -> None:
    if draft.audience == Audience.COMMUNITIES and not draft.community_codes:
        raise InvalidInput("community_codes", "name at least one community for audience=communities")
    notice.kind = draft.kind
    notice.title_zh, notice.title_en = draft.title_zh.strip(), draft.title_en.strip()
    notice.body_zh, notice.body_en = draft.body_zh.strip(), draft.body_en.strip()
    notice.audience = draft.audience
    notice.urgent = draft.urgent
    notice.community_codes = (
        sorted(set(draft.community_codes)) if draft.audience == Audience.COMMUNITIES else []
    )


def check_texts(notice: Notice, settings: Settings) -> None:
    """Refuse a notice whose text, as sent, is longer than settings.sms_max_segments in any language."""
    for suffix, locale in FIELD_LOCALES.items():
        count = count_segments(fanout.sms_text(notice, locale, settings))
        if count.segments > settings.sms_max_segments:
            message = _(
                "the text is %(segments)s SMS segments (%(units)s %(encoding)s units, signature and link "
                "included); at most %(most)s"
            )
            # The text as sent adds the signature, the title and a link to the body: no schema can count
            # its segments, so this is a rule beyond the schema (422).
            raise RuleBroken(
                f"body_{suffix}",
                message
                % {
                    "segments": count.segments,
                    "units": count.units,
                    "encoding": count.encoding.value,
                    "most": settings.sms_max_segments,
                },
            )


async def create_draft(db: AsyncSession, actor: str, draft: Draft, settings: Settings) -> Notice:
    notice = Notice(status=NoticeStatus.DRAFT, created_by=actor)
    _apply(notice, draft)
    db.add(notice)
    await db.flush()  # the id is part of the text (the page's link)
    return await _save_draft(db, actor, "notice.create", notice, draft, settings)


async def update_draft(
    db: AsyncSession, actor: str, notice_id: int, draft: Draft, settings: Settings
) -> Notice:
    notice = await get_notice(db, notice_id)
    if notice.status != NoticeStatus.DRAFT:
        raise Conflict("status", f"only a draft can be changed; this notice is {notice.status}")
    _apply(notice, draft)
    return await _save_draft(db, actor, "notice.update", notice, draft, settings)


async def _save_draft(
    db: AsyncSession, actor: str, action: str, notice: Notice, draft: Draft, settings: Settings
) -> Notice:
    """A new or changed draft is kept only when its texts fit; its period follows the draft."""
    check_texts(notice, settings)
    await period_services.set_period_days(db, notice, draft.period_days, settings)
    await record_async(db, actor, action, "notice", notice.id, {"kind": notice.kind})
    await db.commit()
    return notice


async def publish(
    db: AsyncSession, actor: str, notice_id: int, publish_at: datetime | None, settings: Settings
) -> Notice:
    """draft -> published now, or -> scheduled when publish_at is in the future. The caller commits
    nothing more and enqueues the fan-out afterwards."""
    notice = await get_notice(db, notice_id)
    change = lifecycle.publish(notice, utcnow(), settings, publish_at)
    check_texts(notice, settings)  # the signature or the address may have changed since the draft
    change.apply(notice)
    await record_async(db, actor, change.action, "notice", notice.id, change.details)
    await period_services.open_period(db, actor, notice, settings)  # the caller schedules its close
    await db.commit()
    return notice


async def close(db: AsyncSession, actor: str, notice_id: int) -> Notice:
    notice = await get_notice(db, notice_id)
    change = lifecycle.close(notice, utcnow())
    change.apply(notice)
    await record_async(db, actor, change.action, "notice", notice.id)
    await db.commit()
    return notice


async def preview(db: AsyncSession, notice: Notice, settings: Settings) -> Preview:
    """Segments and encoding of the text in each language, and what sending it to today's recipients
    would cost. Residents whose language is neither get the Chinese text."""
    recipients = fanout.recipients_of(notice).order_by(None).subquery()
    rows = await db.execute(select(recipients.c.locale, func.count()).group_by(recipients.c.locale))
    by_locale: dict[str, int] = {}
    for locale, count in rows.all():
        key = fanout.text_locale(locale)
        by_locale[key] = by_locale.get(key, 0) + int(count)
    languages = [
        LanguagePreview(
            locale, count_segments(fanout.sms_text(notice, locale, settings)), by_locale.get(locale, 0)
        )
        for locale in FIELD_LOCALES.values()
    ]
    segments = sum(language.count.segments * language.recipients for language in languages)
    return Preview(
        languages=languages,
        recipients=sum(by_locale.values()),
        segments=segments,
        cost=cost(segments, settings.sms_price_per_segment),
    )
