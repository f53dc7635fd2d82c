from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
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


AGE_BANDS = ("18-29", "30-44", "45-59", "60-74", "75+")
GENDERS = ("female", "male")
OCCUPATION_GROUPS = ("employed", "self_employed", "public_sector", "retired", "student", "not_working")


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community | None] = relationship()
    roles: Mapped[list[ResidentRole]] = relationship(back_populates="resident", cascade="all, delete-orphan")


class ResidentRole(Base):
    """A role a resident took on, with the consent given for that purpose alone."""

    __tablename__ = "resident_roles"
    __table_args__ = (UniqueConstraint("resident_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    resident: Mapped[Resident] = relationship(back_populates="roles")
