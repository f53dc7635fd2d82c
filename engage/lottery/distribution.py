"""A probability distribution over panels of profiles, and the selection probabilities it implies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engage.lottery.model import Profiles
from engage.lottery.pricing import TypePanel

NEGLIGIBLE = 1e-12  # panel weights below this are solver noise, not part of the support


@dataclass(frozen=True)
class SolveStats:
    seconds: float
    method: str  # "relaxation" (fast path) or "column generation"
    rounds: int
    columns: int
    lp_pricings: int
    mip_pricings: int


@dataclass(frozen=True)
class Distribution:
    """`weights[i]` is the probability of `panels[i]` (seats per profile); weights sum to 1.

    Within a profile every member has the same probability: seats / count.
    `dual_bound` is a proven upper bound on the best possible minimum probability (maximin value).
    """

    profiles: Profiles
    k: int
    panels: tuple[TypePanel, ...]
    weights: tuple[float, ...]
    algorithm: str
    dual_bound: float
    stats: SolveStats | None = None

    @classmethod
    def from_columns(
        cls,
        profiles: Profiles,
        k: int,
        panels: Sequence[TypePanel],
        weights: np.ndarray,
        *,
        algorithm: str,
        dual_bound: float,
        stats: SolveStats | None = None,
    ) -> Distribution:
        keep = np.flatnonzero(weights > NEGLIGIBLE)
        kept = weights[keep] / weights[keep].sum()
        return cls(
            profiles,
            k,
            tuple(panels[int(i)] for i in keep),
            tuple(float(w) for w in kept),
            algorithm,
            dual_bound,
            stats,
        )

    def profile_probabilities(self) -> np.ndarray:
        seats = np.asarray(self.panels, dtype=np.float64)
        expected = np.asarray(self.weights) @ seats
        return np.asarray(expected / np.asarray(self.profiles.counts, dtype=np.float64))

    def person_probabilities(self) -> dict[str, float]:
        probs = self.profile_probabilities()
        return {pid: float(probs[t]) for t, ids in enumerate(self.profiles.members) for pid in ids}

    @property
    def min_probability(self) -> float:
        return float(self.profile_probabilities().min())

    @property
    def optimality_gap(self) -> float:
        """Proven upper bound on the maximin value minus the minimum this distribution gives."""
        return max(0.0, self.dual_bound - self.min_probability)
