"""Every mapped class, imported once so metadata (Alembic, tests) sees the whole schema."""

from engage.accounts.models import ApiToken, Organizer, Role
from engage.audit.models import AuditEntry, AuditHead
from engage.db import Base
from engage.evaluations.models import Campaign, Rating, ServiceContact, Subject
from engage.notices.models import Notice
from engage.panels.models import Panel, PanelMember
from engage.residents.models import Community, Resident, ResidentRole, Subscription, VerificationCode
from engage.sms.models import SmsMessage

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Campaign",
    "Community",
    "Notice",
    "Organizer",
    "Panel",
    "PanelMember",
    "Rating",
    "Resident",
    "ResidentRole",
    "Role",
    "ServiceContact",
    "SmsMessage",
    "Subject",
    "Subscription",
    "VerificationCode",
]
