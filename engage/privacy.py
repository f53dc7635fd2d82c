"""What is held about one phone number, for `engage privacy report PHONE` (a resident's request under
PIPL, or an operator checking a deletion). Counts only: the report itself holds no personal data
beyond the number it was asked about."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.evaluations.models import ServiceContact
from engage.notices.objections.models import Objection
from engage.panels.models import DeclaredConflict, PanelMember
from engage.residents.models import Resident, ResidentRole, Subscription, VerificationCode
from engage.selections.models import Invitation, Nomination
from engage.sms.models import OptOut, SmsMessage


def report(session: Session, phone: str) -> list[tuple[str, int]]:
    """(what, rows) for every place the number, or the resident holding it, appears."""

    def count(query: object) -> int:
        return int(session.execute(query).scalar_one())  # type: ignore[call-overload]

    lines = [
        ("verification_codes", count(select(func.count()).where(VerificationCode.phone == phone))),
        ("sms_messages", count(select(func.count()).where(SmsMessage.to == phone))),
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
