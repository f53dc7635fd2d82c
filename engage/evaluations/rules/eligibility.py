"""Who may rate, when, and which ratings look like a bulk pattern. Pure: facts in, a verdict out.

- Nobody rates before a campaign opens or after it closes (a second rating before the close replaces
  the first).
- Online: a verified resident of one of the campaign's communities (no communities named: all).
- Reverse: only a resident holding a service contact with the subject being rated.
- Bulk: when more than `limit` ratings came from one client address within `minutes`, every rating in
  that burst is flagged for an organizer's review; flagged ratings are counted apart, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from engage.evaluations.models import Mode


class Refusal(StrEnum):
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    NOT_VERIFIED = "not_verified"
    OTHER_COMMUNITY = "other_community"
    NO_CONTACT = "no_contact"


@dataclass(frozen=True)
class CampaignFacts:
    mode: str
    opens_at: datetime
    closes_at: datetime
    community_codes: Sequence[str]


@dataclass(frozen=True)
class ResidentFacts:
    verified: bool
    community_code: str | None
    has_contact: bool  # a service contact with the subject being rated (reverse)


def refusal(campaign: CampaignFacts, resident: ResidentFacts, now: datetime) -> Refusal | None:
    """Why this resident may not rate now, or None when they may."""
    if now < campaign.opens_at:
        return Refusal.NOT_OPEN
    if now >= campaign.closes_at:
        return Refusal.CLOSED
    if not resident.verified:
        return Refusal.NOT_VERIFIED
    if campaign.mode == Mode.REVERSE:
        return None if resident.has_contact else Refusal.NO_CONTACT
    if campaign.community_codes and resident.community_code not in campaign.community_codes:
        return Refusal.OTHER_COMMUNITY
    return None


def bursts(times: Sequence[datetime], limit: int, minutes: int) -> set[int]:
    """Indexes (into `times`) of ratings that belong to a burst: more than `limit` ratings within any
    window of `minutes`. `times` need not be sorted."""
    order = sorted(range(len(times)), key=lambda i: times[i])
    window = timedelta(minutes=minutes)
    flagged: set[int] = set()
    start = 0
    for end in range(len(order)):
        while times[order[end]] - times[order[start]] > window:
            start += 1
        if end - start + 1 > limit:
            flagged.update(order[start : end + 1])
    return flagged
