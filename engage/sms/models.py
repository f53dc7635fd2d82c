from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engage.db import Base, UTCDateTime, utcnow


class MessageStatus(StrEnum):
    QUEUED = "queued"  # committed; a job is enqueued after the commit, or the sweeper enqueues one
    SENDING = "sending"  # claimed by a worker, gateway call under way
    SENT = "sent"  # accepted by the gateway, its id recorded
    FAILED = "failed"  # refused for good
    SANDBOX = "sandbox"  # caused by a sandbox token: recorded, never sent (engage.sms.sandbox)


class DeliveryStatus(StrEnum):
    """What the gateway's status callbacks last said (after `sent`): the network's side of the story."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


class SmsMessage(Base):
    __tablename__ = "sms_messages"
    # One text per resident per notice: the fan-out inserts with ON CONFLICT DO NOTHING on this.
    __table_args__ = (
        UniqueConstraint("notice_id", "resident_id", name="uq_sms_messages_notice_id_resident_id"),
    )

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
    # A text queued again after a transient refusal waits until then; the sweeper honours it too.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    delivery_status: Mapped[str | None] = mapped_column(String(16))  # a DeliveryStatus
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundMessage(Base):
    """A text someone sent us. The gateway's id makes a redelivered webhook do nothing. The number and
    the words are personal data: organizers read them through /api/v1/inbound-messages (numbers masked
    unless revealed, each reveal audited), and deleting a resident blanks them."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    handler: Mapped[str] = mapped_column(String(32), default="")  # which handler took it, for operators
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sender: Mapped[str | None] = mapped_column(String(20), index=True)  # E.164; None: not a phone number
    body: Mapped[str | None] = mapped_column(Text)  # None for texts received before bodies were kept
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))


class OptOut(Base):
    """A number that asked for no more texts (STOP, TD, 退订...), whether it belongs to a resident or
    not, until it sends START. The number itself is kept: an opt-out cannot be honoured without it.
    A resident's own `sms_opt_out_at` is kept in step, for the queries that pick recipients."""

    __tablename__ = "sms_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164; never log it
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
