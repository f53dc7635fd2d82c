"""Sign-up and sign-in of residents by phone and one-time code (web pages and JSON API alike)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from redis.asyncio import Redis
from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from engage import jobs, ratelimit
from engage.audit.services import record_async
from engage.db import utcnow
from engage.errors import Conflict, InvalidInput, RateLimited
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.keys import Purpose
from engage.phones import MOBILE_TYPES
from engage.queues import QueueName
from engage.residents import codes
from engage.residents import signup_sql as sql
from engage.residents.models import (
    CONSENT_VERSION,
    Community,
    Resident,
    ResidentRole,
    ResidentRoleKind,
    Source,
    Subscription,
    SubscriptionKind,
    VerificationCode,
)
from engage.residents.profile import Choices, Profile
from engage.settings import Settings
from engage.sms.models import InboundMessage, MessageStatus, SmsMessage
from engage.sms.services import build_message
from engage.sms.texts import render


def mobile_number(raw: str, region: str) -> str:
    """E.164 for a number that can receive a text, or InvalidInput("phone", why not) in the reader's language."""
    raw = raw.strip()
    if not raw:
        raise InvalidInput("phone", _("Enter your mobile number."))
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone", _("This is not a phone number.")) from None
    if not phonenumbers.is_valid_number(number):
        if not raw.startswith(("+", "00")):
            message = _(
                "This is not a valid mobile number. A number from abroad needs its country code, e.g. +44."
            )
        else:
            message = _("This is not a valid mobile number.")
        raise InvalidInput("phone", message)
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidInput(
            "phone", _("This looks like a landline. Codes are sent by SMS: enter a mobile number.")
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def on_postgres(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def one_statement_each(db: AsyncSession) -> dict[str, str] | None:
    """Execution options for the code and verify steps: on PostgreSQL each statement runs on its own
    (autocommit), since every write there is one statement, atomic by itself, and an explicit
    transaction costs a BEGIN and a COMMIT round trip. Session.commit() hands the connection back,
    which restores the usual isolation. A caller that has a transaction open (an objection checks its
    notice first) keeps it."""
    if db.in_transaction() or not on_postgres(db):
        return None
    return {"isolation_level": "AUTOCOMMIT"}


def phone_key(settings: Settings, phone: str) -> str:
    """A number as it may appear in a Redis key: keyed, so a key listing does not list numbers."""
    return hmac.new(settings.key(Purpose.PHONE_HMAC).encode(), phone.encode(), hashlib.sha256).hexdigest()[
        :32
    ]


async def _limit(redis: Redis, limits: list[tuple[str, int, int]]) -> None:
    wait = await ratelimit.hit_all(redis, limits)
    if wait:
        raise RateLimited(
            "phone",
            _("Too many codes requested. Try again in %(seconds)s seconds.") % {"seconds": wait},
            wait,
        )


class CodeSpent(InvalidInput):
    """The latest code can no longer be used (used, expired, or too many wrong tries): only a new
    code helps, so pages say how to get one. 403: a well-formed code that grants nothing is a credential
    refused, not a malformed request."""

    status_code = 403
    code = "code_spent"


CAP_KEY = "code:all"


async def _global_cap(db: AsyncSession, redis: Redis, settings: Settings) -> None:
    """All codes of the district in an hour: a ceiling on what a flood from many addresses can cost.
    The first refusal of each hour is audited, so organizers see that it tripped."""
    wait = await ratelimit.hit(redis, CAP_KEY, settings.codes_per_hour, 3600)
    if not wait:
        return
    if await redis.set(f"engage:rl:{CAP_KEY}:audited", 1, ex=wait, nx=True):
        details = {"codes_per_hour": settings.codes_per_hour}
        await record_async(db, "system", "signup.code_cap", "signup", "codes", details)
        await db.commit()
    raise RateLimited(
        "phone",
        _("Too many codes are being requested right now. Try again in %(seconds)s seconds.")
        % {"seconds": wait},
        wait,
    )


@dataclass(frozen=True)
class CodeSent:
    phone: str
    message_id: int


async def send_code(
    db: AsyncSession, redis: Redis, settings: Settings, raw_phone: str, client_ip: str
) -> CodeSent:
    """Send a code to any valid mobile number of an allowed region, known or not: the answer must not
    tell which."""
    phone = mobile_number(raw_phone, settings.default_region)
    region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    if region not in settings.allowed_regions:
        # Premium-rate destinations are what SMS pumping lives on (S5).
        regions = ", ".join(sorted(settings.allowed_regions))
        raise InvalidInput(
            "phone", _("Codes can be texted only to mobile numbers of: %(regions)s.") % {"regions": regions}
        )
    limits = [(f"code:ip:{client_ip}", settings.code_requests_per_ip_per_hour, 3600)]
    # keyed, not the number: a listing of Redis keys must not be a list of numbers (S10)
    number = phone_key(settings, phone)
    limits += [(f"code:phone:{number}:{window}", limit, window) for limit, window in codes.PER_NUMBER_LIMITS]
    await _limit(redis, limits)
    # Counted only for requests the other limits let through: one client refused by its own limit
    # must not use up the district's codes.
    await _global_cap(db, redis, settings)
    postgres = on_postgres(db)
    connection = await db.connection(execution_options=one_statement_each(db))
    recipient = (await connection.execute(sql.CODE_RECIPIENT, {"number": phone})).one()
    if recipient.opted_out or recipient.resident_opted_out:
        # No text goes to a stopped number, a code included; saying so tells only what its owner did.
        raise InvalidInput(
            "phone",
            _(
                "This number has stopped our texts (STOP, TD or 退订). "
                "Text START to our number, then try again."
            ),
        )
    code = codes.new_code()
    now = utcnow()
    minutes = int(codes.CODE_LIFETIME.total_seconds() // 60)
    locale = recipient.locale or current_locale.get()  # a resident reads codes in their own language
    body = render("code", locale, settings.sms_signature, code=code, minutes=minutes)
    message = build_message(phone, body, settings.default_region)
    code_hash = codes.code_digest(settings.key(Purpose.PHONE_HMAC), phone, code)
    expires_at = now + codes.CODE_LIFETIME
    if postgres:
        values = {"number": phone, "now": now, "new_code_hash": code_hash, "new_expires_at": expires_at}
        values |= {
            "message_to": message.to,
            "message_body": message.body,
            "message_status": MessageStatus.QUEUED,
        }
        inserted = await connection.execute(sql.NEW_CODE_AND_MESSAGE, values)
    else:
        await connection.execute(sql.RETIRE_CODES, {"number": phone, "now": now})
        await connection.execute(
            sql.NEW_CODE,
            {"phone": phone, "code_hash": code_hash, "created_at": now, "expires_at": expires_at},
        )
        inserted = await connection.execute(sql.NEW_MESSAGE, {"to": message.to, "body": message.body})
    message_id = int(inserted.scalar_one())
    await db.commit()
    assert settings.redis_url, "create_app always sets it"
    await jobs.enqueue_text_async(redis, settings.redis_url, message_id, QueueName.HIGH)
    return CodeSent(phone, message_id)


def _refused() -> InvalidInput:
    # One answer for a number never sent a code, a used, expired or burned code and a wrong one: any
    # difference would tell who has signed up or is signing up now, without a text being sent (S3).
    # It is a CodeSpent, so the page always offers the way on: a new code.
    return CodeSpent(
        "code",
        _("This code is wrong or no longer valid. Check the latest text, or ask for a new code."),
    )


async def check_code(
    db: AsyncSession, redis: Redis, settings: Settings, phone: str, raw_code: str, client_ip: str
) -> bool:
    """Use up the latest code for `phone` or raise InvalidInput("code") in the reader's language, the
    same for every failure. Tries are limited per number and per client address, wrong ones counted
    and committed even though the request fails. Returns whether the number already belongs to a
    resident (read in the same transaction, saving the API a round trip)."""
    wait = await ratelimit.hit_all(
        redis,
        [
            (f"verify:phone:{phone_key(settings, phone)}", settings.code_checks_per_number_per_hour, 3600),
            (f"verify:ip:{client_ip}", settings.code_checks_per_ip_per_hour, 3600),
        ],
    )
    if wait:
        raise RateLimited(
            "code", _("Too many tries. Try again in %(seconds)s seconds.") % {"seconds": wait}, wait
        )
    code = codes.clean_code(raw_code)
    if code is None:
        # A slip of the finger (empty, short, letters) is no guess at the code: it costs no try.
        message = _("Enter the 6-digit code from the text.") if raw_code.strip() else _("Enter the code.")
        raise InvalidInput("code", message)
    autocommit = one_statement_each(db)
    connection = await db.connection(execution_options=autocommit)
    row = (await connection.execute(sql.LATEST_CODE, {"number": phone})).first()
    now = utcnow()
    if row is None or row.used_at is not None or row.attempts >= codes.MAX_ATTEMPTS or row.expires_at <= now:
        raise _refused()
    if code is None or not codes.matches(
        settings.verifying_keys(Purpose.PHONE_HMAC), phone, code, row.code_hash
    ):
        await connection.execute(sql.WRONG_TRY, {"code_id": row.id})
        await db.commit()
        raise _refused()
    use = {"code_id": row.id, "now": now, "max_attempts": codes.MAX_ATTEMPTS}
    if (await connection.execute(sql.USE_CODE, use)).first() is None:
        await db.commit()
        raise _refused()  # used, replaced or burned since it was read
    if row.registered:
        if autocommit:
            await db.commit()  # the confirmation's statements belong together: a transaction of their own
        await confirm_invitation(db, phone, now)
    await db.commit()
    return bool(row.registered)


async def confirm_invitation(db: AsyncSession, phone: str, now: datetime) -> None:
    """Someone imported from a roster and invited by text, proving the number with a code (on /join or
    through the API), has confirmed the invitation, as a reply of 1 would."""
    resident = (await db.execute(select(Resident).where(Resident.phone == phone))).scalar_one_or_none()
    if resident is not None and resident.verified_at is None and resident.invited_at is not None:
        await confirm(db, resident, now, "code")


async def confirm(db: AsyncSession, resident: Resident, now: datetime, via: str) -> None:
    """A rostered resident confirms: verified from now, and the judge role's consent dated now (the
    import only proposed the role; agreeing to it is the resident's act)."""
    resident.verified_at = now
    await db.execute(
        update(ResidentRole)
        .where(ResidentRole.resident_id == resident.id, ResidentRole.role == ResidentRoleKind.JUDGE.value)
        .values(consented_at=now, consent_version=CONSENT_VERSION)
    )
    actor = f"resident:{resident.pseudonym}"
    await record_async(db, actor, "resident.confirm", "resident", resident.pseudonym, {"via": via})


def _with_everything(query: Select[Resident]) -> Select[Resident]:
    """What the resident's own pages show: roles, subscriptions and community, loaded up front."""
    return query.options(
        selectinload(Resident.roles), selectinload(Resident.subscriptions), selectinload(Resident.community)
    )


async def resident_by_phone(db: AsyncSession, phone: str) -> Resident | None:
    query = _with_everything(select(Resident).where(Resident.phone == phone))
    return (await db.execute(query)).scalar_one_or_none()


async def load_resident(db: AsyncSession, resident_id: int) -> Resident | None:
    query = _with_everything(select(Resident).where(Resident.id == resident_id))
    return (await db.execute(query)).scalar_one_or_none()


async def communities(db: AsyncSession) -> list[Community]:
    return list((await db.execute(select(Community).order_by(Community.id))).scalars())


async def _community_id(db: AsyncSession, code: str) -> int:
    found = (await db.execute(select(Community.id).where(Community.code == code))).scalar_one_or_none()
    if found is None:
        raise InvalidInput("community", _("Unknown community: choose one from the list."))
    return int(found)


def _subscriptions(choices: Choices) -> list[Subscription]:
    rows = [Subscription(kind=SubscriptionKind.NOTICE.value, value=kind) for kind in choices.notice_kinds]
    rows += [Subscription(kind=SubscriptionKind.COMMUNITY.value, value=code) for code in choices.communities]
    return rows


@dataclass(frozen=True)
class NewResident:
    id: int
    pseudonym: str


async def community_ids(db: AsyncSession) -> dict[str, int]:
    """{code: id} of every community, in one light query (the JSON API checks and stores with it)."""
    connection = await db.connection()
    return {code: community_id for code, community_id in await connection.execute(sql.COMMUNITY_IDS)}


async def register(
    db: AsyncSession,
    phone: str,
    profile: Profile,
    choices: Choices,
    locale: str,
    source: Source = Source.WEB,
    community_id: int | None = None,
) -> NewResident:
    """Create the resident, roles with their consents and subscriptions in one transaction. The number's
    unique index decides whether it is already registered, so two racing sign-ups cannot both win.
    `community_id`, when the caller already knows it, saves a query. The audit entry comes last: the
    audit head stays locked only for the append and the commit."""
    now = utcnow()
    if community_id is None:
        community_id = await _community_id(db, profile.community)
    connection = await db.connection()
    values = {
        "phone": phone,
        "name": profile.name,
        "community_id": community_id,
        "age_band": profile.age_band,
        "gender": profile.gender,
        "occupation": profile.occupation,
        "participant_type": profile.participant_type,
        "expertise": profile.expertise,
        "work_unit": profile.work_unit,
        "locale": locale,
        "verified_at": now,
        "source": source.value,
    }
    try:
        created = await connection.execute(sql.NEW_RESIDENT, values)
    except IntegrityError as error:
        if "phone" not in str(error.orig):
            raise
        # The transaction is spoilt: callers roll back, as they do for every Conflict.
        raise Conflict(
            "phone", _("This number is already registered. Sign in to change your details.")
        ) from None
    resident = NewResident(*created.one())
    roles = [
        {"resident_id": resident.id, "role": role, "consented_at": now, "consent_version": CONSENT_VERSION}
        for role in choices.roles
    ]
    await connection.execute(sql.NEW_ROLES, roles)
    subscriptions = [
        {"resident_id": resident.id, "kind": row.kind, "value": row.value} for row in _subscriptions(choices)
    ]
    if subscriptions:
        await connection.execute(sql.NEW_SUBSCRIPTIONS, subscriptions)
    details = {"roles": list(choices.roles), "consent_version": CONSENT_VERSION, "source": source.value}
    await record_async(
        db, f"resident:{resident.pseudonym}", "resident.register", "resident", resident.pseudonym, details
    )
    await db.commit()
    return resident


async def update_profile(db: AsyncSession, resident: Resident, profile: Profile) -> None:
    resident.name = profile.name
    resident.community_id = await _community_id(db, profile.community)
    resident.age_band = profile.age_band
    resident.gender = profile.gender
    resident.occupation = profile.occupation
    resident.participant_type = profile.participant_type
    resident.expertise = profile.expertise
    resident.work_unit = profile.work_unit
    actor = f"resident:{resident.pseudonym}"
    await record_async(db, actor, "resident.profile_update", "resident", resident.pseudonym)
    await db.commit()


async def update_choices(db: AsyncSession, resident: Resident, choices: Choices) -> None:
    """Take on new roles (with consent now), withdraw the ones left out, replace subscriptions."""
    now = utcnow()
    current = {role.role: role for role in resident.roles}
    added, withdrawn = [], []
    for name, role in current.items():
        if name not in choices.roles and role.withdrawn_at is None:
            role.withdrawn_at = now
            withdrawn.append(name)
    for name in choices.roles:
        existing = current.get(name)
        if existing is None:
            resident.roles.append(ResidentRole(role=name, consented_at=now, consent_version=CONSENT_VERSION))
            added.append(name)
        elif existing.withdrawn_at is not None:
            existing.withdrawn_at, existing.consented_at, existing.consent_version = (
                None,
                now,
                CONSENT_VERSION,
            )
            added.append(name)
    # Keep rows that stay, so the unique (resident, kind, value) never sees a delete-then-insert clash.
    wanted = {(row.kind, row.value) for row in _subscriptions(choices)}
    kept = [row for row in resident.subscriptions if (row.kind, row.value) in wanted]
    have = {(row.kind, row.value) for row in kept}
    resident.subscriptions = kept + [Subscription(kind=k, value=v) for k, v in sorted(wanted - have)]
    await db.flush()
    actor = f"resident:{resident.pseudonym}"
    details = {"added": added, "withdrawn": withdrawn, "consent_version": CONSENT_VERSION}
    await record_async(db, actor, "resident.roles_update", "resident", resident.pseudonym, details)
    await db.commit()


Eraser = Callable[[AsyncSession, str], Awaitable[None]]
"""Forgets a phone number in another domain's tables (objections filed by name): create_app hands the list
in, so residents need not know who else stores numbers."""


async def delete_resident(db: AsyncSession, resident: Resident, erasers: Sequence[Eraser] = ()) -> str:
    """Remove the person: their row, roles, subscriptions, codes, and their number and texts from the
    message log; objections they filed by name become anonymous (the objection stays part of the
    notice's record, the name and number go). What remains is the audit trail under a pseudonym that
    now points at no one."""
    pseudonym, phone = resident.pseudonym, resident.phone
    if phone:
        await db.execute(delete(VerificationCode).where(VerificationCode.phone == phone))
        for erase in erasers:
            await erase(db, phone)
        await db.execute(
            update(SmsMessage).where(SmsMessage.to == phone).values(to="", body="", error_message=None)
        )
        await db.execute(
            update(InboundMessage)
            .where(InboundMessage.sender == phone)
            .values(sender=None, body=None, resident_id=None)
        )
    await db.delete(resident)
    await record_async(db, f"resident:{pseudonym}", "resident.delete", "resident", pseudonym)
    await db.commit()
    return pseudonym
