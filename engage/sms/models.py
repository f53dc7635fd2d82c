from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engage.db import Base, UTCDateTime, utcnow


class MessageStatus(StrEnum):
    QUEUED = "queued"  # committed, job enqueued
    SENDING = "sending"  # claimed by a worker, gateway call under way
    SENT = "sent"  # accepted by the gateway, its id recorded
    FAILED = "failed"  # refused for good


class SmsMessage(Base):
    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.QUEUED, index=True)
    gateway_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundMessage(Base):
    """A text someone sent us, kept by the gateway's id alone so that a redelivered webhook is
    recognised and does nothing. Neither the number nor the body is stored: both are personal data."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    handler: Mapped[str] = mapped_column(String(32), default="")  # which handler took it, for operators
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
