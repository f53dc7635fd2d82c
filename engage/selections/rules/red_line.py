"""Democratic assessment: ballots tallied per applicant, the red line, and the quorum per group.

Pure: data in, data out (no web, no database). The red line compares exact fractions: an approval
rate of 31/39 (79.49 %) or 3199/4000 (79.975 %) is below 4/5 and fails; 32/40 is exactly 4/5 and
passes. Nothing is rounded before the comparison.

Public API
----------
* `Rating` (competent / basically_competent / not_competent).
* `RedLine(threshold=Fraction(4, 5), basically_counts_as_approval=True)` with `.approvals(tally)`.
* `Tally(applicant_id, competent, basically_competent, not_competent)` with `.ballots`.
* `Verdict(applicant_id, approvals, ballots, rate, passes, reason)`; reasons `REASON_*`.
* `tally(ratings, applicants=None) -> dict[int, Tally]`, `judge(tallies, rule) -> list[Verdict]`.
* `Quorum(share=Fraction(2, 3))`, `quorum_report(invited, cast, quorum) -> QuorumReport`.
* `percent_text(rate) -> str`: two decimals, truncated (never "80.00" below 4/5).

The rules are stated for the public in docs/selection.md ("The rules").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from math import ceil, floor

from engage.selections.rules.exact import as_fraction, as_int

REASON_NO_BALLOTS = "no_ballots"
REASON_BELOW = "below_threshold"
REASON_PASSES = "at_or_above_threshold"


class Rating(StrEnum):
    COMPETENT = "competent"
    BASICALLY_COMPETENT = "basically_competent"
    NOT_COMPETENT = "not_competent"


def _count(value: object, what: str) -> int:
    return as_int(value, what, 0)


@dataclass(frozen=True)
class RedLine:
    """An applicant passes when approvals / ballots >= threshold (0 < threshold <= 1, exact).

    Approvals are "competent" ratings, plus "basically competent" ones when
    `basically_counts_as_approval` (the default; the setting is shown on the public page).
    """

    threshold: Fraction = Fraction(4, 5)
    basically_counts_as_approval: bool = True

    def __post_init__(self) -> None:
        threshold = as_fraction(self.threshold, "threshold")
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be above 0 and at most 1, got {threshold}")
        if not isinstance(self.basically_counts_as_approval, bool):
            raise ValueError("basically_counts_as_approval must be True or False")
        object.__setattr__(self, "threshold", threshold)

    def approvals(self, tally: Tally) -> int:
        return tally.competent + (tally.basically_competent if self.basically_counts_as_approval else 0)


@dataclass(frozen=True)
class Tally:
    """How many ballots gave an applicant each rating (a ballot rates each applicant once)."""

    applicant_id: int
    competent: int
    basically_competent: int
    not_competent: int

    def __post_init__(self) -> None:
        _count(self.applicant_id, "applicant_id")
        for name in ("competent", "basically_competent", "not_competent"):
            _count(getattr(self, name), f"{name} for applicant {self.applicant_id}")

    @property
    def ballots(self) -> int:
        return self.competent + self.basically_competent + self.not_competent


@dataclass(frozen=True)
class Verdict:
    """The red line's decision for one applicant. `rate` is approvals / ballots (0 with no ballots).

    `reason` is a stable code: "no_ballots" (fails: nobody rated them), "below_threshold" (fails),
    "at_or_above_threshold" (passes).
    """

    applicant_id: int
    approvals: int
    ballots: int
    rate: Fraction
    passes: bool
    reason: str


def tally(
    ratings: Iterable[tuple[int, Rating | str]], applicants: Iterable[int] | None = None
) -> dict[int, Tally]:
    """Count (applicant_id, rating) pairs, one pair per ballot line, into a Tally per applicant.

    Ratings may be `Rating` members or their values ("competent", ...); anything else is a
    ValueError naming it. With `applicants`, every listed applicant gets a Tally (zero ballots
    included, so `judge` reports "no_ballots") and a rating for an unlisted applicant is refused.
    The result is ordered by applicant id.
    """
    listed = None if applicants is None else {_count(a, "applicant_id") for a in applicants}
    counts: dict[int, dict[Rating, int]] = {a: dict.fromkeys(Rating, 0) for a in listed or ()}
    for index, pair in enumerate(ratings):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ValueError(f"rating #{index}: expected (applicant_id, rating), got {pair!r}")
        applicant = _count(pair[0], f"rating #{index}: applicant_id")
        try:
            rating = Rating(pair[1])
        except ValueError:
            allowed = ", ".join(r.value for r in Rating)
            raise ValueError(f"rating #{index}: {pair[1]!r} is not a rating ({allowed})") from None
        if listed is not None and applicant not in listed:
            raise ValueError(f"rating #{index}: applicant {applicant} is not in this assessment")
        counts.setdefault(applicant, dict.fromkeys(Rating, 0))[rating] += 1
    return {
        a: Tally(
            applicant_id=a,
            competent=c[Rating.COMPETENT],
            basically_competent=c[Rating.BASICALLY_COMPETENT],
            not_competent=c[Rating.NOT_COMPETENT],
        )
        for a, c in sorted(counts.items())
    }


def judge(tallies: Iterable[Tally], rule: RedLine) -> list[Verdict]:
    """One Verdict per tally, in the given order. Exact comparison: rate >= rule.threshold passes.

    No ballots fails with reason "no_ballots" (an applicant nobody approved does not continue).
    Two tallies for the same applicant are refused.
    """
    verdicts: list[Verdict] = []
    seen: set[int] = set()
    for t in tallies:
        if not isinstance(t, Tally):
            raise ValueError(f"expected a Tally, got {type(t).__name__}")
        if t.applicant_id in seen:
            raise ValueError(f"applicant {t.applicant_id} has two tallies")
        seen.add(t.applicant_id)
        approvals = rule.approvals(t)
        if t.ballots == 0:
            verdicts.append(Verdict(t.applicant_id, 0, 0, Fraction(0), False, REASON_NO_BALLOTS))
            continue
        rate = Fraction(approvals, t.ballots)
        passes = rate >= rule.threshold
        verdicts.append(
            Verdict(
                t.applicant_id, approvals, t.ballots, rate, passes, REASON_PASSES if passes else REASON_BELOW
            )
        )
    return verdicts


def percent_text(rate: Fraction | int) -> str:
    """A rate in [0, 1] as a percentage with two decimals and no sign: 31/39 -> "79.48".

    Truncated, never rounded up, so a rate below 4/5 never reads "80.00" (3199/4000 -> "79.97") and
    the text never contradicts the exact decision. Pages add the "%" sign.
    """
    exact = as_fraction(rate, "rate")
    if not 0 <= exact <= 1:
        raise ValueError(f"rate must be between 0 and 1, got {exact}")
    hundredths = floor(exact * 10_000)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


# --- quorum ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quorum:
    """Each evaluator group needs ceil(invited * share) ballots cast (0 <= share <= 1, exact)."""

    share: Fraction = Fraction(2, 3)

    def __post_init__(self) -> None:
        share = as_fraction(self.share, "quorum share")
        if not 0 <= share <= 1:
            raise ValueError(f"quorum share must be between 0 and 1, got {share}")
        object.__setattr__(self, "share", share)

    def required(self, invited: int) -> int:
        return ceil(_count(invited, "invited") * self.share)


@dataclass(frozen=True)
class GroupQuorum:
    group: str
    invited: int
    cast: int
    required: int
    met: bool


@dataclass(frozen=True)
class QuorumReport:
    """Per group (in the order of `invited`) and overall: met when every group is met.

    A group with nobody invited needs 0 ballots and is met; with no groups at all the quorum is not
    met (there is nothing to assess with).
    """

    groups: tuple[GroupQuorum, ...]
    met: bool

    @property
    def unmet(self) -> tuple[str, ...]:
        return tuple(g.group for g in self.groups if not g.met)


def quorum_report(
    invited: Mapping[str, int], cast: Mapping[str, int], quorum: Quorum | None = None
) -> QuorumReport:
    """Compare ballots cast with the quorum per group. A group missing from `cast` has cast 0.

    Refused: a group in `cast` that was not invited, more ballots than invitations, negative counts.
    """
    rule = quorum if quorum is not None else Quorum()
    for group in cast:
        if group not in invited:
            raise ValueError(f"group {group!r} has ballots but nobody was invited in it")
    groups = []
    for group, count in invited.items():
        n_invited = _count(count, f"invited in group {group!r}")
        n_cast = _count(cast.get(group, 0), f"ballots cast in group {group!r}")
        if n_cast > n_invited:
            raise ValueError(f"group {group!r}: {n_cast} ballots cast but only {n_invited} invited")
        required = rule.required(n_invited)
        groups.append(GroupQuorum(group, n_invited, n_cast, required, n_cast >= required))
    return QuorumReport(tuple(groups), bool(groups) and all(g.met for g in groups))
