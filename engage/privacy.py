"""Personal data over time: what is held about one phone number, for `engage privacy report PHONE` (a
resident's request under PIPL, or an operator checking a deletion; counts only, the report itself holds
no personal data beyond the number it was asked about), and the retention purge that removes what is
past its period (`purge`, run daily by the workers and by `engage privacy purge`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.audit.services import SYSTEM, record
from engage.db import utcnow
from engage.evaluations.models import ServiceContact
from engage.notices.objections.models import NoticePeriod, Objection
from engage.panels.models import DeclaredConflict, PanelMember
from engage.residents.models import Resident, ResidentRole, Subscription, VerificationCode
from engage.selections.models import Invitation, Nomination
from engage.settings import Settings
from engage.sms.models import InboundMessage, MessageStatus, OptOut, SmsMessage


def report(session: Session, phone: str) -> list[tuple[str, int]]:
    """(what, rows) for every place the number, or the resident holding it, appears."""

    def count(query: object) -> int:
        return int(session.execute(query).scalar_one())  # type: ignore[call-overload]

    lines = [
        ("verification_codes", count(select(func.count()).where(VerificationCode.phone == phone))),
        ("sms_messages", count(select(func.count()).where(SmsMessage.to == phone))),
        ("inbound_messages", count(select(func.count()).where(InboundMessage.sender == phone))),
        ("notice_objections (by name)", count(select(func.count()).where(Objection.phone == phone))),
        ("sms_opt_outs", count(select(func.count()).where(OptOut.phone == phone))),
    ]
    resident = session.execute(select(Resident).where(Resident.phone == phone)).scalar_one_or_none()
    lines.insert(0, ("residents", 0 if resident is None else 1))
    if resident is not None:
        for name, column in (
            ("resident_roles", ResidentRole.resident_id),
            ("subscriptions", Subscription.resident_id),
            ("panel_members", PanelMember.resident_id),
            ("panel_declared_conflicts", DeclaredConflict.resident_id),
            ("selection_nominations (made)", Nomination.resident_id),
            ("selection_invitations", Invitation.resident_id),
            ("service_contacts", ServiceContact.resident_id),
        ):
            lines.append((name, count(select(func.count()).where(column == resident.id))))
        audit = select(func.count()).where(
            (AuditEntry.subject_id == resident.pseudonym)
            | (AuditEntry.actor == f"resident:{resident.pseudonym}")
        )
        lines.append((f"audit_entries (as {resident.pseudonym})", count(audit)))
    return lines


def purge(session: Session, settings: Settings) -> dict[str, int]:
    """Remove what is past its retention period (the RETAIN_* settings) and audit the counts; the
    caller commits. Running it twice removes nothing the second time.

    - sign-up and objection codes, RETAIN_CODES_DAYS after they were made;
    - the record of inbound texts (the gateway's id and which handler took it), RETAIN_INBOUND_DAYS;
    - the number, body and error of sent or failed texts, RETAIN_MESSAGE_NUMBERS_DAYS after they were
      made (the row stays, so delivery counts hold; texts still queued or sending are left alone);
    - the name and number on a named objection, RETAIN_OBJECTION_CONTACTS_DAYS after its notice
      period closed (the objection, its reason and its reply stay part of the notice's record).
    """
    now = utcnow()

    def before(days: int) -> object:
        return now - timedelta(days=days)

    counts: dict[str, int] = {}
    done = session.execute(
        delete(VerificationCode).where(VerificationCode.created_at < before(settings.retain_codes_days))
    )
    counts["verification_codes"] = done.rowcount  # type: ignore[attr-defined]
    done = session.execute(
        delete(InboundMessage).where(InboundMessage.received_at < before(settings.retain_inbound_days))
    )
    counts["inbound_messages"] = done.rowcount  # type: ignore[attr-defined]
    done = session.execute(
        update(SmsMessage)
        .where(
            SmsMessage.created_at < before(settings.retain_message_numbers_days),
            SmsMessage.status.in_([MessageStatus.SENT, MessageStatus.FAILED]),
            SmsMessage.to != "",
        )
        .values(to="", body="", error_message=None)
    )
    counts["sms_messages (number and body)"] = done.rowcount  # type: ignore[attr-defined]
    closed = select(NoticePeriod.notice_id).where(
        NoticePeriod.closed_at < before(settings.retain_objection_contacts_days)
    )
    done = session.execute(
        update(Objection)
        .where(
            Objection.notice_id.in_(closed), (Objection.phone.is_not(None)) | (Objection.name.is_not(None))
        )
        .values(name=None, phone=None)
    )
    counts["notice_objections (name and number)"] = done.rowcount  # type: ignore[attr-defined]
    if any(counts.values()):
        record(session, SYSTEM, "privacy.purge", "privacy", "retention", dict(counts))
    return counts
