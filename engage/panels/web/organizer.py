"""Organizer pages of the grand-jury panels: the list, and one panel with its status, quotas, the live
feasibility check, the freeze / draw / invite buttons (staff; auditors read) and the members by
pseudonym (never a phone). The buttons call the same services as /api/v1/panels."""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from engage.accounts.guards import any_organizer, staff
from engage.accounts.models import Role
from engage.audit.services import organizer_actor
from engage.errors import Conflict, EngageError, InvalidInput
from engage.i18n import gettext as _
from engage.panels import labels, services
from engage.panels.models import SEATED, MemberStatus, Panel, PanelStatus
from engage.panels.seats import services as seats
from engage.panels.web import api
from engage.residents.labels import N_
from engage.web.deps import DB

STAFF_ROLES = (Role.ADMIN.value, Role.ORGANIZER.value)
MAX_PART = 200
# One table per state machine: a panel and a member both have a "drawn" state, and one shared table
# once showed every drawn panel as "drawn, not invited yet".
PANEL_STATUS_LABELS = {
    PanelStatus.DRAFT: N_("Draft"),
    PanelStatus.FROZEN: N_("Frozen"),
    PanelStatus.DRAWN: N_("Drawn"),
    PanelStatus.CLOSED: N_("Closed"),
}
MEMBER_STATUS_LABELS = {
    MemberStatus.POOL: N_("In the pool"),
    MemberStatus.EXCLUDED: N_("Excluded"),
    MemberStatus.DRAWN: N_("Drawn, not invited yet"),
    MemberStatus.INVITED: N_("Invited, no answer yet"),
    MemberStatus.CONFIRMED: N_("Confirmed"),
    MemberStatus.DECLINED: N_("Declined"),
    MemberStatus.REPLACED: N_("No answer, replaced"),
    MemberStatus.WITHDRAWN: N_("Withdrew"),
    MemberStatus.ATTENDED: N_("Attended"),
}


def panel_status_label(status: str) -> str:
    return _(PANEL_STATUS_LABELS[PanelStatus(status)])


def member_status_label(status: str) -> str:
    return _(MEMBER_STATUS_LABELS[MemberStatus(status)])


def seed_parts(raw: str) -> list[str]:
    """One seed part per line, in the published order; blank lines are ignored."""
    parts = [line.strip() for line in raw.splitlines() if line.strip()]
    if not parts:
        raise InvalidInput("seed_parts", _("Enter the revealed seed parts, one per line."))
    if len(parts) > services.MAX_SEED_PARTS:
        raise InvalidInput("seed_parts", _("At most %(n)s seed parts.") % {"n": services.MAX_SEED_PARTS})
    if any(len(p) > MAX_PART or any(unicodedata.category(c) == "Cc" for c in p) for p in parts):
        raise InvalidInput("seed_parts", _("A seed part is too long or holds control characters."))
    return parts


