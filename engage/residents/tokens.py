"""Short-lived signed tokens (a verified phone carried between sign-up steps of the JSON API)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def sign(secret: str, purpose: str, payload: dict[str, Any], lifetime_seconds: int) -> str:
    body = dict(payload, purpose=purpose, exp=int(time.time()) + lifetime_seconds)
    raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{raw}.{mac}"


def unsign(secrets: tuple[str, ...], purpose: str, token: str) -> dict[str, Any] | None:
    """The payload, or None when the token is forged, for another purpose, or expired. `secrets`: the
    current key and the previous ones still accepted."""
    raw, _, mac = token.partition(".")
    # compare_digest refuses non-ASCII text, and a forged token may contain anything: compare bytes.
    if not mac or not any(
        hmac.compare_digest(
            mac.encode(), hmac.new(s.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32].encode()
        )
        for s in secrets
    ):
        return None
    try:
        body: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return None
    if body.get("purpose") != purpose or int(body.get("exp", 0)) < time.time():
        return None
    return body
