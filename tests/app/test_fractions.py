"""The one parser for shares people type (engage/fractions.py)."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage.fractions import SHARE_PATTERN, NotAFraction, OutOfRange, parse_fraction


@pytest.mark.parametrize(
    ("typed", "exact"),
    [
        ("4/5", Fraction(4, 5)),
        (" 4 / 5 ", Fraction(4, 5)),
        ("0.8", Fraction(4, 5)),
        ("80%", Fraction(4, 5)),
        (0.8, Fraction(4, 5)),
        (1, Fraction(1)),
        ("66.5 %", Fraction(133, 200)),
        ("0", Fraction(0)),
    ],
)
def test_every_way_of_writing_a_share_gives_the_same_exact_fraction(typed: object, exact: Fraction) -> None:
    assert parse_fraction(typed) == exact


@pytest.mark.parametrize("typed", ["", "abc", "4/0", "NaN", "Infinity", "1e-999999999", "1/x", "9" * 100])
def test_what_is_not_a_share_is_refused_quickly(typed: str) -> None:
    with pytest.raises(NotAFraction):
        parse_fraction(typed)


def test_bounds_are_the_callers() -> None:
    with pytest.raises(OutOfRange):
        parse_fraction("3/2")
    assert parse_fraction("3/2", low=Fraction(1), high=Fraction(10)) == Fraction(3, 2)


@given(st.from_regex(SHARE_PATTERN, fullmatch=True))
def test_every_share_the_api_pattern_matches_is_parsed(typed: str) -> None:
    assert 0 <= parse_fraction(typed) <= 1


def test_the_api_pattern_takes_a_fraction_exactly_when_it_is_at_most_1_over_at_most_99() -> None:
    pattern = re.compile(SHARE_PATTERN)
    for numerator in range(150):
        for denominator in range(150):
            text = f"{numerator}/{denominator}"
            wanted = 1 <= denominator <= 99 and numerator <= denominator
            assert (pattern.search(text) is not None) == wanted, text


@pytest.mark.parametrize(
    "typed", ["0.5\n", " 0.5", "1.01", "100.1%", "-0", "+1", "01/2", "1/02", "0.", ".5", "1e-1"]
)
def test_the_api_pattern_takes_no_other_way_of_writing(typed: str) -> None:
    assert re.search(SHARE_PATTERN, typed) is None
