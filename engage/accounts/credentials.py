"""Passwords and API tokens: generation, hashing, checking. No database here."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "eng_"  # noqa: S105 - a label, not a secret


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash new passwords with other argon2 parameters (a hash carries its own, so older ones still
    verify). The tests use argon2's cheapest: the production cost is 0.2 s a hash, a third of their CPU."""
    global _hasher
    _hasher = hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Checking a password against this costs as much as checking a real one, so a login for an unknown
# email takes as long as one for a known email.
DUMMY_HASH = hash_password(generate_password())


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
