"""Interview and speech scoring: the rubric, trimmed means per rater group, weighted combination,
the published tie-break, the anonymised score matrix and the per-judge deviation report.

Pure: data in, data out (no web, no database). Every value that decides an order or a cut is an
exact `fractions.Fraction`; decimals appear only in `display_decimal`, for publishing.

Public API
----------
* `Criterion(code, max_points)`, `Rubric(criteria)` with `.validate(points) -> list[str]`,
  `.total(points) -> int`, `.max_total` (defined in `rubric.py`, re-exported here).
* `TrimRule(small_group_max=9, small_group_trim=1, large_group_share=Fraction(1, 10))` with
  `.trim_count(n)`; `trimmed_mean(values, rule) -> Fraction`.
* `Score(judge_id, group, candidate_id, total)` (plain 4-tuples are accepted too).
* `validate_weights(weights) -> dict[str, Fraction]`.
* `aggregate(scores, weights, trim, tie_break_seed, *, deviation_threshold=None) -> Result`.
* `separating_rule(above, below) -> str`, `seed_hash(tie_break_seed, candidate_id) -> str`.
* `public_result(result) -> dict`: the JSON-ready published form (no judge ids, no deviations).
* `display_decimal(value, places=2) -> str` (half-up, from `exact.py`, re-exported here): the one
  place that turns Fractions into text for publishing.

The rules are stated for the public in docs/selection.md ("The rules").
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from math import floor
from typing import Any, NamedTuple

from engage.selections.rules.exact import Number, as_fraction, as_int
from engage.selections.rules.exact import display_decimal as display_decimal  # re-exported for callers
from engage.selections.rules.rubric import (
    Criterion as Criterion,  # re-exported: the rubric lives in rubric.py
)
from engage.selections.rules.rubric import Rubric as Rubric

EXPERT = "expert"
DEPUTY = "deputy"
RESIDENT = "resident"
GROUPS: tuple[str, ...] = (EXPERT, DEPUTY, RESIDENT)
"""The grand jury's rater groups, in publishing order. Other group names (for instance speech-rating
unit categories) are allowed; they are listed after these, alphabetically."""

# Codes of the tie-break levels, in the order they are applied (see `separating_rule`).
BY_COMBINED = "combined"
BY_EXPERT_MEAN = "expert_mean"
BY_UNTRIMMED = "untrimmed_combined"
BY_SEED_HASH = "seed_hash"
TIE_BREAK_ORDER: tuple[str, ...] = (BY_COMBINED, BY_EXPERT_MEAN, BY_UNTRIMMED, BY_SEED_HASH)

# --- trimming --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrimRule:
    """How many of a group's highest and lowest scores for one candidate are dropped, each side.

    * n <= small_group_max (default 9): `small_group_trim` each side (default 1);
    * n > small_group_max: floor(n * large_group_share) each side (default 10 %, rounded down:
      10 to 19 scores drop 1 each side, 20 to 29 drop 2, 55 drop 5);
    * never so many that nothing is left: at most (n - 1) // 2 each side, so one or two scores are
      never trimmed (with the defaults: no trimming below 3 scores; 3 scores keep the middle one).
    """

    small_group_max: int = 9
    small_group_trim: int = 1
    large_group_share: Fraction = Fraction(1, 10)

    def __post_init__(self) -> None:
        as_int(self.small_group_max, "small_group_max", 0)
        as_int(self.small_group_trim, "small_group_trim", 0)
        share = as_fraction(self.large_group_share, "large_group_share")
        if not 0 <= share < Fraction(1, 2):
            raise ValueError(f"large_group_share must be at least 0 and below 1/2, got {share}")
        object.__setattr__(self, "large_group_share", share)

    def trim_count(self, n: int) -> int:
        """Scores dropped at each end when a group gave a candidate `n` scores."""
        as_int(n, "number of scores", 0)
        wanted = self.small_group_trim if n <= self.small_group_max else floor(n * self.large_group_share)
        return min(wanted, max(n - 1, 0) // 2)


def trimmed_mean(values: Iterable[Number], rule: TrimRule) -> Fraction:
    """The mean of `values` after dropping `rule.trim_count(n)` lowest and highest; ValueError if empty."""
    ordered = sorted(as_fraction(v, "score") for v in values)
    if not ordered:
        raise ValueError("a trimmed mean needs at least one score")
    cut = rule.trim_count(len(ordered))
    kept = ordered[cut : len(ordered) - cut]
    return sum(kept, Fraction(0)) / len(kept)


# --- inputs ----------------------------------------------------------------------------------


class Score(NamedTuple):
    """One judge's total for one candidate. `total` is an int or a Fraction, at least 0."""

    judge_id: int
    group: str
    candidate_id: int
    total: Number


