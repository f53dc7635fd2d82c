from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engage.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    AUDITOR = "auditor"


class Organizer(Base):
    __tablename__ = "organizers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Sessions remember the version they were signed in under; a password change or a disable bumps
    # it, which ends every session of this organizer on its next request, in every process.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The second factor (engage.accounts.totp): the shared secret (base32) once enrolled, and the last
    # time step a code was accepted for, so that a code seen over a shoulder cannot be used again.
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="organizer")

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class TokenScope(StrEnum):
    READ = "read"  # GET only
    WRITE = "write"  # everything the organizer's role allows


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id", ondelete="CASCADE"), index=True)
    # Only the SHA-256 of the token is kept: a leaked database does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=None
    )  # None: made before expiries
    scope: Mapped[str] = mapped_column(String(8), default=TokenScope.WRITE.value, server_default="write")
    # A sandbox token's requests text nobody: their texts are recorded, never sent (engage.sms.sandbox).
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    organizer: Mapped[Organizer] = relationship(back_populates="tokens")
