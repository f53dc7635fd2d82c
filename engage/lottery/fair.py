"""Leximin and maximin distributions over panels (Flanigan et al., Nature 2021), on profiles.

The loop follows the paper's leximin algorithm: maximise the smallest probability z among the
profiles not yet fixed (column generation: a master LP over panels, an integer program pricing new
panels); profiles whose dual weight is positive cannot do better than z in any optimal solution, so
they are fixed at z; repeat until every profile is fixed. Maximin is the first round only.

What differs from the reference implementation, for speed:
* profiles (identical feature vectors) instead of people, weighted by their counts;
* the master LP and both pricing models stay warm in HiGHS (columns added, objectives changed);
* pricing first solves the LP relaxation, which is usually integral, and only falls back to the
  integer program when it is not;
* each round first solves the LP relaxation of the whole round (expected seats in the quota
  polytope), whose optimum bounds z from above; when the master reaches it the round is proven
  optimal without any integer program, and the relaxation's duals certify which profiles to fix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from engage.lottery.decompose import decompose
from engage.lottery.distribution import Distribution, SolveStats
from engage.lottery.leximin_lp import Master, Relaxation, RoundSolution, fixed_value_sum
from engage.lottery.model import Profiles
from engage.lottery.pricing import PanelFinder, TypePanel

TOLERANCE = 1e-9  # a round stops when z is this close to a proven upper bound
DUAL_EPS = 1e-7  # duals (normalised to sum 1) above this mark a profile as stuck at z
FIX_SLACK = 1e-8  # fixed profiles may lose this much in later rounds, so rounds stay feasible (1e-10
# sat at the LP tolerance and a small pool hit an infeasible round); still far below the 1e-6 we promise
IMPROVING = 1e-12  # minimum reduced cost for a new panel to be worth a column


@dataclass(frozen=True)
class RoundResult:
    z: float
    bound: float
    certificate: np.ndarray  # duals proving `bound`; positive entries are stuck at z


def _seed_columns(master: Master, finder: PanelFinder, counts: np.ndarray) -> None:
    """Start with panels that together include every profile that can be selected at all."""
    covered = np.zeros(len(counts), dtype=bool)
    while not covered.all():
        priced = finder.best((~covered).astype(np.float64))
        if priced.value < 0.5:
            break  # the rest can never sit on a panel: their probability is 0
        master.add(priced.panel)
        covered |= np.asarray(priced.panel) > 0


def _solve_round(master: Master, relax: Relaxation, finder: PanelFinder, free: np.ndarray) -> RoundResult:
    """Column generation for one round: maximise the minimum over the free profiles."""
    rel = relax.solve()
    best = RoundResult(rel.z, rel.z, rel.duals)
    counts = master.counts
    while True:
        sol: RoundSolution = master.solve()
        if sol.z >= best.bound - TOLERANCE:
            return RoundResult(sol.z, best.bound, best.certificate)
        priced = finder.best(sol.duals / counts, exact=False)
        reduced_cost = priced.value - master.sum_dual()
        if reduced_cost <= IMPROVING:
            priced = finder.best(sol.duals / counts, exact=True)
        lagrangian = priced.bound - fixed_value_sum(sol.duals, master.fixed, free)
        if lagrangian < best.bound:
            best = RoundResult(sol.z, lagrangian, sol.duals)
        reduced_cost = priced.value - master.sum_dual()
        if reduced_cost <= IMPROVING or not master.add(priced.panel):
            # No better panel exists: the master is optimal up to solver tolerances.
            return RoundResult(sol.z, max(sol.z, best.bound), sol.duals)


def _relaxed_target(profiles: Profiles, k: int, *, leximin: bool) -> tuple[np.ndarray, float]:
    """Leximin (or maximin) expected seats over the LP relaxation, and its maximin value."""
    relax = Relaxation(profiles, k)
    free = np.ones(len(profiles), dtype=bool)
    first_z: float | None = None
    while True:
        sol = relax.solve()
        first_z = sol.z if first_z is None else first_z
        if not leximin:
            break
        _fix_stuck(relax, None, free, sol.duals, sol.z)
        if not free.any():
            break
    return relax.seats(), first_z


def _fix_stuck(
    relax: Relaxation,
    master: Master | None,
    free: np.ndarray,
    duals: np.ndarray,
    z: float,
) -> None:
    """Fix the free profiles whose positive dual proves they cannot exceed z."""
    stuck = free & (duals > DUAL_EPS)
    if not stuck.any():  # numerically flat duals: fix the most constrained profile
        stuck[int(np.argmax(np.where(free, duals, -1.0)))] = True
    for t in np.flatnonzero(stuck):
        relax.fix(int(t), z - FIX_SLACK)
        if master is not None:
            master.fix(int(t), z - FIX_SLACK)
    free &= ~stuck


def _column_generation(
    profiles: Profiles, k: int, *, leximin: bool
) -> tuple[list[TypePanel], np.ndarray, float, dict[str, int]]:
    """The general path (Flanigan et al.'s loop), for when the relaxation is not achievable."""
    counts = np.asarray(profiles.counts, dtype=np.float64)
    finder = PanelFinder(profiles, k)
    master, relax = Master(profiles), Relaxation(profiles, k)
    _seed_columns(master, finder, counts)
    free = np.ones(len(profiles), dtype=bool)
    first: RoundResult | None = None
    rounds = 0
    while free.any():
        result = _solve_round(master, relax, finder, free)
        rounds += 1
        first = first or result
        if not leximin:
            break
        _fix_stuck(relax, master, free, result.certificate, result.z)
    assert first is not None
    counters = {
        "rounds": rounds,
        "lp_pricings": finder.lp_solves,
        "mip_pricings": finder.mip_solves,
    }
    return master.panels, master.weights(), first.bound, counters


def fair_distribution(profiles: Profiles, k: int, *, leximin: bool = True) -> Distribution:
    """The leximin (or, with leximin=False, a maximin) distribution over panels of profiles."""
    started = time.perf_counter()
    target, bound = _relaxed_target(profiles, k, leximin=leximin)
    mixture = decompose(profiles, k, target)
    if mixture is not None:
        panels = [p for p, _ in mixture]
        weights = np.array([w for _, w in mixture])
        method, counters = (
            "relaxation",
            {"rounds": 0, "lp_pricings": 0, "mip_pricings": 0},
        )
    else:
        panels, weights, bound, counters = _column_generation(profiles, k, leximin=leximin)
        method = "column generation"
    stats = SolveStats(
        seconds=time.perf_counter() - started,
        method=method,
        columns=len(panels),
        **counters,
    )
    return Distribution.from_columns(
        profiles,
        k,
        panels,
        weights,
        algorithm="leximin" if leximin else "maximin",
        dual_bound=bound,
        stats=stats,
    )
