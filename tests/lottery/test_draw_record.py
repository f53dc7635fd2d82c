"""Seeds, the draw record, verify and replacement."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given

from engage.lottery import (
    Person,
    Pool,
    Quota,
    prepare,
    replacement,
    select_panel,
    verify,
)
from engage.lottery.randomness import Stream, seed_from_parts
from tests.lottery.lottery_helpers import meets_quotas, small_instances

Instance = tuple[Pool, list[Quota], int]


@given(small_instances())
def test_same_seed_gives_same_panel_and_the_drawn_panel_meets_quotas(
    inst: Instance,
) -> None:
    pool, quotas, k = inst
    a = select_panel(pool, quotas, k, ["alpha", "beta"], m=100)
    b = select_panel(pool, quotas, k, ["alpha", "beta"], m=100)
    assert a.panel == b.panel and a.reserve == b.reserve and a.record == b.record
    assert meets_quotas(a.panel, pool, quotas, k)
    assert verify(a.record, pool).ok


def test_seed_is_sha256_of_length_prefixed_parts() -> None:
    expected = hashlib.sha256(b"\x00\x00\x00\x01a\x00\x00\x00\x02bc").digest()
    assert seed_from_parts(["a", "bc"]) == expected
    assert seed_from_parts(["ab", "c"]) != expected  # the length prefix keeps parts apart


def test_uniform_draw_uses_counter_mode_blocks_with_rejection() -> None:
    seed = bytes(32)
    block0 = hashlib.sha256(seed + (0).to_bytes(8, "big")).digest()
    assert Stream(seed).below(1000) == int.from_bytes(block0[:8], "big") % 1000
    stream = Stream(seed)
    draws = [stream.below(3) for _ in range(300)]
    assert set(draws) == {0, 1, 2}


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, v in value.items():
            yield from _leaves(v, (*path, key))
    elif isinstance(value, list) and value:
        # The first and last element of each list are enough to touch every field.
        for i in sorted({0, len(value) - 1}):
            yield from _leaves(value[i], (*path, i))
    else:
        yield path


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return ["x"]


@pytest.fixture(scope="module")
def drawn() -> tuple[dict[str, Any], Pool]:
    pool = Pool(
        ("g", "a"),
        tuple(Person(f"id{i}", (("f", "m")[i % 2], ("y", "o")[i % 3 == 0])) for i in range(12)),
    )
    quotas = [
        Quota("g", "f", 2, 3),
        Quota("g", "m", 2, 3),
        Quota("a", "y", 1, 4),
        Quota("a", "o", 1, 3),
    ]
    record = select_panel(pool, quotas, 5, ["one", "two"], m=20, exclusions=["id0"]).record
    return record, pool


def test_verify_accepts_the_untouched_record(
    drawn: tuple[dict[str, Any], Pool],
) -> None:
    record, pool = drawn
    assert verify(record, pool).ok


def test_verify_rejects_a_record_with_any_field_changed(
    drawn: tuple[dict[str, Any], Pool],
) -> None:
    record, pool = drawn
    paths = list(_leaves(record))
    assert len(paths) > 20
    for path in paths:
        tampered = copy.deepcopy(record)
        node = tampered
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = _changed(node[path[-1]])
        result = verify(tampered, pool)
        assert not result.ok, path
        assert result.mismatch


def test_verify_rejects_a_different_pool(drawn: tuple[dict[str, Any], Pool]) -> None:
    record, pool = drawn
    other = Pool(pool.categories, pool.people[:-1])
    assert "pool" in (verify(record, other).mismatch or "")


def test_replacement_keeps_every_quota(drawn: tuple[dict[str, Any], Pool]) -> None:
    record, pool = drawn
    people = sorted(pool.ids)
    panel = [people[t - 1] for t in record["panel"]]
    quotas = [Quota(c, v, lo, hi) for c, v, lo, hi in record["quotas"]]
    for dropout in panel:
        new = replacement(record, pool, None, dropout)
        assert new not in panel and new != "id0"
        assert meets_quotas([*(p for p in panel if p != dropout), new], pool, quotas, 5)
        reserve = [people[t - 1] for t in record["reserve"]]
        assert replacement(panel, pool, quotas, dropout, reserve) == new


def test_reserve_excludes_panel_and_excluded_people(
    drawn: tuple[dict[str, Any], Pool],
) -> None:
    record, _ = drawn
    assert not set(record["reserve"]) & set(record["panel"])
    assert not set(record["reserve"]) & set(record["exclusions"])
    assert len(record["reserve"]) == 12 - 5 - 1


def test_excluded_people_are_never_selected() -> None:
    pool = Pool(("g",), tuple(Person(f"x{i}", ("a",)) for i in range(6)))
    prepared = prepare(pool, [Quota("g", "a", 0, 6)], 3, exclusions=["x1", "x2"], m=10)
    assert prepared.probabilities.get("x1") is None
    assert all(abs(p - 0.75) < 1e-9 for p in prepared.probabilities.values())
