"""The working-day calendar of public notice periods (issue 4, item 2): PRC holidays and swapped
working days from the bundled file, when a period of N working days closes, the countdown, and a
calendar file that does not parse is refused naming its line."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage.calendar import CalendarError, WorkingCalendar, load_calendar, parse_calendar
from engage.notices.period import BUNDLED_CALENDAR
from engage.settings import ConfigError, load_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = load_calendar(BUNDLED_CALENDAR, SHANGHAI)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_the_bundled_calendar_covers_2026_and_2027() -> None:
    assert CAL.years == {2026, 2027}
    assert all(d.weekday() >= 5 for d in CAL.workdays)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),  # Saturday worked before the Spring Festival
        (date(2026, 2, 16), False),  # Monday of the Spring Festival
        (date(2026, 2, 23), False),  # last day of the Spring Festival, a Monday
        (date(2026, 2, 28), True),  # Saturday worked after it
        (date(2026, 9, 20), True),  # Sunday worked before National Day
        (date(2026, 10, 3), False),
        (date(2026, 10, 7), False),  # Wednesday of the National Day week
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday worked after it
        (date(2026, 11, 27), True),  # an ordinary Friday
        (date(2026, 11, 28), False),  # an ordinary Saturday
        (date(2026, 1, 4), True),  # Sunday worked after New Year's Day
    ],
)
def test_holidays_and_swapped_weekend_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_a_period_starts_the_day_after_publication_and_ends_at_close_of_office_hours() -> None:
    # Thursday 24 September 2026: Mid-Autumn (25-27) and National Day (1-7 October) fall inside.
    closes = CAL.add_working_days(local(2026, 9, 24, 10, 0), 5)
    assert closes == local(2026, 10, 9, 17, 30)  # 28, 29, 30 September, 8 and 9 October


def test_a_swapped_saturday_counts_as_a_working_day_of_the_period() -> None:
    assert CAL.add_working_days(local(2026, 10, 9, 9, 0), 1) == local(2026, 10, 10, 17, 30)
    # Friday before the Spring Festival: Saturday 14 February is worked, then nothing until the 24th.
    assert CAL.add_working_days(local(2026, 2, 13, 9, 0), 5) == local(2026, 2, 27, 17, 30)
    assert CAL.add_working_days(local(2026, 2, 13, 9, 0), 6) == local(2026, 2, 28, 17, 30)


def test_publication_is_dated_in_the_district_time_zone() -> None:
    # 23:30 UTC on 12 February is 07:30 on the 13th in Shanghai: the same period as a morning publication.
    assert CAL.add_working_days(datetime(2026, 2, 12, 23, 30, tzinfo=UTC), 5) == local(2026, 2, 27, 17, 30)
    # 15:00 UTC on the 12th is 23:00 on the 12th: one working day earlier.
    assert CAL.add_working_days(datetime(2026, 2, 12, 15, 0, tzinfo=UTC), 5) == local(2026, 2, 26, 17, 30)


def test_the_countdown_counts_today_only_during_office_hours() -> None:
    closes = local(2026, 10, 9, 17, 30)
    assert CAL.working_days_left(closes, local(2026, 9, 30, 10, 0)) == 3  # 30 Sep, 8 and 9 Oct
    assert CAL.working_days_left(closes, local(2026, 9, 30, 18, 0)) == 2
    assert CAL.working_days_left(closes, local(2026, 10, 3, 12, 0)) == 2  # a holiday
    assert CAL.working_days_left(closes, local(2026, 10, 9, 17, 29)) == 1
    assert CAL.working_days_left(closes, local(2026, 10, 9, 17, 30)) == 0
    published = local(2026, 9, 24, 10, 0)  # the day of publication is not counted
    assert CAL.working_days_left(closes, published, published) == 5
    assert CAL.working_days_left(closes, local(2026, 9, 28, 9, 0), published) == 5
    assert CAL.working_days_left(closes, local(2026, 9, 28, 18, 0), published) == 4


def test_a_year_the_file_does_not_cover_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarError, match="does not cover 2028"):
        CAL.add_working_days(local(2027, 12, 30, 10, 0), 5)


def test_a_period_of_zero_days_is_refused() -> None:
    with pytest.raises(CalendarError, match="1 to 366"):
        CAL.add_working_days(local(2026, 3, 2, 10, 0), 0)


days_in_2026 = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))


@given(day=days_in_2026, hour=st.integers(0, 23), n=st.integers(1, 25))
def test_the_closing_day_is_the_nth_working_day_after_publication(day: date, hour: int, n: int) -> None:
    start = datetime.combine(day, time(hour), tzinfo=SHANGHAI)
    closes = CAL.add_working_days(start, n)
    assert closes.timetz() == time(17, 30, tzinfo=SHANGHAI)
    last = closes.date()
    assert CAL.is_working_day(last)
    between = [day + timedelta(days=i) for i in range(1, (last - day).days + 1)]
    assert sum(CAL.is_working_day(d) for d in between) == n
    # The countdown at publication is n: the day of publication is not a day of the period.
    assert CAL.working_days_left(closes, start, start) == n
    # Without the opening moment, today counts while its office is open.
    open_today = CAL.is_working_day(day) and time(hour) < time(17, 30)
    assert CAL.working_days_left(closes, start) == n + (1 if open_today else 0)


@given(day=days_in_2026, a=st.integers(1, 15), b=st.integers(1, 15))
def test_extending_by_b_after_a_is_a_period_of_a_plus_b(day: date, a: int, b: int) -> None:
    start = datetime.combine(day, time(9), tzinfo=SHANGHAI)
    assert CAL.add_working_days(CAL.add_working_days(start, a), b) == CAL.add_working_days(start, a + b)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("date,kind,name\n2026-13-01,holiday,x\n", "line 2: '2026-13-01' is not a date"),
        ("# c\n\n2026-01-01,day off,x\n", "line 3: kind 'day off' is neither holiday nor workday"),
        ("2026-01-01,holiday\n2026-01-01,holiday\n", "line 2: 2026-01-01 is already listed on line 1"),
        ("2026-01-05,workday,x\n", "line 1: 2026-01-05 is a weekday"),
        ("2026-01-01\n", "line 1: expected date,kind[,name]"),
        ("# nothing\n", "no holidays listed"),
    ],
)
def test_a_malformed_calendar_is_refused_naming_the_line(text: str, problem: str) -> None:
    with pytest.raises(CalendarError) as raised:
        parse_calendar(text, "mine.csv", SHANGHAI)
    assert str(raised.value).startswith("mine.csv")
    assert problem in str(raised.value)


def test_a_calendar_file_the_organizer_updated_is_used(tmp_path: Path) -> None:
    mine = tmp_path / "workdays.csv"
    mine.write_text("date,kind,name\n2026-03-02,holiday,local holiday\n2026-03-07,workday,swap\n", "utf-8")
    calendar: WorkingCalendar = load_calendar(mine, SHANGHAI, time(18, 0))
    # Friday 27 Feb: Mon 2 March is off, Sat 7 March worked; 5 days: 3, 4, 5, 6, 7 March.
    assert calendar.add_working_days(local(2026, 2, 27, 9, 0), 5) == local(2026, 3, 7, 18, 0)


def test_settings_refuse_a_calendar_file_that_does_not_parse(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("2026-01-01,holiday,ok\n2026-02-30,holiday,no such day\n", "utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings({"WORKDAY_CALENDAR": str(bad)})
    assert raised.value.variable == "WORKDAY_CALENDAR"
    assert "bad.csv, line 2" in raised.value.problem
    with pytest.raises(ConfigError, match="NOTICE_PERIOD_CLOSES"):
        load_settings({"NOTICE_PERIOD_CLOSES": "half past five"})


@pytest.mark.slow
def test_the_calendar_check_command_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("2026-01-01,holiday,ok\n2026-01-06,workday,a Tuesday\n", "utf-8")
    engage = [sys.executable, "-m", "engage"]
    checked = subprocess.run(
        [*engage, "calendar", "check", str(bad)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 1
    assert "bad.csv, line 2: 2026-01-06 is a weekday" in checked.stderr
    fine = subprocess.run([*engage, "calendar", "check"], capture_output=True, text=True, check=False)
    assert fine.returncode == 0, fine.stderr
    assert "covers 2026, 2027" in fine.stdout
