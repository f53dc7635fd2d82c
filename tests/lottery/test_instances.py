"""The shared benchmark instances: known maximin optima (Flanigan et al.; PEER.md)."""

from __future__ import annotations

import pytest

from engage.lottery import fair_distribution, group_profiles
from tests.lottery.lottery_helpers import instance

KNOWN_MAXIMIN = {
    "example_small_20": 0.10,
    "example_large_200": 0.10,
    "sf_fixture_150_22": 1 / 11,
    "grandjury_400_55": 2 / 27,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(KNOWN_MAXIMIN))
def test_min_probability_matches_the_known_maximin_optimum(name: str) -> None:
    pool, quotas, k = instance(name)
    profiles = group_profiles(pool, quotas)
    for leximin in (False, True):
        dist = fair_distribution(profiles, k, leximin=leximin)
        assert abs(dist.min_probability - KNOWN_MAXIMIN[name]) < 1e-6
        assert dist.optimality_gap <= 1e-6


@pytest.mark.slow
def test_grandjury_2000_maximin_lies_in_the_known_interval() -> None:
    pool, quotas, k = instance("grandjury_2000_55")
    dist = fair_distribution(group_profiles(pool, quotas), k)
    assert 0.02005 <= dist.min_probability <= 0.02024
    assert dist.optimality_gap <= 1e-6
    assert dist.stats is not None and dist.stats.seconds < 30


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sf_fixture_150_22", "grandjury_400_55"])
def test_leximin_sorted_probabilities_dominate_maximin(name: str) -> None:
    pool, quotas, k = instance(name)
    profiles = group_profiles(pool, quotas)
    lex = sorted(fair_distribution(profiles, k).person_probabilities().values())
    mm = sorted(fair_distribution(profiles, k, leximin=False).person_probabilities().values())
    first_difference = next(((a, b) for a, b in zip(lex, mm, strict=True) if abs(a - b) > 1e-7), None)
    assert first_difference is None or first_difference[0] > first_difference[1]
