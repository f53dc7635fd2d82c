"""The lottery's front door: prepare the M-panel lottery, draw from it, or both at once.

prepared = prepare(pool, quotas, k, algorithm="leximin")   # publish prepared.record["commitment"]
record = draw(prepared, ["part revealed by A", "part revealed by B"])
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

from engage.lottery.canonical import canonical_json, pool_sha256
from engage.lottery.distribution import Distribution
from engage.lottery.fair import fair_distribution
from engage.lottery.feasibility import FeasibilityReport, InfeasibleQuotas, check_feasibility
from engage.lottery.legacy import LegacyDraw, frequencies
from engage.lottery.model import Pool, Quota, group_profiles
from engage.lottery.randomness import Stream
from engage.lottery.record import draw_from, ids_of, prepare_record, quotas_json
from engage.lottery.transparent import to_lottery

Algorithm = Literal["leximin", "maximin", "legacy"]
ALGORITHM_VERSION = "1"
DEFAULT_M = 1000


@dataclass(frozen=True)
class Prepared:
    record: dict[str, Any]  # the prepared half of the record, with its commitment
    probabilities: dict[str, float]  # fair selection probability per eligible person
    lottery_probabilities: dict[str, float]  # share of the M panels each person sits on
    max_deviation: float  # max |lottery - fair| over people
    dual_bound: float | None  # proven upper bound on the best minimum probability
    feasibility: FeasibilityReport
    distribution: Distribution | None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def min_probability(self) -> float:
        return min(self.probabilities.values())


def _engine() -> str:
    return f"engage.lottery {ALGORITHM_VERSION}; highspy {metadata.version('highspy')}"


def _legacy_seed(pool: Pool, quotas: Sequence[Quota], k: int, excluded: set[str]) -> bytes:
    # The legacy panels must be fixed before any seed part is known, so their randomness comes
    # from the published inputs only.
    text = canonical_json(["legacy panels", pool_sha256(pool), quotas_json(quotas), k, sorted(excluded)])
    return hashlib.sha256(text).digest()


def prepare(
    pool: Pool,
    quotas: Sequence[Quota],
    k: int,
    *,
    algorithm: Algorithm = "leximin",
    exclusions: Iterable[str] = (),
    m: int = DEFAULT_M,
    reserve_size: int | None = None,
) -> Prepared:
    """Check the quotas, compute the fair distribution, round it to M panels, build the record."""
    excluded = set(exclusions)
    started = time.perf_counter()
    report = check_feasibility(pool, quotas, k, excluded)
    if not report.feasible:
        raise InfeasibleQuotas(report)
    seconds = {"feasibility": time.perf_counter() - started}
    profiles = group_profiles(pool, quotas, excluded)
    dist: Distribution | None = None
    if algorithm == "legacy":
        t0 = time.perf_counter()
        drawer = LegacyDraw(profiles, k)
        panels = drawer.draws(Stream(_legacy_seed(pool, quotas, k, excluded)), m)
        fair = frequencies(panels, drawer.ids)
        seconds["distribution"] = time.perf_counter() - t0
        lottery_probs, deviation, bound = fair, 0.0, None
    else:
        dist = fair_distribution(profiles, k, leximin=algorithm == "leximin")
        seconds["distribution"] = dist.stats.seconds if dist.stats else 0.0
        t0 = time.perf_counter()
        lottery = to_lottery(dist, m)
        seconds["rounding"] = time.perf_counter() - t0
        panels, fair = list(lottery.panels), dist.person_probabilities()
        lottery_probs, deviation, bound = (
            lottery.probabilities,
            lottery.max_deviation,
            dist.dual_bound,
        )
    # By default every other eligible person is an alternate, in drawn order: the replacement
    # rule then finds someone whenever anyone at all could keep the quotas.
    size = report.eligible - k if reserve_size is None else reserve_size
    info = {
        "name": algorithm,
        "version": ALGORITHM_VERSION,
        "engine": _engine(),
        "m": str(m),
    }
    record = prepare_record(pool, quotas, k, sorted(excluded), panels, info, size)
    return Prepared(record, fair, lottery_probs, deviation, bound, report, dist, seconds)


def draw(prepared: Prepared, seed_parts: Sequence[str]) -> dict[str, Any]:
    """The full record: prepared half plus the draw from the revealed seed parts."""
    return draw_from(prepared.record, seed_parts)


@dataclass(frozen=True)
class Selection:
    panel: list[str]
    reserve: list[str]
    record: dict[str, Any]
    prepared: Prepared
    draw_ms: float


def select_panel(
    pool: Pool,
    quotas: Sequence[Quota],
    k: int,
    seed_parts: Sequence[str],
    *,
    algorithm: Algorithm = "leximin",
    exclusions: Iterable[str] = (),
    m: int = DEFAULT_M,
    reserve_size: int | None = None,
) -> Selection:
    """Prepare and draw in one go (the CLI's path); raises InfeasibleQuotas."""
    prepared = prepare(
        pool,
        quotas,
        k,
        algorithm=algorithm,
        exclusions=exclusions,
        m=m,
        reserve_size=reserve_size,
    )
    t0 = time.perf_counter()
    record = draw(prepared, seed_parts)
    draw_ms = (time.perf_counter() - t0) * 1000
    panel = ids_of(record, pool, record["panel"])
    reserve = ids_of(record, pool, record["reserve"])
    return Selection(panel, reserve, record, prepared, draw_ms)
