"""Organizers' view of residents: filtering, counting, one resident's file, phone reveals, the export
rows and the roster import. Explicit select()s on async sessions; callers commit.

Phone numbers leave this module masked unless the caller passes `reveal=True`, and every reveal is
written to the audit log (who saw whose number; never the number itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any

from litestar.exceptions import PermissionDeniedException
from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from engage import jobs
from engage.accounts.models import Role
from engage.audit.models import AuditEntry
from engage.audit.services import organizer_actor, record_async
from engage.db import utcnow
from engage.errors import Conflict, InvalidInput, NotFound
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.phones import mask, normalise
from engage.queues import QueueName
from engage.residents import labels
from engage.residents.labels import N_
from engage.residents.models import (
    Community,
    ParticipantType,
    Resident,
    ResidentRole,
    ResidentRoleKind,
    Source,
)
from engage.residents.roster import (
    Roster,
    RosterRecord,
    RosterRejected,
    community_lookup,
    parse_roster,
    reject_registered,
)
from engage.settings import Settings
from engage.sms.models import OptOut, SmsMessage
from engage.sms.services import build_message
from engage.sms.texts import render

SUBJECT = "resident"  # audit subject_type; subject_id is the resident's pseudonym


class CountBy(StrEnum):
    COMMUNITY = "community"
    PARTICIPANT_TYPE = "participant_type"
    AGE_BAND = "age_band"
    GENDER = "gender"
    OCCUPATION = "occupation"
    ROLE = "role"


COUNT_BY = tuple(c.value for c in CountBy)
UNKNOWN = "unknown"  # the count key for residents who did not say
REVEAL_ROLES = frozenset({Role.ADMIN.value, Role.ORGANIZER.value})
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class ResidentFilter:
    role: str | None = None
    community: str | None = None  # a code that exists
    participant_type: str | None = None
    verified: bool | None = None
    phone: str | None = None  # E.164

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.role:
            # An alias of its own: counting by role joins resident_roles in the outer query too, and the
            # subquery must not correlate to that.
            held = aliased(ResidentRole)
            where.append(
                exists()
                .where(
                    held.resident_id == Resident.id,
                    held.role == self.role,
                    held.withdrawn_at.is_(None),  # a withdrawn role no longer counts
                )
                .correlate(Resident)
            )
        if self.community:
            code = select(Community.id).where(Community.code == self.community).scalar_subquery()
            where.append(Resident.community_id == code)
        if self.participant_type:
            where.append(Resident.participant_type == self.participant_type)
        if self.verified is not None:
            where.append(
                Resident.verified_at.is_not(None) if self.verified else Resident.verified_at.is_(None)
            )
        if self.phone:
            where.append(Resident.phone == self.phone)
        return where


def _one_of(field: str, value: str | None, choices: Sequence[str]) -> str | None:
    value = (value or "").strip()
    if value and value not in choices:
        raise InvalidInput(field, f"must be one of: {', '.join(choices)}")
    return value or None


async def resolve_filter(
    db: AsyncSession,
    region: str,
    *,
    role: str | None = None,
    community: str | None = None,
    participant_type: str | None = None,
    verified: bool | None = None,
    phone: str | None = None,
) -> ResidentFilter:
    """Check what an organizer asked for; raises InvalidInput naming the field that is wrong."""
    code = (community or "").strip() or None
    if code is not None and not code.isprintable():
        raise NotFound("community", "no community with such a code")  # e.g. NUL: PostgreSQL refuses it
    if code is not None:
        found = (await db.execute(select(Community.code).where(Community.code == code))).scalar_one_or_none()
        if found is None:
            raise NotFound("community", f"no community with the code {code!r}")
    raw_phone = (phone or "").strip()
    return ResidentFilter(
        role=_one_of("role", role, [r.value for r in ResidentRoleKind]),
        community=code,
        participant_type=_one_of("participant_type", participant_type, [t.value for t in ParticipantType]),
        verified=verified,
        phone=normalise(raw_phone, region, "phone") if raw_phone else None,
    )


async def communities(db: AsyncSession) -> list[Community]:
    return list((await db.execute(select(Community).order_by(Community.code))).scalars())


def _loaded() -> Any:
    return (selectinload(Resident.roles), selectinload(Resident.community))


async def list_residents(
    db: AsyncSession, filters: ResidentFilter, limit: int, offset: int
) -> tuple[int, list[Resident]]:
    where = filters.conditions()
    total = (await db.execute(select(func.count(Resident.id)).where(*where))).scalar_one()
    query = (
        select(Resident).where(*where).options(*_loaded()).order_by(Resident.id).limit(limit).offset(offset)
    )
    return total, list((await db.execute(query)).scalars())


async def all_residents(db: AsyncSession, filters: ResidentFilter) -> list[Resident]:
    query = select(Resident).where(*filters.conditions()).options(*_loaded()).order_by(Resident.id)
    return list((await db.execute(query)).scalars())


async def count_by(db: AsyncSession, filters: ResidentFilter, by: str) -> dict[str, int]:
    """{value: residents} for one attribute. For `role`, a resident counts once per active role."""
    if by not in COUNT_BY:
        raise InvalidInput("by", f"must be one of: {', '.join(COUNT_BY)}")
    where = filters.conditions()
    query: Any
    if by == "community":
        query = (
            select(Community.code, func.count(Resident.id))
            .select_from(Resident)
            .outerjoin(Community, Resident.community_id == Community.id)
            .group_by(Community.code)
        )
    elif by == "role":
        query = (
            select(ResidentRole.role, func.count(Resident.id))
            .select_from(Resident)
            .join(ResidentRole, ResidentRole.resident_id == Resident.id)
            .where(ResidentRole.withdrawn_at.is_(None))
            .group_by(ResidentRole.role)
        )
    else:
        column = getattr(Resident, by)
        query = select(column, func.count(Resident.id)).group_by(column)
    rows = (await db.execute(query.where(*where))).all()
    counts: Counter[str] = Counter()
    for value, count in rows:
        counts[value or UNKNOWN] += count
    return dict(sorted(counts.items()))


async def get_resident(db: AsyncSession, resident_id: int) -> Resident:
    query = (
        select(Resident)
        .where(Resident.id == resident_id)
        .options(*_loaded(), selectinload(Resident.subscriptions))
    )
    resident = (await db.execute(query)).scalar_one_or_none()
    if resident is None:
        raise NotFound("resident_id", f"no resident {resident_id}")
    return resident


async def history(db: AsyncSession, resident: Resident, limit: int = HISTORY_LIMIT) -> list[AuditEntry]:
    """The audit entries about this resident, newest first."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject_type == SUBJECT, AuditEntry.subject_id == resident.pseudonym)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return list((await db.execute(query)).scalars())


