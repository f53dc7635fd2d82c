"""Dates and times in API bodies that the record keeps for centuries: a year from 2000 to 2200.

The bound keeps a typing slip (0202, 20260) out of schedules and audit entries. /schema states it as a
pattern on the date-time, the whole RFC 3339 form, so a generator drawing from the pattern draws real
dates; msgspec does not apply patterns to datetimes, so `in_years` enforces the same bound on the year
as written (the offset given, not UTC: a year the pattern allows is a year the server takes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta

from engage.errors import InvalidInput

FIRST_YEAR, LAST_YEAR = 2000, 2200
YEAR_PATTERN = (
    r"^(?:2[01][0-9]{2}|2200)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)

Moment = Annotated[
    datetime,
    Meta(
        tz=True,
        extra_json_schema={"pattern": YEAR_PATTERN},
        description=f"with its offset, in the years {FIRST_YEAR} to {LAST_YEAR}",
    ),
]
"""A date and time with its offset (RFC 3339), in the years 2000 to 2200; check it with `in_years`."""


def in_years(field: str, value: datetime | None) -> datetime | None:
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidInput(field, f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value
