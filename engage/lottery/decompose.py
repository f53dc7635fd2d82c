"""Write a target of expected seats per profile as a mixture of quota-satisfying panels.

This is the fast path of the fair algorithms. The leximin (or maximin) optimum of the LP
relaxation is computed first (cheap); it is an upper bound for every distribution over real
panels, so if it can be written as a mixture of integral panels it *is* the optimum. The
decomposition is Caratheodory's walk: take an integral panel v on the smallest face of the quota
polytope that contains the current point m, move m away from v until it reaches a lower-
dimensional face, record v with the weight this frees, and repeat. Each step is one small LP
(rarely an integer program); at most one step per dimension.

It fails (returns None) when a face holds no integral panel, i.e. the relaxation's optimum is not
achievable; the caller then falls back to column generation.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from engage.lottery.model import Profiles
from engage.lottery.pricing import TypePanel, panel_program, quota_matrix
from engage.lottery.repair import SwapRepair

TIGHT = 1e-11  # seats (times remaining weight) closer than this to a bound count as on it
DONE = 1e-13  # remaining weight below this is floating-point dust
# When the walk stalls on solver noise with this little weight left, the rest is dropped: every
# probability moves by at most this much (the optimality gap stays far below 1e-6).
DROPPABLE = 1e-8


@dataclass(frozen=True)
class _Face:
    lo: np.ndarray  # per-profile bounds for v
    hi: np.ndarray
    row_lo: np.ndarray  # per-quota bounds for v (tight quotas become equalities)
    row_hi: np.ndarray


class _FaceSolver:
    """Finds an integral panel inside given bounds: LP first, then the integer program."""

    def __init__(self, profiles: Profiles, k: int) -> None:
        self.n = len(profiles)
        self.all = np.arange(self.n, dtype=np.int32)
        self.rows = np.arange(1, 1 + len(profiles.quotas), dtype=np.int32)
        self.lp = panel_program(profiles, k, integer=False)
        self.mip = panel_program(profiles, k, integer=True)
        self.mip.setOptionValue("mip_rel_gap", 1.0)  # any integral point will do
        self.swaps = SwapRepair(profiles, k)

    def _run(self, h: highspy.Highs, face: _Face, objective: np.ndarray) -> np.ndarray | None:
        h.changeColsBounds(self.n, self.all, face.lo, face.hi)
        for row, lo, hi in zip(self.rows, face.row_lo, face.row_hi, strict=True):
            h.changeRowBounds(int(row), float(lo), float(hi))
        h.changeColsCost(self.n, self.all, objective)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.asarray(h.getSolution().col_value)

    def integral_point(self, face: _Face, objective: np.ndarray) -> np.ndarray | None:
        x = self._run(self.lp, face, objective)
        if x is None:
            return None
        if np.abs(x - np.rint(x)).max() <= 1e-9:
            return np.asarray(np.rint(x))
        # Only a dozen entries are fractional: seat swaps usually repair the rounding; the
        # integer program over the whole face is the slow but sure way.
        y = self.swaps.repair(x, face.lo, face.hi, face.row_lo, face.row_hi)
        if y is not None:
            return y
        y = self._run(self.mip, face, objective)
        return None if y is None else np.asarray(np.rint(y))


class _Walk:
    """Caratheodory's walk on the remaining (unnormalised) expected seats r, total weight W."""

    def __init__(self, profiles: Profiles, k: int, target: np.ndarray) -> None:
        self.counts = np.asarray(profiles.counts, dtype=np.float64)
        self.quotas = quota_matrix(profiles).astype(np.float64)
        self.q_lo = np.array([q.min for q in profiles.quotas], dtype=np.float64)
        self.q_hi = np.array([q.max for q in profiles.quotas], dtype=np.float64)
        self.k = k
        self.r = np.clip(np.asarray(target, dtype=np.float64), 0.0, self.counts)
        self.weight = 1.0

    def face(self, box: bool) -> _Face:
        """Bounds keeping v on every constraint that is tight at r (and near r if `box`)."""
        r, w = self.r, self.weight
        at_zero = r <= TIGHT
        at_full = r >= self.counts * w - TIGHT
        m = r / w
        lo = np.where(at_full, self.counts, np.floor(m + 1e-9) if box else 0.0)
        hi = np.where(at_zero, 0.0, np.ceil(m - 1e-9) if box else self.counts)
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        seats = self.quotas @ r
        row_lo = np.where(seats >= self.q_hi * w - TIGHT, self.q_hi, self.q_lo)
        row_hi = np.where(seats <= self.q_lo * w + TIGHT, self.q_lo, self.q_hi)
        return _Face(lo, hi, row_lo, row_hi)

    def step_length(self, v: np.ndarray) -> float:
        """The largest weight w for v such that (r - w v) / (W - w) stays in the polytope."""
        r, big_w, c = self.r, self.weight, self.counts
        limits = [big_w]
        over = v > 0
        limits.extend(r[over] / v[over])
        under = v < c
        limits.extend((c[under] * big_w - r[under]) / (c[under] - v[under]))
        seats, v_seats = self.quotas @ r, self.quotas @ v
        above_lo = v_seats > self.q_lo
        limits.extend((seats[above_lo] - self.q_lo[above_lo] * big_w) / (v_seats - self.q_lo)[above_lo])
        below_hi = v_seats < self.q_hi
        limits.extend((self.q_hi[below_hi] * big_w - seats[below_hi]) / (self.q_hi - v_seats)[below_hi])
        return max(0.0, min(limits))

    def take(self, v: np.ndarray, w: float) -> None:
        self.r = self.r - w * v
        self.weight -= w
        # Snap coordinates that reached a bound, so the next face sees them exactly.
        self.r[self.r <= TIGHT] = 0.0
        full = self.r >= self.counts * self.weight - TIGHT
        self.r[full] = self.counts[full] * self.weight


def decompose(profiles: Profiles, k: int, target: np.ndarray) -> list[tuple[TypePanel, float]] | None:
    """Panels with weights summing to 1 whose expected seats equal `target`, or None."""
    walk = _Walk(profiles, k, target)
    solver = _FaceSolver(profiles, k)
    mixture: list[tuple[TypePanel, float]] = []
    for _ in range(len(profiles) + len(profiles.quotas) + 2):
        if walk.weight <= DONE:
            break
        m = walk.r / walk.weight
        # Prefer rounding up the profiles with the largest fractional seat counts.
        objective = m - np.floor(m)
        v = solver.integral_point(walk.face(box=True), objective)
        if v is None:
            v = solver.integral_point(walk.face(box=False), objective)
        w = 0.0 if v is None else walk.step_length(v)
        if v is None or w <= DONE:
            break  # stuck: fine if only dust is left, else column generation takes over
        mixture.append((tuple(int(s) for s in v), w))
        walk.take(v, w)
    if walk.weight > DROPPABLE:
        return None
    total = sum(w for _, w in mixture)
    return [(p, w / total) for p, w in mixture]
