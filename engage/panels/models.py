"""A grand-jury panel and the people in its pool.

A panel moves draft -> frozen -> drawn -> closed. Freezing fixes the pool (one `PanelMember` row per
volunteer, with the values they had on the quota categories at that moment) and publishes the
commitment; drawing reveals the seed parts and seats the panel. Members are named in records by their
pseudonym only (the lottery's ticket ids are positions in the pool sorted by pseudonym).

A resident's service count is not stored: it is the number of their members with status `attended`
(`engage.panels.seats.services.service_counts`), so it can never drift from the panels themselves.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.db import Base, UTCDateTime, utcnow


class PanelStatus(StrEnum):
    DRAFT = "draft"  # quotas and exclusions may change
    FROZEN = "frozen"  # pool fixed, commitment published, waiting for the seed parts
    DRAWN = "drawn"  # seated; invitations, replies and replacements
    CLOSED = "closed"  # the day is over


class MemberStatus(StrEnum):
    POOL = "pool"  # in the frozen pool, not seated (possibly on the reserve list)
    EXCLUDED = "excluded"  # in the pool but excluded from this draw (e.g. a candidate's work unit)
    DRAWN = "drawn"  # seated by the draw or as a replacement, not invited yet
    INVITED = "invited"
    CONFIRMED = "confirmed"  # replied 1
    DECLINED = "declined"  # replied 2; the seat went to a reserve
    REPLACED = "replaced"  # no answer by the deadline; the seat went to a reserve
    WITHDRAWN = "withdrawn"  # withdrew after confirming, or could not be reached
    ATTENDED = "attended"  # checked in on the day


SEATED = (MemberStatus.DRAWN, MemberStatus.INVITED, MemberStatus.CONFIRMED, MemberStatus.ATTENDED)


class Panel(Base):
    __tablename__ = "panels"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column()
    algorithm: Mapped[str] = mapped_column(String(16), default="leximin")
    status: Mapped[str] = mapped_column(String(16), default=PanelStatus.DRAFT, index=True)
    # [{"category", "feature", "min", "max"}], as the organizer set them
    quotas: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {"resident_ids": [...], "work_units": [...]}
    exclusions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    event_date: Mapped[str] = mapped_column(String(100), default="")  # as the invitation says it
    place: Mapped[str] = mapped_column(String(200), default="")
    reply_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Residents who attended at least this many earlier panels are excluded at freeze (None: no cap).
    max_prior_service: Mapped[int | None] = mapped_column()
    pool_sha256: Mapped[str | None] = mapped_column(String(64))
    commitment: Mapped[str | None] = mapped_column(String(64))
    prepared: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the prepared half of the record
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the full draw record
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    members: Mapped[list[PanelMember]] = relationship(
        back_populates="panel", cascade="all, delete-orphan", order_by="PanelMember.ticket"
    )


class PanelMember(Base):
    __tablename__ = "panel_members"
    __table_args__ = (
        UniqueConstraint("panel_id", "pseudonym", name="uq_panel_members_panel_pseudonym"),
        UniqueConstraint("panel_id", "ticket", name="uq_panel_members_panel_ticket"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"), index=True)
    # NULL once the resident was deleted: the pseudonym keeps the record meaningful.
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    pseudonym: Mapped[str] = mapped_column(String(16))
    ticket: Mapped[int] = mapped_column()  # 1-based position of the pseudonym in the sorted pool
    values: Mapped[list[str]] = mapped_column(JSON)  # one per record category, at freeze time
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.POOL)
    reserve_position: Mapped[int | None] = mapped_column()  # 1-based, in drawn order
    reply_code: Mapped[str | None] = mapped_column(String(8))  # the check-in code, sent on confirming
    replacement_for_id: Mapped[int | None] = mapped_column(ForeignKey("panel_members.id"))
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # at most one reminder
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    panel: Mapped[Panel] = relationship(back_populates="members")


class DeclaredConflict(Base):
    """A tie between a resident and a candidate, declared by the resident or recorded by an organizer.

    Merged into the candidates' facts at freeze (`engage.panels.conflicts.rules`): the resident is then
    excluded from any draw for that candidate. `candidate` is the candidate's key or name as declared."""

    __tablename__ = "panel_declared_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # conflicts.TieKind
    candidate: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), default="")
    declared_by: Mapped[str] = mapped_column(String(64))  # resident:<pseudonym> or organizer:<id>
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
