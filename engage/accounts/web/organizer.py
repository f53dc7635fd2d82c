"""The second factor on pages: the code step after the password, and enrolment (from the console, or
before anything else for an admin in production who has none).

Between the password and the code the session holds only a pending sign-in (who, under which session
version, since when, where to go next): no page treats it as signed in.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from engage import ratelimit
from engage.accounts import totp
from engage.accounts.guards import any_organizer, second_factor_missing, session_for
from engage.accounts.models import Organizer
from engage.accounts.services import enrol_totp, record_login, spend_totp_code
from engage.i18n import gettext as _
from engage.settings import Settings
from engage.web.deps import DB
from engage.web.sessions import rotate_session

PENDING = "pending_organizer_id"
PENDING_VERSION = "pending_version"
PENDING_SINCE = "pending_since"
PENDING_NEXT = "pending_next"
CANDIDATE = "totp_candidate"  # a secret shown for enrolment, not yet confirmed by a code
PENDING_SECONDS = 5 * 60  # the code must follow the password within this
CODE_WINDOW = 15 * 60
FREE_CODE_FAILURES = 5  # then a growing back-off on this organizer's code step


async def second_factor_or_signed_in(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    organizer: Organizer,
    next_path: str,
) -> Redirect:
    """After a right password: sign in, or ask for the code, or (an admin in production without a
    second factor) enrol first."""
    rotate_session(request)
    if not second_factor_missing(organizer, settings, {}):
        await record_login(db, organizer)
        await db.commit()
        request.set_session(session_for(organizer))
        return Redirect(next_path if next_path != "/" else "/organizer")
    pending: dict[str, Any] = {
        PENDING: organizer.id,
        PENDING_VERSION: organizer.session_version,
        PENDING_SINCE: time.time(),
        PENDING_NEXT: next_path,
    }
    if organizer.totp_secret:
        request.set_session(pending)
        return Redirect("/login/code")
    request.set_session({**pending, CANDIDATE: totp.new_secret()})
    return Redirect("/login/enrol")


async def _pending(request: Request[Any, Any, Any], db: AsyncSession) -> Organizer | None:
    session = request.session if isinstance(request.scope.get("session"), dict) else {}
    organizer_id, since = session.get(PENDING), session.get(PENDING_SINCE)
    if not isinstance(organizer_id, int) or not isinstance(since, float | int):
        return None
    if time.time() - since > PENDING_SECONDS:
        return None
    organizer = await db.get(Organizer, organizer_id)
    if organizer is None or not organizer.active or organizer.session_version != session.get(PENDING_VERSION):
        return None
    return organizer


async def _signed_in(request: Request[Any, Any, Any], db: AsyncSession, organizer: Organizer) -> Redirect:
    next_path = str(request.session.get(PENDING_NEXT) or "/organizer")
    await record_login(db, organizer)
    await db.commit()
    rotate_session(request)
    request.set_session(session_for(organizer, second_factor=True))
    return Redirect(next_path if next_path != "/" else "/organizer")


def _enrol_context(organizer: Organizer, secret: str, action: str, errors: dict[str, str]) -> dict[str, Any]:
    return {
        "organizer": organizer,
        "secret": totp.grouped(secret),
        "uri": totp.uri(secret, organizer.email),
        "action": action,
        "errors": errors,
        "enrolled": False,
    }


class SecondFactorPages(Controller):
    include_in_schema = False

    @get("/login/code", media_type=MediaType.HTML)
    async def code_form(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        if await _pending(request, db) is None:
            return Redirect("/login")
        return Template("pages/login_code.html", context={"errors": {}})

    @post("/login/code", media_type=MediaType.HTML)
    async def code(self, request: Request[Any, Any, Any], db: DB, state: State) -> Template | Redirect:
        organizer = await _pending(request, db)
        if organizer is None or not organizer.totp_secret:
            return Redirect("/login")
        key = f"login:totp:{organizer.id}"
        wait = await ratelimit.locked_for(state.redis, key)
        if wait:
            errors = {"code": _("Too many attempts.")}
            headers = {"Retry-After": str(wait)}
            return Template(
                "pages/login_code.html", context={"errors": errors}, status_code=429, headers=headers
            )
        form = await request.form()
        if await spend_totp_code(db, organizer, str(form.get("code", ""))):
            await ratelimit.succeeded(state.redis, key)
            return await _signed_in(request, db, organizer)
        await ratelimit.failed(
            state.redis, key, free=FREE_CODE_FAILURES, base=30, cap=CODE_WINDOW, window=CODE_WINDOW
        )
        errors = {"code": _("This code is not right. Enter the 6 digits your app shows now.")}
        return Template("pages/login_code.html", context={"errors": errors}, status_code=400)

    @get("/login/enrol", media_type=MediaType.HTML)
    async def enrol_form(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        organizer = await _pending(request, db)
        secret = request.session.get(CANDIDATE) if organizer else None
        if organizer is None or not isinstance(secret, str):
            return Redirect("/login")
        return Template(
            "pages/organizer/totp.html", context=_enrol_context(organizer, secret, "/login/enrol", {})
        )

    @post("/login/enrol", media_type=MediaType.HTML)
    async def enrol_at_sign_in(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        organizer = await _pending(request, db)
        secret = request.session.get(CANDIDATE) if organizer else None
        if organizer is None or not isinstance(secret, str):
            return Redirect("/login")
        form = await request.form()
        if await enrol_totp(db, organizer, secret, str(form.get("code", ""))):
            return await _signed_in(request, db, organizer)
        errors = {"code": _("This code is not right. Enter the 6 digits your app shows now.")}
        context = _enrol_context(organizer, secret, "/login/enrol", errors)
        return Template("pages/organizer/totp.html", context=context, status_code=400)

    @get("/organizer/totp", guards=[any_organizer], media_type=MediaType.HTML)
    async def console_form(self, request: Request[Any, Any, Any]) -> Template:
        organizer = request.user
        if organizer.totp_secret:
            return Template("pages/organizer/totp.html", context={"organizer": organizer, "enrolled": True})
        secret = request.session.get(CANDIDATE)
        if not isinstance(secret, str):
            secret = totp.new_secret()
            request.set_session({**request.session, CANDIDATE: secret})
        return Template(
            "pages/organizer/totp.html", context=_enrol_context(organizer, secret, "/organizer/totp", {})
        )

    @post("/organizer/totp", guards=[any_organizer], media_type=MediaType.HTML)
    async def enrol_from_console(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        organizer = await db.get(Organizer, request.user.id)
        secret = request.session.get(CANDIDATE)
        if organizer is None or organizer.totp_secret or not isinstance(secret, str):
            return Redirect("/organizer/totp")
        form = await request.form()
        if await enrol_totp(db, organizer, secret, str(form.get("code", ""))):
            await db.commit()
            rotate_session(request)  # other sessions ended with the version; this one goes on
            request.set_session(session_for(organizer, second_factor=True))
            return Redirect("/organizer/totp")
        errors = {"code": _("This code is not right. Enter the 6 digits your app shows now.")}
        context = _enrol_context(organizer, secret, "/organizer/totp", errors)
        return Template("pages/organizer/totp.html", context=context, status_code=400)