# --- phone numbers --------------------------------------------------------------------------------


def check_reveal(organizer: Any) -> None:
    """Only admins and organizers may see full numbers; auditors read everything else."""
    if organizer is None or organizer.role not in REVEAL_ROLES:
        raise PermissionDeniedException("showing full phone numbers needs the role admin or organizer")


def shown_phone(resident: Resident, reveal: bool) -> str | None:
    if resident.phone is None:
        return None
    return resident.phone if reveal else mask(resident.phone)


async def record_phone_views(db: AsyncSession, actor: str, residents: Sequence[Resident], via: str) -> int:
    """One audit entry per resident whose full number is about to be shown (the number is not in it)."""
    shown = [r for r in residents if r.phone is not None]
    for resident in shown:
        await record_async(db, actor, "resident.phone_view", SUBJECT, resident.pseudonym, {"via": via})
    return len(shown)


async def audit_phone_filter(db: AsyncSession, organizer: Any, filters: ResidentFilter, via: str) -> None:
    """A filter by full number tells whose number it is: the masked list leaves 10,000 candidates, so
    looking them up one by one unmasks it. It needs the reveal role and is audited like a reveal: one
    `resident.phone_view` per resident it finds, or one `resident.phone_lookup` when it finds none."""
    if filters.phone is None:
        return
    check_reveal(organizer)
    actor = organizer_actor(organizer.id)
    found = list((await db.execute(select(Resident).where(Resident.phone == filters.phone))).scalars())
    if not await record_phone_views(db, actor, found, via):
        await record_async(db, actor, "resident.phone_lookup", SUBJECT, "none", {"via": via})
    await db.commit()


