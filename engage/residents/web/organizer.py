"""Organizer pages about residents: the filtered list with counts, one resident's file (with a button
that shows the full number and audits it), the masked CSV export and the roster upload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import FromPath
from litestar.response import Template

from engage.accounts.guards import OrganizerPages, staff
from engage.audit.services import organizer_actor
from engage.errors import Conflict, InvalidInput
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.residents import labels, queries
from engage.residents.labels import N_
from engage.residents.models import ParticipantType, Resident, ResidentRoleKind
from engage.residents.queries import COUNT_BY, ResidentFilter
from engage.residents.roster import (
    CHINESE_COLUMNS,
    COLUMNS,
    MAX_ROWS,
    ROSTER_TYPES,
    RosterRejected,
    write_csv,
)
from engage.web.deps import DB

PAGE_SIZE = 50
FILTER_NAMES = ("role", "community", "participant_type", "verified", "phone")
LABELS: dict[str, dict[str, str]] = {
    "role": labels.ROLE_LABELS,
    "participant_type": labels.PARTICIPANT_TYPE_LABELS,
    "gender": labels.GENDER_LABELS,
    "age_band": labels.AGE_BAND_LABELS,
    "occupation": labels.OCCUPATION_LABELS,
    "notice": labels.NOTICE_KIND_LABELS,
    "source": queries.SOURCE_LABELS,
}
COUNT_BY_LABELS = {
    "community": N_("Community"),
    "participant_type": N_("Participant type"),
    "age_band": N_("Age group"),
    "gender": N_("Gender"),
    "occupation": N_("Occupation"),
    "role": N_("Role"),
}
FILTER_ERRORS = {
    "phone": N_("This is not a phone number we can read."),
    "community": N_("There is no such community."),
    "role": N_("Choose a role from the list."),
    "participant_type": N_("Choose a participant type from the list."),
}


def label(kind: str, value: str | None) -> str:
    """A stored code in the reader's words; codes without a label are shown as they are."""
    if value is None or value == queries.UNKNOWN:
        return _("Not given")
    if kind == "community":
        return value
    return _(LABELS.get(kind, {}).get(value, value))


@dataclass(frozen=True)
class CommunityChoice:
    code: str
    name: str


async def _communities(db: DB) -> list[CommunityChoice]:
    zh = current_locale.get() == "zh_CN"
    return [CommunityChoice(c.code, c.name_zh if zh else c.name_en) for c in await queries.communities(db)]


def _community_name(resident: Resident) -> str:
    if resident.community is None:
        return _("Not given")
    return resident.community.name_zh if current_locale.get() == "zh_CN" else resident.community.name_en


def _verified(raw: str) -> bool | None:
    return {"true": True, "false": False}.get(raw)


async def _filters(
    db: DB, state: State, asked: dict[str, str], request: Request[Any, Any, Any], via: str
) -> tuple[ResidentFilter, dict[str, str]]:
    try:
        filters = await queries.resolve_filter(
            db,
            state.settings.default_region,
            role=asked["role"],
            community=asked["community"],
            participant_type=asked["participant_type"],
            verified=_verified(asked["verified"]),
            phone=asked["phone"],
        )
    except InvalidInput as invalid:
        field = invalid.field or "phone"
        return ResidentFilter(), {field: _(FILTER_ERRORS.get(field, invalid.detail))}
    await queries.audit_phone_filter(db, request.user, filters, via)
    return filters, {}


def _asked(request: Request[Any, Any, Any]) -> dict[str, str]:
    params = request.query_params
    return {name: str(params.get(name) or "").strip()[:32] for name in FILTER_NAMES}


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 100_000 else 1


