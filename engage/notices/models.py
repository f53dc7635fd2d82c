"""Public notices: written by organizers in Chinese and English, published as pages and sent by SMS."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from engage.db import Base, UTCDateTime, utcnow
from engage.sandbox import active as sandbox_active


class NoticeStatus(StrEnum):
    DRAFT = "draft"  # editable, private
    SCHEDULED = "scheduled"  # publish_at is in the future; the fan-out job waits for it
    PUBLISHED = "published"  # public page, texts fanned out
    CLOSED = "closed"  # still public, marked as over


class Audience(StrEnum):
    ALL = "all"  # every opted-in subscriber, whatever they subscribed to
    KIND = "kind"  # subscribers of the notice's kind (no notice subscription means every kind)
    COMMUNITIES = "communities"  # ... and of one of community_codes (none means every community)


PUBLIC_STATUSES = (NoticeStatus.PUBLISHED, NoticeStatus.CLOSED)


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # a NoticeKind
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(16), default=Audience.KIND)
    community_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=NoticeStatus.DRAFT, index=True)
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Urgent notices are texted at any hour; the others wait out the quiet hours (engage.quiet_hours).
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set while the texts wait for the quiet hours to end: when the fan-out will run.
    texts_held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the fan-out created the texts (or found nobody to text): until then the sweeper sees it as due.
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    # Made by a sandbox token's request: its fan-out records the texts and sends none.
    sandbox: Mapped[bool] = mapped_column(Boolean, default=sandbox_active, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh

    def body(self, locale: str) -> str:
        return self.body_en if locale == "en" else self.body_zh
