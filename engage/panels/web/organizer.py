"""Organizer pages of the grand-jury panels: the list, and one panel with its status, quotas, the live
feasibility check, the freeze / draw / invite buttons (staff; auditors read) and the members by
pseudonym (never a phone). The buttons call the same services as /api/v1/panels."""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from engage.accounts.guards import OrganizerPages
from engage.accounts.models import Role
from engage.errors import Conflict, EngageError, InvalidInput
from engage.i18n import gettext as _
from engage.panels import composition, labels, services
from engage.panels.models import SEATED, MemberStatus, Panel, PanelStatus
from engage.panels.seats import services as seats
from engage.panels.web import api
from engage.residents.labels import N_
from engage.web import charts
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


async def detail_page(
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
    context = {
        "panel": panel,
        "panel_status_label": panel_status_label,
        "member_status_label": member_status_label,
        "quotas": quota_rows(panel),
        "report": report,
        "pool_size": len(live.pool.people) if live else None,
        "served_enough": len(live.served_enough) if live else len(panel.exclusions.get("prior_service", [])),
        **await members_context(db, panel),
        "may_write": request.user.role in STAFF_ROLES,
        "problem": problem,
        "headline": headline,
        "max_seed_parts": services.MAX_SEED_PARTS,
        "conflicts": services.conflict_exclusions(panel)
        if panel.prepared
        else (live.conflicts if live else []),
        **label_context(await services.community_names(db)),
    }
    context |= composition_context(panel, live, context["value_label"])
    context |= feasibility_words(panel.quotas, live, report, context["value_label"])
    status = problem.status_code if problem else 200
    return Template("pages/organizer/panels/detail.html", context=context, status_code=status)


async def members_context(db: DB, panel: Panel) -> dict[str, Any]:
    """The members holding or having held a seat, with their service counts (the live part polls it)."""
    shown = [m for m in panel.members if m.status not in (MemberStatus.POOL, MemberStatus.EXCLUDED)]
    counts = await seats.service_counts(db, [m.resident_id for m in shown if m.resident_id])
    return {
        "member_status_label": member_status_label,
        "by_status": Counter(m.status for m in panel.members),
        "members": sorted(shown, key=lambda m: (m.replacement_for_id is not None, m.ticket)),
        "service": {m.id: counts.get(m.resident_id or 0, 0) for m in shown},
        "replaced": {m.id: m.pseudonym for m in panel.members},
    }


def feasibility_words(
    quotas: list[dict[str, Any]], live: services.LivePool | None, report: Any, label: Any
) -> dict[str, Any]:
    """Why the quotas fail and the smallest change that would work, in the reader's words."""
    if live is None or report is None or report.feasible:
        return {"findings": [], "relaxation_words": []}
    pool = composition.pool_counts(live.volunteers, live.excluded)
    return {
        "findings": composition.findings(report, quotas, pool, labels.category_label, label),
        "relaxation_words": [composition.change_words(c, label) for c in report.relaxation],
    }


def panel_values(panel: Panel, live: services.LivePool | None) -> dict[str, list[str]]:
    """The categories and values the composition shows: before the freeze, every value of every
    category; after it, the categories the lottery used, with the values its pool holds."""
    if live is not None:
        values: dict[str, list[str]] = {}
        for volunteer in live.volunteers:
            for category, value in volunteer.features.items():
                values.setdefault(category, [])
                if value not in values[category]:
                    values[category].append(value)
        return {c: sorted(v) for c, v in values.items()}
    categories = (panel.record or panel.prepared or {}).get("pool", {}).get("categories", [])
    return {c: sorted({m.values[i] for m in panel.members}) for i, c in enumerate(categories)}


def composition_rows(panel: Panel, live: services.LivePool | None, label: Any) -> list[composition.ValueRow]:
    """Quota range, pool and seats per value: the numbers behind the composition chart."""
    values = panel_values(panel, live)
    if live is not None:
        pool = composition.pool_counts(live.volunteers, live.excluded)
        seated = None
    else:
        categories = list(values)
        members = [m for m in panel.members if m.status != MemberStatus.EXCLUDED]
        pool = composition.seated_counts(categories, [m.values for m in members])
        seated = (
            composition.seated_counts(categories, [m.values for m in panel.members if m.status in SEATED])
            if panel.record is not None
            else None
        )
    rows = composition.value_rows(values, panel.quotas, pool, seated, label)
    return [r for r in rows if r.pool or r.min is not None]


def composition_chart(panel: Panel, rows: list[composition.ValueRow]) -> charts.Chart:
    # A value by its own name ("Experts"); with its category only where the name repeats ("Not given").
    twice = Counter(row.label for row in rows)
    shown = []
    for row in rows:
        values = [(_("Volunteers in the pool"), row.pool)]
        if row.seated is not None:
            values.append((_("Seated"), row.seated))
        low = row.min if row.min is not None else 0
        high = row.max if row.max is not None else panel.size
        name = (
            row.label
            if twice[row.label] == 1
            else f"{labels.category_label(row.category)}{_(': ')}{row.label}"
        )
        shown.append(charts.RangeRow(name, low, high, tuple(values)))
    return charts.range_bars(
        _("Quota range, pool and seats per value"),
        shown,
        label_head=_("Value"),
        low_head=_("Min"),
        high_head=_("Max"),
        tones=("neutral", "ok"),
    )


def replies_chart(counts: composition.Replies) -> charts.Chart:
    parts = [
        charts.Part(_("Confirmed"), counts.confirmed, "ok"),
        charts.Part(_("Declined"), counts.declined, "bad"),
        charts.Part(_("No answer, replaced"), counts.no_answer, "warn"),
        charts.Part(_("Waiting for a reply"), counts.waiting, "wait"),
        charts.Part(_("Reserve called, waiting"), counts.reserve_waiting, "info"),
    ]
    return charts.stacked_bars(
        _("Replies to the invitations"),
        [(_("Invitations"), parts)],
        label_head=_("Invitations"),
        total_head=_("Texted"),
        scale_to=counts.invited,
    )


def replies_context(panel: Panel) -> dict[str, Any]:
    counts = composition.replies(panel.members, panel.size)
    return {"panel": panel, "replies": counts, "replies_chart": replies_chart(counts)}


def composition_context(panel: Panel, live: services.LivePool | None, label: Any) -> dict[str, Any]:
    rows = composition_rows(panel, live, label)
    context: dict[str, Any] = {"composition_chart": composition_chart(panel, rows) if rows else None}
    if panel.status in (PanelStatus.DRAWN, PanelStatus.CLOSED):
        context |= replies_context(panel)
    return context


class PanelPages(OrganizerPages):
    path = "/organizer/panels"

    @get("/", name="panels:list")
    async def list_page(self, request: Request[Any, Any, Any], db: DB) -> Template:
        panels = await services.list_panels(db, 200, 0)
        may_write = request.user.role in STAFF_ROLES
        context = {"panels": panels, "panel_status_label": panel_status_label, "may_write": may_write}
        return Template("pages/organizer/panels/list.html", context=context)

    @get("/{panel_id:int}", name="panels:detail")
    async def detail(self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]) -> Template:
        return await detail_page(request, db, panel_id)

    @get("/{panel_id:int}/replies", name="panels:replies", media_type=MediaType.HTML)
    async def replies(self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]) -> Template:
        """The replies' progress bar alone: the panel page polls it (htmx) while answers arrive."""
        panel = await services.get_panel(db, panel_id)
        context = replies_context(panel) | await members_context(db, panel)
        context["may_write"] = request.user.role in STAFF_ROLES
        return Template("pages/organizer/panels/_replies.html", context=context)

    @get("/{panel_id:int}/record.json", name="panels:record")
    async def record(self, db: DB, panel_id: FromPath[int]) -> Response[dict[str, Any]]:
        """The public draw record (before the draw, its prepared half with the commitment)."""
        panel = await services.get_panel(db, panel_id)
        record = panel.record or panel.prepared
        if record is None:
            raise Conflict("status", _("The record exists once the panel is frozen."))
        disposition = f'inline; filename="panel-{panel.id}-record.json"'
        return Response(record, media_type=MediaType.JSON, headers={"Content-Disposition": disposition})