def group_sort_key(group: str) -> tuple[int, str]:
    """expert, deputy, resident first (in that order), then any other group alphabetically."""
    return (GROUPS.index(group) if group in GROUPS else len(GROUPS), group)


def validate_weights(weights: Mapping[str, object]) -> dict[str, Fraction]:
    """Group weights as Fractions. Each must be positive and together they must sum to exactly 1.

    Weights are published as given, so they are validated rather than silently normalised.
    """
    if not weights:
        raise ValueError("weights: at least one group needs a weight")
    checked: dict[str, Fraction] = {}
    for group, weight in weights.items():
        if not isinstance(group, str) or not group:
            raise ValueError(f"weights: group names must be non-empty strings, got {group!r}")
        value = as_fraction(weight, f"weight for group {group!r}")
        if value <= 0:
            raise ValueError(f"weight for group {group!r} must be positive, got {value}")
        checked[group] = value
    total = sum(checked.values(), Fraction(0))
    if total != 1:
        listed = ", ".join(f"{g}={w}" for g, w in checked.items())
        raise ValueError(f"weights must sum to 1, they sum to {total} ({listed})")
    return checked


def _checked_scores(
    scores: Iterable[Score | tuple[int, str, int, Number]], weights: Mapping[str, Fraction]
) -> list[Score]:
    rows: list[Score] = []
    seen: set[tuple[int, int]] = set()
    judge_group: dict[int, str] = {}
    for index, row in enumerate(scores):
        if not isinstance(row, tuple) or len(row) != 4:
            raise ValueError(f"score #{index}: expected (judge_id, group, candidate_id, total), got {row!r}")
        judge = as_int(row[0], f"score #{index}: judge_id", 0)
        group = row[1]
        candidate = as_int(row[2], f"score #{index}: candidate_id", 0)
        where = f"score by judge {judge} for candidate {candidate}"
        if group not in weights:
            known = ", ".join(sorted(weights, key=group_sort_key))
            raise ValueError(f"{where}: group {group!r} has no weight (groups: {known})")
        total = as_fraction(row[3], f"{where}: total")
        if total < 0:
            raise ValueError(f"{where}: total must be at least 0, got {total}")
        if (judge, candidate) in seen:
            raise ValueError(f"{where}: a judge scores a candidate once, this is a second score")
        seen.add((judge, candidate))
        if judge_group.setdefault(judge, group) != group:
            raise ValueError(f"judge {judge} appears in groups {judge_group[judge]!r} and {group!r}")
        rows.append(Score(judge, group, candidate, total))
    return rows


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupResult:
    """One group's scores for one candidate.

    `scores` are (judge_id, score) sorted by score then judge id. The first `trim` of that order are
    dropped as lowest and the last `trim` as highest, so among equal scores at the low end the lower
    judge ids are dropped and at the high end the higher judge ids (which judge is named never
    changes the mean: the dropped values are equal).
    """

    group: str
    weight: Fraction
    scores: tuple[tuple[int, Fraction], ...]
    trim: int
    dropped_low: tuple[int, ...]
    dropped_high: tuple[int, ...]
    trimmed_mean: Fraction
    untrimmed_mean: Fraction

    @property
    def values(self) -> tuple[Fraction, ...]:
        return tuple(score for _, score in self.scores)

    @property
    def kept(self) -> tuple[tuple[int, Fraction], ...]:
        return self.scores[self.trim : len(self.scores) - self.trim]

    @property
    def dropped(self) -> frozenset[int]:
        return frozenset(self.dropped_low + self.dropped_high)


