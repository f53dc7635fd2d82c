"""Turn a fractional panel into an integral one by seat swaps (a cheap stand-in for an IP).

An LP vertex of the quota polytope has only a handful of fractional entries. Rounding them breaks
a few quota rows by a seat or two; moving single seats from one profile to another usually
repairs that in a few moves, far faster than HiGHS' branch and bound. When the greedy swaps get
stuck the caller falls back to the integer program.
"""

from __future__ import annotations

import numpy as np

from engage.lottery.model import Profiles


def quota_index(profiles: Profiles) -> np.ndarray:
    """row[t, c] = the quota counting profile t in category c (each profile has one per category)."""
    position = {q.key: j for j, q in enumerate(profiles.quotas)}
    return np.array(
        [[position[(c, vec[i])] for i, c in enumerate(profiles.categories)] for vec in profiles.vectors],
        dtype=np.int64,
    ).reshape(len(profiles), len(profiles.categories))


def _violation(seats: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.asarray(np.maximum(lo - seats, 0.0) + np.maximum(seats - hi, 0.0))


class SwapRepair:
    def __init__(self, profiles: Profiles, k: int) -> None:
        self.rows = quota_index(profiles)
        self.n_quotas = len(profiles.quotas)
        self.k = k

    def _seats(self, x: np.ndarray) -> np.ndarray:
        seats = np.bincount(self.rows.ravel(), np.repeat(x, self.rows.shape[1]), self.n_quotas)
        return np.asarray(seats, dtype=np.float64)

    def _start(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Floor, then give the missing seats to the largest fractional parts (within bounds)."""
        y = np.clip(np.floor(x + 1e-9), lo, hi)
        missing = self.k - int(y.sum())
        order = np.argsort(-(x - y), kind="stable")
        for t in order:
            if missing <= 0:
                break
            if y[t] < hi[t]:
                y[t] += 1
                missing -= 1
        return y if missing == 0 else np.clip(np.floor(x), lo, hi)

    def repair(
        self,
        x: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        row_lo: np.ndarray,
        row_hi: np.ndarray,
        max_moves: int = 40,
    ) -> np.ndarray | None:
        """An integral y within [lo, hi] with sum k and row_lo <= quota seats <= row_hi, or None."""
        y = self._start(x, lo, hi)
        if int(y.sum()) != self.k:
            return None
        for _ in range(max_moves):
            seats = self._seats(y)
            viol = _violation(seats, row_lo, row_hi)
            if viol.sum() == 0:
                return y
            move = self._best_move(y, seats, viol, lo, hi, row_lo, row_hi)
            if move is None:
                return None
            a, b = move
            y[a] -= 1
            y[b] += 1
        return None

    def _best_move(
        self,
        y: np.ndarray,
        seats: np.ndarray,
        viol: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        row_lo: np.ndarray,
        row_hi: np.ndarray,
    ) -> tuple[int, int] | None:
        """The seat move (from a to b) that reduces the total violation most."""
        # Change in violation of each row if it loses or gains one seat.
        lose = _violation(seats - 1, row_lo, row_hi) - viol
        gain = _violation(seats + 1, row_lo, row_hi) - viol
        takers = np.flatnonzero(y < hi)
        givers = np.flatnonzero(y > lo)
        if len(takers) == 0 or len(givers) == 0:
            return None
        rows_a, rows_b = self.rows[givers], self.rows[takers]
        differs = rows_a[:, None, :] != rows_b[None, :, :]
        delta = np.where(differs, lose[rows_a][:, None, :] + gain[rows_b][None, :, :], 0.0).sum(-1)
        i = int(np.argmin(delta))
        ia, ib = divmod(i, len(takers))
        if delta[ia, ib] >= 0:
            return None
        return int(givers[ia]), int(takers[ib])
