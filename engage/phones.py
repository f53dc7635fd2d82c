"""Phone numbers: parse what people type into E.164, and mask numbers for display."""

from __future__ import annotations

import phonenumbers

from engage.errors import InvalidInput


def normalise(raw: str, region: str, field: str = "phone") -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(field, "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(field, "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str) -> str:
    """+8613800138000 -> +86138****8000: enough to recognise one's own number, not to call it."""
    if len(e164) < 8:
        return "*" * len(e164)
    return e164[:-8] + "****" + e164[-4:]


def mask_for_reading(e164: str) -> str:
    """How people read their own number: +8613800138000 -> 138 **** 8000 (other countries: `mask`)."""
    if e164.startswith("+861") and len(e164) == 14:
        return f"{e164[3:6]} **** {e164[-4:]}"
    return mask(e164)
