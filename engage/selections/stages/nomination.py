"""Nomination ("two representatives, one member"): verified residents and deputies suggest one person
per post, changeable until the stage closes. A nominee's name is public only once they consented.
Tallies are GROUP BY queries over an index on (post, nominee, category): tens of thousands of rows
are counted by the database, never loaded."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engage.audit.services import record
from engage.db import utcnow
from engage.errors import Conflict, Forbidden, InvalidInput
from engage.i18n import gettext as _
from engage.jobs import After
from engage.residents.models import ParticipantType, Resident
from engage.selections import services
from engage.selections.models import (
    Applicant,
    ConsentStatus,
    Nomination,
    Nominee,
    Selection,
    StageKind,
)
from engage.settings import Settings
from engage.web.text import storable

MAX_REASON = 500


def nominator_category(participant_type: str) -> str | None:
    """Deputies of any congress count as deputies; residents as residents; experts do not nominate."""
    if participant_type.startswith("deputy"):
        return "deputy"
    if participant_type == ParticipantType.RESIDENT:
        return "resident"
    return None


def nominee_key(name: str, work_unit: str) -> str:
    """One nominee per person and post, however the name was typed (width, spaces, case)."""

    def clean(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).split()).casefold()

    return f"{clean(name)}|{clean(work_unit)}"[:320]


@dataclass(frozen=True)
class NominationIn:
    post_id: int
    name: str
    work_unit: str = ""
    reason: str = ""


def nominate(
    session: Session, resident_id: int, selection_id: int, entry: NominationIn
) -> tuple[Nomination, bool]:
    """Record or change this resident's nomination for the post; (row, changed an earlier one)."""
    selection = services.get_selection(session, selection_id)
    post = services.post_of(selection, entry.post_id)
    services.require_open(selection, StageKind.NOMINATION, "post_id")
    resident = session.get(Resident, resident_id)
    if resident is None or resident.phone is None or resident.verified_at is None:
        raise Forbidden("token", _("Only residents with a verified phone can nominate."))
    category = nominator_category(resident.participant_type)
    if category is None:
        raise Forbidden("token", _("Residents and deputies nominate; experts take part in the jury instead."))
    storable("name", entry.name)
    storable("work_unit", entry.work_unit)
    storable("reason", entry.reason, lines=True)
    name = " ".join(entry.name.split())
    if not name or len(name) > 100:
        raise InvalidInput("name", _("Give the person's name (at most 100 characters)."))
    work_unit = " ".join(entry.work_unit.split())[:200]
    reason = entry.reason.strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput("reason", _("At most %(n)s characters.") % {"n": MAX_REASON})
    key = nominee_key(name, work_unit)
    nominee = session.execute(
        select(Nominee).where(Nominee.post_id == post.id, Nominee.key == key)
    ).scalar_one_or_none()
    if nominee is None:
        nominee = Nominee(selection_id=selection.id, post_id=post.id, key=key, name=name, work_unit=work_unit)
        session.add(nominee)
        session.flush()
    existing = session.execute(
        select(Nomination).where(Nomination.post_id == post.id, Nomination.resident_id == resident.id)
    ).scalar_one_or_none()
    changed = existing is not None
    if existing is None:
        existing = Nomination(
            selection_id=selection.id,
            post_id=post.id,
            resident_id=resident.id,
            nominee_id=nominee.id,
            category=category,
            reason=reason,
        )
        session.add(existing)
    else:
        existing.nominee_id, existing.reason, existing.updated_at = nominee.id, reason, utcnow()
    session.flush()
    action = "selection.nomination.change" if changed else "selection.nomination.add"
    # By pseudonym, as every resident in the log: an id is resolved by any organizer or auditor (S17).
    record(
        session,
        f"resident:{resident.pseudonym}",
        action,
        "selection",
        selection.id,
        {"post_id": post.id, "nominee_id": nominee.id},
    )
    return existing, changed


def nominations_of(
    session: Session, selection_id: int, resident_id: int
) -> dict[int, tuple[Nomination, Nominee]]:
    """This resident's own nominations, by post (to show and change them)."""
    rows = session.execute(
        select(Nomination, Nominee)
        .join(Nominee, Nominee.id == Nomination.nominee_id)
        .where(Nomination.selection_id == selection_id, Nomination.resident_id == resident_id)
    ).all()
    return {nomination.post_id: (nomination, nominee) for nomination, nominee in rows}


