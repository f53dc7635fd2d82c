"""Notice periods and objections (async, web side), callable from any domain.

Periods: `set_period_days` on a draft, `open_period` at publication (the caller schedules the closing
job with `period.schedule_close` after the commit), `extend` / `suspend` through an upheld objection,
`resume` a suspended one. Objections: `request_code` (named objectors prove their phone with the
sign-up code), `file_objection`, `answer`, `by_reference`, `outcome_counts`.

Every function raises engage.errors (InvalidInput 400, NotFound 404, Conflict 409, RateLimited 429)
naming the field. Audit details name objections by reference only: never a name, a phone or a reason."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anyio import to_thread
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage import ratelimit
from engage.audit.services import record_async
from engage.errors import Conflict, InvalidInput, NotFound, RateLimited
from engage.i18n import gettext as _
from engage.notices import period as periods
from engage.notices.calendar import CalendarError
from engage.notices.kinds import NoticeKind
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objection_models import NoticePeriod, Objection, ObjectionStatus, PeriodAction
from engage.queues import QueueName
from engage.residents.labels import N_
from engage.residents.signup import CodeSent, check_code, mobile_number, send_code
from engage.settings import Settings
from engage.sms.services import build_message, enqueue_send
from engage.sms.texts import render

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone
REFERENCE_LENGTH = 6  # 31^6, about 887 million per year; lookups are rate-limited per address
MAX_REASON = 2000
MAX_REPLY = 2000
MAX_NAME = 100
MAX_EXTENSION = 60
LOOKUPS_PER_IP_PER_HOUR = 60
FINAL = (ObjectionStatus.UPHELD, ObjectionStatus.REJECTED)
NOT_ACTIONABLE = {
    periods.PeriodState.PENDING: N_("The period has not opened yet."),
    periods.PeriodState.SUSPENDED: N_("The period is suspended: resume it instead."),
    periods.PeriodState.CLOSED: N_("The period has closed: it can no longer be extended or suspended."),
}


# --- periods -------------------------------------------------------------------------------------


async def get_period(db: AsyncSession, notice_id: int, lock: bool = False) -> NoticePeriod | None:
    """Locked (PostgreSQL) before a change: two answers extending at once must both count."""
    return await db.get(NoticePeriod, notice_id, with_for_update=lock or None, populate_existing=lock)


def default_days(kind: str, settings: Settings) -> int:
    """An appointment notice always has a period unless the organizer says 0; other kinds opt in."""
    return settings.notice_period_days if kind == NoticeKind.APPOINTMENT else 0


async def set_period_days(db: AsyncSession, notice: Notice, days: int | None, settings: Settings) -> None:
    """On a draft: None means the kind's default, 0 no period. Flushed, not committed."""
    wanted = default_days(notice.kind, settings) if days is None else days
    if not 0 <= wanted <= MAX_EXTENSION:
        raise InvalidInput("period_days", f"must be 0 (no period) to {MAX_EXTENSION} working days")
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
    try:
        closes = periods.calendar_for(settings).add_working_days(opens, current.days)
    except CalendarError as error:
        raise Conflict("period_days", str(error)) from None
    current.opens_at, current.closes_at = opens, closes
    details = {"days": current.days, "opens_at": opens.isoformat(), "closes_at": closes.isoformat()}
    await record_async(db, actor, "notice.period_open", "notice", notice.id, details)
    return current


def state(notice: Notice, current: NoticePeriod, now: datetime) -> periods.PeriodState:
    if notice.status == NoticeStatus.CLOSED:
        return periods.PeriodState.CLOSED
    if notice.status != NoticeStatus.PUBLISHED:
        return periods.PeriodState.PENDING
    return periods.state_of(current, now)


