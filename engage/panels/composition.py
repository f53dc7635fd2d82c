"""The panel's composition in numbers, for the quota editor and its chart (pure: data in, data out):
how many of the pool hold each value, the quota on it, how many of it hold a seat; and what the
feasibility check found, in plain words for the organizer ("Lower the minimum of Experts from 6 to 4").

The feasibility check itself is `engage.lottery.feasibility`; its own sentences are for the API and the
log (English, with codes), so the page words its findings again from the numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engage.i18n import gettext as _
from engage.lottery import FeasibilityReport, QuotaChange
from engage.panels.pool import Volunteer

Label = Callable[[str, str], str]
Key = tuple[str, str]


def pool_counts(volunteers: Iterable[Volunteer], excluded: Iterable[str]) -> Counter[Key]:
    """How many volunteers not excluded hold each (category, value)."""
    out = set(excluded)
    counts: Counter[Key] = Counter()
    for volunteer in volunteers:
        if volunteer.pseudonym in out:
            continue
        for category, value in volunteer.features.items():
            counts[(category, value)] += 1
    return counts


def seated_counts(categories: Sequence[str], seated_values: Iterable[Sequence[str]]) -> Counter[Key]:
    """How many members holding a seat have each (category, value), from their frozen values."""
    counts: Counter[Key] = Counter()
    for values in seated_values:
        for category, value in zip(categories, values, strict=True):
            counts[(category, value)] += 1
    return counts


@dataclass(frozen=True)
class ValueRow:
    category: str
    value: str
    label: str
    pool: int
    min: int | None  # None: no quota on this value
    max: int | None
    seated: int | None  # None before the draw


def value_rows(
    values: Mapping[str, Sequence[str]],
    quotas: Sequence[Mapping[str, Any]],
    pool: Mapping[Key, int],
    seated: Mapping[Key, int] | None,
    label: Label,
) -> list[ValueRow]:
    """One row per category and value the panel may set a quota on, in the vocabulary's order."""
    bounds = {(q["category"], q["feature"]): (int(q["min"]), int(q["max"])) for q in quotas}
    rows = []
    for category, options in values.items():
        for value in options:
            low, high = bounds.get((category, value), (None, None))
            rows.append(
                ValueRow(
                    category,
                    value,
                    label(category, value),
                    pool.get((category, value), 0),
                    low,
                    high,
                    None if seated is None else seated.get((category, value), 0),
                )
            )
    return rows


def change_words(change: QuotaChange, label: Label) -> str:
    """One change of the smallest relaxation as a sentence."""
    name = label(change.category, change.value)
    parts = []
    if change.new_min != change.min:
        parts.append(
            _("lower the minimum of %(name)s from %(old)s to %(new)s")
            % {"name": name, "old": change.min, "new": change.new_min}
        )
    if change.new_max != change.max:
        parts.append(
            _("raise the maximum of %(name)s from %(old)s to %(new)s")
            % {"name": name, "old": change.max, "new": change.new_max}
        )
    return _("; ").join(parts)


def findings(
    report: FeasibilityReport,
    quotas: Sequence[Mapping[str, Any]],
    pool: Mapping[Key, int],
    category_label: Callable[[str], str],
    label: Label,
) -> list[str]:
    """Why the quotas cannot be met, in words: too few seats for the pool, a minimum the pool cannot
    give, minimums adding up to more than the seats; else that the categories conflict."""
    if report.feasible:
        return []
    size = report.panel_size
    if size > report.eligible:
        return [
            _("The panel has %(size)s seats but only %(n)s volunteers can be drawn.")
            % {"size": size, "n": report.eligible}
        ]
    found = []
    lows: Counter[str] = Counter()
    for row in quotas:
        lows[row["category"]] += int(row["min"])
        have = pool.get((row["category"], row["feature"]), 0)
        if int(row["min"]) > have:
            found.append(
                _("%(name)s needs at least %(min)s, but the pool has %(n)s.")
                % {"name": label(row["category"], row["feature"]), "min": row["min"], "n": have}
            )
    for category, low in lows.items():
        if low > size:
            found.append(
                _("The minimums of %(category)s add up to %(sum)s, more than the %(size)s seats.")
                % {"category": category_label(category), "sum": low, "size": size}
            )
    return found or [_("The quotas of different categories cannot all be met together by this pool.")]


@dataclass(frozen=True)
class Replies:
    """Where the invitations stand: every member texted an invitation is in exactly one part."""

    confirmed: int  # confirmed (or already checked in)
    declined: int  # declined, or withdrew after confirming
    no_answer: int  # did not answer; their seat went to a reserve
    waiting: int  # invited by the draw, no answer yet
    reserve_waiting: int  # reserves called in for a seat, no answer yet
    seats: int

    @property
    def invited(self) -> int:
        return self.confirmed + self.declined + self.no_answer + self.waiting + self.reserve_waiting


def replies(members: Iterable[Any], seats: int) -> Replies:
    """Count the members texted an invitation (`invited_at` set) by where their answer stands."""
    counts: Counter[str] = Counter()
    for member in members:
        if member.invited_at is None:
            continue
        status = member.status
        if status in ("confirmed", "attended"):
            counts["confirmed"] += 1
        elif status in ("declined", "withdrawn"):
            counts["declined"] += 1
        elif status == "replaced":
            counts["no_answer"] += 1
        elif status == "invited":
            counts["reserve_waiting" if member.replacement_for_id is not None else "waiting"] += 1
    return Replies(
        counts["confirmed"],
        counts["declined"],
        counts["no_answer"],
        counts["waiting"],
        counts["reserve_waiting"],
        seats,
    )
