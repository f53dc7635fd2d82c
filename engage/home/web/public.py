"""Pages for everyone: the front page, the language switch and the text size."""

from __future__ import annotations

from litestar import Controller, MediaType, get
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from engage.accounts.web.organizer import safe_next
from engage.i18n import LOCALES, parse_locale
from engage.residents.models import Community, Resident
from engage.web.deps import DB


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
        response = Redirect(safe_next(next))
        if locale in LOCALES:
            response.cookies.append(Cookie(key="lang", value=locale, max_age=365 * 86400, samesite="lax"))
        return response

    @get("/text/{size:str}", media_type=MediaType.HTML)
    async def text_size(self, size: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:
        response = Redirect(safe_next(next))
        if size in ("large", "normal"):
            response.cookies.append(Cookie(key="text", value=size, max_age=365 * 86400, samesite="lax"))
        return response
