"""Security headers on every response the app sends, errors and unknown paths included (S9, S15).

Pages carry no inline script or style, so the policy allows only this origin's files; no page may be
framed (organizer actions are one-click forms). A path whose parameters include a `token` is a
capability link (ballots, sheets, speeches, evaluations, invitations): whoever has the address may act,
so it is never cached and never sent on as a Referer.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from engage.settings import Settings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers too old to read the policy
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
CAPABILITY = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
HSTS = "max-age=31536000"


def is_capability_link(scope: Scope) -> bool:
    return "token" in (scope.get("path_params") or {})


def security_headers(settings: Settings) -> dict[str, str]:
    headers = dict(ALWAYS)
    if not settings.is_dev and settings.public_base_url.startswith("https://"):
        headers["Strict-Transport-Security"] = HSTS  # a browser remembers it: only when https is sure
    return headers


def before_send_hook(settings: Settings):  # type: ignore[no-untyped-def]
    """A Litestar `before_send` hook: it sees every response start, including those of error handlers."""
    fixed = security_headers(settings)

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in fixed.items():
            if name not in headers:
                headers[name] = value
        if is_capability_link(scope):
            for name, value in CAPABILITY.items():
                headers[name] = value

    return add_headers