@dataclass(frozen=True)
class Tally:
    nominee_id: int
    post_id: int
    name: str
    work_unit: str
    consent: str
    deputies: int
    residents: int

    @property
    def total(self) -> int:
        return self.deputies + self.residents


def tallies(session: Session, selection_id: int) -> list[Tally]:
    counts = (
        select(
            Nomination.nominee_id,
            func.sum(case((Nomination.category == "deputy", 1), else_=0)).label("deputies"),
            func.count().label("total"),
        )
        .where(Nomination.selection_id == selection_id)
        .group_by(Nomination.nominee_id)
        .subquery()
    )
    rows = session.execute(
        select(Nominee, counts.c.deputies, counts.c.total)
        .join(counts, counts.c.nominee_id == Nominee.id)
        .order_by(Nominee.post_id, counts.c.total.desc(), Nominee.id)
    ).all()
    return [
        Tally(
            nominee_id=nominee.id,
            post_id=nominee.post_id,
            name=nominee.name,
            work_unit=nominee.work_unit,
            consent=nominee.consent,
            deputies=int(deputies or 0),
            residents=int(total) - int(deputies or 0),
        )
        for nominee, deputies, total in rows
    ]


def public_tallies(session: Session, selection: Selection) -> list[dict[str, object]]:
    """Published after the stage closes: consenting nominees by name, the others only as counts."""
    published = []
    withheld: dict[int, dict[str, int]] = {}
    for tally in tallies(session, selection.id):
        if tally.consent == ConsentStatus.GIVEN:
            published.append(
                {
                    "post_id": tally.post_id,
                    "nominee_id": tally.nominee_id,
                    "name": tally.name,
                    "deputies": tally.deputies,
                    "residents": tally.residents,
                    "total": tally.total,
                }
            )
        else:
            bucket = withheld.setdefault(tally.post_id, {"nominees": 0, "nominations": 0})
            bucket["nominees"] += 1
            bucket["nominations"] += tally.total
    for post_id, bucket in withheld.items():
        published.append({"post_id": post_id, "name": None, "withheld": True, **bucket})
    return published


def get_nominee(session: Session, selection_id: int, nominee_id: int) -> Nominee:
    return services.part_of(session, Nominee, selection_id, nominee_id, "nominee")


def record_consent(
    session: Session, actor: str, selection_id: int, nominee_id: int, consent: ConsentStatus
) -> Nominee:
    nominee = get_nominee(session, selection_id, nominee_id)
    if consent == ConsentStatus.PENDING:
        raise InvalidInput("consent", "record given or refused")
    nominee.consent, nominee.consent_at = consent, utcnow()
    record(
        session,
        actor,
        "selection.nominee.consent",
        "selection",
        selection_id,
        {"nominee_id": nominee.id, "consent": consent},
    )
    return nominee


def admit(session: Session, actor: str, selection_id: int, nominee_id: int) -> Applicant:
    """A consenting nominee becomes an applicant for the post they were nominated for."""
    nominee = get_nominee(session, selection_id, nominee_id)
    if nominee.consent != ConsentStatus.GIVEN:
        raise Conflict(
            "consent", _("A nominee becomes an applicant only after consenting."), code="consent_missing"
        )
    taken = session.execute(select(Applicant.id).where(Applicant.nominee_id == nominee.id)).first()
    if taken is not None:
        raise Conflict("nominee_id", _("This nominee is already an applicant."), code="already_applicant")
    spec = services.ApplicantSpec(nominee.post_id, nominee.name, nominee.work_unit, nominee.id)
    return services.add_applicants(session, actor, selection_id, [spec])[0]


def close_nomination(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    stage = selection.stage(StageKind.NOMINATION)
    total = session.execute(
        select(func.count()).select_from(Nomination).where(Nomination.selection_id == selection.id)
    ).scalar_one()
    # The tallies themselves are read live: a consent recorded after the close publishes the name.
    stage.outcome = {"nominations": int(total)}
    return After()
