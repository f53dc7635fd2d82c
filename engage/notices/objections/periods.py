"""Public notice periods (async, web side): days on a draft, opening at publication, resuming after a
suspension, and the state a notice's period is in. Extension and suspension happen through an upheld
objection (`engage.notices.objections.services.answer`). Callers schedule the closing job after the commit
(`engage.notices.objections.web.api.schedule_close`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import record_async
from engage.calendar import CalendarError
from engage.errors import Conflict, InvalidInput, NotFound
from engage.i18n import gettext as _
from engage.notices import lifecycle
from engage.notices import period as periods
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objections.models import NoticePeriod
from engage.notices.period_events import PeriodEvent, announce
from engage.residents.notice_kinds import NoticeKind
from engage.settings import Settings

MAX_DAYS = 60  # of a period, an extension or a resumption, in working days


async def get_period(db: AsyncSession, notice_id: int, lock: bool = False) -> NoticePeriod | None:
    """Locked (PostgreSQL) before a change: two answers extending at once must both count."""
    return await db.get(NoticePeriod, notice_id, with_for_update=lock or None, populate_existing=lock)


def default_days(kind: str, settings: Settings) -> int:
    """An appointment notice always has a period unless the organizer says 0; other kinds opt in."""
    return settings.notice_period_days if kind == NoticeKind.APPOINTMENT else 0


async def set_period_days(db: AsyncSession, notice: Notice, days: int | None, settings: Settings) -> None:
    """On a draft: None means the kind's default, 0 no period. Flushed, not committed."""
    wanted = default_days(notice.kind, settings) if days is None else days
    if not 0 <= wanted <= MAX_DAYS:
        raise InvalidInput("period_days", f"must be 0 (no period) to {MAX_DAYS} working days")
    current = await get_period(db, notice.id)
    if wanted == 0:
        if current is not None:
            await db.delete(current)
    elif current is None:
        db.add(NoticePeriod(notice_id=notice.id, days=wanted, extended_days=0))
    else:
        current.days = wanted
    await db.flush()


async def open_period(
    db: AsyncSession, actor: str, notice: Notice, settings: Settings
) -> NoticePeriod | None:
    """At publication: the period opens at the publication time (now, or the scheduled time) and closes
    after its working days. Not committed: the caller's publish commits, then schedules the close."""
    current = await get_period(db, notice.id)
    if current is None:
        return None
    opens = notice.published_at or notice.publish_at  # published now, or at the scheduled time
    assert opens is not None
    change = lifecycle.open_period(current.days, opens, periods.calendar_for(settings))
    change.apply(current)
    await record_async(db, actor, change.action, "notice", notice.id, change.details)
    return current


def state(notice: Notice, current: NoticePeriod, now: datetime) -> periods.PeriodState:
    if notice.status == NoticeStatus.CLOSED:
        return periods.PeriodState.CLOSED
    if notice.status != NoticeStatus.PUBLISHED:
        return periods.PeriodState.PENDING
    return periods.state_of(current, now)


@dataclass(frozen=True)
class Standing:
    """Where a notice's period stands now, as its public page and the API show it."""

    period: NoticePeriod
    state: periods.PeriodState
    working_days_left: int  # 0 unless it accepts objections


async def standing(db: AsyncSession, notice: Notice, settings: Settings) -> Standing | None:
    current = await get_period(db, notice.id)
    if current is None:
        return None
    now = periods.clock()
    where = state(notice, current, now)
    left = 0
    if where in periods.ACCEPTING and current.closes_at is not None:
        left = periods.calendar_for(settings).working_days_left(current.closes_at, now, current.opens_at)
    return Standing(current, where, left)


async def resume(db: AsyncSession, actor: str, notice_id: int, days: int, settings: Settings) -> NoticePeriod:
    """A suspended period runs again for `days` working days from now. The caller schedules the close."""
    notice, current = await _notice_with_period(db, notice_id)
    if state(notice, current, periods.clock()) != periods.PeriodState.SUSPENDED:
        raise Conflict("status", _("Only a suspended period can be resumed."))
    check_days("days", days)
    now = periods.clock()
    current.closes_at = add_days(settings, now, days, "days")
    current.suspended_at = None
    current.extended_days += days
    details = {"days": days, "closes_at": current.closes_at.isoformat()}
    await record_async(db, actor, "notice.period_resume", "notice", notice_id, details)
    await db.run_sync(lambda session: announce(session, actor, notice_id, PeriodEvent.RESUMED, None))
    await db.commit()
    return current


def check_days(field: str, days: int | None) -> int:
    if days is None or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(field, _("Enter 1 to %(n)s working days.") % {"n": MAX_DAYS})
    return days


def add_days(settings: Settings, start: datetime, days: int, field: str) -> datetime:
    try:
        return periods.calendar_for(settings).add_working_days(start, days)
    except CalendarError as error:
        raise Conflict(field, str(error)) from None


async def _notice_with_period(db: AsyncSession, notice_id: int) -> tuple[Notice, NoticePeriod]:
    notice = await db.get(Notice, notice_id)
    if notice is None:
        raise NotFound("notice_id", f"no notice {notice_id}")
    current = await get_period(db, notice_id, lock=True)
    if current is None:
        raise Conflict("notice_id", _("This notice has no public notice period."))
    return notice, current
