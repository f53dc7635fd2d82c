"""Evaluations of officials and offices by residents: campaigns, the officials or offices evaluated
(subjects), the service contacts that entitle a resident to a reverse rating, and the ratings.

A rating keeps `resident_id` only to enforce one rating per entitlement (`slot` is unique) and to let a
second rating replace the first; no result, export or page ever shows it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.db import Base, UTCDateTime, utcnow


class Mode(StrEnum):
    ONLINE = "online"  # every verified resident of the campaign's communities
    REVERSE = "reverse"  # only residents an office recorded serving


class RatingStatus(StrEnum):
    COUNTED = "counted"
    FLAGGED = "flagged"  # part of a bulk pattern: held for an organizer, counted separately
    REJECTED = "rejected"  # an organizer judged the flagged rating abusive


class CommentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    HIDDEN = "hidden"


class Via(StrEnum):
    WEB = "web"
    SMS = "sms"


class Campaign(Base):
    __tablename__ = "evaluation_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    community_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # online: who may answer
    # [{"zh": ..., "en": ...}]: each answered on the 1-5 scale
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    threshold: Mapped[str] = mapped_column(String(16), default="2/3")  # a Fraction, e.g. "2/3" or "0.8"
    min_answers: Mapped[int] = mapped_column(default=1)  # fewer answers: too few to judge, not flagged
    bulk_limit: Mapped[int] = mapped_column(default=10)  # ratings from one address ...
    bulk_minutes: Mapped[int] = mapped_column(default=10)  # ... within this many minutes are flagged
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subjects: Mapped[list[Subject]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="Subject.id"
    )

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


class Subject(Base):
    """An official or an office being evaluated. The same name and unit in a later campaign is the same
    subject for the trend."""

    __tablename__ = "evaluation_subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(200), default="")

    campaign: Mapped[Campaign] = relationship(back_populates="subjects")


class ServiceContact(Base):
    """An office served a resident on a date for a kind of matter: one reverse rating of this contact.
    The personal link's token is stored as its SHA-256 only."""

    __tablename__ = "service_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_campaigns.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("evaluation_subjects.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    served_on: Mapped[date] = mapped_column(Date)
    matter: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subject: Mapped[Subject] = relationship()


class Rating(Base):
    __tablename__ = "evaluation_ratings"
    __table_args__ = (Index("ix_evaluation_ratings_campaign_source", "campaign_id", "source_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_campaigns.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_subjects.id", ondelete="CASCADE"), index=True
    )
    # "contact:<id>" (reverse) or "online:<subject id>:<resident id>": one rating per entitlement.
    slot: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("service_contacts.id", ondelete="SET NULL"))
    scores: Mapped[list[int]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")  # already moderated: personal data removed
    comment_status: Mapped[str] = mapped_column(String(16), default=CommentStatus.PENDING)
    status: Mapped[str] = mapped_column(String(16), default=RatingStatus.COUNTED)
    via: Mapped[str] = mapped_column(String(8))
    source_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash of the client address (web)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
