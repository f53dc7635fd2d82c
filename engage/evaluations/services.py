"""Evaluation campaigns and service contacts in the database (async, web side): creating a campaign,
recording or importing the contacts an office had with residents, and inviting those residents by SMS
with a personal link. Ratings are `engage.evaluations.ratings`, results `engage.evaluations.results`.

Audit entries name campaigns, subjects and contacts by id; never a resident's number or name.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from engage.audit.services import record_async
from engage.db import utcnow
from engage.errors import Conflict, InvalidInput, NotFound, RuleBroken, UnknownValue
from engage.evaluations.models import Campaign, Mode, ServiceContact, Subject
from engage.evaluations.rules import stats
from engage.i18n import LOCALE_NAMES, current_locale
from engage.i18n import gettext as _
from engage.links import LinkKind, new_token, token_hash, url
from engage.phones import normalise
from engage.residents.models import Community, Resident
from engage.settings import Settings
from engage.sms.models import SmsMessage
from engage.sms.segments import count_segments
from engage.sms.services import build_message
from engage.sms.texts import render
from engage.web.dates import in_years
from engage.web.text import storable

MAX_QUESTIONS = 9  # one digit each in an SMS reply
MAX_SUBJECTS = 200
MAX_IMPORT_ROWS = 5000
IMPORT_COLUMNS = ("subject", "phone", "served_on", "matter")


@dataclass(frozen=True)
class Question:
    zh: str
    en: str


@dataclass(frozen=True)
class SubjectIn:
    name: str
    unit: str


@dataclass(frozen=True)
class CampaignDraft:
    title_zh: str
    title_en: str
    mode: str
    opens_at: datetime
    closes_at: datetime
    questions: list[Question]
    subjects: list[SubjectIn]
    community_codes: list[str] = field(default_factory=list)
    threshold: str = "2/3"
    min_answers: int = 1
    bulk_limit: int = 10
    bulk_minutes: int = 10


@dataclass(frozen=True)
class ContactIn:
    subject_id: int
    phone: str
    served_on: date
    matter: str


@dataclass(frozen=True)
class RowError:
    line: int  # in the file, the header being line 1
    field: str
    detail: str


class ImportRejected(RuleBroken):
    """A CSV with at least one bad row: nothing was imported; `rows` says what is wrong where. 422: the
    API takes any text as the file; what its rows must say, no JSON Schema can state."""

    code = "import_rejected"

    def __init__(self, rows: list[RowError]) -> None:
        super().__init__("file", f"{len(rows)} rows have problems; nothing was imported")
        self.rows = rows


def link_for(settings: Settings, token: str) -> str:
    return url(settings.public_base_url, LinkKind.RATING, token)


async def get_campaign(db: AsyncSession, campaign_id: int) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id).options(selectinload(Campaign.subjects))
    campaign = (await db.execute(query)).scalar_one_or_none()
    if campaign is None:
        raise NotFound("campaign_id", f"no evaluation {campaign_id}")
    return campaign


async def list_campaigns(db: AsyncSession, limit: int = 200, offset: int = 0) -> list[Campaign]:
    query = (
        select(Campaign)
        .options(selectinload(Campaign.subjects))
        .order_by(Campaign.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await db.execute(query)).scalars())


def subject_of(campaign: Campaign, subject_id: int) -> Subject:
    for subject in campaign.subjects:
        if subject.id == subject_id:
            return subject
    raise NotFound("subject_id", f"evaluation {campaign.id} has no subject {subject_id}")


def check_draft(draft: CampaignDraft) -> None:
    storable("title_zh", draft.title_zh)
    storable("title_en", draft.title_en)
    storable("threshold", draft.threshold)
    for index, question in enumerate(draft.questions):
        storable(f"questions[{index}].zh", question.zh)
        storable(f"questions[{index}].en", question.en)
    for index, subject in enumerate(draft.subjects):
        storable(f"subjects[{index}].name", subject.name)
        storable(f"subjects[{index}].unit", subject.unit)
    for index, code in enumerate(draft.community_codes):
        storable(f"community_codes[{index}]", code)
    if draft.mode not in (Mode.ONLINE, Mode.REVERSE):
        raise InvalidInput("mode", "must be online or reverse")
    if not draft.title_zh.strip() or not draft.title_en.strip():
        raise InvalidInput("title_zh" if not draft.title_zh.strip() else "title_en", "must not be empty")
    # Far outside these years a date means nothing here, and year 1 at +08:00 cannot even become UTC.
    in_years("opens_at", draft.opens_at)
    in_years("closes_at", draft.closes_at)
    if draft.closes_at <= draft.opens_at:
        raise RuleBroken("closes_at", "must be after opens_at")
    if not 1 <= len(draft.questions) <= MAX_QUESTIONS:
        raise InvalidInput("questions", f"between 1 and {MAX_QUESTIONS} questions (one digit each by SMS)")
    for question in draft.questions:
        if not question.zh.strip() or not question.en.strip():
            raise InvalidInput("questions", "every question needs its Chinese and English text")
    if not 1 <= len(draft.subjects) <= MAX_SUBJECTS:
        raise InvalidInput("subjects", f"between 1 and {MAX_SUBJECTS} officials or offices")
    names = [(s.name.strip(), s.unit.strip()) for s in draft.subjects]
    if any(not name for name, _ in names):
        raise InvalidInput("subjects", "every subject needs a name")
    if len(set(names)) != len(names):  # compared as stored: without the spaces around them
        raise RuleBroken("subjects", "the same name and unit are given twice")
    try:
        stats.parse_threshold(draft.threshold)
    except ValueError as problem:
        raise InvalidInput("threshold", str(problem)) from None
    if draft.mode == Mode.REVERSE and draft.community_codes:
        raise InvalidInput("community_codes", "a reverse evaluation is answered by served residents only")


async def known_community_codes(db: AsyncSession, wanted: list[str]) -> list[str]:
    """The codes, sorted and once each, or UnknownValue naming the first no community has and listing
    the communities there are (as sign-up does)."""
    codes = sorted(set(wanted))
    if codes:
        known = list((await db.execute(select(Community.code).order_by(Community.code))).scalars())
        unknown = [code for code in wanted if code not in set(known)]
        if unknown:
            raise UnknownValue("community_codes", unknown[0], known)
    return codes


async def create_campaign(db: AsyncSession, actor: str, draft: CampaignDraft, settings: Settings) -> Campaign:
    check_draft(draft)
    codes = await known_community_codes(db, draft.community_codes)
    campaign = Campaign(
        title_zh=draft.title_zh.strip(),
        title_en=draft.title_en.strip(),
        mode=draft.mode,
        opens_at=draft.opens_at,
        closes_at=draft.closes_at,
        community_codes=codes,
        questions=[{"zh": q.zh.strip(), "en": q.en.strip()} for q in draft.questions],
        threshold=draft.threshold.strip(),
        min_answers=draft.min_answers,
        bulk_limit=draft.bulk_limit,
        bulk_minutes=draft.bulk_minutes,
        created_by=actor,
    )
    campaign.subjects = [Subject(name=s.name.strip(), unit=s.unit.strip()) for s in draft.subjects]
    db.add(campaign)
    await db.flush()
    if campaign.mode == Mode.REVERSE:
        # The longest subject with a typical matter must fit the SMS limit, or no invitation could go.
        longest = max(campaign.subjects, key=lambda s: len(s.name) + len(s.unit))
        check_invitation_length(settings, campaign, longest, "办理户籍证明", "subjects")
    details = {
        "mode": campaign.mode,
        "subjects": len(campaign.subjects),
        "questions": len(campaign.questions),
    }
    await record_async(db, actor, "evaluation.create", "evaluation", campaign.id, details)
    await db.commit()
    return await get_campaign(db, campaign.id)


# -- invitations ---------------------------------------------------------------------------------


def invitation_text(
    settings: Settings,
    campaign: Campaign,
    subject: Subject,
    matter: str,
    served_on: date,
    locale: str,
    link: str,
) -> str:
    questions = [q["en"] if locale == "en" else q["zh"] for q in campaign.questions]
    return render(
        "eval_invite",
        locale,
        settings.sms_signature,
        office=f"{subject.unit} {subject.name}".strip()
        if locale == "en"
        else f"{subject.unit}{subject.name}",
        date=served_on.isoformat(),
        matter=matter,
        link=link,
        n=len(questions),
        questions=" ".join(f"{i}.{q}" for i, q in enumerate(questions, 1)),
    )


def check_invitation_length(
    settings: Settings, campaign: Campaign, subject: Subject, matter: str, field_name: str
) -> None:
    """Refuse what would make an invitation longer than settings.sms_max_segments in either language."""
    sample_link = link_for(settings, "x" * 22)  # token_urlsafe(16) is 22 characters
    for locale in ("zh_CN", "en"):
        text = invitation_text(settings, campaign, subject, matter, date(2026, 12, 31), locale, sample_link)
        count = count_segments(text)
        if count.segments > settings.sms_max_segments:
            message = _(
                "the %(language)s invitation would be %(segments)s SMS segments (%(units)s %(encoding)s "
                "units); at most %(most)s"
            )
            values = {
                "language": locale if current_locale.get() == "en" else LOCALE_NAMES[locale],
                "segments": count.segments,
                "units": count.units,
                "encoding": count.encoding.value,
                "most": settings.sms_max_segments,
            }
            raise RuleBroken(field_name, message % values)


# -- service contacts ----------------------------------------------------------------------------


async def _verified_resident(db: AsyncSession, raw_phone: str, region: str, field_name: str) -> Resident:
    phone = normalise(raw_phone, region, field_name)
    resident = (await db.execute(select(Resident).where(Resident.phone == phone))).scalar_one_or_none()
    if resident is None or resident.verified_at is None:
        # a number is well formed or not (400); whether a verified resident has it is the register's state
        raise NotFound(field_name, "no verified resident has this number")
    return resident


def _check_matter(matter: str) -> None:
    if not matter.strip() or len(matter.strip()) > 40:
        raise InvalidInput("matter", "between 1 and 40 characters")


AFTER_CLOSE = "after the evaluation closes"


def _served_after_close(served_on: date, campaign: Campaign) -> bool:
    return served_on > campaign.closes_at.date()


def _check_takes_contacts(campaign: Campaign) -> None:
    if campaign.mode != Mode.REVERSE:
        raise Conflict("campaign_id", "service contacts belong to reverse evaluations")
    if campaign.closes_at <= utcnow():
        raise Conflict("campaign_id", "the evaluation is closed")


ContactKey = tuple[int, int, date, str]  # subject, resident, served on, matter


async def _recorded(db: AsyncSession, campaign: Campaign) -> set[ContactKey]:
    rows = await db.execute(
        select(
            ServiceContact.subject_id,
            ServiceContact.resident_id,
            ServiceContact.served_on,
            ServiceContact.matter,
        ).where(ServiceContact.campaign_id == campaign.id)
    )
    return {(subject, resident, served_on, matter) for subject, resident, served_on, matter in rows.all()}


ALREADY = "this service contact is already recorded (same office, resident, date and matter)"


async def record_contact(
    db: AsyncSession, actor: str, campaign_id: int, contact: ContactIn, settings: Settings
) -> ServiceContact:
    campaign = await get_campaign(db, campaign_id)
    _check_takes_contacts(campaign)
    subject = subject_of(campaign, contact.subject_id)
    matter = contact.matter.strip()
    _check_matter(matter)
    if _served_after_close(contact.served_on, campaign):  # the campaign's present closing: it can move
        raise Conflict("served_on", AFTER_CLOSE)
    check_invitation_length(settings, campaign, subject, matter, "matter")
    resident = await _verified_resident(db, contact.phone, settings.default_region, "phone")
    if (subject.id, resident.id, contact.served_on, matter) in await _recorded(db, campaign):
        raise Conflict("phone", ALREADY)
    row = ServiceContact(
        campaign_id=campaign.id,
        subject_id=subject.id,
        resident_id=resident.id,
        served_on=contact.served_on,
        matter=matter,
        created_by=actor,
    )
    db.add(row)
    await db.flush()
    details = {"contact": row.id, "subject": subject.id}
    await record_async(db, actor, "evaluation.contact", "evaluation", campaign.id, details)
    await db.commit()
    return row


def _subject_lookup(campaign: Campaign) -> dict[str, Subject]:
    """A CSV names the subject by id, by name, or by "unit name"."""
    lookup: dict[str, Subject] = {}
    names = [s.name for s in campaign.subjects]
    for subject in campaign.subjects:
        lookup[str(subject.id)] = subject
        lookup[f"{subject.unit} {subject.name}".strip()] = subject
        lookup[f"{subject.unit}{subject.name}"] = subject
        if names.count(subject.name) == 1:
            lookup[subject.name] = subject
    return lookup


@dataclass(frozen=True)
class _Row:
    line: int
    subject: Subject
    phone: str
    served_on: date
    matter: str


def _read_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RuleBroken("file", f"missing columns: {', '.join(missing)} (need {','.join(IMPORT_COLUMNS)})")
    rows = list(reader)
    if not rows:
        raise RuleBroken("file", "no rows")
    if len(rows) > MAX_IMPORT_ROWS:
        raise RuleBroken("file", f"{len(rows)} rows; at most {MAX_IMPORT_ROWS} per file")
    return rows


async def import_contacts(
    db: AsyncSession, actor: str, campaign_id: int, text: str, settings: Settings
) -> list[ServiceContact]:
    """All or nothing: every row is checked; one bad row rejects the file with every problem listed.
    A row repeating a recorded contact (or an earlier row) is a problem: importing a file twice
    must not entitle anyone to a second rating."""
    campaign = await get_campaign(db, campaign_id)
    _check_takes_contacts(campaign)
    subjects = _subject_lookup(campaign)
    problems: list[RowError] = []
    parsed: list[_Row] = []
    for line, raw in enumerate(_read_rows(text), start=2):
        row_problems, row = _check_row(line, raw, subjects, campaign, settings)
        problems.extend(row_problems)
        if row is not None:
            parsed.append(row)
    phones = {row.phone for row in parsed}
    found = await db.execute(select(Resident).where(Resident.phone.in_(phones))) if phones else None
    residents = {r.phone: r for r in found.scalars() if r.verified_at is not None} if found else {}
    seen = await _recorded(db, campaign)
    contacts = []
    for row in parsed:
        resident = residents.get(row.phone)
        if resident is None:
            problems.append(RowError(row.line, "phone", "no verified resident has this number"))
            continue
        key = (row.subject.id, resident.id, row.served_on, row.matter)
        if key in seen:
            problems.append(RowError(row.line, "phone", ALREADY))
            continue
        seen.add(key)
        contacts.append(
            ServiceContact(
                campaign_id=campaign.id,
                subject_id=row.subject.id,
                resident_id=resident.id,
                served_on=row.served_on,
                matter=row.matter,
                created_by=actor,
            )
        )
    if problems:
        raise ImportRejected(sorted(problems, key=lambda p: p.line))
    db.add_all(contacts)
    await db.flush()
    details = {"rows": len(contacts)}
    await record_async(db, actor, "evaluation.contacts_import", "evaluation", campaign.id, details)
    await db.commit()
    return contacts


def _check_row(
    line: int, raw: dict[str, Any], subjects: dict[str, Subject], campaign: Campaign, settings: Settings
) -> tuple[list[RowError], _Row | None]:
    """The problems of one CSV row (every column checked), and the row when it has none."""
    problems: list[RowError] = []

    def check(field_name: str, step: Any) -> Any:
        try:
            return step()
        except InvalidInput as problem:
            problems.append(RowError(line, problem.field or field_name, problem.detail))
        except ValueError:
            problems.append(RowError(line, field_name, "not a date (YYYY-MM-DD)"))
        return None

    subject = subjects.get(str(raw.get("subject") or "").strip())
    if subject is None:
        problems.append(RowError(line, "subject", "not one of this evaluation's subjects"))
    phone = check("phone", lambda: normalise(str(raw.get("phone") or ""), settings.default_region, "phone"))
    served_on = check("served_on", lambda: date.fromisoformat(str(raw.get("served_on") or "").strip()))
    if served_on is not None and _served_after_close(served_on, campaign):
        problems.append(RowError(line, "served_on", AFTER_CLOSE))
    matter = str(raw.get("matter") or "").strip()
    check("matter", lambda: _check_matter(matter))
    if subject is not None and matter:
        check("matter", lambda: check_invitation_length(settings, campaign, subject, matter, "matter"))
    if problems or subject is None or phone is None or served_on is None:
        return problems, None
    return problems, _Row(line, subject, phone, served_on, matter)


async def invite(db: AsyncSession, settings: Settings, actor: str, campaign_id: int) -> list[SmsMessage]:
    """A text with a personal link to every served resident not invited yet, if their number is
    verified and they have not stopped texts. Returns the queued messages (committed): enqueue them."""
    campaign = await get_campaign(db, campaign_id)
    if campaign.mode != Mode.REVERSE:
        raise Conflict("campaign_id", "only reverse evaluations invite by text")
    now = utcnow()
    if campaign.closes_at <= now:
        raise Conflict("campaign_id", "the evaluation is closed")
    if campaign.opens_at > now:
        raise Conflict("campaign_id", "invitations go out once the evaluation opens")
    subjects = {s.id: s for s in campaign.subjects}
    rows = await db.execute(
        select(ServiceContact, Resident)
        .join(Resident, Resident.id == ServiceContact.resident_id)
        .where(
            ServiceContact.campaign_id == campaign.id,
            ServiceContact.invited_at.is_(None),
            Resident.verified_at.is_not(None),
            Resident.phone.is_not(None),
            Resident.sms_opt_out_at.is_(None),
        )
        .order_by(ServiceContact.id)
    )
    messages = []
    for contact, resident in rows.all():
        token, contact.token_hash = new_token()
        contact.invited_at = now
        locale = "en" if resident.locale == "en" else "zh_CN"
        body = invitation_text(
            settings,
            campaign,
            subjects[contact.subject_id],
            contact.matter,
            contact.served_on,
            locale,
            link_for(settings, token),
        )
        assert resident.phone is not None
        message = build_message(resident.phone, body, settings.default_region)
        message.resident_id = resident.id
        messages.append(message)
    db.add_all(messages)
    await db.flush()
    await record_async(db, actor, "evaluation.invite", "evaluation", campaign.id, {"texts": len(messages)})
    await db.commit()
    return messages


async def contact_by_token(db: AsyncSession, token: str) -> ServiceContact | None:
    if not token or len(token) > 64:
        return None
    query = (
        select(ServiceContact)
        .where(ServiceContact.token_hash == token_hash(token))
        .options(selectinload(ServiceContact.subject))
    )
    return (await db.execute(query)).scalar_one_or_none()