@dataclass(frozen=True)
class CandidateResult:
    """A candidate's place. `groups` lists only the groups that scored them, in publishing order.

    `combined` = sum(weight_g * trimmed_mean_g) / sum(weight_g) over those groups: a group that gave
    the candidate no score (all absent or conflicted) is left out and the others' weights are
    rescaled to sum to 1. `untrimmed_combined` is the same with untrimmed means. `decided_by` names
    the tie-break level that put this candidate below the one ranked just above (None for rank 1).
    """

    candidate_id: int
    groups: tuple[GroupResult, ...]
    combined: Fraction
    untrimmed_combined: Fraction
    seed_hash: str
    rank: int
    decided_by: str | None

    def group(self, name: str) -> GroupResult | None:
        return next((g for g in self.groups if g.group == name), None)

    @property
    def expert_mean(self) -> Fraction | None:
        expert = self.group(EXPERT)
        return None if expert is None else expert.trimmed_mean


@dataclass(frozen=True)
class MatrixRow:
    """One judge's row of the published matrix, under a pseudonym.

    `cells[i]` is the score for `Result.candidate_order[i]`, None when the judge did not score that
    candidate (absent or conflicted); `dropped[i]` says whether the trim dropped that score.
    """

    pseudonym: str
    group: str
    cells: tuple[Fraction | None, ...]
    dropped: tuple[bool, ...]


@dataclass(frozen=True)
class JudgeDeviation:
    """For organizers only: how far a judge's scores sit from the trimmed mean of their group.

    Over every candidate the judge scored (trimmed scores included): `mean_abs_deviation` is the
    mean of |score - trimmed mean of that candidate's score in the judge's group|,
    `mean_signed_deviation` the mean of the signed differences (positive: generous).
    `flagged` is mean_abs_deviation > the threshold given to `aggregate` (never flagged without one).
    """

    judge_id: int
    pseudonym: str
    group: str
    scored: int
    mean_abs_deviation: Fraction
    mean_signed_deviation: Fraction
    flagged: bool


@dataclass(frozen=True)
class Result:
    """Everything that is published (ranking, weights, trim rule, seed, matrix) plus `deviations`,
    which are for organizers. `ranking` is in rank order (rank 1 first); `pseudonyms` maps judge id
    to pseudonym (J01, J02, ... numbered by group in publishing order, then judge id; three digits
    from 100 judges on). Pseudonyms depend only on the set of judges who scored."""

    ranking: tuple[CandidateResult, ...]
    weights: Mapping[str, Fraction]
    trim: TrimRule
    tie_break_seed: str
    pseudonyms: Mapping[int, str]
    matrix: tuple[MatrixRow, ...]
    deviations: tuple[JudgeDeviation, ...]
    deviation_threshold: Fraction | None

    @property
    def candidate_order(self) -> tuple[int, ...]:
        return tuple(c.candidate_id for c in self.ranking)

    def candidate(self, candidate_id: int) -> CandidateResult:
        for c in self.ranking:
            if c.candidate_id == candidate_id:
                return c
        raise KeyError(candidate_id)


# --- aggregation -----------------------------------------------------------------------------


def seed_hash(tie_break_seed: str, candidate_id: int) -> str:
    """SHA-256 of the UTF-8 text "<seed>:<candidate id>", hex: the last tie-break, lower first."""
    return hashlib.sha256(f"{tie_break_seed}:{candidate_id}".encode()).hexdigest()


def _rank_key(c: CandidateResult) -> tuple[Fraction, int, Fraction, Fraction, str]:
    expert = c.expert_mean
    return (
        -c.combined,
        0 if expert is not None else 1,  # a candidate the experts scored before one they did not
        -(expert if expert is not None else Fraction(0)),
        -c.untrimmed_combined,
        c.seed_hash,
    )


def separating_rule(above: CandidateResult, below: CandidateResult) -> str:
    """The first tie-break level on which `above` beats `below` (one of TIE_BREAK_ORDER)."""
    a, b = _rank_key(above), _rank_key(below)
    if a[0] != b[0]:
        return BY_COMBINED
    if a[1:3] != b[1:3]:
        return BY_EXPERT_MEAN
    if a[3] != b[3]:
        return BY_UNTRIMMED
    return BY_SEED_HASH


def rank(candidates: Iterable[CandidateResult]) -> tuple[CandidateResult, ...]:
    """Sort by the published tie-break and number 1..n; `decided_by` is recomputed for the new order."""
    ordered = sorted(candidates, key=_rank_key)
    return tuple(
        replace(c, rank=i + 1, decided_by=None if i == 0 else separating_rule(ordered[i - 1], c))
        for i, c in enumerate(ordered)
    )


