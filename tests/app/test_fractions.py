"""The one parser for shares people type (engage/fractions.py)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from engage.fractions import NotAFraction, OutOfRange, parse_fraction


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
