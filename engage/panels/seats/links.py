"""The personal link in an invitation: `/j/<token>`, where the token names the member and is signed.

token = base36(member id) + "-" + base64url(HMAC-SHA256(key, "panel-link:" + member id)[:9])

About 16 characters, so the link fits in a text. Nothing is stored: the same token can be written into
the invitation and the reminder, and whether it still works depends only on the member's status (an
answered, replaced or closed invitation shows what happened instead of buttons). Changing the secret
key invalidates every link sent, unless the old key stays in SECRET_KEY_FALLBACKS. Pure: no web, no database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

MAC_BYTES = 9  # 72 bits: guessing a valid token is hopeless, and the link stays short
_TOKEN = re.compile(r"^([0-9a-z]{1,12})-([A-Za-z0-9_-]{12})$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
        if number == 0:
            return out


def _mac(key: str, member_id: int) -> str:
    digest = hmac.new(key.encode(), f"panel-link:{member_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode()


def make_token(key: str, member_id: int) -> str:
    if member_id < 1:
        raise ValueError("member ids start at 1")
    return f"{_base36(member_id)}-{_mac(key, member_id)}"


def read_token(keys: tuple[str, ...], token: str) -> int | None:
    """The member id a token names, or None when it is malformed or its signature does not match."""
    found = _TOKEN.match(token)
    if found is None:
        return None
    member_id = int(found.group(1), 36)
    if (
        member_id < 1
        or _base36(member_id) != found.group(1)
        or not any(hmac.compare_digest(found.group(2), _mac(key, member_id)) for key in keys)
    ):
        return None
    return member_id


def link(base_url: str, key: str, member_id: int) -> str:
    return f"{base_url.rstrip('/')}/j/{make_token(key, member_id)}"
