"""Ratings in the database: submitting (web and SMS alike), replacing, bulk flagging, and the
organizer's moderation of comments and review of flagged ratings.

A rating is anonymous: audit entries about it name the campaign and subject only, with the actor
"anonymous"; the resident id it keeps serves the one-rating-per-entitlement rule and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import record_async
from engage.db import utcnow
from engage.errors import Conflict, EngageError, InvalidInput, NotFound
from engage.evaluations.models import (
    Campaign,
    CommentStatus,
    Mode,
    Rating,
    RatingStatus,
    ServiceContact,
    Subject,
    Via,
)
from engage.evaluations.rules import eligibility, moderation
from engage.evaluations.rules.stats import SCALE
from engage.i18n import gettext as _
from engage.residents.models import Community, Resident

MAX_COMMENT = 500
ANONYMOUS = "anonymous"  # the actor of audit entries about ratings


class Refused(EngageError):
    """The resident may not rate this (closed, not entitled...): 403 with the reason in words."""

    status_code = 403
    code = "rating_refused"

    def __init__(self, reason: eligibility.Refusal) -> None:
        super().__init__("rating", refusal_text(reason))
        self.reason = reason


def refusal_text(reason: eligibility.Refusal) -> str:
    texts = {
        eligibility.Refusal.NOT_OPEN: _("This evaluation has not opened yet."),
        eligibility.Refusal.CLOSED: _("This evaluation is closed: ratings are no longer accepted."),
        eligibility.Refusal.NOT_VERIFIED: _("Only residents with a verified phone number may rate."),
        eligibility.Refusal.OTHER_COMMUNITY: _("This evaluation is for residents of other communities."),
        eligibility.Refusal.NO_CONTACT: _(
            "Only residents this office served may rate it in this evaluation, and there is no record "
            "that it served you."
        ),
    }
    return texts[reason]


def source_hash(secret: str, client: str | None) -> str | None:
    """The client address, keyed: enough to see a burst from one address, not to recover it."""
    if not client:
        return None
    return hmac.new(secret.encode(), f"evaluation-source:{client}".encode(), hashlib.sha256).hexdigest()


def check_scores(scores: list[int], questions: int) -> list[int]:
    if len(scores) != questions:
        raise InvalidInput("scores", _("Answer every question (%(n)s).") % {"n": questions})
    if any(score not in SCALE for score in scores):
        raise InvalidInput("scores", _("Each answer is a number from 1 to 5."))
    return scores


def slot_for(campaign: Campaign, subject: Subject, resident: Resident, contact: ServiceContact | None) -> str:
    """What one rating is per: the service contact (reverse), or the subject and resident (online)."""
    if campaign.mode == Mode.REVERSE and contact is not None:
        return f"contact:{contact.id}"
    return f"online:{subject.id}:{resident.id}"


@dataclass(frozen=True)
class Submitted:
    rating: Rating
    replaced: bool  # a second rating that replaced the first
    flagged: bool


async def _community_code(db: AsyncSession, resident: Resident) -> str | None:
    if resident.community_id is None:
        return None
    return (
        await db.execute(select(Community.code).where(Community.id == resident.community_id))
    ).scalar_one_or_none()


async def entitling_contact(
    db: AsyncSession, campaign: Campaign, subject: Subject, resident: Resident
) -> ServiceContact | None:
    """The resident's latest service contact with this subject in this campaign."""
    query = (
        select(ServiceContact)
        .where(
            ServiceContact.campaign_id == campaign.id,
            ServiceContact.subject_id == subject.id,
            ServiceContact.resident_id == resident.id,
        )
        .order_by(ServiceContact.served_on.desc(), ServiceContact.id.desc())
        .limit(1)
    )
    return (await db.execute(query)).scalar_one_or_none()


