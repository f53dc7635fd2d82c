"""The legacy sequential draw (the Sortition Foundation's greedy algorithm), for comparison.

Seat by seat: among the quota values still short of their minimum, take the one with the largest
(min - selected) / remaining volunteers (ties: first in the quota file; once every minimum is met,
the first value with anyone left), pick one of its remaining volunteers uniformly, and remove
everyone whose value reached its maximum. A draw that gets stuck is retried from scratch.
It is fast but unfair: some volunteers are almost never picked (see docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engage.lottery.errors import LotteryError
from engage.lottery.model import Profiles
from engage.lottery.randomness import Stream
from engage.lottery.repair import quota_index

MAX_ATTEMPTS = 200


class LegacyDraw:
    """Draws panels (lists of ids) from the eligible pool with the greedy algorithm."""

    def __init__(self, profiles: Profiles, k: int) -> None:
        self.k = k
        self.ids: list[str] = [pid for ids in profiles.members for pid in ids]
        person_profile = np.repeat(np.arange(len(profiles)), profiles.counts)
        self.rows = quota_index(profiles)[person_profile]  # quota rows of each person
        self.lo = np.array([q.min for q in profiles.quotas])
        self.hi = np.array([q.max for q in profiles.quotas])
        self.members = [np.flatnonzero((self.rows == j).any(axis=1)) for j in range(len(self.lo))]

    def _remove(self, alive: np.ndarray, left: np.ndarray, people: np.ndarray) -> None:
        gone = people[alive[people]]
        alive[gone] = False
        left -= np.bincount(self.rows[gone].ravel(), minlength=len(left))

    def _attempt(self, stream: Stream) -> list[int] | None:
        alive = np.ones(len(self.ids), dtype=bool)
        left = np.array([len(m) for m in self.members])
        for banned in np.flatnonzero(self.hi == 0):
            self._remove(alive, left, self.members[banned])
        selected = np.zeros(len(self.lo), dtype=np.int64)
        chosen: list[int] = []
        for _ in range(self.k):
            need = np.maximum(self.lo - selected, 0)
            usable = (left > 0) & (self.hi > 0)
            if (left < need).any() or not usable.any():
                return None
            ratio = np.where(usable, need / np.maximum(left, 1), -1.0)
            j = int(np.argmax(ratio))  # first maximum: quota-file order breaks ties
            pool = self.members[j][alive[self.members[j]]]
            person = int(pool[stream.below(len(pool))])
            chosen.append(person)
            self._remove(alive, left, np.array([person]))
            rows = self.rows[person]
            selected[rows] += 1
            for full in rows[selected[rows] >= self.hi[rows]]:
                self._remove(alive, left, self.members[full])
        if ((selected < self.lo) | (selected > self.hi)).any():
            return None
        return chosen

    def draw(self, stream: Stream) -> tuple[str, ...]:
        for _ in range(MAX_ATTEMPTS):
            chosen = self._attempt(stream)
            if chosen is not None:
                return tuple(sorted(self.ids[i] for i in chosen))
        raise LotteryError(f"the legacy draw failed {MAX_ATTEMPTS} times in a row")

    def draws(self, stream: Stream, m: int) -> list[tuple[str, ...]]:
        return [self.draw(stream) for _ in range(m)]


def frequencies(panels: Sequence[Sequence[str]], ids: Sequence[str]) -> dict[str, float]:
    counts = dict.fromkeys(ids, 0)
    for panel in panels:
        for pid in panel:
            counts[pid] += 1
    return {pid: n / len(panels) for pid, n in counts.items()}
