"""The secret key: how strong it must be, and the per-purpose keys derived from it. Pure functions.

Each use of SECRET_KEY gets its own key, HMAC-SHA256(SECRET_KEY, "engage/" + purpose), so a value
computed for one purpose (a CSRF token, a hashed phone number) can never stand in for another (a
sign-up token, a personal link). Rotation: the new key signs; the keys listed in SECRET_KEY_FALLBACKS
still verify what they signed (tokens, links, codes) until they are removed from the list.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from enum import StrEnum


class Purpose(StrEnum):
    SIGNUP_TOKEN = "signup-token"  # noqa: S105 - a name, not a secret; a verified phone carried between sign-up steps of the API
    PERSONAL_LINK = "personal-link"  # /j/ panel invitation links
    CSRF = "csrf"  # form tokens
    PHONE_HMAC = "phone-hmac"  # one-time code digests, Redis keys naming a number
    CLIENT_HASH = "client-hash"  # keyed client addresses (rating bursts)
    DEV_OUTBOX = "dev-outbox"  # the dev outbox's reply signatures


# Keys that are public: the dev default and the placeholder in .env.example.
KNOWN_KEYS = frozenset({"dev-insecure-secret-key-change-me", "change-me-to-a-long-random-string"})
MIN_LENGTH = 32
# Estimated from the characters' frequencies: `secrets.token_urlsafe(32)` scores about 200, 32 random hex
# digits (`openssl rand -hex 16`) about 110, `aaaa…` 0, a 32-letter phrase of a dozen letters about 90.
MIN_ESTIMATED_BITS = 90


def estimated_bits(key: str) -> float:
    """Length times the Shannon entropy of the key's own character distribution: a rough upper bound
    on what it could hold, enough to refuse `aaaa…`, `abcabc…` and phrases made of a few letters."""
    if not key:
        return 0.0
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    return per_char * len(key)


def _repeats(key: str) -> bool:
    """`abcdabcd…`: a short unit repeated scores well on character counts but holds only the unit."""
    return (key + key).find(key, 1) < len(key)


def weakness(key: str) -> str | None:
    """Why this key must not protect a production server, or None when it may."""
    if key in KNOWN_KEYS:
        return "is a published example value; generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if len(key) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if estimated_bits(key) < MIN_ESTIMATED_BITS or _repeats(key):
        return "looks guessable (too few different characters); use a random value"
    return None


def derive(secret_key: str, purpose: Purpose) -> str:
    return hmac.new(secret_key.encode(), f"engage/{purpose.value}".encode(), hashlib.sha256).hexdigest()
