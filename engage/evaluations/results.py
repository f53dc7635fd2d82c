"""Results of a campaign per official or office, the trend against earlier campaigns, the anonymous
export, and publishing the results as a public notice (through the notices service).

Nothing here carries a resident id: results are counts and rates; the export has one row per rating
with its subject, channel, status, scores and (approved) comment only.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage import i18n
from engage.audit.services import record_async
from engage.csvcells import safe_cell
from engage.db import utcnow
from engage.errors import Conflict, RuleBroken
from engage.evaluations.models import Campaign, CommentStatus, Rating, RatingStatus, ServiceContact, Subject
from engage.evaluations.rules import stats
from engage.evaluations.services import get_campaign
from engage.notices import services as notices
from engage.notices.models import Audience, Notice
from engage.residents.notice_kinds import NoticeKind
from engage.settings import Settings


@dataclass(frozen=True)
class Comment:
    rating_id: int
    text: str
    status: str


@dataclass(frozen=True)
class SubjectResult:
    subject: Subject
    summary: stats.Summary
    verdict: stats.Verdict
    flagged: int  # held for review, not in the figures
    rejected: int
    entitled: int | None  # reverse: service contacts recorded
    trend: list[stats.TrendPoint]  # earlier campaigns, oldest first
    change: Fraction | None  # since the latest earlier campaign
    comments: list[Comment]  # every non-empty comment (pages filter by status)


@dataclass(frozen=True)
class CampaignResults:
    campaign: Campaign
    threshold: Fraction
    subjects: list[SubjectResult]
    ratings: int
    flagged: int


async def _ratings(db: AsyncSession, campaign_ids: list[int]) -> list[Rating]:
    if not campaign_ids:
        return []
    query = select(Rating).where(Rating.campaign_id.in_(campaign_ids)).order_by(Rating.id)
    return list((await db.execute(query)).scalars())


async def _earlier(db: AsyncSession, campaign: Campaign) -> dict[tuple[str, str], list[stats.TrendPoint]]:
    """For each (name, unit): its figures in campaigns that closed before this one closes."""
    rows = (
        await db.execute(
            select(Subject, Campaign)
            .join(Campaign, Campaign.id == Subject.campaign_id)
            .where(Campaign.id != campaign.id, Campaign.closes_at < campaign.closes_at)
            .order_by(Campaign.closes_at, Campaign.id)
        )
    ).all()
    ratings = await _ratings(db, sorted({c.id for _, c in rows}))
    scores: dict[int, list[list[int]]] = defaultdict(list)
    for rating in ratings:
        if rating.status == RatingStatus.COUNTED:
            scores[rating.subject_id].append(rating.scores)
    trend: dict[tuple[str, str], list[stats.TrendPoint]] = defaultdict(list)
    for subject, earlier in rows:
        summary = stats.summarise(scores[subject.id], len(earlier.questions))
        point = stats.TrendPoint(
            earlier.id, earlier.title_zh, earlier.title_en, summary.rate, summary.answers
        )
        trend[(subject.name, subject.unit)].append(point)
    return trend


async def campaign_results(db: AsyncSession, campaign_id: int) -> CampaignResults:
    campaign = await get_campaign(db, campaign_id)
    threshold = stats.parse_threshold(campaign.threshold)
    ratings = await _ratings(db, [campaign.id])
    by_subject: dict[int, list[Rating]] = defaultdict(list)
    for rating in ratings:
        by_subject[rating.subject_id].append(rating)
    entitled: dict[int, int] = defaultdict(int)
    for subject_id in (
        await db.execute(select(ServiceContact.subject_id).where(ServiceContact.campaign_id == campaign.id))
    ).scalars():
        entitled[subject_id] += 1
    trends = await _earlier(db, campaign)
    results = []
    for subject in campaign.subjects:
        own = by_subject[subject.id]
        summary = stats.summarise(
            [r.scores for r in own if r.status == RatingStatus.COUNTED], len(campaign.questions)
        )
        trend = trends.get((subject.name, subject.unit), [])
        results.append(
            SubjectResult(
                subject=subject,
                summary=summary,
                verdict=stats.judge(summary, threshold, campaign.min_answers),
                flagged=sum(1 for r in own if r.status == RatingStatus.FLAGGED),
                rejected=sum(1 for r in own if r.status == RatingStatus.REJECTED),
                entitled=entitled[subject.id] if campaign.mode == "reverse" else None,
                trend=trend,
                change=stats.change(summary.rate, trend),
                comments=[Comment(r.id, r.comment, r.comment_status) for r in own if r.comment],
            )
        )
    return CampaignResults(
        campaign=campaign,
        threshold=threshold,
        subjects=results,
        ratings=sum(1 for r in ratings if r.status == RatingStatus.COUNTED),
        flagged=sum(1 for r in ratings if r.status == RatingStatus.FLAGGED),
    )


async def flagged_ratings(db: AsyncSession, campaign_id: int) -> list[Rating]:
    query = select(Rating).where(Rating.campaign_id == campaign_id, Rating.status == RatingStatus.FLAGGED)
    return list((await db.execute(query.order_by(Rating.updated_at))).scalars())


EXPORT_HEADER = ["subject", "unit", "via", "status", "scores", "satisfied_answers", "comment"]


def export_csv(results: CampaignResults, ratings: list[Rating]) -> str:
    """One row per rating, sorted by its own content (never by arrival, which could be matched with a
    text's time): no resident, contact, address or time, so no row points back at a person."""
    subjects = {r.subject.id: r.subject for r in results.subjects}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    rows = []
    for rating in ratings:
        subject = subjects[rating.subject_id]
        comment = rating.comment if rating.comment_status == CommentStatus.APPROVED else ""
        satisfied = sum(1 for s in rating.scores if s >= stats.SATISFIED_FROM)
        rows.append(
            [
                subject.name,
                subject.unit,
                rating.via,
                rating.status,
                " ".join(map(str, rating.scores)),
                satisfied,
                comment,
            ]
        )
    ordered = sorted(rows, key=lambda row: [str(cell) for cell in row])
    # names, units and comments come from organizers and residents: spreadsheet-safe (S8)
    writer.writerows([safe_cell(cell) for cell in row] for row in ordered)
    return out.getvalue()


async def export(db: AsyncSession, campaign_id: int) -> str:
    results = await campaign_results(db, campaign_id)
    return export_csv(results, await _ratings(db, [campaign_id]))


def results_link(settings: Settings, campaign_id: int) -> str:
    return f"{settings.public_base_url}/evaluations/{campaign_id}/results"


def english_summary(ratings: int, below: int, subjects: int, link: str) -> str:
    """The English body of the results notice: what the Chinese one says, in the plural it needs."""
    with i18n.use_locale("en"):
        counted = i18n.ngettext("%(num)s valid rating", "%(num)s valid ratings", ratings) % {"num": ratings}
    return f"{counted}; {below} of {subjects} below the standard: {link}"


# A notice's title (notices.title_zh, title_en): a campaign's title may be as long, and gains a suffix.
RESULTS_TITLE_MOST = 200


async def publish(db: AsyncSession, actor: str, campaign_id: int, settings: Settings) -> Notice:
    """Publish the results as a notice (once the campaign closed); the caller enqueues the fan-out."""
    campaign = await get_campaign(db, campaign_id)
    if campaign.closes_at > utcnow():
        raise Conflict("campaign_id", "results are published after the evaluation closes")
    if campaign.notice_id is not None:
        raise Conflict("campaign_id", f"already published as notice {campaign.notice_id}")
    titles = {"title_zh": f"{campaign.title_zh}结果", "title_en": f"{campaign.title_en}: results"}
    for field_name, title in titles.items():
        if len(title) > RESULTS_TITLE_MOST:
            detail = (
                f"the results notice's title would be {len(title)} characters; at most {RESULTS_TITLE_MOST}"
            )
            raise RuleBroken(field_name, detail)
    results = await campaign_results(db, campaign_id)
    link = results_link(settings, campaign.id)
    below = sum(1 for r in results.subjects if r.verdict.below)
    draft = notices.Draft(
        kind=NoticeKind.STAGE_RESULT.value,
        title_zh=titles["title_zh"],
        title_en=titles["title_en"],
        # Short: the notice goes out by SMS with its title and link, within settings.sms_max_segments.
        body_zh=f"有效评价{results.ratings}份，{len(results.subjects)}个对象中{below}个低于标准。详见{link}",
        body_en=english_summary(results.ratings, below, len(results.subjects), link),
        audience=Audience.KIND.value,
        community_codes=[],
    )
    # A text over the SMS segments (the title with the link and signature) is refused here: RuleBroken.
    notice = await notices.create_draft(db, actor, draft, settings)
    notice = await notices.publish(db, actor, notice.id, None, settings)
    campaign = await get_campaign(db, campaign_id)
    campaign.notice_id = notice.id
    await record_async(db, actor, "evaluation.publish", "evaluation", campaign.id, {"notice": notice.id})
    await db.commit()
    return notice
