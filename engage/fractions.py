"""One parser for the shares people type: "4/5", "0.8" and "80%" (and 0.8 or 1 from JSON) become exact
Fractions, so a rule is never decided on a rounded float. Used by the selection rules and the evaluation
thresholds."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction


class NotAFraction(ValueError):
    """The text is not a number, a fraction such as 4/5, or a percentage such as 80%."""


class OutOfRange(ValueError):
    """A fraction outside the bounds the caller allows."""


MAX_DIGITS = 30  # "1e-999999999" would build a denominator of a billion digits
MOST_DECIMALS = 10  # places after the point in SHARE_PATTERN: more than any standard needs


def _fractions() -> str:
    """n/d with 0 <= n <= d <= 99 and no leading zero, as one alternation.

    A regex cannot compare two numbers, so it cannot say "n <= d" in general: it can only list the
    denominators each numerator may take. That list is finite only for a bounded denominator, and two
    digits hold every share people write as a fraction (2/3, 4/5, 17/20); larger ones are written as
    a decimal or a percentage. Listed one by one, the 5,049 pairs would fill /schema; grouped by digits,
    109 branches say the same."""
    branches = ["[0-9]/[1-9][0-9]"]  # one digit over two: always at most 1
    branches += [f"{n}/[{max(n, 1)}-9]" for n in range(10)]  # one digit over one (never over 0)
    for tens in range(1, 10):  # two digits over two: the same tens and no fewer units, or more tens
        branches += [f"{tens}{units}/{tens}[{units}-9]" for units in range(10)]
        if tens < 9:
            branches.append(f"{tens}[0-9]/[{tens + 1}-9][0-9]")
    return "|".join(branches)


def _share_pattern() -> str:
    places = f"[0-9]{{1,{MOST_DECIMALS}}}"
    zeros = f"0{{1,{MOST_DECIMALS}}}"
    decimal = rf"0(?:\.{places})?|1(?:\.{zeros})?"
    percentage = rf"(?:[0-9]|[1-9][0-9])(?:\.{places})?%|100(?:\.{zeros})?%"
    # (?!\n): Python's `$` also matches before a final newline; JSON Schema's (ECMAScript) does not.
    return rf"^(?:{decimal}|{percentage}|{_fractions()})(?!\n)$"


SHARE_PATTERN = _share_pattern()
"""A share from 0 to 1 as an API takes it: a decimal (0.8), a percentage (80%) or a fraction n/d
(2/3) with a denominator up to 99; no spaces, no leading zeros. `parse_fraction` takes every string it
matches (tests/app/test_fractions.py); forms, which `parse_fraction` reads directly, take more."""


def _decimal(text: str) -> Fraction:
    number = Decimal(text)
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int) or abs(exponent) > MAX_DIGITS:  # NaN, Infinity, absurd exponents
        raise ValueError(text)
    return Fraction(number)


def parse_fraction(value: object, *, low: Fraction = Fraction(0), high: Fraction = Fraction(1)) -> Fraction:
    text = str(value).strip()
    try:
        if len(text) > 2 * MAX_DIGITS:
            raise ValueError(text)
        if text.endswith("%"):
            parsed = _decimal(text[:-1].strip()) / 100
        elif "/" in text:
            numerator, _, denominator = text.partition("/")
            parsed = Fraction(int(numerator.strip()), int(denominator.strip()))
        else:
            parsed = _decimal(text)
    except (ValueError, ZeroDivisionError, InvalidOperation):
        raise NotAFraction(f"{value!r} is not a fraction such as 4/5, 0.8 or 80%") from None
    if not low <= parsed <= high:
        raise OutOfRange(f"{value} must lie between {low} and {high}")
    return parsed
