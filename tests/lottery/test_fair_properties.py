"""Property tests of the fair distributions on random small pools."""

from __future__ import annotations

import itertools

import highspy
import numpy as np
from hypothesis import given

from engage.lottery import Pool, Quota, fair_distribution, group_profiles, prepare
from engage.lottery.pricing import quiet_highs
from tests.lottery.lottery_helpers import meets_quotas, small_instances

Instance = tuple[Pool, list[Quota], int]


def _brute_force_maximin(pool: Pool, quotas: list[Quota], k: int) -> float:
    """The maximin value by an LP over every feasible panel (tiny pools only)."""
    ids = pool.ids
    panels = [p for p in itertools.combinations(ids, k) if meets_quotas(p, pool, quotas, k)]
    h = quiet_highs()
    h.addVar(0.0, 1.0)
    h.changeColCost(0, 1.0)
    inf = highspy.kHighsInf
    for _ in ids:
        h.addRow(0.0, inf, 1, np.array([0], dtype=np.int32), np.array([-1.0]))
    h.addRow(1.0, 1.0, 0, np.zeros(0, dtype=np.int32), np.zeros(0))
    for panel in panels:
        rows = [ids.index(pid) for pid in panel] + [len(ids)]
        h.addCol(0.0, 0.0, inf, len(rows), np.array(rows, dtype=np.int32), np.ones(len(rows)))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.run()
    return float(h.getSolution().col_value[0])


@given(small_instances())
def test_every_panel_in_support_meets_quotas(inst: Instance) -> None:
    pool, quotas, k = inst
    prepared = prepare(pool, quotas, k, m=50)
    people = sorted(pool.ids)
    for tickets in prepared.record["panels"]:
        assert meets_quotas([people[t - 1] for t in tickets], pool, quotas, k)


@given(small_instances())
def test_probabilities_sum_to_one_and_marginals_match_the_distribution(
    inst: Instance,
) -> None:
    pool, quotas, k = inst
    profiles = group_profiles(pool, quotas)
    dist = fair_distribution(profiles, k)
    assert abs(sum(dist.weights) - 1.0) < 1e-9
    assert min(dist.weights) > 0
    implied = dict.fromkeys(pool.ids, 0.0)
    for seats, w in zip(dist.panels, dist.weights, strict=True):
        for t, s in enumerate(seats):
            for pid in profiles.members[t]:
                implied[pid] += w * s / len(profiles.members[t])
    reported = dist.person_probabilities()
    assert all(abs(reported[pid] - implied[pid]) < 1e-9 for pid in pool.ids)
    assert abs(sum(reported.values()) - k) < 1e-7


@given(small_instances(max_n=10))
def test_maximin_matches_brute_force_over_all_panels(inst: Instance) -> None:
    pool, quotas, k = inst
    dist = fair_distribution(group_profiles(pool, quotas), k, leximin=False)
    assert abs(dist.min_probability - _brute_force_maximin(pool, quotas, k)) < 1e-7
    assert dist.optimality_gap < 1e-6


@given(small_instances())
def test_leximin_is_lexicographically_at_least_maximin(inst: Instance) -> None:
    pool, quotas, k = inst
    profiles = group_profiles(pool, quotas)
    lex = sorted(fair_distribution(profiles, k).person_probabilities().values())
    mm = sorted(fair_distribution(profiles, k, leximin=False).person_probabilities().values())
    assert abs(lex[0] - mm[0]) < 1e-7
    for a, b in zip(lex, mm, strict=True):
        if abs(a - b) > 1e-7:
            assert a > b
            break


@given(small_instances())
def test_lottery_probabilities_stay_close_to_the_fair_ones(inst: Instance) -> None:
    pool, quotas, k = inst
    prepared = prepare(pool, quotas, k, m=1000)
    for pid, p in prepared.probabilities.items():
        assert abs(prepared.lottery_probabilities[pid] - p) <= prepared.max_deviation + 1e-12
    assert prepared.max_deviation < 0.02
