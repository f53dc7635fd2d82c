from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.db import Base, UTCDateTime, utcnow


class ParticipantType(StrEnum):
    RESIDENT = "resident"
    DEPUTY_PC = "deputy_pc"  # people's congress
    DEPUTY_PARTY = "deputy_party"  # party congress
    DEPUTY_CPPCC = "deputy_cppcc"
    EXPERT = "expert"


class ResidentRoleKind(StrEnum):
    JUDGE = "judge"  # may be drawn for a grand-jury panel
    EVALUATOR = "evaluator"
    SUBSCRIBER = "subscriber"


class Source(StrEnum):
    WEB = "web"
    SMS = "sms"
    IMPORT = "import"
    DEMO = "demo"


CONSENT_VERSION = "2026-11"  # bump when a consent text changes; each role records the version agreed to


def new_pseudonym() -> str:
    """The id that audit entries and public records use; it stays meaningful after deletion, yet
    points at no one once the resident's row is gone."""
    return "r-" + secrets.token_hex(6)


class AgeBand(StrEnum):
    FROM_18 = "18-29"
    FROM_30 = "30-44"
    FROM_45 = "45-59"
    FROM_60 = "60-74"
    FROM_75 = "75+"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Occupation(StrEnum):
    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    PUBLIC_SECTOR = "public_sector"
    RETIRED = "retired"
    STUDENT = "student"
    NOT_WORKING = "not_working"


AGE_BANDS = tuple(band.value for band in AgeBand)
GENDERS = tuple(gender.value for gender in Gender)
OCCUPATION_GROUPS = tuple(group.value for group in Occupation)


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True, default=new_pseudonym)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)  # E.164; None once deleted
    name: Mapped[str | None] = mapped_column(String(100))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    age_band: Mapped[str | None] = mapped_column(String(8))
    gender: Mapped[str | None] = mapped_column(String(16))
    occupation: Mapped[str | None] = mapped_column(String(32))
    participant_type: Mapped[str] = mapped_column(String(16), default=ParticipantType.RESIDENT)
    expertise: Mapped[str | None] = mapped_column(String(100))
    work_unit: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_opt_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(8), default=Source.WEB)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # roster imports, until confirmed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    community: Mapped[Community | None] = relationship()
    roles: Mapped[list[ResidentRole]] = relationship(back_populates="resident", cascade="all, delete-orphan")
    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="resident", cascade="all, delete-orphan"
    )

    def active_roles(self) -> set[str]:
        return {role.role for role in self.roles if role.withdrawn_at is None}


class ResidentRole(Base):
    """A role a resident took on, with the consent given for that purpose alone."""

    __tablename__ = "resident_roles"
    __table_args__ = (UniqueConstraint("resident_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    consent_version: Mapped[str] = mapped_column(String(16), default=CONSENT_VERSION)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    resident: Mapped[Resident] = relationship(back_populates="roles")


class SubscriptionKind(StrEnum):
    NOTICE = "notice"  # value: a NoticeKind
    COMMUNITY = "community"  # value: a community code


class Subscription(Base):
    """What a subscriber wants to hear about: notice kinds and communities (none of a kind means all)."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("resident_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(32))

    resident: Mapped[Resident] = relationship(back_populates="subscriptions")


class VerificationCode(Base):
    """A one-time code sent by SMS. Only an HMAC of it is kept (a 6-digit code alone is easy to guess
    from a plain hash)."""

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_phone_created", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