def _group_result(
    group: str, weight: Fraction, entries: list[tuple[int, Fraction]], rule: TrimRule
) -> GroupResult:
    ordered = tuple(sorted(entries, key=lambda e: (e[1], e[0])))
    cut = rule.trim_count(len(ordered))
    kept = ordered[cut : len(ordered) - cut]
    return GroupResult(
        group=group,
        weight=weight,
        scores=ordered,
        trim=cut,
        dropped_low=tuple(j for j, _ in ordered[:cut]),
        dropped_high=tuple(j for j, _ in ordered[len(ordered) - cut :]),
        trimmed_mean=sum((s for _, s in kept), Fraction(0)) / len(kept),
        untrimmed_mean=sum((s for _, s in ordered), Fraction(0)) / len(ordered),
    )


def _candidate_result(
    candidate_id: int,
    by_group: Mapping[str, list[tuple[int, Fraction]]],
    weights: Mapping[str, Fraction],
    rule: TrimRule,
    seed: str,
) -> CandidateResult:
    groups = tuple(
        _group_result(g, weights[g], by_group[g], rule) for g in sorted(by_group, key=group_sort_key)
    )
    present = sum((g.weight for g in groups), Fraction(0))
    return CandidateResult(
        candidate_id=candidate_id,
        groups=groups,
        combined=sum((g.weight * g.trimmed_mean for g in groups), Fraction(0)) / present,
        untrimmed_combined=sum((g.weight * g.untrimmed_mean for g in groups), Fraction(0)) / present,
        seed_hash=seed_hash(seed, candidate_id),
        rank=0,
        decided_by=None,
    )


def _pseudonyms(rows: list[Score]) -> dict[int, str]:
    judges = sorted({(r.group, r.judge_id) for r in rows}, key=lambda gj: (group_sort_key(gj[0]), gj[1]))
    width = max(2, len(str(len(judges))))
    return {judge: f"J{i + 1:0{width}d}" for i, (_, judge) in enumerate(judges)}


def _deviations(
    rows: list[Score],
    ranking: tuple[CandidateResult, ...],
    pseudonyms: Mapping[int, str],
    threshold: Fraction | None,
) -> tuple[JudgeDeviation, ...]:
    by_id = {c.candidate_id: c for c in ranking}
    diffs: dict[int, list[Fraction]] = defaultdict(list)
    group_of: dict[int, str] = {}
    for r in rows:
        group = by_id[r.candidate_id].group(r.group)
        assert group is not None  # every score's group is present for its candidate
        diffs[r.judge_id].append(Fraction(r.total) - group.trimmed_mean)
        group_of[r.judge_id] = r.group
    report = []
    for judge in sorted(diffs, key=lambda j: pseudonyms[j]):
        values = diffs[judge]
        mad = sum((abs(d) for d in values), Fraction(0)) / len(values)
        report.append(
            JudgeDeviation(
                judge_id=judge,
                pseudonym=pseudonyms[judge],
                group=group_of[judge],
                scored=len(values),
                mean_abs_deviation=mad,
                mean_signed_deviation=sum(values, Fraction(0)) / len(values),
                flagged=threshold is not None and mad > threshold,
            )
        )
    return tuple(report)


def _matrix(
    rows: list[Score], ranking: tuple[CandidateResult, ...], pseudonyms: Mapping[int, str]
) -> tuple[MatrixRow, ...]:
    order = [c.candidate_id for c in ranking]
    column = {cid: i for i, cid in enumerate(order)}
    dropped_by = {c.candidate_id: {g.group: g.dropped for g in c.groups} for c in ranking}
    cells: dict[int, list[Fraction | None]] = {j: [None] * len(order) for j in pseudonyms}
    dropped: dict[int, list[bool]] = {j: [False] * len(order) for j in pseudonyms}
    group_of: dict[int, str] = {}
    for r in rows:
        cells[r.judge_id][column[r.candidate_id]] = Fraction(r.total)
        dropped[r.judge_id][column[r.candidate_id]] = r.judge_id in dropped_by[r.candidate_id][r.group]
        group_of[r.judge_id] = r.group
    return tuple(
        MatrixRow(
            pseudonym=pseudonyms[j], group=group_of[j], cells=tuple(cells[j]), dropped=tuple(dropped[j])
        )
        for j in sorted(pseudonyms, key=lambda j: pseudonyms[j])
    )