async def resume(db: AsyncSession, actor: str, notice_id: int, days: int, settings: Settings) -> NoticePeriod:
    """A suspended period runs again for `days` working days from now. The caller schedules the close."""
    notice, current = await _notice_with_period(db, notice_id)
    if state(notice, current, periods.clock()) != periods.PeriodState.SUSPENDED:
        raise Conflict("status", _("Only a suspended period can be resumed."))
    _check_days("days", days)
    now = periods.clock()
    current.closes_at = _add(settings, now, days, "days")
    current.suspended_at = None
    current.extended_days += days
    details = {"days": days, "closes_at": current.closes_at.isoformat()}
    await record_async(db, actor, "notice.period_resume", "notice", notice_id, details)
    await db.commit()
    return current


def _check_days(field: str, days: int | None) -> int:
    if days is None or not 1 <= days <= MAX_EXTENSION:
        raise InvalidInput(field, _("Enter 1 to %(n)s working days.") % {"n": MAX_EXTENSION})
    return days


def _add(settings: Settings, start: datetime, days: int, field: str) -> datetime:
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


# --- filing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filing:
    """What an objector sends. Anonymous when phone is empty; then name and code are ignored."""

    reason: str
    name: str = ""
    phone: str = ""
    code: str = ""


async def _accepting_notice(db: AsyncSession, notice_id: int) -> tuple[Notice, NoticePeriod]:
    notice = await db.get(Notice, notice_id)
    if notice is None or notice.status not in (NoticeStatus.PUBLISHED, NoticeStatus.CLOSED):
        raise NotFound("notice_id", _("There is no such notice."))
    current = await get_period(db, notice_id)
    if current is None:
        raise Conflict("notice_id", _("This notice takes no objections: it has no public notice period."))
    now = periods.clock()
    where = state(notice, current, now)
    if where == periods.PeriodState.SUSPENDED:
        raise Conflict("notice_id", _("The notice period is suspended: objections are not taken now."))
    if where == periods.PeriodState.PENDING:
        raise Conflict("notice_id", _("The notice period has not opened yet."))
    if where == periods.PeriodState.CLOSED:
        raise Conflict("notice_id", _("The notice period has closed: objections are no longer taken."))
    return notice, current


def check_reason(raw: str) -> str:
    reason = raw.strip()
    if not reason:
        raise InvalidInput("reason", _("Write the reason for your objection."))
    if len(reason) > MAX_REASON:
        raise InvalidInput("reason", _("The reason is too long (at most 2000 characters)."))
    return reason


def check_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput(
            "name", _("Enter your name, or leave the phone number empty to object anonymously.")
        )
    if len(name) > MAX_NAME:
        raise InvalidInput("name", _("The name is too long (at most 100 characters)."))
    return name


