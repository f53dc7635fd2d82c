"""Pages for people: the public front page, organizer sign-in, the organizer's desk, language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from engage import ratelimit
from engage.accounts.services import authenticate
from engage.accounts.web.organizer import second_factor_or_signed_in
from engage.audit.services import organizer_actor, record_async
from engage.i18n import LOCALES, parse_locale
from engage.i18n import gettext as _
from engage.residents.models import Community, Resident
from engage.web.deps import DB

LOGIN_WINDOW = 15 * 60
LOGIN_BACKOFF_BASE = 30  # seconds of the first lock; each failure after it doubles the lock


async def _login_wait(state: State, client: str, mail: str, pair: str) -> int | None:
    """Seconds this sign-in must wait, or None. Every try counts against the address; failures lock the
    address and email together with a growing back-off (S12). The email's own ceiling on failures,
    which stops guessing spread over many addresses, holds back only addresses that have failed for
    that email: a guesser elsewhere can never lock the real organizer out of a clean address."""
    limit = state.settings.login_attempts_per_15_minutes
    redis = state.redis
    wait = await ratelimit.hit(redis, f"login:ip:{client}", limit * 5, LOGIN_WINDOW)
    wait = wait or await ratelimit.locked_for(redis, pair)
    if wait is None and await ratelimit.failures(redis, pair):
        wait = await ratelimit.over(redis, f"login:email:{mail}", limit * 10)
    return wait


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker's link must not bounce a signed-in organizer elsewhere.
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    return target


class PublicPages(Controller):
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def home(self, db: DB) -> Template:
        residents = (await db.execute(select(func.count(Resident.id)))).scalar_one()
        communities = (await db.execute(select(func.count(Community.id)))).scalar_one()
        return Template("pages/home.html", context={"residents": residents, "communities": communities})

    @get("/lang/{code:str}", media_type=MediaType.HTML)
    async def switch_language(self, code: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:
        locale = parse_locale(code)
        response = Redirect(_safe_next(next))
        if locale in LOCALES:
            response.cookies.append(Cookie(key="lang", value=locale, max_age=365 * 86400, samesite="lax"))
        return response

    @get("/text/{size:str}", media_type=MediaType.HTML)
    async def text_size(self, size: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:
        response = Redirect(_safe_next(next))
        if size in ("large", "normal"):
            response.cookies.append(Cookie(key="text", value=size, max_age=365 * 86400, samesite="lax"))
        return response


class OrganizerPages(Controller):
    include_in_schema = False

    @get("/login", media_type=MediaType.HTML)
    async def login_form(self, next: FromQuery[str | None] = None) -> Template:
        return Template("pages/login.html", context={"next": _safe_next(next), "errors": {}, "email": ""})

    @post("/login", media_type=MediaType.HTML)
    async def login(self, request: Request[Any, Any, Any], db: DB, state: State) -> Any:
        form = await request.form()
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        next_path = _safe_next(str(form.get("next", "/organizer")))
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = _("Enter your email address.")
        if not password:
            errors["password"] = _("Enter your password.")
        if not errors:
            client = request.client.host if request.client else "unknown"
            limit = state.settings.login_attempts_per_15_minutes
            mail = email.lower()
            pair = f"login:pair:{client}:{mail}"
            wait = await _login_wait(state, client, mail, pair)
            if wait:
                context = {"next": next_path, "email": email, "errors": {"email": _("Too many attempts.")}}
                return Template(
                    "pages/login.html", context=context, status_code=429, headers={"Retry-After": str(wait)}
                )
            organizer = await authenticate(db, email, password)
            if organizer is not None:
                await ratelimit.succeeded(state.redis, pair)
                return await second_factor_or_signed_in(request, db, state.settings, organizer, next_path)
            await ratelimit.failed(
                state.redis, pair, free=limit, base=LOGIN_BACKOFF_BASE, cap=LOGIN_WINDOW, window=LOGIN_WINDOW
            )
            await ratelimit.hit(state.redis, f"login:email:{mail}", 0, LOGIN_WINDOW)  # counts failures only
            errors["password"] = _("Email or password is not right.")
        context = {"next": next_path, "email": email, "errors": errors}
        return Template("pages/login.html", context=context, status_code=400)

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any], db: DB) -> Redirect:
        organizer = request.scope.get("user")
        if organizer is not None:
            await record_async(
                db, organizer_actor(organizer.id), "organizer.logout", "organizer", organizer.id
            )
            await db.commit()
        request.clear_session()
        return Redirect("/")
