"""The organizer builds a panel without the API: the panel's form (new and edit: title, seats, date,
place, reply deadline, the cap on repeat service, the selection it serves) and the quota editor, which
lists every category's values with the pool's count beside the min / max boxes and checks feasibility
as the organizer types (htmx posts the boxes to `.../quotas/check`, which answers the verdict alone).
Staff only; the same services as /api/v1/panels."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from engage.accounts.guards import OrganizerPages, staff
from engage.audit.services import organizer_actor
from engage.db import utcnow
from engage.errors import Conflict, EngageError
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.panels import composition, labels, services
from engage.panels.editor import forms
from engage.panels.models import Panel, PanelStatus
from engage.panels.web import api
from engage.panels.web.organizer import feasibility_words, label_context
from engage.residents.categories import quota_values
from engage.residents.models import Community
from engage.web.deps import DB
from engage.web.flash import flash

FORM = "pages/organizer/panels/form.html"
QUOTAS = "pages/organizer/panels/quotas.html"
CHECK = "pages/organizer/panels/_feasibility.html"


def _links(state: State) -> Any:
    """The selections domain's functions for the linked selection (app state `selection_links`)."""
    return state.get("selection_links")


async def _choices(db: DB, state: State, panel_id: int | None) -> tuple[list[tuple[int, str]], int | None]:
    links = _links(state)
    if links is None:
        return [], None
    offered, current = await links.choices(db, panel_id)
    zh = current_locale.get() == "zh_CN"
    return [(c.id, c.title_zh if zh else c.title_en) for c in offered], current


def _raw_of(panel: Panel, tz: Any, selection_id: int | None) -> dict[str, str]:
    deadline = panel.reply_deadline.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if panel.reply_deadline else ""
    return {
        "title": panel.title,
        "size": str(panel.size),
        "event_date": panel.event_date,
        "place": panel.place,
        "reply_deadline": deadline,
        "max_prior_service": str(panel.max_prior_service or ""),
        "selection_id": str(selection_id or ""),
    }


def _form_page(
    panel: Panel | None,
    raw: dict[str, str],
    errors: dict[str, str],
    selections: list[tuple[int, str]],
    status_code: int = 200,
) -> Template:
    context = {
        "panel": panel,
        "raw": raw,
        "errors": errors,
        "selections": [(str(i), title) for i, title in selections],
        "fixed": panel is not None and panel.status != PanelStatus.DRAFT,
    }
    return Template(FORM, context=context, status_code=status_code)


async def _values(db: DB) -> dict[str, list[str]]:
    codes = (await db.execute(select(Community.code))).scalars().all()
    return quota_values(codes)


