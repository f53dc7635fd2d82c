"""Every mapped class, imported once so metadata (Alembic, tests) sees the whole schema."""

from engage.accounts.models import ApiToken, Organizer, Role
from engage.audit.models import AuditEntry, AuditHead
from engage.db import Base
from engage.evaluations.models import Campaign, Rating, ServiceContact, Subject
from engage.leases import Lease
from engage.notices.models import Notice
from engage.notices.objections.models import NoticePeriod, Objection
from engage.panels.models import DeclaredConflict, Panel, PanelMember
from engage.residents.models import Community, Resident, ResidentRole, Subscription, VerificationCode
from engage.selections.models import (
    Applicant,
    AssessmentCount,
    InterviewScore,
    Invitation,
    Juror,
    Nomination,
    Nominee,
    Post,
    Selection,
    SpeechScore,
    Stage,
)
from engage.sms.models import InboundMessage, OptOut, SmsMessage

__all__ = [
    "ApiToken",
    "Applicant",
    "AssessmentCount",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Campaign",
    "Community",
    "DeclaredConflict",
    "InboundMessage",
    "InterviewScore",
    "Invitation",
    "Juror",
    "Lease",
    "Nomination",
    "Nominee",
    "Notice",
    "NoticePeriod",
    "Objection",
    "OptOut",
    "Organizer",
    "Panel",
    "PanelMember",
    "Post",
    "Rating",
    "Resident",
    "ResidentRole",
    "Role",
    "Selection",
    "ServiceContact",
    "SmsMessage",
    "SpeechScore",
    "Stage",
    "Subject",
    "Subscription",
    "VerificationCode",
]
