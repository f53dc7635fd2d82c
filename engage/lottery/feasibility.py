"""Can this pool fill a panel of size k that meets every quota? If not, why, and what is the
smallest change to the quotas that would make it possible?

The quick checks name the obvious conflicts (a category whose minimums add up to more than k, a
value with fewer volunteers than its minimum, ...). The exact answer is an integer program over
the profiles; when it has no solution a second integer program finds the relaxation of min/max
bounds with the smallest total change (respecting min_flex/max_flex when the file gives them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from engage.lottery.errors import LotteryError
from engage.lottery.model import Pool, Profiles, Quota, categories_of, group_profiles
from engage.lottery.pricing import PanelFinder, quiet_highs


@dataclass(frozen=True)
class QuotaChange:
    """One quota of the smallest relaxation: its bounds now and the bounds that would work."""

    category: str
    value: str
    min: int
    max: int
    new_min: int
    new_max: int

    def describe(self) -> str:
        parts = []
        if self.new_min != self.min:
            parts.append(f"min {self.min} -> {self.new_min}")
        if self.new_max != self.max:
            parts.append(f"max {self.max} -> {self.new_max}")
        return f"{self.category}/{self.value}: " + ", ".join(parts)


@dataclass(frozen=True)
class FeasibilityReport:
    feasible: bool
    panel_size: int
    eligible: int  # pool members not excluded
    problems: tuple[str, ...]  # one sentence per conflict found
    relaxation: tuple[QuotaChange, ...]  # smallest total change making the quotas feasible
    within_flex: bool | None  # whether that relaxation respects min_flex/max_flex (None: no flex)

    def explanation(self) -> str:
        if self.feasible:
            return f"a panel of {self.panel_size} meeting every quota exists"
        text = "; ".join(self.problems) or "the quotas cannot all be met together"
        if self.relaxation:
            changes = "; ".join(c.describe() for c in self.relaxation)
            text += f". Smallest relaxation: {changes}"
            if self.within_flex is False:
                text += " (beyond the allowed min_flex/max_flex)"
        return text


def _quick_problems(profiles: Profiles, k: int, eligible: int) -> list[str]:
    problems = []
    if k < 1:
        problems.append(f"panel size {k} must be at least 1")
    if k > eligible:
        problems.append(f"panel size {k} exceeds the {eligible} eligible people in the pool")
    if problems:
        return problems
    available = dict(zip([q.key for q in profiles.quotas], _available(profiles), strict=True))
    for cat in categories_of(profiles.quotas):
        qs = [q for q in profiles.quotas if q.category == cat]
        lows = sum(q.min for q in qs)
        highs = sum(min(q.max, available[q.key]) for q in qs)
        if lows > k:
            problems.append(f"the minimums of {cat} add up to {lows}, more than the panel size {k}")
        if highs < k:
            problems.append(f"at most {highs} seats can go to {cat} values, fewer than {k}")
    for q in profiles.quotas:
        if q.min > available[q.key]:
            have = available[q.key]
            problems.append(f"{q.category}/{q.value} needs at least {q.min} but the pool has {have}")
    return problems


def _available(profiles: Profiles) -> list[int]:
    counts = profiles.counts
    return [sum(counts[t] for t in members) for members in profiles.quota_members]


def _smallest_relaxation(profiles: Profiles, k: int, *, use_flex: bool) -> tuple[QuotaChange, ...] | None:
    """Minimise the total change of min/max bounds so that some panel fits; None if impossible."""
    h = quiet_highs()
    n, quotas = len(profiles), profiles.quotas
    h.addVars(n, np.zeros(n), np.asarray(profiles.counts, dtype=np.float64))
    inf = highspy.kHighsInf
    # Two slack variables per quota: how far its min drops and its max rises.
    for q in quotas:
        drop = q.min - q.min_flex if use_flex and q.min_flex is not None else q.min
        rise = q.max_flex - q.max if use_flex and q.max_flex is not None else inf
        h.addVar(0.0, float(max(drop, 0)))
        h.addVar(0.0, float(max(rise, 0)) if rise != inf else inf)
    total = n + 2 * len(quotas)
    h.changeColsIntegrality(
        total,
        np.arange(total, dtype=np.int32),
        np.full(total, highspy.HighsVarType.kInteger),
    )
    h.changeColsCost(2 * len(quotas), np.arange(n, total, dtype=np.int32), np.ones(2 * len(quotas)))
    h.addRow(float(k), float(k), n, np.arange(n, dtype=np.int32), np.ones(n))
    for j, q in enumerate(quotas):
        members = list(profiles.quota_members[j])
        idx = np.array([*members, n + 2 * j], dtype=np.int32)
        h.addRow(float(q.min), inf, len(idx), idx, np.array([1.0] * len(members) + [1.0]))
        idx = np.array([*members, n + 2 * j + 1], dtype=np.int32)
        h.addRow(-inf, float(q.max), len(idx), idx, np.array([1.0] * len(members) + [-1.0]))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    slack = np.rint(np.asarray(h.getSolution().col_value[n:])).astype(int)
    return tuple(
        QuotaChange(
            q.category,
            q.value,
            q.min,
            q.max,
            q.min - int(slack[2 * j]),
            q.max + int(slack[2 * j + 1]),
        )
        for j, q in enumerate(quotas)
        if slack[2 * j] or slack[2 * j + 1]
    )


def check_feasibility(
    pool: Pool, quotas: Sequence[Quota], k: int, exclusions: Iterable[str] = ()
) -> FeasibilityReport:
    """Whether the quotas can be met; if not, the conflicts and the smallest relaxation."""
    excluded = set(exclusions)
    profiles = group_profiles(pool, quotas, excluded)
    eligible = sum(1 for p in pool.people if p.id not in excluded)
    problems = _quick_problems(profiles, k, eligible)
    if 1 <= k <= eligible and not problems and PanelFinder(profiles, k).first() is not None:
        return FeasibilityReport(True, k, eligible, (), (), None)
    if not 1 <= k <= eligible:  # no change of quotas can help
        return FeasibilityReport(False, k, eligible, tuple(problems), (), None)
    has_flex = any(q.min_flex is not None or q.max_flex is not None for q in quotas)
    change = _smallest_relaxation(profiles, k, use_flex=True) if has_flex else None
    within_flex: bool | None = None if not has_flex else change is not None
    if change is None:
        change = _smallest_relaxation(profiles, k, use_flex=False)
    if not problems:
        problems = ["the quotas of different categories conflict with each other for this pool"]
    return FeasibilityReport(False, k, eligible, tuple(problems), change or (), within_flex)


class InfeasibleQuotas(LotteryError):
    """No panel of the requested size meets every quota with this pool.

    `report` holds the whole explanation: the conflicting quotas and the smallest relaxation.
    """

    def __init__(self, report: FeasibilityReport) -> None:
        super().__init__(report.explanation())
        self.report = report