class PanelEditor(OrganizerPages):
    path = "/organizer/panels"
    guards = [staff]

    @get("/new", name="panels:new", media_type=MediaType.HTML)
    async def new_form(self, db: DB, state: State) -> Template:
        selections, _current = await _choices(db, state, None)
        return _form_page(None, {}, {}, selections)

    @post("/new", media_type=MediaType.HTML, status_code=303)
    async def create(self, request: Request[Any, Any, Any], db: DB, state: State) -> Redirect | Template:
        selections, _current = await _choices(db, state, None)
        form = forms.panel_form(
            await request.form(), state.settings.tz, utcnow(), [s for s, _t in selections]
        )
        if form.errors:
            return _form_page(None, form.raw, form.errors, selections, 400)
        actor = organizer_actor(request.user.id)
        values = dict(form.values)
        selection_id = values.pop("selection_id")
        panel = await services.create_panel(db, actor, algorithm="leximin", **values)
        problem = await _link(db, state, actor, panel.id, selection_id)
        if problem is not None:
            flash(request, problem.detail, "error")
        flash(
            request,
            _("The panel “%(title)s” is saved as a draft. Set its quotas next.") % {"title": panel.title},
        )
        return Redirect(f"/organizer/panels/{panel.id}/quotas", status_code=303)

    @get("/{panel_id:int}/edit", name="panels:edit", media_type=MediaType.HTML)
    async def edit_form(self, db: DB, state: State, panel_id: FromPath[int]) -> Template:
        panel = await services.get_panel(db, panel_id)
        selections, current = await _choices(db, state, panel_id)
        return _form_page(panel, _raw_of(panel, state.settings.tz, current), {}, selections)

    @post("/{panel_id:int}/edit", media_type=MediaType.HTML, status_code=303)
    async def update(
        self, request: Request[Any, Any, Any], db: DB, state: State, panel_id: FromPath[int]
    ) -> Redirect | Template:
        panel = await services.get_panel(db, panel_id)
        selections, current = await _choices(db, state, panel_id)
        raw = dict(await request.form())
        if panel.status != PanelStatus.DRAFT:  # the boxes the lottery used are shown, not sent
            raw |= {"size": str(panel.size), "max_prior_service": str(panel.max_prior_service or "")}
        form = forms.panel_form(raw, state.settings.tz, utcnow(), [s for s, _t in selections])
        if form.errors:
            return _form_page(panel, form.raw, form.errors, selections, 400)
        actor = organizer_actor(request.user.id)
        values = dict(form.values)
        selection_id = values.pop("selection_id")
        try:
            panel = await services.update_panel(db, actor, panel_id, values)
        except Conflict as problem:
            await db.rollback()
            errors = {problem.field or "title": problem.detail}
            return _form_page(panel, form.raw, errors, selections, problem.status_code)
        if selection_id != current:
            refused = await _link(db, state, actor, panel_id, selection_id)
            if refused is not None:
                errors = {"selection_id": forms.field_label("selection_id") + _(": ") + refused.detail}
                return _form_page(panel, form.raw, errors, selections, refused.status_code)
        if panel.status == PanelStatus.DRAWN and panel.reply_deadline is not None:
            await api.schedule_deadline(state, panel)  # the reminder and the lapse follow the deadline
        flash(request, _("The panel's details are saved."))
        return Redirect(f"/organizer/panels/{panel_id}", status_code=303)

    @get("/{panel_id:int}/quotas", name="panels:quotas", media_type=MediaType.HTML)
    async def quota_editor(
        self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]
    ) -> Template:
        panel = await services.get_panel(db, panel_id)
        services.require_status(panel, PanelStatus.DRAFT)
        return await _editor(request, db, panel, forms.quota_inputs(panel.quotas), {}, panel.quotas)

    @post("/{panel_id:int}/quotas", media_type=MediaType.HTML, status_code=303)
    async def save_quotas(
        self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]
    ) -> Redirect | Template:
        panel = await services.get_panel(db, panel_id)
        form = await _quota_form(request, db, panel)
        if form.errors:
            return await _editor(request, db, panel, form.raw, form.errors, form.rows, 400)
        try:
            await services.set_quotas(db, organizer_actor(request.user.id), panel_id, form.rows)
        except EngageError as problem:
            await db.rollback()
            errors = {"quotas": problem.detail}
            return await _editor(request, db, panel, form.raw, errors, form.rows, problem.status_code)
        flash(request, _("The quotas are saved."))
        return Redirect(f"/organizer/panels/{panel_id}", status_code=303)

    @post("/{panel_id:int}/quotas/check", name="panels:quotas-check", media_type=MediaType.HTML)
    async def check(self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]) -> Template:
        """The verdict on the boxes as they are now, not saved: what htmx swaps in as the organizer types."""
        panel = await services.get_panel(db, panel_id)
        form = await _quota_form(request, db, panel)
        context = await _verdict(request, db, panel, form.rows, form.errors)
        return Template(CHECK, context=context)


async def _link(
    db: DB, state: State, actor: str, panel_id: int, selection_id: int | None
) -> EngageError | None:
    links = _links(state)
    if links is None:
        return None
    try:
        await links.link(db, actor, panel_id, selection_id)
    except EngageError as problem:
        await db.rollback()
        return problem
    return None


async def _quota_form(request: Request[Any, Any, Any], db: DB, panel: Panel) -> forms.QuotaForm:
    names = label_context(await services.community_names(db))["value_label"]
    raw = dict(await request.form())
    return forms.quota_form(raw, await _values(db), panel.size, names)


async def _verdict(
    request: Request[Any, Any, Any], db: DB, panel: Panel, rows: list[dict[str, Any]], errors: dict[str, str]
) -> dict[str, Any]:
    label = label_context(await services.community_names(db))["value_label"]
    context: dict[str, Any] = {"errors": errors, "report": None, "findings": [], "relaxation_words": []}
    if errors:
        return context
    _panel, live, report = await services.feasibility(
        db, panel.id, api.candidate_source(request.app.state), rows
    )
    context |= {"report": report, **feasibility_words(rows, live, report, label)}
    return context


async def _editor(
    request: Request[Any, Any, Any],
    db: DB,
    panel: Panel,
    raw: dict[str, str],
    errors: dict[str, str],
    rows: list[dict[str, Any]],
    status_code: int = 200,
) -> Template:
    names = label_context(await services.community_names(db))
    live = await services.live_pool(db, panel, api.candidate_source(request.app.state), rows)
    pool = composition.pool_counts(live.volunteers, live.excluded)
    values = composition.value_rows(await _values(db), rows, pool, None, names["value_label"])
    by_category: dict[str, list[composition.ValueRow]] = {}
    for row in values:
        by_category.setdefault(row.category, []).append(row)
    context = {
        "panel": panel,
        "raw": raw,
        "errors": errors,
        "categories": by_category,
        "category_label": labels.category_label,
        "input_name": forms.input_name,
        "eligible": len(live.pool.people) - len(live.excluded),
        **await _verdict(request, db, panel, rows, errors),
    }
    context["errors"] = errors
    return Template(QUOTAS, context=context, status_code=status_code)
