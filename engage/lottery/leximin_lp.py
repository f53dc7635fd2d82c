"""The two linear programs of the leximin loop, both kept warm in HiGHS between solves.

Both have one row per profile t saying "t's selection probability is at least z" (or, once t is
fixed by an earlier leximin round, "at least its fixed value"), and the variable z is maximised.

* `Master` mixes the panels found so far: variables p[P] >= 0 with sum 1; t's probability is
  sum_P p[P] * x[P][t] / count[t]. New panels are added as columns; HiGHS re-solves from its
  previous basis.
* `Relaxation` lets the expected seats m[t] range over the LP relaxation of the quota polytope.
  Every distribution over panels has expected seats in that polytope, so its optimum bounds the
  master's from above; when the two meet, the round is solved without any integer program.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from engage.lottery.model import Profiles
from engage.lottery.pricing import TypePanel, add_panel_rows, quiet_highs

INF = highspy.kHighsInf


def _precise(h: highspy.Highs) -> None:
    # Probabilities of ~1e-2 must be right to 1e-9; HiGHS' default tolerances are 1e-7.
    h.setOptionValue("primal_feasibility_tolerance", 1e-10)
    h.setOptionValue("dual_feasibility_tolerance", 1e-10)


@dataclass(frozen=True)
class RoundSolution:
    z: float
    duals: np.ndarray  # y[t] >= 0 per profile row; sums to 1 over unfixed profiles


class _ProfileRows:
    """Shared bookkeeping: which profile rows are fixed, and at what value."""

    def __init__(self, h: highspy.Highs, first_row: int, z_col: int, n: int) -> None:
        self.h = h
        self.first_row = first_row
        self.z_col = z_col
        self.fixed = np.full(n, np.nan)

    def fix(self, t: int, value: float) -> None:
        # The row stops mentioning z and becomes "probability of t >= value".
        row = self.first_row + t
        self.h.changeCoeff(row, self.z_col, 0.0)
        self.h.changeRowBounds(row, value, INF)
        self.fixed[t] = value

    def solve(self) -> RoundSolution:
        h = self.h
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"LP ended with {h.modelStatusToString(status)}")
        sol = h.getSolution()
        n = len(self.fixed)
        duals = -np.asarray(sol.row_dual[self.first_row : self.first_row + n])
        return RoundSolution(float(sol.col_value[self.z_col]), np.maximum(duals, 0.0))


class Master(_ProfileRows):
    """max z  s.t.  sum_P p[P] x[P][t]/c[t] - z >= 0 (unfixed t), >= v[t] (fixed t); sum p = 1."""

    def __init__(self, profiles: Profiles) -> None:
        h = quiet_highs()
        _precise(h)
        n = len(profiles)
        self.counts = np.asarray(profiles.counts, dtype=np.float64)
        h.addVar(0.0, 1.0)  # z, column 0
        h.changeColCost(0, 1.0)
        z_only = np.zeros(1, dtype=np.int32)
        for _ in range(n):
            h.addRow(0.0, INF, 1, z_only, np.array([-1.0]))
        h.addRow(1.0, 1.0, 0, np.zeros(0, dtype=np.int32), np.zeros(0))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        super().__init__(h, 0, 0, n)
        self.sum_row = n
        self.panels: list[TypePanel] = []
        self._known: set[TypePanel] = set()

    def add(self, panel: TypePanel) -> bool:
        """Add a panel as a new column; False when it is already there."""
        if panel in self._known:
            return False
        self._known.add(panel)
        self.panels.append(panel)
        x = np.asarray(panel, dtype=np.float64)
        rows = np.flatnonzero(x)
        idx = np.append(rows, self.sum_row).astype(np.int32)
        vals = np.append(x[rows] / self.counts[rows], 1.0)
        self.h.addCol(0.0, 0.0, INF, len(idx), idx, vals)
        return True

    def sum_dual(self) -> float:
        return float(self.h.getSolution().row_dual[self.sum_row])

    def weights(self) -> np.ndarray:
        """The panel probabilities of the last solve (clipped and renormalised)."""
        p = np.maximum(np.asarray(self.h.getSolution().col_value[1:]), 0.0)
        return np.asarray(p / p.sum())


class Relaxation(_ProfileRows):
    """max z  s.t.  m in the LP relaxation of the quota polytope, m[t]/c[t] - z >= 0 (or >= v[t])."""

    def __init__(self, profiles: Profiles, k: int) -> None:
        h = quiet_highs()
        _precise(h)
        n = len(profiles)
        counts = np.asarray(profiles.counts, dtype=np.float64)
        h.addVars(n, np.zeros(n), counts)
        add_panel_rows(h, profiles, k)
        first_row = 1 + len(profiles.quotas)
        h.addVar(0.0, 1.0)  # z, column n
        h.changeColCost(n, 1.0)
        for t in range(n):
            idx = np.array([t, n], dtype=np.int32)
            h.addRow(0.0, INF, 2, idx, np.array([1.0 / counts[t], -1.0]))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        super().__init__(h, first_row, n, n)
        self.n = n

    def seats(self) -> np.ndarray:
        """Expected seats per profile in the last solution."""
        return np.asarray(self.h.getSolution().col_value[: self.n])


def fixed_value_sum(duals: np.ndarray, fixed: np.ndarray, free: np.ndarray) -> float:
    """sum over fixed profiles of y[t] * v[t]: the part of the dual bound owed to fixed rows."""
    mask = ~np.asarray(free)
    return float(np.dot(duals[mask], fixed[mask]))
