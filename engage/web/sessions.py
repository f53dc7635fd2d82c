"""Server-side sessions (in Redis) that get a new id whenever someone signs in, and pages that outlive
a Redis outage.

Litestar's backend keeps whatever session id the browser's cookie names. If that id was planted by
someone else (session fixation), signing in would hand them the signed-in session. `rotate_session`
marks the request; the backend then drops the old stored session and issues a fresh id.

While Redis is away, the public record still reads: public pages (`public_read`) render without a
session. Every other page answers 503 with the app's own page (`RedisGate` checks before the handler
runs, so nothing is half done); the API answers 503 where it needs Redis (`engage.errors`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import ASGIMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, ScopeSession, Send
from redis.exceptions import RedisError

from engage.errors import unavailable

ROTATE = "engage.rotate_session"
FRESH_ID = "engage.fresh_session_id"


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.scope[ROTATE] = True  # type: ignore[literal-required]


# Paths without a session at all (see the session config in create_app).
SESSIONLESS = (
    "/api/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/schema",
    "/static/",
    "/webhooks/",
    "/favicon.ico",
)
# Public pages: read without a session when Redis is away. Forms under them (objecting, nominating)
# are not reads and need Redis for their limits.
PUBLIC_READS = ("/notices", "/selections", "/panels/", "/objections", "/evaluations/", "/lang/", "/text/")
PUBLIC_FORMS = ("/object", "/nominate")


def public_read(scope: Scope) -> bool:
    path = scope["path"]
    if scope.get("method", "GET") not in ("GET", "HEAD"):
        return False
    if path == "/":
        return True
    return path.startswith(PUBLIC_READS) and not any(part in path for part in PUBLIC_FORMS)


class RedisGate(ASGIMiddleware):
    """Before a page that needs Redis: is it there? If not, 503 before the handler does anything.
    A success is trusted for a second, so busy pages cost one PING a second, not one each."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self) -> None:
        self.seen_up = 0.0

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope["path"]
        if (
            not path.startswith(SESSIONLESS)
            and not public_read(scope)
            and time.monotonic() - self.seen_up > 1
        ):
            try:
                await scope["app"].state.redis.ping()
            except RedisError:
                raise unavailable() from None
            self.seen_up = time.monotonic()
        await next_app(scope, receive, send)


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        if connection.scope.get(ROTATE):
            fresh = connection.scope.get(FRESH_ID)
            if fresh is None:
                fresh = self.generate_session_id()
                connection.scope[FRESH_ID] = fresh  # type: ignore[literal-required]
            return str(fresh)
        return super().get_session_id(connection)

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        try:
            return await super().load_from_connection(connection)
        except RedisError:
            if public_read(connection.scope):
                return {}
            raise unavailable() from None

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        old = connection.cookies.get(self.config.key)
        had_session = bool(old) and old != "null"
        if scope_session is not Empty and not scope_session:
            # Nothing to keep: an anonymous page view stores nothing and sets no cookie (each used to
            # leave an 8-hour key in Redis, S14); an emptied session is deleted.
            if not had_session:
                return
            scope_session = Empty
        try:
            if connection.scope.get(ROTATE) and old and had_session:
                await self.delete(old, store=self.config.get_store_from_app(connection.scope["app"]))
            await super().store_in_message(scope_session, message, connection)
        except RedisError:
            # Only a public read gets here with Redis away (RedisGate stops the rest): it stored nothing.
            if not public_read(connection.scope):
                raise


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
