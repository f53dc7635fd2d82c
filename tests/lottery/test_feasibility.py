"""Feasibility: say whether quotas can be met, which conflict, and the smallest relaxation."""

from __future__ import annotations

import pytest

from engage.lottery import (
    InfeasibleQuotas,
    Person,
    Pool,
    Quota,
    check_feasibility,
    prepare,
)


def _pool() -> Pool:
    # 6 women (4 young), 4 men (1 young)
    rows = [("f", "y")] * 4 + [("f", "o")] * 2 + [("m", "y")] + [("m", "o")] * 3
    return Pool(("g", "a"), tuple(Person(f"p{i}", v) for i, v in enumerate(rows)))


def _quotas(**overrides: tuple[int, int]) -> list[Quota]:
    base = {"f": (2, 3), "m": (2, 3), "y": (2, 3), "o": (2, 3)}
    base.update(overrides)
    cat = {"f": "g", "m": "g", "y": "a", "o": "a"}
    return [Quota(cat[v], v, lo, hi) for v, (lo, hi) in base.items()]


def test_feasible_quotas_are_reported_feasible() -> None:
    report = check_feasibility(_pool(), _quotas(), 5)
    assert report.feasible and not report.relaxation


def test_minimums_above_panel_size_are_named_with_a_relaxation() -> None:
    report = check_feasibility(_pool(), _quotas(f=(4, 5), m=(3, 3)), 5)
    assert not report.feasible
    assert any("minimums of g add up to 7" in p for p in report.problems)
    assert sum(c.min - c.new_min for c in report.relaxation) == 2


def test_conflict_between_categories_gets_the_smallest_relaxation() -> None:
    # 4 men wanted but only 1 young man and at most 1 old person overall: men must be old.
    report = check_feasibility(_pool(), _quotas(m=(3, 3), f=(2, 2), o=(0, 1), y=(4, 4)), 5)
    assert not report.feasible
    total = sum(abs(c.min - c.new_min) + abs(c.max - c.new_max) for c in report.relaxation)
    assert total == 2
    assert "Smallest relaxation" in report.explanation()


def test_panel_larger_than_pool_is_infeasible_without_relaxation() -> None:
    report = check_feasibility(_pool(), _quotas(), 11)
    assert not report.feasible and not report.relaxation
    assert "exceeds the 10 eligible" in report.explanation()


def test_exclusions_count_against_the_pool() -> None:
    report = check_feasibility(_pool(), _quotas(m=(3, 3), f=(2, 2)), 5, exclusions=["p7", "p8", "p9"])
    assert not report.feasible


def test_selecting_with_infeasible_quotas_raises_typed_error() -> None:
    with pytest.raises(InfeasibleQuotas) as err:
        prepare(_pool(), _quotas(f=(4, 5), m=(3, 3)), 5)
    assert err.value.report.relaxation
    assert "minimums of g" in str(err.value)


def test_flex_bounds_limit_the_relaxation() -> None:
    quotas = [
        Quota("g", "f", 4, 5, 3, 5),
        Quota("g", "m", 3, 3, 3, 3),
        Quota("a", "y", 0, 5, 0, 5),
        Quota("a", "o", 0, 5, 0, 5),
    ]
    report = check_feasibility(_pool(), quotas, 5)
    assert not report.feasible and report.within_flex is False
