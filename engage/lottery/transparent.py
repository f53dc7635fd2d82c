"""Round a distribution to a uniform lottery over M numbered panels of people.

Following Flanigan, Kehne & Procaccia ("Fair sortition made transparent", 2021) we keep the
panels of the optimal support and choose integer multiplicities n[P] summing to M, so that the
draw is "pick one of M panels", each with probability 1/M. Their IP rounding is used, on profiles:
start from floor(M p[P]) and give the R missing copies to panels with a fractional remainder,
choosing them to minimise the largest deviation of any profile's probability. Where FKP solve an
integer program for that choice, we start from the R largest remainders and improve by swaps
(HiGHS spends seconds on the root node alone at n = 2,000; the swaps take milliseconds). The seats of a profile are then spread over its
members in rotation, so members of one profile differ by at most one panel in M.
A person's deviation is thus at most the profile's deviation plus 1/M; `max_deviation` reports the
exact value.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from engage.lottery.distribution import Distribution

ROUNDING_SWAPS = 400  # deterministic effort cap of the rounding search (no wall-clock limits)
SWAP_WIDTH = 48  # candidate panels considered on each side of a swap


@dataclass(frozen=True)
class Lottery:
    """M panels of ids (each sorted); the draw picks one uniformly. `probabilities`: count / M."""

    panels: tuple[tuple[str, ...], ...]
    probabilities: dict[str, float]
    max_deviation: float  # max over people of |count/M - fair probability|


def _copies(weights: np.ndarray, seats: np.ndarray, counts: np.ndarray, m: int) -> np.ndarray:
    """Integer copies per panel, summing to m, keeping every profile's probability close."""
    scaled = weights * m
    base = np.floor(scaled + 1e-9)
    missing = int(m - base.sum())
    frac = np.maximum(scaled - base, 0.0)
    candidates = np.flatnonzero(frac > 1e-9)
    order = candidates[np.argsort(-frac[candidates], kind="stable")]
    extra = np.zeros(len(weights))
    extra[order[:missing]] = 1  # largest remainders first
    if 0 < missing < len(candidates):
        cols = seats[candidates] / counts  # probability mass (times M) each extra copy adds
        chosen = _improve(extra[candidates] > 0, cols, frac[candidates] @ cols)
        extra[candidates] = chosen
    return (base + extra).astype(np.int64)


def _improve(chosen: np.ndarray, cols: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Swap extra copies between panels while that lowers the worst profile deviation.

    A deterministic local search standing in for FKP's rounding IP: HiGHS needs seconds even at
    its root node here, while a few dozen swaps bring the worst deviation down most of the way.
    """
    chosen = chosen.copy()
    dev = chosen @ cols - target
    for _ in range(ROUNDING_SWAPS):
        worst = float(np.abs(dev).max())
        t = int(np.argmax(np.abs(dev)))
        too_many = dev[t] > 0
        # Moves that shift mass away from (or towards) profile t, strongest first.
        outs = np.flatnonzero(chosen & ((cols[:, t] > 0) if too_many else True))
        ins = np.flatnonzero(~chosen & (True if too_many else (cols[:, t] > 0)))
        key = 1.0 if too_many else -1.0
        outs = outs[np.argsort(-key * cols[outs, t], kind="stable")[:SWAP_WIDTH]]
        ins = ins[np.argsort(key * cols[ins, t], kind="stable")[:SWAP_WIDTH]]
        if len(outs) == 0 or len(ins) == 0:
            break
        trial = dev[None, None, :] - cols[outs][:, None, :] + cols[ins][None, :, :]
        score = np.abs(trial).max(axis=2)
        i = int(np.argmin(score))
        a, b = divmod(i, len(ins))
        if score[a, b] >= worst - 1e-12:
            break
        chosen[outs[a]], chosen[ins[b]] = False, True
        dev = trial[a, b]
    return chosen


def _member_order(ids: tuple[str, ...]) -> list[str]:
    # Rotation order inside a profile: by hash, so that who gets the one extra copy does not
    # depend on alphabetical order of ids.
    return sorted(ids, key=lambda pid: hashlib.sha256(pid.encode("utf-8")).digest())


def to_lottery(dist: Distribution, m: int = 1000) -> Lottery:
    """The M-panel lottery closest (in the worst-case probability) to the distribution."""
    seats = np.asarray(dist.panels, dtype=np.int64)
    counts = np.asarray(dist.profiles.counts, dtype=np.float64)
    copies = _copies(np.asarray(dist.weights), seats.astype(np.float64), counts, m)
    members = [_member_order(ids) for ids in dist.profiles.members]
    cursor = [0] * len(members)
    panels: list[tuple[str, ...]] = []
    chosen_times: dict[str, int] = {pid: 0 for ids in members for pid in ids}
    for p, n_copies in enumerate(copies):
        for _ in range(int(n_copies)):
            panel: list[str] = []
            for t in np.flatnonzero(seats[p]):
                ids = members[t]
                for _ in range(int(seats[p, t])):
                    pid = ids[cursor[t] % len(ids)]
                    cursor[t] += 1
                    panel.append(pid)
                    chosen_times[pid] += 1
            panels.append(tuple(sorted(panel)))
    fair = dist.person_probabilities()
    probs = {pid: n / m for pid, n in chosen_times.items()}
    deviation = max(abs(probs[pid] - fair[pid]) for pid in probs)
    return Lottery(tuple(panels), probs, deviation)
