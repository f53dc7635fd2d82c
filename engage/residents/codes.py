"""One-time codes, as plain functions: make one, digest it, compare it. No storage here."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from engage.i18n import N_

CODE_LENGTH = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5  # wrong tries that burn a code
# (limit, window seconds) per number: 1 a minute, 5 an hour, 10 a day
PER_NUMBER_LIMITS = ((1, 60), (5, 3600), (10, 86400))


# The API takes a code as it was texted: the digits and nothing around them (pages also take spaces and
# full-width digits, through clean_code).
API_CODE_PATTERN = rf"^[0-9]{{{CODE_LENGTH}}}$"
CODE_FORM = N_("Enter the 6-digit code from the text.")


def is_api_code(raw: str) -> bool:
    """`raw` matches API_CODE_PATTERN as JSON Schema reads it (Python's `$` would let a final newline in)."""
    return re.fullmatch(f"[0-9]{{{CODE_LENGTH}}}", raw) is not None


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
