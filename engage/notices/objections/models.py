"""The public notice period of a notice and the objections filed during it.

A notice has a period when `notice_periods` holds a row for it: opened at publication (or at the
scheduled time), closed by a scheduled job at `closes_at`, extended or suspended by an upheld objection.
Objections keep the objector's name and phone for the organizers only: never on a public page, never in
the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engage.db import Base, UTCDateTime, utcnow


class ObjectionStatus(StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    UPHELD = "upheld"
    REJECTED = "rejected"


class PeriodAction(StrEnum):
    """What an upheld objection does to the notice."""

    NONE = "none"
    EXTEND = "extend"  # the period runs N more working days
    SUSPEND = "suspend"  # the period stops; the notice stays public, marked suspended


class NoticePeriod(Base):
    __tablename__ = "notice_periods"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True)
    days: Mapped[int] = mapped_column(Integer)  # working days asked for at publication
    extended_days: Mapped[int] = mapped_column(Integer, default=0)  # added by upheld objections
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set at publication
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the current closing moment
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the closing job ran


class Objection(Base):
    __tablename__ = "notice_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # OBJ-2026-XXXXXX
    name: Mapped[str | None] = mapped_column(String(100))  # None: anonymous
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164, verified by a code; None: anonymous
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ObjectionStatus.RECEIVED)
    reply: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16), default=PeriodAction.NONE)
    action_days: Mapped[int | None] = mapped_column(Integer)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def anonymous(self) -> bool:
        return self.phone is None