# --- the export -----------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "id", "pseudonym", "name", "phone", "community", "participant_type", "roles", "expertise",
    "work_unit", "gender", "age_band", "occupation", "verified_at", "invited_at", "source", "created_at",
)  # fmt: skip
EXPORT_SAFE_COLUMNS = ("id", "pseudonym", "phone", "verified_at", "invited_at", "created_at")


def export_row(resident: Resident, reveal: bool) -> list[str]:
    def when(moment: Any) -> str:
        return moment.isoformat() if moment is not None else ""

    return [
        str(resident.id),
        resident.pseudonym,
        resident.name or "",
        shown_phone(resident, reveal) or "",
        resident.community.code if resident.community else "",
        resident.participant_type,
        " ".join(sorted(resident.active_roles())),
        resident.expertise or "",
        resident.work_unit or "",
        resident.gender or "",
        resident.age_band or "",
        resident.occupation or "",
        when(resident.verified_at),
        when(resident.invited_at),
        resident.source,
        when(resident.created_at),
    ]


# The page's export is for people opening it in a spreadsheet: labelled columns, words instead of
# codes, in the reader's language, and local times to the minute. The API keeps codes and ISO times.
LABELLED_EXPORT_COLUMNS = (
    N_("Pseudonym"), N_("Name"), N_("Phone"), N_("Community"), N_("Participant type"), N_("Roles"),
    N_("Expertise"), N_("Work unit"), N_("Gender"), N_("Age group"), N_("Occupation group"),
    N_("Verified"), N_("Invited"), N_("Came from"), N_("Registered"),
)  # fmt: skip
LABELLED_SAFE_COLUMNS = (N_("Pseudonym"), N_("Phone"), N_("Verified"), N_("Invited"), N_("Registered"))
SOURCE_LABELS = {
    Source.WEB.value: N_("Sign-up page"),
    Source.SMS.value: N_("SMS sign-up"),
    Source.IMPORT.value: N_("Roster import"),
    Source.DEMO.value: N_("Demo data"),
}


