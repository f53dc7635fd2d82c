"""Differential evaluation: the candidate margin per post, and who advances from the speech stage.

Pure: data in, data out (no web, no database). The speech ratings themselves are aggregated by
`engage.selections.rules.scoring.aggregate` (same trim rule, weights and published tie-break); this module
only checks the margin and cuts the ranked list.

Public API
----------
* `required_candidates(seats, ratio=Fraction(3, 2)) -> int`: ceil(seats * ratio).
* `MarginCheck(post_id, seats, candidates, required, ok)` with `.shortfall`, `.reason`.
* `check_margins(posts, candidates, ratio=Fraction(3, 2)) -> list[MarginCheck]`, `margins_ok(checks)`.
* `Advancement(candidate_id, rank, combined, advances, decided_by)`.
* `rank_and_advance(result, advance, candidate_ids=None) -> list[Advancement]`.

The rules are stated for the public in docs/selection.md ("The rules").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from math import ceil

from engage.selections.rules.exact import as_fraction, as_int
from engage.selections.rules.scoring import BY_COMBINED, Result, rank

DEFAULT_RATIO = Fraction(3, 2)
REASON_ENOUGH = "enough_candidates"
REASON_TOO_FEW = "too_few_candidates"


def _ratio(ratio: object) -> Fraction:
    exact = as_fraction(ratio, "ratio")
    if exact < 1:
        raise ValueError(f"ratio must be at least 1 (candidates per seat), got {exact}")
    return exact


def required_candidates(seats: int, ratio: Fraction = DEFAULT_RATIO) -> int:
    """Fewest candidates a post with `seats` seats needs: ceil(seats * ratio), exact.

    With the default 3/2: 1 seat needs 2, 2 seats need 3, 3 seats need 5 (4.5 rounded up).
    Seats must be at least 1 and the ratio at least 1.
    """
    return ceil(as_int(seats, "seats", 1) * _ratio(ratio))


@dataclass(frozen=True)
class MarginCheck:
    """One post's margin: `ok` when candidates >= required."""

    post_id: int
    seats: int
    candidates: int
    required: int
    ok: bool

    @property
    def shortfall(self) -> int:
        return max(0, self.required - self.candidates)

    @property
    def reason(self) -> str:
        """Stable code for pages: "enough_candidates" or "too_few_candidates"."""
        return REASON_ENOUGH if self.ok else REASON_TOO_FEW


def check_margins(
    posts: Mapping[int, int], candidates: Mapping[int, int], ratio: Fraction = DEFAULT_RATIO
) -> list[MarginCheck]:
    """One check per post (post id -> seats), ordered by post id; a post missing from `candidates`
    has 0 candidates. Refused: candidates counted for an unknown post, negative counts, seats < 1."""
    exact = _ratio(ratio)
    for post in candidates:
        if post not in posts:
            raise ValueError(f"candidates counted for post {post}, which is not in this selection")
    checks = []
    for post in sorted(posts):
        seats = as_int(posts[post], f"seats of post {post}", 1)
        count = as_int(candidates.get(post, 0), f"candidates of post {post}", 0)
        required = required_candidates(seats, exact)
        checks.append(MarginCheck(post, seats, count, required, count >= required))
    return checks


def margins_ok(checks: Iterable[MarginCheck]) -> bool:
    """True when every post has its margin: the speech stage may open."""
    return all(c.ok for c in checks)


@dataclass(frozen=True)
class Advancement:
    """A candidate's place in one post's published list. `decided_by` names the tie-break level that
    put them below the candidate just above (None for rank 1); see scoring.TIE_BREAK_ORDER."""

    candidate_id: int
    rank: int
    combined: Fraction
    advances: bool
    decided_by: str | None

    @property
    def tied_on_score(self) -> bool:
        """True when the combined score equals the one above and a later tie-break level decided."""
        return self.decided_by is not None and self.decided_by != BY_COMBINED


def rank_and_advance(
    result: Result, advance: int, candidate_ids: Iterable[int] | None = None
) -> list[Advancement]:
    """Rank one post's candidates by the aggregated score and mark the first `advance` as advancing.

    `result` comes from `scoring.aggregate` (its ranking already applies the published tie-break,
    which is total, so the cut never falls inside a tie). With `candidate_ids` the list is limited
    to those candidates (one post's, when `result` covers several) and renumbered 1..n; each of
    them must have been scored. `advance` >= 0; when it is at least the number of candidates,
    everyone advances.
    """
    count = as_int(advance, "advance", 0)
    if candidate_ids is None:
        chosen = result.ranking
    else:
        wanted = {as_int(c, "candidate_id", 0) for c in candidate_ids}
        scored = {c.candidate_id for c in result.ranking}
        unscored = sorted(wanted - scored)
        if unscored:
            raise ValueError(f"candidates without any score cannot be ranked: {unscored}")
        chosen = rank(c for c in result.ranking if c.candidate_id in wanted)
    return [Advancement(c.candidate_id, c.rank, c.combined, c.rank <= count, c.decided_by) for c in chosen]
