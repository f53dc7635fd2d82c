"""The organizers' second factor: time-based one-time codes (RFC 6238, what authenticator apps show),
through pyotp. Pure: secrets and codes in, answers out; the database work is in services."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

ISSUER = "Engage"
CODE_DIGITS = 6


def new_secret() -> str:
    """160 random bits in base32, the length RFC 4226 recommends and every app accepts."""
    return pyotp.random_base32()


def uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app takes (typed in, opened on the phone, or as a QR)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime, after: int | None = None) -> int | None:
    """The time step `code` is right for, one step either side of now allowed (a phone's clock is
    rarely exact), or None. Only steps later than `after` count: a code once accepted is spent."""
    code = code.replace(" ", "").strip()
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