def label_context(communities: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """What templates need to name categories, values and reasons in the reader's language."""
    return {
        "category_label": labels.category_label,
        "value_label": lambda category, value: labels.value_label(category, value, communities),
        "reason_label": labels.reason_label,
    }


def quota_rows(panel: Panel) -> list[dict[str, Any]]:
    """The organizer's quotas, with the seats each holds now once the panel is drawn."""
    seated = [m for m in panel.members if m.status in SEATED]
    categories = (panel.record or {}).get("pool", {}).get("categories", [])
    rows = []
    for row in panel.quotas:
        filled = None
        if panel.record is not None and row["category"] in categories:
            at = categories.index(row["category"])
            filled = sum(1 for m in seated if m.values[at] == row["feature"])
        rows.append({**row, "seated": filled})
    return rows


async def _detail(
    request: Request[Any, Any, Any],
    db: DB,
    panel_id: int,
    problem: EngageError | None = None,
    headline: str | None = None,
) -> Template:
    panel = await services.get_panel(db, panel_id)
    report = live = None
    if panel.status == PanelStatus.DRAFT:
        panel, live, report = await services.feasibility(
            db, panel_id, api.candidate_source(request.app.state)
        )
    shown = [m for m in panel.members if m.status not in (MemberStatus.POOL, MemberStatus.EXCLUDED)]
    counts = await seats.service_counts(db, [m.resident_id for m in shown if m.resident_id])
    by_id = {m.id: m.pseudonym for m in panel.members}
    context = {
        "panel": panel,
        "panel_status_label": panel_status_label,
        "member_status_label": member_status_label,
        "quotas": quota_rows(panel),
        "report": report,
        "pool_size": len(live.pool.people) if live else None,
        "served_enough": len(live.served_enough) if live else len(panel.exclusions.get("prior_service", [])),
        "by_status": Counter(m.status for m in panel.members),
        "members": sorted(shown, key=lambda m: (m.replacement_for_id is not None, m.ticket)),
        "service": {m.id: counts.get(m.resident_id or 0, 0) for m in shown},
        "replaced": by_id,
        "may_write": request.user.role in STAFF_ROLES,
        "problem": problem,
        "headline": headline,
        "max_seed_parts": services.MAX_SEED_PARTS,
        "conflicts": services.conflict_exclusions(panel)
        if panel.prepared
        else (live.conflicts if live else []),
        **label_context(await services.community_names(db)),
    }
    status = problem.status_code if problem else 200
    return Template("pages/organizer/panels/detail.html", context=context, status_code=status)


class PanelPages(Controller):
    path = "/organizer/panels"
    include_in_schema = False
    guards = [any_organizer]

    @get("/", name="panels:list")
    async def list_page(self, db: DB) -> Template:
        panels = await services.list_panels(db, 200, 0)
        context = {"panels": panels, "panel_status_label": panel_status_label}
        return Template("pages/organizer/panels/list.html", context=context)

    @get("/{panel_id:int}", name="panels:detail")
    async def detail(self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]) -> Template:
        return await _detail(request, db, panel_id)

    @get("/{panel_id:int}/record.json", name="panels:record")
    async def record(self, db: DB, panel_id: FromPath[int]) -> Response[dict[str, Any]]:
        """The public draw record (before the draw, its prepared half with the commitment)."""
        panel = await services.get_panel(db, panel_id)
        record = panel.record or panel.prepared
        if record is None:
            raise Conflict("status", _("The record exists once the panel is frozen."))
        disposition = f'inline; filename="panel-{panel.id}-record.json"'
        return Response(record, media_type=MediaType.JSON, headers={"Content-Disposition": disposition})

    @post("/{panel_id:int}/freeze", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def freeze(
        self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]
    ) -> Redirect | Template:
        try:
            await services.freeze(
                db, organizer_actor(request.user.id), panel_id, api.candidate_source(request.app.state)
            )
        except services.LotteryFailed as problem:
            await db.rollback()
            headline = _("The lottery could not be computed; the panel stays a draft.")
            return await _detail(request, db, panel_id, problem, headline)
        except (InvalidInput, Conflict) as problem:
            await db.rollback()
            return await _detail(request, db, panel_id, problem)
        return Redirect(f"/organizer/panels/{panel_id}", status_code=303)

    @post("/{panel_id:int}/draw", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def draw(
        self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]
    ) -> Redirect | Template:
        form = await request.form()
        try:
            parts = seed_parts(str(form.get("seed_parts") or ""))
            await services.draw(db, organizer_actor(request.user.id), panel_id, parts)
        except (InvalidInput, Conflict) as problem:
            await db.rollback()
            return await _detail(request, db, panel_id, problem)
        return Redirect(f"/organizer/panels/{panel_id}", status_code=303)

    @post("/{panel_id:int}/invite", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def invite(
        self, request: Request[Any, Any, Any], db: DB, state: State, panel_id: FromPath[int]
    ) -> Redirect | Template:
        try:
            messages = await seats.invite(db, state.settings, organizer_actor(request.user.id), panel_id)
        except Conflict as problem:
            await db.rollback()
            return await _detail(request, db, panel_id, problem)
        await api.send_texts(state, messages)
        await api.schedule_deadline(state, await services.get_panel(db, panel_id))
        return Redirect(f"/organizer/panels/{panel_id}", status_code=303)