class ResidentPages(OrganizerPages):
    path = "/organizer/residents"

    @get("/", name="residents:list")
    async def list_page(self, request: Request[Any, Any, Any], db: DB, state: State) -> Template:
        asked = _asked(request)
        by = str(request.query_params.get("by") or "community")
        by = by if by in COUNT_BY else "community"
        page = _page_number(request.query_params.get("page"))
        filters, errors = await _filters(db, state, asked, request, "page.phone_filter")
        total, residents, counts = 0, list[Resident](), dict[str, int]()
        if not errors:
            total, residents = await queries.list_residents(db, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
            counts = await queries.count_by(db, filters, by)
        kept = {name: value for name, value in asked.items() if value}
        if by != "community":
            kept["by"] = by

        def page_url(number: int) -> str:
            return "?" + urlencode({**kept, "page": number})

        context = {
            "asked": asked,
            "errors": errors,
            "by": by,
            "count_by": [(value, _(COUNT_BY_LABELS[value])) for value in COUNT_BY],
            "counts": counts,
            "total": total,
            "residents": residents,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "page_url": page_url,
            "export_url": "/organizer/residents/export.csv" + ("?" + urlencode(kept) if kept else ""),
            "communities": await _communities(db),
            "roles": [r.value for r in ResidentRoleKind],
            "participant_types": [t.value for t in ParticipantType],
            "label": label,
            "community_name": _community_name,
            "shown_phone": queries.shown_phone,
            "may_import": request.user.role in queries.REVEAL_ROLES,
        }
        return Template(
            "pages/organizer/residents/list.html", context=context, status_code=400 if errors else 200
        )

    @get("/export.csv", name="residents:export")
    async def export(self, request: Request[Any, Any, Any], db: DB, state: State) -> Response[bytes]:
        """The list's filters as CSV, phones masked (full numbers only through the audited API)."""
        filters, errors = await _filters(db, state, _asked(request), request, "page.export.phone_filter")
        if errors:
            field, message = next(iter(errors.items()))
            raise InvalidInput(field, message)
        residents = await queries.all_residents(db, filters)
        header, rows = queries.labelled_export(residents, state.settings.tz)
        safe = [_(column) for column in queries.LABELLED_SAFE_COLUMNS]
        content = write_csv(header, rows, safe_columns=safe)
        disposition = 'attachment; filename="residents.csv"'
        return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})

    @get("/import", name="residents:import", guards=[staff])
    async def import_form(self) -> Template:
        return Template("pages/organizer/residents/import.html", context=_import_context())

    @post("/import", guards=[staff], media_type=MediaType.HTML, status_code=200)
    async def import_upload(self, request: Request[Any, Any, Any], db: DB, state: State) -> Template:
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            context = _import_context(problem=_("Choose a CSV file to upload."))
            return Template("pages/organizer/residents/import.html", context=context, status_code=400)
        data = await upload.read()
        actor = organizer_actor(request.user.id)
        try:
            outcome = await queries.import_roster(db, actor, data, state.settings, state.redis_url)
        except RosterRejected as rejected:
            rows = [(e.row, e.field, e.text(_)) for e in rejected.errors]
            context = _import_context(row_errors=rows, filename=upload.filename)
            # a form with errors, as every page answers one
            return Template("pages/organizer/residents/import.html", context=context, status_code=400)
        except Conflict:
            problem = _("Someone with a number in the file signed up meanwhile. Upload the file again.")
            context = _import_context(problem=problem, filename=upload.filename)
            return Template("pages/organizer/residents/import.html", context=context, status_code=409)
        context = _import_context(outcome=outcome, filename=upload.filename)
        return Template("pages/organizer/residents/import.html", context=context)

    @get("/{resident_id:int}", name="residents:detail")
    async def detail(self, request: Request[Any, Any, Any], db: DB, resident_id: FromPath[int]) -> Template:
        return await _detail(request, db, resident_id, reveal=False)

    @post("/{resident_id:int}/reveal", guards=[staff], media_type=MediaType.HTML, status_code=200)
    async def reveal(self, request: Request[Any, Any, Any], db: DB, resident_id: FromPath[int]) -> Template:
        """Show the full number: a POST, because every look is written to the audit log."""
        queries.check_reveal(request.user)
        resident = await queries.get_resident(db, resident_id)
        await queries.record_phone_views(db, organizer_actor(request.user.id), [resident], "page.detail")
        await db.commit()
        return await _detail(request, db, resident_id, reveal=True)


async def _detail(request: Request[Any, Any, Any], db: DB, resident_id: int, *, reveal: bool) -> Template:
    resident = await queries.get_resident(db, resident_id)
    context = {
        "resident": resident,
        "community": _community_name(resident),
        "phone": queries.shown_phone(resident, reveal),
        "revealed": reveal and resident.phone is not None,
        "may_reveal": request.user.role in queries.REVEAL_ROLES and resident.phone is not None,
        "roles": sorted(resident.roles, key=lambda r: r.role),
        "subscriptions": sorted(resident.subscriptions, key=lambda s: (s.kind, s.value)),
        "history": await queries.history(db, resident),
        "label": label,
    }
    return Template("pages/organizer/residents/detail.html", context=context)


def _import_context(
    *,
    problem: str | None = None,
    row_errors: list[tuple[int, str, str]] | None = None,
    outcome: queries.ImportOutcome | None = None,
    filename: str | None = None,
) -> dict[str, Any]:
    return {
        "columns": ",".join(COLUMNS),
        "chinese_columns": ",".join(CHINESE_COLUMNS),
        "roster_types": [label("participant_type", code) for code in ROSTER_TYPES],
        "max_rows": MAX_ROWS,
        "problem": problem,
        "row_errors": row_errors or [],
        "outcome": outcome,
        "filename": filename,
        "label": label,
    }
