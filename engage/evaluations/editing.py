"""Changing a campaign after it was created: editing it before it opens, moving its dates, closing it
now. Each change is audited; ratings already given are never touched.

The rules of the dates are pure (`check_schedule`): what has happened stays as it happened. A
campaign that has opened keeps its opening; one that has closed stays closed (its results may be
published). A new closing is in the future and after the opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import record_async
from engage.db import utcnow
from engage.errors import Conflict, RuleBroken
from engage.evaluations.models import Campaign, Mode, ServiceContact, Subject
from engage.evaluations.services import (
    CampaignDraft,
    check_draft,
    check_invitation_length,
    get_campaign,
    known_community_codes,
)
from engage.settings import Settings


@dataclass(frozen=True)
class Schedule:
    opens_at: datetime
    closes_at: datetime


def check_schedule(now: datetime, current: Schedule, wanted: Schedule) -> None:
    """Refuse a change of dates that would rewrite what has happened (Conflict) or that makes no
    sense (RuleBroken: dates out of order or in the past), naming the field."""
    if current.closes_at <= now:
        raise Conflict("closes_at", "the evaluation has closed; its dates stay as they were")
    if wanted.opens_at != current.opens_at:
        if current.opens_at <= now:
            raise Conflict("opens_at", "the evaluation has opened; its opening stays as it was")
        if wanted.opens_at < now:
            raise RuleBroken("opens_at", "must not be in the past")
    if wanted.closes_at <= now:
        raise RuleBroken("closes_at", "must be in the future (to close now, use close)")
    if wanted.closes_at <= wanted.opens_at:
        raise RuleBroken("closes_at", "must be after opens_at")


def closing_now(now: datetime, current: Schedule) -> Schedule:
    """The dates of a campaign closed at `now`: one that had not opened never opens."""
    if current.closes_at <= now:
        raise Conflict("closes_at", "the evaluation has already closed")
    return Schedule(min(current.opens_at, now), now)


async def _contacts(db: AsyncSession, campaign_id: int) -> int:
    query = select(func.count()).select_from(ServiceContact).where(ServiceContact.campaign_id == campaign_id)
    return int((await db.execute(query)).scalar_one())


async def edit_campaign(
    db: AsyncSession, actor: str, campaign_id: int, draft: CampaignDraft, settings: Settings
) -> Campaign:
    """Replace everything a campaign says, before it opens. Subjects are matched by name and unit:
    those kept keep their id (and any service contact recorded for them); one with contacts cannot
    be dropped."""
    campaign = await get_campaign(db, campaign_id)
    now = utcnow()
    if campaign.opens_at <= now:
        raise Conflict("opens_at", "the evaluation has opened: move its dates or close it instead")
    check_draft(draft)
    if draft.opens_at < now:
        raise RuleBroken("opens_at", "must not be in the past")
    codes = await known_community_codes(db, draft.community_codes)
    contacts = await _contacts(db, campaign.id)
    if contacts and draft.mode != campaign.mode:
        raise Conflict("mode", f"{contacts} service contacts are recorded for this reverse evaluation")
    wanted = [(s.name.strip(), s.unit.strip()) for s in draft.subjects]
    kept: dict[tuple[str, str], Subject] = {(s.name, s.unit): s for s in campaign.subjects}
    dropped = [s for key, s in kept.items() if key not in wanted]
    if dropped:
        used = await db.execute(
            select(ServiceContact.subject_id).where(ServiceContact.subject_id.in_([s.id for s in dropped]))
        )
        if used.first() is not None:
            raise Conflict("subjects", "a subject with recorded service contacts cannot be removed")
    before = _summary(campaign)
    campaign.title_zh = draft.title_zh.strip()
    campaign.title_en = draft.title_en.strip()
    campaign.mode = draft.mode
    campaign.opens_at = draft.opens_at
    campaign.closes_at = draft.closes_at
    campaign.community_codes = codes
    campaign.questions = [{"zh": q.zh.strip(), "en": q.en.strip()} for q in draft.questions]
    campaign.threshold = draft.threshold.strip()
    campaign.min_answers = draft.min_answers
    campaign.bulk_limit = draft.bulk_limit
    campaign.bulk_minutes = draft.bulk_minutes
    campaign.subjects = [kept.get(key) or Subject(name=key[0], unit=key[1]) for key in wanted]
    await db.flush()
    if campaign.mode == Mode.REVERSE:
        longest = max(campaign.subjects, key=lambda s: len(s.name) + len(s.unit))
        check_invitation_length(settings, campaign, longest, "办理户籍证明", "subjects")
    details = {"before": before, "after": _summary(campaign)}
    await record_async(db, actor, "evaluation.edit", "evaluation", campaign.id, details)
    await db.commit()
    return await get_campaign(db, campaign.id)


def _summary(campaign: Campaign) -> dict[str, Any]:
    """What an audit entry keeps of a campaign's settings: enough to see what an edit changed."""
    return {
        "mode": campaign.mode,
        "opens_at": campaign.opens_at.isoformat(),
        "closes_at": campaign.closes_at.isoformat(),
        "questions": len(campaign.questions),
        "subjects": len(campaign.subjects),
        "threshold": campaign.threshold,
        "min_answers": campaign.min_answers,
    }


async def _move(db: AsyncSession, actor: str, campaign: Campaign, to: Schedule, action: str) -> Campaign:
    details = {
        "opens_at": [campaign.opens_at.isoformat(), to.opens_at.isoformat()],
        "closes_at": [campaign.closes_at.isoformat(), to.closes_at.isoformat()],
    }
    campaign.opens_at, campaign.closes_at = to.opens_at, to.closes_at
    await record_async(db, actor, action, "evaluation", campaign.id, details)
    await db.commit()
    return await get_campaign(db, campaign.id)


async def reschedule(
    db: AsyncSession, actor: str, campaign_id: int, opens_at: datetime | None, closes_at: datetime | None
) -> Campaign:
    """Move the opening (before it happens) and the closing (before it happens)."""
    campaign = await get_campaign(db, campaign_id)
    current = Schedule(campaign.opens_at, campaign.closes_at)
    wanted = Schedule(opens_at or current.opens_at, closes_at or current.closes_at)
    check_schedule(utcnow(), current, wanted)
    return await _move(db, actor, campaign, wanted, "evaluation.reschedule")


async def close_now(db: AsyncSession, actor: str, campaign_id: int) -> Campaign:
    """Close the campaign at once: no rating is taken after this, and its results may be published."""
    campaign = await get_campaign(db, campaign_id)
    closed = closing_now(utcnow(), Schedule(campaign.opens_at, campaign.closes_at))
    return await _move(db, actor, campaign, closed, "evaluation.close")
