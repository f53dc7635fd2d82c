"""Phone numbers: parse what people type into E.164, the stricter rule of the API, and masks for display.

Pages and roster imports are forgiving (`normalise`): "138 0013 8000", "0086-138…" and the like are read
as people write them. The JSON API is strict, because its rule is a pattern in /schema and the server
refuses exactly what the pattern refuses: a client that validates against the document is never
surprised. The API takes a mobile number that can receive a text in one of SMS_ALLOWED_REGIONS, written

- in E.164, "+" and the country code and the national number, digits only: "+8613800138000", for any
  allowed region;
- or as DEFAULT_REGION's own mobile numbers are written there, digits only: "13800138000" in CN (with
  the trunk prefix where that region writes it, "07400123456" in GB), when DEFAULT_REGION is allowed.

Nothing else: no spaces, dashes, dots or brackets, no "0086" or "86" instead of "+86", no landlines.
The pattern is built from phonenumbers' own metadata (each region's mobile national number pattern and
country code), so it is the library's rule, not one written here; `api_mobile_number` applies it and then
asks the library, which tests/app/test_api_phones.py shows never refuses a string the pattern allows.

The allowed regions are settings, so the pattern is per app: API types carry `MOBILE_SLOT` (or
`MOBILE_OR_EMPTY_SLOT`) where the pattern goes, and the app's document fills it in (engage/web/bodies.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Annotated

import phonenumbers
from msgspec import Meta

from engage.errors import InvalidInput
from engage.i18n import gettext as _
from engage.settings import Settings

MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


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


# -- the API's rule ----------------------------------------------------------------------------------

# Placeholders in the JSON Schema of API types: msgspec does not enforce `extra_json_schema`, and each
# app's document replaces them with its own settings' pattern (StructSchemas in engage/web/bodies.py).
MOBILE_SLOT = "<a mobile number of SMS_ALLOWED_REGIONS>"
MOBILE_OR_EMPTY_SLOT = "<empty, or a mobile number of SMS_ALLOWED_REGIONS>"

RULE = (
    "a mobile number of SMS_ALLOWED_REGIONS, digits only: in E.164 (+8613800138000) or as DEFAULT_REGION "
    "writes it (13800138000)"
)
MobileNumber = Annotated[str, Meta(extra_json_schema={"pattern": MOBILE_SLOT}, description=RULE)]
"""A mobile number as the API takes it; check it with `api_mobile_number` (the schema only shows it)."""
MobileNumberOrEmpty = Annotated[
    str, Meta(extra_json_schema={"pattern": MOBILE_OR_EMPTY_SLOT}, description=f"empty, or {RULE}")
]


def _ascii_digits(pattern: str) -> str:
    r"""The library's patterns write \d, which in Python (and so in Hypothesis) is any Unicode digit and
    in JSON Schema's regex dialect only 0-9: [0-9] means the same everywhere. (No pattern puts \d inside
    brackets: checked when the rule is built.)"""
    if re.search(r"\[[^\]]*\\d", pattern):
        raise ValueError(f"\\d inside brackets: {pattern}")
    return pattern.replace(r"\d", "[0-9]")


def _mobile_national(region: str) -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None or metadata.mobile.national_number_pattern is None:
        raise ValueError(f"phonenumbers knows no mobile numbers of {region}")
    return _ascii_digits(metadata.mobile.national_number_pattern)


def _example(region: str) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"phonenumbers has no example mobile number of {region}")
    return example


def _written_nationally(region: str) -> str:
    """The region's mobile numbers as written there: the national number, after the trunk prefix when
    the library's national format of its example mobile number has one ("0" in GB, none in CN)."""
    example = _example(region)
    written = re.sub(r"\D", "", phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL))
    significant = phonenumbers.national_significant_number(example)
    prefix = written.removesuffix(significant) if written.endswith(significant) else ""
    return f"{re.escape(prefix)}(?:{_mobile_national(region)})"


@dataclass(frozen=True)
class MobileRule:
    """The API's rule for one app's settings: the pattern /schema shows, and examples for its message."""

    default_region: str
    allowed_regions: tuple[str, ...]  # sorted
    pattern: str  # ^...$, the same in Python and in JSON Schema (ECMA-262) regular expressions
    pattern_or_empty: str
    examples: tuple[str, ...]


@cache
def _rule(default_region: str, allowed_regions: tuple[str, ...]) -> MobileRule:
    alternatives = [
        rf"\+{phonenumbers.country_code_for_region(region)}(?:{_mobile_national(region)})"
        for region in allowed_regions
    ]
    examples = [
        phonenumbers.format_number(_example(region), phonenumbers.PhoneNumberFormat.E164)
        for region in allowed_regions
    ]
    if default_region in allowed_regions:
        alternatives.append(_written_nationally(default_region))
        example = _example(default_region)
        examples.append(
            re.sub(r"\D", "", phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL))
        )
    either = "|".join(alternatives)
    return MobileRule(default_region, allowed_regions, f"^(?:{either})$", f"^(?:{either})?$", tuple(examples))


def mobile_rule(settings: Settings) -> MobileRule:
    """The rule of an app with these settings (DEFAULT_REGION, SMS_ALLOWED_REGIONS)."""
    return _rule(settings.default_region, tuple(sorted(settings.allowed_regions)))


def slots(rule: MobileRule) -> dict[str, str]:
    """What each placeholder of the schema stands for in an app with this rule."""
    return {MOBILE_SLOT: rule.pattern, MOBILE_OR_EMPTY_SLOT: rule.pattern_or_empty}


def _textable(raw: str, rule: MobileRule) -> phonenumbers.PhoneNumber | None:
    if re.fullmatch(rule.pattern, raw) is None:
        return None
    try:
        number = phonenumbers.parse(raw, rule.default_region)
    except phonenumbers.NumberParseException:
        return None
    textable = (
        phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) in MOBILE_TYPES
        and phonenumbers.region_code_for_number(number) in rule.allowed_regions
    )
    return number if textable else None


def api_mobile_number(raw: str, settings: Settings, field: str) -> str:
    """E.164 for a string that matches the API's pattern, else InvalidInput(field, how to write one).
    The library's checks after the pattern never refuse what it allows (tests/app/test_api_phones.py);
    they stay as the guard that a number handed on is one we may text."""
    rule = mobile_rule(settings)
    number = _textable(raw, rule)
    if number is None:
        raise InvalidInput(
            field,
            _(
                "Enter a mobile number of %(regions)s in digits only, without spaces or dashes, e.g. %(examples)s."
            )
            % {"regions": ", ".join(rule.allowed_regions), "examples": ", ".join(rule.examples)},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
