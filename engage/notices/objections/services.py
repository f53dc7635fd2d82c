"""Objections to a notice during its public notice period (async, web side), callable from any domain:
`request_code` (named objectors prove their phone with the sign-up code), `file_objection`, `answer`
(an upheld objection may extend or suspend the period), `by_reference`, `outcome_counts`. The period
itself: `engage.notices.objections.periods`.

Every function raises engage.errors (InvalidInput 400, NotFound 404, Conflict 409, RateLimited 429)
naming the field. Audit details name objections by reference only: never a name, a phone or a reason."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage import jobs, ratelimit
from engage.audit.services import record_async
from engage.errors import Conflict, InvalidInput, NotFound, RateLimited
from engage.i18n import gettext as _
from engage.notices import period as periods
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objections import periods as period_services
from engage.notices.objections.models import NoticePeriod, Objection, ObjectionStatus, PeriodAction
from engage.notices.period_events import PeriodEvent, announce
from engage.queues import QueueName
from engage.residents.labels import N_
from engage.residents.signup import CodeSent, check_code, mobile_number, phone_key, send_code
from engage.settings import Settings
from engage.sms.services import build_message
from engage.sms.texts import render

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone
REFERENCE_LENGTH = 6  # 31^6, about 887 million per year; lookups are rate-limited per address
MAX_REASON = 2000
MAX_REPLY = 2000
MAX_NAME = 100
LOOKUPS_PER_IP_PER_HOUR = 60
FINAL = (ObjectionStatus.UPHELD, ObjectionStatus.REJECTED)
NOT_ACTIONABLE = {
    periods.PeriodState.PENDING: N_("The period has not opened yet."),
    periods.PeriodState.SUSPENDED: N_("The period is suspended: resume it instead."),
    periods.PeriodState.CLOSED: N_("The period has closed: it can no longer be extended or suspended."),
}


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
    current = await period_services.get_period(db, notice_id)
    if current is None:
        raise Conflict("notice_id", _("This notice takes no objections: it has no public notice period."))
    now = periods.clock()
    where = period_services.state(notice, current, now)
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
        limits.append(
            (f"objection:phone:{phone_key(settings, phone)}", settings.objections_per_phone_per_day, 86400)
        )
    await _limit(redis, limits)
    if phone:
        await check_code(
            db, redis, settings, phone, filing.code, client_ip
        )  # wrong tries are committed inside
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
    body = phone and render("objection_filed", locale, settings.sms_signature, reference=objection.reference)
    await _commit_and_text(db, settings, phone, body, QueueName.HIGH)
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
        period_services.check_days("days", answer.days)
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
    current = await period_services.get_period(db, notice_id, lock=True)
    reschedule = None
    details: dict[str, Any] = {"reference": objection.reference, "status": status.value}
    if action != PeriodAction.NONE:
        if objection.action != PeriodAction.NONE:
            raise Conflict("action", _("This objection has already extended or suspended the notice."))
        if current is None:
            raise Conflict("action", _("This notice has no public notice period."))
        where = period_services.state(notice, current, periods.clock())
        if where not in periods.ACCEPTING:
            raise Conflict("action", _(NOT_ACTIONABLE[where]))
        if action == PeriodAction.EXTEND:
            assert current.closes_at is not None and given.days is not None
            current.closes_at = period_services.add_days(settings, current.closes_at, given.days, "days")
            current.extended_days += given.days
            reschedule = current.closes_at
            objection.action_days = given.days
            extension = {"days": given.days, "closes_at": current.closes_at.isoformat(), **details}
            await record_async(db, actor, "notice.period_extend", "notice", notice_id, extension)
        else:
            current.suspended_at = periods.clock()
            await record_async(db, actor, "notice.period_suspend", "notice", notice_id, details)
        event = PeriodEvent.EXTENDED if action == PeriodAction.EXTEND else PeriodEvent.SUSPENDED
        reference = objection.reference
        await db.run_sync(lambda session: announce(session, actor, notice_id, event, reference))
        objection.action = action.value
        details.update(action=action.value, days=given.days)
    decided = status in FINAL and objection.status != status.value
    objection.status, objection.reply = status.value, reply
    objection.answered_at, objection.answered_by = periods.clock(), actor
    await record_async(db, actor, "objection.answer", "notice", notice_id, details)
    body = None
    if decided and objection.phone is not None:  # a named objector hears of the decision
        link = f"{settings.public_base_url}/objections/{objection.reference}"
        body = render(
            "objection_answered",
            objection.locale,
            settings.sms_signature,
            reference=objection.reference,
            link=link,
        )
    await _commit_and_text(db, settings, objection.phone, body, QueueName.DEFAULT)
    return Answered(objection, current, reschedule)


async def forget_objector(db: AsyncSession, phone: str) -> None:
    """A resident deleted their data: objections they filed by name become anonymous. The objection stays
    part of the notice's record; the name and number go."""
    await db.execute(update(Objection).where(Objection.phone == phone).values(name=None, phone=None))


async def _commit_and_text(
    db: AsyncSession, settings: Settings, phone: str | None, body: str | None, priority: QueueName
) -> None:
    """Commit, with the text to `phone` in the same transaction when there is one, then enqueue it."""
    message_id = None
    if phone and body:
        message = build_message(phone, body, settings.default_region)
        db.add(message)
        await db.flush()
        message_id = message.id
    await db.commit()
    if message_id is not None:
        assert settings.redis_url, "create_app always sets it"
        await jobs.after_commit(settings.redis_url, jobs.After(texts=[message_id], priority=priority))
