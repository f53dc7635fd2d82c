"""/organizer/communities: the district's communities, a form to add one and one to rename each.
Staff change them; every organizer reads them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from engage.accounts.guards import OrganizerPages, staff
from engage.accounts.models import Role
from engage.audit.services import organizer_actor
from engage.errors import EngageError
from engage.residents.communities import services as communities
from engage.web.deps import DB

TEMPLATE = "pages/organizer/communities.html"
STAFF_ROLES = (Role.ADMIN.value, Role.ORGANIZER.value)


async def _page(
    request: Request[Any, Any, Any],
    db: DB,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    editing: str | None = None,
    status_code: int = 200,
) -> Template:
    listed = await communities.list_communities(db)
    context = {
        "communities": listed,
        "errors": errors or {},
        "values": values or {},
        "editing": editing,
        "done": next((c for c in listed if c.code == request.query_params.get("done")), None),
        "may_write": request.user.role in STAFF_ROLES,
    }
    return Template(TEMPLATE, context=context, status_code=status_code)


def _fields(form: Any, *names: str) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in names}


class CommunityPages(OrganizerPages):
    path = "/organizer/communities"

    @get("/", name="communities:list", media_type=MediaType.HTML)
    async def list_page(self, request: Request[Any, Any, Any], db: DB) -> Template:
        return await _page(request, db)

    @post("/", guards=[staff], media_type=MediaType.HTML, status_code=200)
    async def create(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        values = _fields(await request.form(), "code", "name_zh", "name_en")
        code = values["code"].strip()
        if not code and values["name_en"].strip():  # nobody has to invent a code: one comes from the name
            code = await communities.free_code(db, values["name_en"])
        given = communities.CommunityIn(code, values["name_zh"], values["name_en"])
        try:
            made = await communities.create_community(db, organizer_actor(request.user.id), given)
        except EngageError as error:
            errors = {error.field or "code": error.detail}
            return await _page(request, db, errors=errors, values=values, status_code=error.status_code)
        return Redirect("/organizer/communities?" + urlencode({"done": made.code}), status_code=303)

    @post("/{code:str}", guards=[staff], media_type=MediaType.HTML, status_code=200)
    async def rename(
        self, request: Request[Any, Any, Any], db: DB, code: FromPath[str]
    ) -> Template | Redirect:
        values = _fields(await request.form(), "name_zh", "name_en")
        actor = organizer_actor(request.user.id)
        try:
            await communities.rename_community(db, actor, code[:32], values["name_zh"], values["name_en"])
        except EngageError as error:
            errors = {f"{code}-{error.field}": error.detail}
            page = await _page(request, db, errors=errors, editing=code, status_code=error.status_code)
            return page
        return Redirect("/organizer/communities?" + urlencode({"done": code}), status_code=303)
