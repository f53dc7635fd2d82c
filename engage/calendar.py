"""The working-day calendar of public notice periods, pure: data in, data out.

A working day is Monday to Friday, except official holidays, plus the weekend days the State Council
swaps into working days (调休上班). Both lists come from a CSV file the organizer can update
(`engage/data/workdays-cn.csv`, or the file named by WORKDAY_CALENDAR); see docs/notices.md.

When a period of N working days ends (the rule of the Civil Code, arts. 201 and 203, for periods
counted in days): the day of publication is not counted; the period runs over the next N working days
and ends on the Nth at the close of office hours (`close_at`, 17:30 by default), local time.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

HOLIDAY = "holiday"  # an official day off (a weekday, or a weekend day inside the holiday)
WORKDAY = "workday"  # a Saturday or Sunday worked in exchange (调休上班)
KINDS = (HOLIDAY, WORKDAY)
MAX_DAYS = 366  # longer periods are a typo, not a notice


class CalendarError(ValueError):
    """The calendar file is malformed (the message names the line), or a date lies outside it."""


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date]
    workdays: frozenset[date]
    years: frozenset[int]  # the years the file covers; any other year is refused, never guessed
    tz: ZoneInfo
    close_at: time = time(17, 30)

    def _covered(self, day: date) -> None:
        if day.year not in self.years:
            covered = ", ".join(str(y) for y in sorted(self.years)) or "none"
            raise CalendarError(
                f"the working-day calendar does not cover {day.year} (it covers {covered}); "
                "add that year's holidays to the calendar file"
            )

    def is_working_day(self, day: date) -> bool:
        self._covered(day)
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def nth_working_day_after(self, day: date, n: int) -> date:
        if not 1 <= n <= MAX_DAYS:
            raise CalendarError(f"a period is 1 to {MAX_DAYS} working days, not {n}")
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def closing_moment(self, day: date) -> datetime:
        """The end of office hours on `day`, as an aware datetime in the calendar's zone."""
        return datetime.combine(day, self.close_at, tzinfo=self.tz)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """When a period of `n` working days that starts at `start` (aware) closes: the close of office
        hours on the nth working day after the local date of `start`."""
        local = start.astimezone(self.tz)
        return self.closing_moment(self.nth_working_day_after(local.date(), n))

    def working_days_left(self, closes: datetime, now: datetime, opens: datetime | None = None) -> int:
        """For the countdown: the period's working days not yet over, the closing day included; today
        counts while its office hours last. The day of publication (`opens`) is not a day of the period,
        so at publication this is N; on the last day before closing time 1; once closed 0."""
        if now >= closes:
            return 0
        local = now.astimezone(self.tz)
        day, last = local.date(), closes.astimezone(self.tz).date()
        first_day = opens.astimezone(self.tz).date() + timedelta(days=1) if opens else day
        left = 0
        if day >= first_day and self.is_working_day(day) and local.time() < self.close_at:
            left = 1
        day = max(day, first_day - timedelta(days=1))
        while day < last:
            day += timedelta(days=1)
            left += 1 if self.is_working_day(day) else 0
        return left


def parse_calendar(text: str, source: str, tz: ZoneInfo, close_at: time = time(17, 30)) -> WorkingCalendar:
    """Read `date,kind,name` lines ('#' comments, blank lines and a `date,...` header are skipped).
    Raises CalendarError naming `source` and the line."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    seen: dict[date, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.lower().startswith("date,"):
            continue
        where = f"{source}, line {number}"
        cells = [cell.strip() for cell in next(csv.reader(StringIO(stripped)))]
        if len(cells) < 2 or len(cells) > 3:
            raise CalendarError(f"{where}: expected date,kind[,name], got {stripped!r}")
        try:
            day = date.fromisoformat(cells[0])
        except ValueError:
            raise CalendarError(f"{where}: {cells[0]!r} is not a date (YYYY-MM-DD)") from None
        kind = cells[1].lower()
        if kind not in KINDS:
            raise CalendarError(f"{where}: kind {cells[1]!r} is neither {HOLIDAY} nor {WORKDAY}")
        if day in seen:
            raise CalendarError(f"{where}: {day} is already listed on line {seen[day]}")
        if kind == WORKDAY and day.weekday() < 5:
            raise CalendarError(f"{where}: {day} is a weekday; a swapped working day is a Saturday or Sunday")
        seen[day] = number
        (holidays if kind == HOLIDAY else workdays).add(day)
    if not seen:
        raise CalendarError(f"{source}: no holidays listed")
    return WorkingCalendar(
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        years=frozenset(d.year for d in seen),
        tz=tz,
        close_at=close_at,
    )


def load_calendar(path: Path, tz: ZoneInfo, close_at: time = time(17, 30)) -> WorkingCalendar:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a file saved by a spreadsheet may carry a BOM
    except OSError as error:
        raise CalendarError(f"{path}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise CalendarError(f"{path}: not UTF-8 text") from None
    return parse_calendar(text, path.name, tz, close_at)


def parse_close_time(value: str) -> time:
    """'17:30' -> time(17, 30); raises ValueError for anything else."""
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (HH:MM, e.g. 17:30)") from None
