"""The pricing integer program: the quota-satisfying panel of profiles with the largest weight.

Built once per (profiles, k); each call only changes the objective. A panel of profiles is an
integer vector x with 0 <= x[t] <= count[t], sum(x) = k, and min <= sum over a quota's profiles
<= max for every quota.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from engage.lottery.errors import SolverError
from engage.lottery.model import Profiles

TypePanel = tuple[int, ...]  # seats per profile


_banner_silenced = False


def _new_highs() -> highspy.Highs:
    # HiGHS writes a banner straight to file descriptor 1 when the first instance of the process
    # is built, before any option can be set; it would corrupt `--json` output, so the first
    # construction runs with fd 1 pointed at /dev/null.
    global _banner_silenced
    # (highspy's stub leaves the constructor unannotated, hence the ignores)
    if _banner_silenced:
        return highspy.Highs()  # type: ignore[no-untyped-call]
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]
            h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _banner_silenced = True
    return h


def quiet_highs() -> highspy.Highs:
    """A HiGHS instance that prints nothing and behaves the same on every run."""
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    # One thread: the machines are small and shared, and it keeps runs reproducible.
    h.setOptionValue("threads", 1)
    return h


@dataclass(frozen=True)
class PricedPanel:
    panel: TypePanel
    value: float  # objective of `panel`
    bound: float  # proven upper bound on the best objective (>= value)


def add_panel_rows(
    h: highspy.Highs,
    profiles: Profiles,
    k: int,
    bounds: Sequence[tuple[float, float]] | None = None,
) -> None:
    """Rows: total = k, then one row per quota (bounds default to the quota's min/max)."""
    inf = highspy.kHighsInf
    n = len(profiles)
    h.addRow(float(k), float(k), n, np.arange(n, dtype=np.int32), np.ones(n))
    for j, q in enumerate(profiles.quotas):
        lo, hi = bounds[j] if bounds is not None else (float(q.min), float(q.max))
        idx = np.asarray(profiles.quota_members[j], dtype=np.int32)
        h.addRow(lo, min(hi, inf), len(idx), idx, np.ones(len(idx)))


def panel_program(profiles: Profiles, k: int, *, integer: bool) -> highspy.Highs:
    """The panels as a program to maximise (its objective is set per solve): one variable per profile,
    from 0 to its count, integral or relaxed, and the rows of `add_panel_rows`."""
    n = len(profiles)
    h = quiet_highs()
    h.addVars(n, np.zeros(n), np.asarray(profiles.counts, dtype=np.float64))
    if integer:
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger))
    add_panel_rows(h, profiles, k)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    return h


def quota_matrix(profiles: Profiles) -> np.ndarray:
    """0/1 matrix: row j marks the profiles counted by quota j."""
    m = np.zeros((len(profiles.quotas), len(profiles)), dtype=np.int64)
    for j, members in enumerate(profiles.quota_members):
        m[j, list(members)] = 1
    return m


class PanelFinder:
    """Finds the heaviest feasible panel for given per-profile weights.

    Two HiGHS models are built once and only their objectives change: the LP relaxation, which
    keeps its simplex basis between calls and usually has an integral optimum (then it is the
    integer optimum too), and the integer program, solved only when the relaxation is fractional.
    """

    def __init__(self, profiles: Profiles, k: int) -> None:
        self._n = len(profiles)
        self._all = np.arange(self._n, dtype=np.int32)
        self._lp = panel_program(profiles, k, integer=False)
        self._mip = panel_program(profiles, k, integer=True)
        self._mip.setOptionValue("mip_rel_gap", 1e-9)
        self._mip.setOptionValue("mip_abs_gap", 1e-12)
        self.lp_solves = 0
        self.mip_solves = 0
        self.repair_solves = 0
        self._restricted = False
        self._counts_f = np.asarray(profiles.counts, dtype=np.float64)
        self._k = k
        self._quota_rows = quota_matrix(profiles)
        self._quota_lo = np.array([q.min for q in profiles.quotas])
        self._quota_hi = np.array([q.max for q in profiles.quotas])
        self._counts = np.asarray(profiles.counts)

    def satisfies(self, panel: np.ndarray | Sequence[int]) -> bool:
        """Whether a panel of profiles meets the size, the counts and every quota (exactly)."""
        x = np.asarray(panel, dtype=np.int64)
        per_quota = self._quota_rows @ x
        return bool(
            x.sum() == self._k
            and (x >= 0).all()
            and (x <= self._counts).all()
            and (per_quota >= self._quota_lo).all()
            and (per_quota <= self._quota_hi).all()
        )

    def _solve(self, h: highspy.Highs, weights: np.ndarray) -> np.ndarray:
        h.changeColsCost(self._n, self._all, weights)
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"pricing program ended with {h.modelStatusToString(status)}")
        return np.asarray(h.getSolution().col_value)

    def best(self, weights: Sequence[float] | np.ndarray, *, exact: bool = True) -> PricedPanel:
        """Maximise sum(weights[t] * x[t]) over all quota-satisfying panels.

        With exact=False a fractional relaxation is repaired by a small integer program over its
        fractional entries only: a good panel, not always the best, at a fraction of the cost.
        """
        w = np.asarray(weights, dtype=np.float64)
        x = self._solve(self._lp, w)
        self.lp_solves += 1
        bound = float(np.dot(w, x))  # the relaxation's optimum bounds the integer one
        rounded = np.rint(x)
        if np.abs(x - rounded).max() > 1e-7 or not self.satisfies(rounded):
            repaired = None if exact else self._repair(w, x)
            if repaired is not None:
                rounded = repaired
            else:
                self._free_all()
                rounded = np.rint(self._solve(self._mip, w))
                self.mip_solves += 1
                bound = min(bound, float(self._mip.getInfo().mip_dual_bound))
        value = float(np.dot(w, rounded))
        return PricedPanel(tuple(int(v) for v in rounded), value, max(value, bound))

    def _repair(self, w: np.ndarray, x: np.ndarray) -> np.ndarray | None:
        # Keep the relaxation's integral entries, let the fractional ones move between floor and
        # ceiling: a tiny integer program that HiGHS presolves away almost entirely.
        lo, hi = np.floor(x + 1e-7), np.ceil(x - 1e-7)
        self._mip.changeColsBounds(self._n, self._all, lo, hi)
        self._restricted = True
        self._mip.changeColsCost(self._n, self._all, w)
        self._mip.run()
        self.repair_solves += 1
        if self._mip.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        panel = np.rint(np.asarray(self._mip.getSolution().col_value))
        return panel if self.satisfies(panel) else None

    def _free_all(self) -> None:
        if self._restricted:
            self._mip.changeColsBounds(self._n, self._all, np.zeros(self._n), self._counts_f)
            self._restricted = False

    def first(self) -> TypePanel | None:
        """Any quota-satisfying panel, or None when there is none."""
        try:
            return self.best(np.zeros(self._n)).panel
        except SolverError:
            return None
