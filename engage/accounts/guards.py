"""Who is asking: a bearer token on the API, a server-side session on pages. Guards are tiny."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Controller
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from engage import sandbox
from engage.accounts.models import Organizer, Role, TokenScope
from engage.accounts.services import organizer_for_token
from engage.settings import Environment, Settings
from engage.web.openapi import BEARER

SESSION_KEY = "organizer_id"
SESSION_VERSION = "organizer_version"  # the organizer's session_version at sign-in
SESSION_SECOND_FACTOR = "organizer_totp"  # True when the sign-in included a one-time code
TOKEN_SCOPE = "token_scope"  # noqa: S105 - a key name; in scope["auth"]: what the bearer token may do
SANDBOX = "sandbox"  # in scope["auth"]: the token's texts are recorded, never sent
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_for(organizer: Organizer, *, second_factor: bool = False) -> dict[str, int | bool]:
    """What a signed-in page session holds."""
    return {
        SESSION_KEY: organizer.id,
        SESSION_VERSION: organizer.session_version,
        SESSION_SECOND_FACTOR: second_factor,
    }


def second_factor_missing(organizer: Organizer, settings: Settings, session: dict[str, Any]) -> bool:
    """A page session that lacks a second factor it needs: the organizer has one, or is an admin in
    production (who must enrol before anything else)."""
    if session.get(SESSION_SECOND_FACTOR) is True:
        return False
    return bool(organizer.totp_secret) or (
        organizer.role == Role.ADMIN and settings.engage_env is Environment.PROD
    )


async def _organizer_from_session(scope: Scope) -> Organizer | None:
    session = scope.get("session")
    if not isinstance(session, dict):
        return None
    organizer_id = session.get(SESSION_KEY)
    if not isinstance(organizer_id, int):
        return None
    async with scope["app"].state.db_sessions() as db:
        organizer: Organizer | None = await db.get(Organizer, organizer_id)
    if organizer is None or not organizer.active or session.get(SESSION_VERSION) != organizer.session_version:
        return None  # disabled, or signed in before a password change or a disable
    if second_factor_missing(organizer, scope["app"].state.settings, session):
        return None
    return organizer


async def _organizer_from_token(scope: Scope) -> Organizer | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                async with scope["app"].state.db_sessions() as db:
                    found = await organizer_for_token(db, token.strip())
                if found is None:
                    return None
                scope["auth"] = {TOKEN_SCOPE: found.scope, SANDBOX: found.sandbox}
                return found.organizer
    return None


class IdentifyOrganizer(ASGIMiddleware):
    """Sets scope["user"] to the organizer (or None). It never refuses anything: guards do."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope["path"]
        if path.startswith("/api/"):
            scope["user"] = await _organizer_from_token(scope)
            auth = scope.get("auth")
            entered = sandbox.enter(isinstance(auth, dict) and bool(auth.get(SANDBOX)))
            try:
                await next_app(scope, receive, send)
            finally:
                sandbox.leave(entered)
            return
        elif path.startswith(("/static/", "/healthz", "/readyz", "/metrics", "/schema")):
            scope["user"] = None
        else:
            scope["user"] = await _organizer_from_session(scope)
        await next_app(scope, receive, send)


def requires(*roles: Role) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    allowed = {role.value for role in roles}

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        organizer = connection.scope.get("user")
        if organizer is None:
            raise NotAuthorizedException("sign in first (a bearer token on /api/v1)")
        if organizer.role not in allowed:
            raise PermissionDeniedException(f"needs one of the roles: {', '.join(sorted(allowed))}")
        auth = connection.scope.get("auth")
        if (
            isinstance(auth, dict)
            and auth.get(TOKEN_SCOPE) == TokenScope.READ
            and connection.scope.get("method") not in SAFE_METHODS
        ):
            raise PermissionDeniedException("this token may only read (scope read)")

    return guard


any_organizer = requires(Role.ADMIN, Role.ORGANIZER, Role.AUDITOR)
staff = requires(Role.ADMIN, Role.ORGANIZER)
admin_only = requires(Role.ADMIN)


class OrganizerApi(Controller):
    """A controller of the organizers' API: every operation takes a bearer token and any organizer role
    may call it; handlers that change things add `guards=[staff]`."""

    security = BEARER
    guards = [any_organizer]


class OrganizerPages(Controller):
    """A controller of the organizers' pages: left out of the API document, open to any organizer role;
    controllers of steps that change things set `guards = [staff]`."""

    include_in_schema = False
    guards = [any_organizer]
