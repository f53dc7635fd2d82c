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