async def submit(
    db: AsyncSession,
    *,
    campaign: Campaign,
    subject: Subject,
    resident: Resident,
    contact: ServiceContact | None,
    scores: list[int],
    comment: str,
    via: Via,
    source: str | None,
    commit: bool = True,
) -> Submitted:
    """Record (or replace) the resident's rating of `subject`, after checking the entitlement.
    `contact` is the service contact the rating is about (reverse); None looks one up. Commits, unless
    the caller (the SMS webhook) commits the rating together with its own changes."""
    now = utcnow()
    if campaign.mode == Mode.REVERSE and contact is None:
        contact = await entitling_contact(db, campaign, subject, resident)
    facts = eligibility.ResidentFacts(
        verified=resident.verified_at is not None and resident.phone is not None,
        community_code=await _community_code(db, resident),
        has_contact=contact is not None
        and contact.resident_id == resident.id
        and contact.subject_id == subject.id,
    )
    campaign_facts = eligibility.CampaignFacts(
        campaign.mode, campaign.opens_at, campaign.closes_at, campaign.community_codes
    )
    reason = eligibility.refusal(campaign_facts, facts, now)
    if reason is not None:
        raise Refused(reason)
    check_scores(scores, len(campaign.questions))
    if len(comment) > MAX_COMMENT:
        raise InvalidInput("comment", _("At most %(n)s characters.") % {"n": MAX_COMMENT})
    cleaned = moderation.scrub(comment).text
    slot = slot_for(campaign, subject, resident, contact)
    rating = (
        await db.execute(select(Rating).where(Rating.slot == slot).with_for_update())
    ).scalar_one_or_none()
    replaced = rating is not None
    if rating is None:
        rating = Rating(
            campaign_id=campaign.id, subject_id=subject.id, slot=slot, resident_id=resident.id, created_at=now
        )
        rating.contact_id = contact.id if campaign.mode == Mode.REVERSE and contact else None
        db.add(rating)
    rating.scores = list(scores)
    if cleaned != (rating.comment or ""):
        rating.comment = cleaned
        rating.comment_status = CommentStatus.PENDING.value  # a changed comment is read again
    rating.via = via.value
    rating.source_hash = source
    rating.updated_at = now
    if rating.status != RatingStatus.REJECTED:
        rating.status = rating.status or RatingStatus.COUNTED.value
    try:
        await db.flush()
    except IntegrityError:  # the same entitlement rated twice at the same moment
        if commit:
            await db.rollback()
        raise Conflict("rating", _("Your rating arrived twice at once. Please send it again.")) from None
    flagged = await _flag_bursts(db, campaign, source) if source else False
    details = {"subject": subject.id, "via": via.value, "replaced": replaced}
    await record_async(db, ANONYMOUS, "evaluation.rate", "evaluation", campaign.id, details)
    if commit:
        await db.commit()
    return Submitted(rating, replaced, flagged or rating.status == RatingStatus.FLAGGED)


async def _flag_bursts(db: AsyncSession, campaign: Campaign, source: str) -> bool:
    """Flag every rating of a burst from this address (more than bulk_limit within bulk_minutes)."""
    since = utcnow() - timedelta(minutes=campaign.bulk_minutes * 2)
    recent = list(
        (
            await db.execute(
                select(Rating).where(
                    Rating.campaign_id == campaign.id,
                    Rating.source_hash == source,
                    Rating.updated_at >= since,
                )
            )
        ).scalars()
    )
    burst = eligibility.bursts([r.updated_at for r in recent], campaign.bulk_limit, campaign.bulk_minutes)
    newly = [recent[i] for i in burst if recent[i].status == RatingStatus.COUNTED]
    for rating in newly:
        rating.status = RatingStatus.FLAGGED.value
    if newly:
        await record_async(
            db, "system", "evaluation.flag_bulk", "evaluation", campaign.id, {"ratings": len(newly)}
        )
    return bool(newly)


async def _rating(db: AsyncSession, campaign_id: int, rating_id: int) -> Rating:
    rating = await db.get(Rating, rating_id)
    if rating is None or rating.campaign_id != campaign_id:
        raise NotFound("rating_id", f"evaluation {campaign_id} has no rating {rating_id}")
    return rating


async def set_comment_status(
    db: AsyncSession, actor: str, campaign_id: int, rating_id: int, status: CommentStatus
) -> Rating:
    rating = await _rating(db, campaign_id, rating_id)
    if not rating.comment:
        raise Conflict("rating_id", "this rating has no comment")
    rating.comment_status = status.value
    await record_async(
        db, actor, f"evaluation.comment_{status.value}", "evaluation", campaign_id, {"rating": rating.id}
    )
    await db.commit()
    return rating


async def review(db: AsyncSession, actor: str, campaign_id: int, rating_id: int, accept: bool) -> Rating:
    """A flagged rating is counted after all (accept) or set aside for good (reject)."""
    rating = await _rating(db, campaign_id, rating_id)
    if rating.status != RatingStatus.FLAGGED:
        raise Conflict("rating_id", f"only a flagged rating is reviewed; this one is {rating.status}")
    rating.status = (RatingStatus.COUNTED if accept else RatingStatus.REJECTED).value
    action = "evaluation.accept_flagged" if accept else "evaluation.reject_flagged"
    await record_async(db, actor, action, "evaluation", campaign_id, {"rating": rating.id})
    await db.commit()
    return rating
