"""The public notice period of one notice: its state at a moment, and the calendar the settings name.
Pure except `calendar_for` (reads the file, cached until it changes). The closing job is
`engage.jobs.schedule_close_period`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path

from engage.calendar import WorkingCalendar, load_calendar, parse_close_time
from engage.db import utcnow
from engage.notices.objections.models import NoticePeriod
from engage.settings import ROOT, Settings

BUNDLED_CALENDAR = ROOT / "engage" / "data" / "workdays-cn.csv"


class PeriodState(StrEnum):
    PENDING = "pending"  # scheduled notice: the period opens at its publication time
    OPEN = "open"  # objections are accepted
    EXTENDED = "extended"  # open, and an upheld objection added working days
    SUSPENDED = "suspended"  # stopped by an upheld objection; no objections, no closing
    CLOSED = "closed"


ACCEPTING = (PeriodState.OPEN, PeriodState.EXTENDED)


def clock() -> datetime:
    """The time periods are judged by (UTC). One place, so tests can move it forward."""
    return utcnow()


def calendar_path(settings: Settings) -> Path:
    return settings.workday_calendar or BUNDLED_CALENDAR


@cache
def _cached(path: Path, mtime_ns: int, timezone: str, closes: str) -> WorkingCalendar:
    from zoneinfo import ZoneInfo

    return load_calendar(path, ZoneInfo(timezone), parse_close_time(closes))


def calendar_for(settings: Settings) -> WorkingCalendar:
    """The working-day calendar in the district's zone; an updated file is read again on its next use."""
    path = calendar_path(settings)
    return _cached(path, path.stat().st_mtime_ns, settings.timezone, settings.notice_period_closes)


def state_of(period: NoticePeriod, now: datetime) -> PeriodState:
    """By the clock, not only by the closing job: a period past its closing moment is closed even if the
    job has not run yet (a busy worker must not keep objections open)."""
    if period.closed_at is not None:
        return PeriodState.CLOSED
    if period.suspended_at is not None:
        return PeriodState.SUSPENDED
    if period.opens_at is None or period.closes_at is None or now < period.opens_at:
        return PeriodState.PENDING
    if now >= period.closes_at:
        return PeriodState.CLOSED
    return PeriodState.EXTENDED if period.extended_days else PeriodState.OPEN


@dataclass(frozen=True)
class Countdown:
    state: PeriodState
    opens_at: datetime | None
    closes_at: datetime | None
    working_days_left: int
    days: int
    extended_days: int


def countdown(period: NoticePeriod, calendar: WorkingCalendar, now: datetime) -> Countdown:
    state = state_of(period, now)
    left = 0
    if state in ACCEPTING and period.closes_at is not None:
        left = calendar.working_days_left(period.closes_at, now)
    return Countdown(state, period.opens_at, period.closes_at, left, period.days, period.extended_days)
