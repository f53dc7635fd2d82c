"""Competitive selections: posts, stages, applicants, nominations, evaluator invitations and ballots,
speech and interview scores. The rules that decide (red line, margin, trimmed means) live in the pure
modules beside this one; these tables hold their inputs and their published outcomes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.db import Base, UTCDateTime, utcnow


class SelectionStatus(StrEnum):
    DRAFT = "draft"  # private, editable
    PUBLISHED = "published"  # public page, "posts and quotas" notice issued; stages run
    FINISHED = "finished"  # the appointment notice has closed


class StageKind(StrEnum):
    """In timetable order."""

    NOMINATION = "nomination"
    ASSESSMENT = "assessment"  # democratic assessment: ballots, the red line
    SPEECH = "speech"  # differential evaluation: speech ratings, the margin rule
    INTERVIEW = "interview"  # the grand jury scores
    RESULT = "result"  # final ranking published
    PUBLIC_NOTICE = "public_notice"  # the appointment notice and its objection period


STAGE_ORDER = list(StageKind)


class StageStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


class ApplicantStatus(StrEnum):
    ACTIVE = "active"  # still in the running
    DISQUALIFIED = "disqualified"  # below the red line
    ELIMINATED = "eliminated"  # not among those advancing after the speech stage
    WITHDRAWN = "withdrawn"  # by the applicant, or after an upheld objection (status_reason says which)
    PROPOSED = "proposed"  # ranked within the seats: named in the appointment notice (拟任)
    SUSPENDED = "suspended"  # proposed, but an upheld objection stopped the notice period
    APPOINTED = "appointed"  # the notice period closed without an upheld objection against them
    NOT_APPOINTED = "not_appointed"


class ConsentStatus(StrEnum):
    PENDING = "pending"
    GIVEN = "given"
    REFUSED = "refused"


class InvitationStage(StrEnum):
    ASSESSMENT = "assessment"
    SPEECH = "speech"


class Selection(Base):
    __tablename__ = "selections"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(200))
    unit_category: Mapped[str] = mapped_column(String(64))
    eligibility_zh: Mapped[str] = mapped_column(Text, default="")
    eligibility_en: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=SelectionStatus.DRAFT, index=True)
    # The published rules, as exact fractions "p/q" so the public page shows what decided.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rubric: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panels.id", ondelete="SET NULL"))
    posts_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    posts: Mapped[list[Post]] = relationship(order_by="Post.id", cascade="all, delete-orphan")
    stages: Mapped[list[Stage]] = relationship(order_by="Stage.position", cascade="all, delete-orphan")

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh

    def stage(self, kind: str) -> Stage:
        for stage in self.stages:
            if stage.kind == kind:
                return stage
        raise KeyError(kind)


class Post(Base):
    __tablename__ = "selection_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column(Integer)
    advance: Mapped[int | None] = mapped_column(Integer)  # how many go on from the speech stage
    conditions_zh: Mapped[str] = mapped_column(Text, default="")
    conditions_en: Mapped[str] = mapped_column(Text, default="")

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh


class Stage(Base):
    __tablename__ = "selection_stages"
    __table_args__ = (UniqueConstraint("selection_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=StageStatus.PENDING)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what closing it decided, published
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))


class Applicant(Base):
    """A person in the running for a post: applied, or a consenting nominee the organizer admitted."""

    __tablename__ = "selection_applicants"

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("selection_posts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    work_unit: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=ApplicantStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(64))
    nominee_id: Mapped[int | None] = mapped_column(ForeignKey("selection_nominees.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Nominee(Base):
    """A name suggested for a post. Public only once the person consented."""

    __tablename__ = "selection_nominees"
    __table_args__ = (UniqueConstraint("post_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("selection_posts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(320))  # normalised name + work unit: one nominee per person
    name: Mapped[str] = mapped_column(String(100))
    work_unit: Mapped[str] = mapped_column(String(200), default="")
    consent: Mapped[str] = mapped_column(String(16), default=ConsentStatus.PENDING)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Nomination(Base):
    __tablename__ = "selection_nominations"
    # One nomination per nominator per post; changing it rewrites the row.
    __table_args__ = (
        UniqueConstraint("post_id", "resident_id"),
        Index("ix_selection_nominations_tally", "post_id", "nominee_id", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("selection_posts.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    nominee_id: Mapped[int] = mapped_column(ForeignKey("selection_nominees.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))  # deputy or resident, from the nominator
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Invitation(Base):
    """A personal link for an evaluator (assessment ballot) or a speech rater. Only the token's hash is
    kept. For the assessment the ballot itself is not linked to this row (see AssessmentCount)."""

    __tablename__ = "selection_invitations"
    __table_args__ = (UniqueConstraint("selection_id", "stage", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    group: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AssessmentCount(Base):
    """Secret ballot: only counts per applicant, evaluator group and rating are stored, never a ballot."""

    __tablename__ = "selection_assessment_counts"
    __table_args__ = (UniqueConstraint("applicant_id", "group", "rating"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("selection_applicants.id", ondelete="CASCADE"))
    group: Mapped[str] = mapped_column(String(32))
    rating: Mapped[str] = mapped_column(String(24))
    count: Mapped[int] = mapped_column(Integer, default=0)


class SpeechScore(Base):
    __tablename__ = "selection_speech_scores"
    __table_args__ = (UniqueConstraint("invitation_id", "applicant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("selection_invitations.id", ondelete="CASCADE"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("selection_applicants.id", ondelete="CASCADE"))
    points: Mapped[int] = mapped_column(Integer)


class Juror(Base):
    """A confirmed panel member's seat at the interview: their scoring link, absence, conflicts."""

    __tablename__ = "selection_jurors"
    __table_args__ = (UniqueConstraint("selection_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_members.id", ondelete="CASCADE"))
    group: Mapped[str] = mapped_column(String(16))  # expert, deputy or resident
    pseudonym: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    absent: Mapped[bool] = mapped_column(Boolean, default=False)
    conflicts: Mapped[list[int]] = mapped_column(JSON, default=list)  # applicant ids not to score
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InterviewScore(Base):
    __tablename__ = "selection_interview_scores"
    __table_args__ = (UniqueConstraint("juror_id", "applicant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    selection_id: Mapped[int] = mapped_column(ForeignKey("selections.id", ondelete="CASCADE"), index=True)
    juror_id: Mapped[int] = mapped_column(ForeignKey("selection_jurors.id", ondelete="CASCADE"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("selection_applicants.id", ondelete="CASCADE"))
    points: Mapped[dict[str, int]] = mapped_column(JSON)  # criterion code -> points
    total: Mapped[int] = mapped_column(Integer)