def labelled_export(residents: Sequence[Resident], tz: tzinfo) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the page's export, in the current language (phones masked)."""

    def word(table: dict[str, str], code: str | None) -> str:
        return _(table[code]) if code in table else (code or "")

    def when(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment is not None else ""

    zh = current_locale.get() == "zh_CN"
    rows = [
        [
            resident.pseudonym,
            resident.name or "",
            shown_phone(resident, False) or "",
            (resident.community.name_zh if zh else resident.community.name_en) if resident.community else "",
            word(labels.PARTICIPANT_TYPE_LABELS, resident.participant_type),
            ("、" if zh else "; ").join(word(labels.ROLE_LABELS, r) for r in sorted(resident.active_roles())),
            resident.expertise or "",
            resident.work_unit or "",
            word(labels.GENDER_LABELS, resident.gender),
            word(labels.AGE_BAND_LABELS, resident.age_band),
            word(labels.OCCUPATION_LABELS, resident.occupation),
            when(resident.verified_at),
            when(resident.invited_at),
            word(SOURCE_LABELS, resident.source),
            when(resident.created_at),
        ]
        for resident in residents
    ]
    return [_(column) for column in LABELLED_EXPORT_COLUMNS], rows


# --- the roster import ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOutcome:
    imported: int
    invited: int
    by_participant_type: dict[str, int]
    sha256: str


async def check_roster(db: AsyncSession, data: bytes, region: str) -> Roster:
    """Parse and validate every row, including numbers that already belong to residents."""
    rows = (await db.execute(select(Community.code, Community.name_zh, Community.name_en))).all()
    roster = parse_roster(
        data, region=region, communities=community_lookup([(c, zh, en) for c, zh, en in rows])
    )
    phones = [record.phone for record in roster.records]
    registered: dict[str, str] = {}
    for start in range(0, len(phones), 500):  # stay far below SQLite's bound-parameter limit
        query = select(Resident.phone, Resident.pseudonym).where(
            Resident.phone.in_(phones[start : start + 500])
        )
        registered.update({phone: pseudonym for phone, pseudonym in (await db.execute(query)).all() if phone})
    return reject_registered(roster, registered)


def _new_resident(record: RosterRecord, community_id: int, invited_at: datetime) -> Resident:
    return Resident(
        phone=record.phone,
        name=record.name,
        community_id=community_id,
        participant_type=record.participant_type,
        expertise=record.expertise,
        work_unit=record.work_unit,
        gender=record.gender,
        age_band=record.age_band,
        source=Source.IMPORT.value,
        verified_at=None,  # until they confirm, by replying 1 or on /join
        invited_at=invited_at,
        roles=[ResidentRole(role=ResidentRoleKind.JUDGE.value)],
    )


def _invitation(record: RosterRecord, locale: str, settings: Settings) -> SmsMessage:
    body = render(
        "roster_invite",
        locale,
        settings.sms_signature,
        resident_name=record.name,
        participant_type=record.participant_type,
        url=f"{settings.public_base_url}/join",
    )
    return build_message(record.phone, body, settings.default_region)


async def _opted_out_numbers(db: AsyncSession, phones: list[str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for start in range(0, len(phones), 500):  # stay far below SQLite's bound-parameter limit
        batch = phones[start : start + 500]
        query = select(OptOut.phone, OptOut.opted_out_at).where(OptOut.phone.in_(batch))
        found.update({phone: at for phone, at in (await db.execute(query)).all()})
    return found


async def import_roster(
    db: AsyncSession, actor: str, data: bytes, settings: Settings, redis_url: str
) -> ImportOutcome:
    """All or nothing: raises RosterRejected with every row error, or creates every resident with a
    judge role, audits each, commits, and only then enqueues one SMS invitation per resident."""
    roster = await check_roster(db, data, settings.default_region)
    if not roster.ok:
        raise RosterRejected(roster.errors)
    community_ids = {
        code: id_ for code, id_ in (await db.execute(select(Community.code, Community.id))).all()
    }
    now = utcnow()
    residents = [_new_resident(r, community_ids[r.community], now) for r in roster.records]
    stopped = await _opted_out_numbers(db, [r.phone for r in roster.records])
    for resident in residents:
        if resident.phone in stopped:  # the number said STOP before it was imported: it stays stopped
            resident.sms_opt_out_at = stopped[resident.phone]
    by_type = dict(sorted(Counter(r.participant_type for r in roster.records).items()))
    try:
        db.add_all(residents)
        await db.flush()
        messages = [
            _invitation(r, resident.locale, settings)
            for r, resident in zip(roster.records, residents, strict=True)
            if r.phone not in stopped
        ]
        db.add_all(messages)
        await db.flush()
        # The audit entries come last: appending takes the log's head lock, held until the commit, so
        # the bulk inserts above do not keep other organizers' audited actions waiting.
        for record, resident in zip(roster.records, residents, strict=True):
            details = {"roster": roster.sha256[:16], "row": record.row}
            await record_async(db, actor, "resident.import", SUBJECT, resident.pseudonym, details)
        summary = {"residents": len(residents), "invitations": len(messages), "by_type": by_type}
        await record_async(db, actor, "roster.import", "roster", roster.sha256[:16], summary)
        await db.commit()
    except IntegrityError:
        # Someone with one of these numbers signed up between the check and the insert.
        await db.rollback()
        raise Conflict(
            "phone", "a number in the file was registered meanwhile; upload the file again"
        ) from None
    await jobs.after_commit(redis_url, jobs.After(texts=[m.id for m in messages], priority=QueueName.BULK))
    return ImportOutcome(len(residents), len(messages), by_type, roster.sha256)
