"""Exact numbers for the selection rules: refuse floats, and turn Fractions into display text.

Every comparison that decides something (red line, margin, trim, rank) works on `fractions.Fraction`
or int. Text for publishing is made here, in one place, by `display_decimal` (half-up); the red
line's percentage (`assessment.percent_text`) truncates instead, so that it can never read 80.00
for a rate below 80 %.
"""

from __future__ import annotations

from fractions import Fraction
from math import floor

Number = int | Fraction


def as_fraction(value: object, what: str) -> Fraction:
    """`value` as an exact Fraction; floats, bools and strings are refused (they would hide rounding)."""
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise ValueError(f"{what} must be an integer or a Fraction, not {type(value).__name__}")
    return Fraction(value)


def as_int(value: object, what: str, minimum: int) -> int:
    """`value` as an int of at least `minimum`; bools, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}")
    return value


def display_decimal(value: Number, places: int = 2) -> str:
    """Text for publishing: `places` decimals, halves rounded away from zero (half-up).

    Display only: no decision is ever taken on this text. `display_decimal(Fraction(1, 8))` is
    "0.13", `display_decimal(Fraction(-1, 8))` is "-0.13", `display_decimal(85)` is "85.00".
    """
    exact = as_fraction(value, "value")
    as_int(places, "places", 0)
    scaled = abs(exact) * 10**places
    digits = floor(scaled)
    if scaled - digits >= Fraction(1, 2):
        digits += 1
    sign = "-" if exact < 0 and digits else ""
    text = str(digits).rjust(places + 1, "0")
    if places == 0:
        return sign + text
    return f"{sign}{text[:-places]}.{text[-places:]}"
