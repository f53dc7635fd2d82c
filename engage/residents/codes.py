"""One-time codes, as plain functions: make one, digest it, compare it. No storage here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

CODE_LENGTH = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5  # wrong tries that burn a code
# (limit, window seconds) per number: 1 a minute, 5 an hour, 10 a day
PER_NUMBER_LIMITS = ((1, 60), (5, 3600), (10, 86400))


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def code_digest(secret: str, phone: str, code: str) -> str:
    """Keyed with the server's secret: a stolen table cannot be brute-forced through 10^6 codes."""
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def matches(secrets: tuple[str, ...], phone: str, code: str, digest: str) -> bool:
    return any(hmac.compare_digest(code_digest(secret, phone, code), digest) for secret in secrets)


def clean_code(raw: str) -> str | None:
    """What people type: spaces, full-width digits. None when it cannot be a code."""
    digits = "".join(ch for ch in raw if not ch.isspace()).translate(
        str.maketrans("０１２３４５６７８９", "0123456789")
    )
    return digits if len(digits) == CODE_LENGTH and digits.isdigit() else None