async def _limit(redis: Redis, limits: list[tuple[str, int, int]]) -> None:
    wait = await ratelimit.hit_all(redis, limits)
    if wait is not None:
        minutes = max(1, (wait + 59) // 60)
        raise RateLimited(
            None, _("Too many objections from here. Try again in %(n)s minutes.") % {"n": minutes}, wait
        )


async def request_code(
    db: AsyncSession, redis: Redis, settings: Settings, notice_id: int, raw_phone: str, client_ip: str
) -> CodeSent:
    """Text the objector a code proving the phone (the sign-up code and its limits)."""
    await _accepting_notice(db, notice_id)
    return await send_code(db, redis, settings, raw_phone, client_ip)


def new_reference(year: int) -> str:
    return f"OBJ-{year}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


async def _unused_reference(db: AsyncSession, year: int) -> str:
    while True:  # a collision is one in hundreds of millions; try again rather than fail
        reference = new_reference(year)
        taken = await db.execute(select(Objection.id).where(Objection.reference == reference))
        if taken.first() is None:
            return reference


async def file_objection(
    db: AsyncSession,
    redis: Redis,
    settings: Settings,
    notice_id: int,
    filing: Filing,
    client_ip: str,
    locale: str,
) -> Objection:
    """File an objection during the period; returns it with its reference. A named objector's phone is
    proven by the code sent by `request_code`, and gets the reference by SMS (enqueued after commit)."""
    await _accepting_notice(db, notice_id)
    reason = check_reason(filing.reason)
    phone = name = None
    if filing.name.strip() and not filing.phone.strip():  # a name alone cannot be verified
        raise InvalidInput(
            "phone",
            _("Enter your mobile number to object by name, or leave the name empty to object anonymously."),
        )
    if filing.phone.strip():
        name = check_name(filing.name)
        phone = mobile_number(filing.phone, settings.default_region)
        if not filing.code.strip():
            raise InvalidInput("code", _("Enter the code we texted to your phone."))
    limits = [(f"objection:ip:{client_ip}", settings.objections_per_ip_per_hour, 3600)]
    if phone:
        limits.append((f"objection:phone:{phone}", settings.objections_per_phone_per_day, 86400))
    await _limit(redis, limits)
    if phone:
        await check_code(db, settings, phone, filing.code)  # wrong tries are committed inside
    now = periods.clock()
    objection = Objection(
        notice_id=notice_id,
        reference=await _unused_reference(db, now.astimezone(settings.tz).year),
        name=name,
        phone=phone,
        locale=locale,
        reason=reason,
        status=ObjectionStatus.RECEIVED,
        action=PeriodAction.NONE,
        filed_at=now,
    )
    db.add(objection)
    await db.flush()
    details = {"reference": objection.reference, "anonymous": phone is None}
    await record_async(db, "public", "objection.file", "notice", notice_id, details)
    message_id = None
    if phone:
        body = render("objection_filed", locale, settings.sms_signature, reference=objection.reference)
        message = build_message(phone, body, settings.default_region)
        db.add(message)
        await db.flush()
        message_id = message.id
    await db.commit()
    if message_id is not None:
        assert settings.redis_url, "create_app always sets it"
        await to_thread.run_sync(enqueue_send, settings.redis_url, message_id, QueueName.HIGH)
    return objection


# --- reading ---------------------------------------------------------------------------------------


def clean_reference(raw: str) -> str:
    return "".join(raw.split()).upper()


async def by_reference(db: AsyncSession, redis: Redis, raw: str, client_ip: str) -> tuple[Objection, Notice]:
    """The public status of one objection (the caller shows no personal data). Rate-limited per address."""
    reference = clean_reference(raw)
    if not reference or len(reference) > 20:
        raise InvalidInput("reference", _("Enter the reference number, e.g. OBJ-2026-K7QM2T."))
    wait = await ratelimit.hit(redis, f"objection:lookup:{client_ip}", LOOKUPS_PER_IP_PER_HOUR, 3600)
    if wait is not None:
        raise RateLimited("reference", _("Too many look-ups from here. Try again later."), wait)
    row = (
        await db.execute(
            select(Objection, Notice)
            .join(Notice, Notice.id == Objection.notice_id)
            .where(Objection.reference == reference)
        )
    ).first()
    if row is None:
        raise NotFound("reference", _("No objection has this reference number."))
    return row[0], row[1]


async def list_objections(db: AsyncSession, notice_id: int) -> list[Objection]:
    if await db.get(Notice, notice_id) is None:
        raise NotFound("notice_id", f"no notice {notice_id}")
    query = select(Objection).where(Objection.notice_id == notice_id).order_by(Objection.id)
    return list((await db.execute(query)).scalars())


async def get_objection(db: AsyncSession, notice_id: int, objection_id: int) -> Objection:
    objection = await db.get(Objection, objection_id)
    if objection is None or objection.notice_id != notice_id:
        raise NotFound("objection_id", f"no objection {objection_id} on notice {notice_id}")
    return objection


async def outcome_counts(db: AsyncSession, notice_id: int) -> dict[str, int]:
    """Public: how many objections, by status (every status present, 0 when none)."""
    rows = await db.execute(
        select(Objection.status, func.count())
        .where(Objection.notice_id == notice_id)
        .group_by(Objection.status)
    )
    counts: Counter[str] = Counter({s.value: 0 for s in ObjectionStatus})
    counts.update({status: int(n) for status, n in rows.all()})
    return {"total": sum(counts.values()), **dict(counts)}


# --- answering -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: str
    reply: str = ""
    action: str = PeriodAction.NONE
    days: int | None = None  # working days, for action=extend


@dataclass(frozen=True)
class Answered:
    objection: Objection
    period: NoticePeriod | None
    reschedule_close: datetime | None  # when the caller must (re)schedule the closing job


def _check_answer(answer: Answer) -> tuple[ObjectionStatus, str | None, PeriodAction]:
    try:
        status = ObjectionStatus(answer.status)
    except ValueError:
        raise InvalidInput("status", "one of " + ", ".join(s.value for s in ObjectionStatus)) from None
    try:
        action = PeriodAction(answer.action)
    except ValueError:
        raise InvalidInput("action", "one of " + ", ".join(a.value for a in PeriodAction)) from None
    reply = answer.reply.strip() or None
    if reply is not None and len(reply) > MAX_REPLY:
        raise InvalidInput("reply", _("The reply is too long (at most 2000 characters)."))
    if status in FINAL and reply is None:
        raise InvalidInput(
            "reply", _("Write a reply: it is required when an objection is upheld or rejected.")
        )
    if action != PeriodAction.NONE and status != ObjectionStatus.UPHELD:
        raise InvalidInput("action", _("Only an upheld objection can extend or suspend the notice."))
    if action == PeriodAction.EXTEND:
        _check_days("days", answer.days)
    return status, reply, action


async def answer(
    db: AsyncSession, actor: str, notice_id: int, objection_id: int, given: Answer, settings: Settings
) -> Answered:
    """Set the status and reply (audited every time). An upheld objection may extend the period by N
    working days (counted from the current closing day) or suspend it; once per objection."""
    status, reply, action = _check_answer(given)
    objection = await get_objection(db, notice_id, objection_id)
    notice = await db.get(Notice, notice_id)
    assert notice is not None
    current = await get_period(db, notice_id, lock=True)
    reschedule = None
    details: dict[str, Any] = {"reference": objection.reference, "status": status.value}
    if action != PeriodAction.NONE:
        if objection.action != PeriodAction.NONE:
            raise Conflict("action", _("This objection has already extended or suspended the notice."))
        if current is None:
            raise Conflict("action", _("This notice has no public notice period."))
        where = state(notice, current, periods.clock())
        if where not in periods.ACCEPTING:
            raise Conflict("action", _(NOT_ACTIONABLE[where]))
        if action == PeriodAction.EXTEND:
            assert current.closes_at is not None and given.days is not None
            current.closes_at = _add(settings, current.closes_at, given.days, "days")
            current.extended_days += given.days
            reschedule = current.closes_at
            objection.action_days = given.days
            extension = {"days": given.days, "closes_at": current.closes_at.isoformat(), **details}
            await record_async(db, actor, "notice.period_extend", "notice", notice_id, extension)
        else:
            current.suspended_at = periods.clock()
            await record_async(db, actor, "notice.period_suspend", "notice", notice_id, details)
        objection.action = action.value
        details.update(action=action.value, days=given.days)
    decided = status in FINAL and objection.status != status.value
    objection.status, objection.reply = status.value, reply
    objection.answered_at, objection.answered_by = periods.clock(), actor
    await record_async(db, actor, "objection.answer", "notice", notice_id, details)
    message_id = None
    if decided and objection.phone is not None:  # a named objector hears of the decision
        link = f"{settings.public_base_url}/objections/{objection.reference}"
        body = render(
            "objection_answered",
            objection.locale,
            settings.sms_signature,
            reference=objection.reference,
            link=link,
        )
        message = build_message(objection.phone, body, settings.default_region)
        db.add(message)
        await db.flush()
        message_id = message.id
    await db.commit()
    if message_id is not None:
        assert settings.redis_url, "create_app always sets it"
        await to_thread.run_sync(enqueue_send, settings.redis_url, message_id, QueueName.DEFAULT)
    return Answered(objection, current, reschedule)
