"""`/me/conflicts`: a signed-in resident declares their own conflicts of interest with candidates
(family, household, other) and removes one entered by mistake. The same service as the organizers'
`/api/v1/conflicts` (`engage.panels.conflicts.services`); a declared tie keeps them out of any draw for that
candidate (`engage.panels.conflicts.rules`)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from engage.errors import EngageError
from engage.i18n import gettext as _
from engage.panels.conflicts import services as declarations
from engage.panels.conflicts.rules import TieKind
from engage.residents.labels import N_
from engage.residents.models import Resident
from engage.residents.web.public import RESIDENT
from engage.web.deps import DB

KIND_LABELS = {
    TieKind.FAMILY: N_("Family (spouse, parent, child, sibling or other relative)"),
    TieKind.HOUSEHOLD: N_("Same household"),
    TieKind.OTHER: N_("Other (work, money, or anything that could make me partial)"),
}
FIELD_MESSAGES = {
    "kind": N_("Choose what ties you to the candidate."),
    "candidate": N_("Enter the candidate's name (at most 200 characters)."),
    "note": N_("The note is at most 500 characters, without control characters."),
}


async def _resident(request: Request[Any, Any, Any], db: DB) -> Resident | None:
    resident_id = request.session.get(RESIDENT) if request.session else None
    return await db.get(Resident, resident_id) if isinstance(resident_id, int) else None


async def _page(
    db: DB,
    resident_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Template:
    context = {
        "declared": await declarations.of_resident(db, resident_id),
        "kinds": [(kind.value, _(label)) for kind, label in KIND_LABELS.items()],
        "kind_label": lambda kind: (
            _(KIND_LABELS[TieKind(kind)]) if kind in {k.value for k in TieKind} else kind
        ),
        "errors": errors or {},
        "values": values or {},
        "notice": notice,
    }
    return Template("pages/panels/my_conflicts.html", context=context, status_code=status)


class MyConflictPages(Controller):
    path = "/me/conflicts"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        resident = await _resident(request, db)
        if resident is None:
            return Redirect("/signin")
        return await _page(db, resident.id)

    @post("/", media_type=MediaType.HTML, status_code=200)
    async def declare(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        resident = await _resident(request, db)
        if resident is None:
            return Redirect("/signin")
        form = await request.form()
        values = {name: str(form.get(name) or "") for name in ("kind", "candidate", "note")}
        actor, resident_id = f"resident:{resident.pseudonym}", resident.id  # kept across a rollback
        try:
            await declarations.declare(
                db, actor, resident_id, values["kind"], values["candidate"], values["note"], by_resident=True
            )
        except EngageError as problem:
            await db.rollback()
            field = problem.field or "candidate"
            errors = {field: _(FIELD_MESSAGES.get(field, problem.detail))}
            return await _page(db, resident_id, errors=errors, values=values, status=problem.status_code)
        notice = _("Recorded. You will not be drawn for a panel about this candidate.")
        return await _page(db, resident_id, notice=notice)

    @post("/{conflict_id:int}/remove", media_type=MediaType.HTML, status_code=200)
    async def remove(
        self, request: Request[Any, Any, Any], db: DB, conflict_id: FromPath[int]
    ) -> Template | Redirect:
        resident = await _resident(request, db)
        if resident is None:
            return Redirect("/signin")
        actor = f"resident:{resident.pseudonym}"
        await declarations.remove(db, actor, conflict_id, resident_id=resident.id)
        return await _page(db, resident.id, notice=_("Removed."))