def aggregate(
    scores: Iterable[Score | tuple[int, str, int, Number]],
    weights: Mapping[str, Fraction],
    trim: TrimRule,
    tie_break_seed: str,
    *,
    deviation_threshold: Number | None = None,
) -> Result:
    """Trim, average, combine and rank.

    For each candidate and each group that scored them: sort the scores, drop `trim.trim_count(n)`
    at each end, average the rest (the trimmed mean). Combine the groups present with their weights
    (see `CandidateResult`). Rank by: higher combined score; then higher expert-group trimmed mean
    (a candidate without expert scores after one with); then higher untrimmed combined score; then
    SHA-256("<tie_break_seed>:<candidate_id>") in ascending hex. The last level makes the order total.

    Refused with ValueError: weights that are not positive or do not sum to 1; a score whose group
    has no weight, whose total is negative, a float or not a number; a judge scoring a candidate
    twice; a judge in two groups; an empty seed. No scores gives an empty ranking.
    """
    checked_weights = validate_weights(weights)
    if not isinstance(tie_break_seed, str) or not tie_break_seed:
        raise ValueError("tie_break_seed must be a non-empty string (it is published with the result)")
    threshold = (
        None if deviation_threshold is None else as_fraction(deviation_threshold, "deviation_threshold")
    )
    if threshold is not None and threshold < 0:
        raise ValueError(f"deviation_threshold must be at least 0, got {threshold}")
    rows = _checked_scores(scores, checked_weights)
    grouped: dict[int, dict[str, list[tuple[int, Fraction]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        grouped[r.candidate_id][r.group].append((r.judge_id, Fraction(r.total)))
    ranking = rank(
        _candidate_result(cid, by_group, checked_weights, trim, tie_break_seed)
        for cid, by_group in grouped.items()
    )
    pseudonyms = _pseudonyms(rows)
    return Result(
        ranking=ranking,
        weights=checked_weights,
        trim=trim,
        tie_break_seed=tie_break_seed,
        pseudonyms=pseudonyms,
        matrix=_matrix(rows, ranking, pseudonyms),
        deviations=_deviations(rows, ranking, pseudonyms, threshold),
        deviation_threshold=threshold,
    )


def fraction_text(value: Fraction) -> str:
    """The exact value for open data: "161/2", "85" (numerator/denominator, lowest terms)."""
    return str(value)


def public_result(result: Result) -> dict[str, Any]:
    """What is published, as plain JSON values: weights, trim rule, seed, ranking with group means,
    and the anonymised matrix. Exact values are "p/q" strings (`fraction_text`), display values
    have two decimals, half-up (`display_decimal`). Judge ids and the deviation report are left out.
    """

    def number(value: Fraction) -> dict[str, str]:
        return {"exact": fraction_text(value), "display": display_decimal(value)}

    return {
        "weights": {
            g: fraction_text(w)
            for g, w in sorted(result.weights.items(), key=lambda gw: group_sort_key(gw[0]))
        },
        "trim": {
            "small_group_max": result.trim.small_group_max,
            "small_group_trim": result.trim.small_group_trim,
            "large_group_share": fraction_text(result.trim.large_group_share),
        },
        "tie_break_order": list(TIE_BREAK_ORDER),
        "tie_break_seed": result.tie_break_seed,
        "ranking": [
            {
                "candidate_id": c.candidate_id,
                "rank": c.rank,
                "combined": number(c.combined),
                "untrimmed_combined": number(c.untrimmed_combined),
                "decided_by": c.decided_by,
                "seed_hash": c.seed_hash,
                "groups": [
                    {
                        "group": g.group,
                        "weight": fraction_text(g.weight),
                        "scores": len(g.scores),
                        "dropped_each_side": g.trim,
                        "trimmed_mean": number(g.trimmed_mean),
                        "untrimmed_mean": number(g.untrimmed_mean),
                    }
                    for g in c.groups
                ],
            }
            for c in result.ranking
        ],
        "matrix": {
            "candidates": list(result.candidate_order),
            "rows": [
                {
                    "judge": row.pseudonym,
                    "group": row.group,
                    "scores": [None if cell is None else fraction_text(cell) for cell in row.cells],
                    "dropped": list(row.dropped),
                }
                for row in result.matrix
            ],
        },
    }
