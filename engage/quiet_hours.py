"""Quiet hours, pure: the local hours in which non-urgent texts are not sent, and when they may go.

A window is "HH:MM-HH:MM" in the district's time zone; it may run past midnight ("21:00-08:00").
An empty window means no quiet hours. The start is inside the window, the end is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # runs past midnight


def parse_window(text: str) -> Window | None:
    """'21:00-08:00' -> Window; '' -> None. Raises ValueError for anything else."""
    if not text.strip():
        return None
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(f"quiet hours must look like 21:00-08:00 (or be empty), not {text!r}")
    hours_start, minutes_start, hours_end, minutes_end = (int(part) for part in match.groups())
    try:
        window = Window(time(hours_start, minutes_start), time(hours_end, minutes_end))
    except ValueError:
        raise ValueError(f"quiet hours {text!r}: not a time of day") from None
    if window.start == window.end:
        raise ValueError(f"quiet hours {text!r} start and end at the same time")
    return window


def held_until(moment: datetime, window: Window | None, zone: ZoneInfo) -> datetime | None:
    """When a non-urgent text due at `moment` may go out (UTC), or None when it may go now."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    if window is None:
        return None
    local = moment.astimezone(zone)
    if not window.contains(local.time().replace(tzinfo=None)):
        return None
    end_day = local.date()
    if window.start > window.end and local.time().replace(tzinfo=None) >= window.start:
        end_day += timedelta(days=1)  # evening: the quiet ends tomorrow morning
    end = datetime.combine(end_day, window.end, tzinfo=zone)
    # Round trip through UTC so a DST gap or fold lands on a real instant.
    return end.astimezone(UTC)
