"""/organizer (the desk) and /organizer/audit (the audit log in words).

The desk lists what needs the organizer now and the timetable of the coming days (engage.home.desk);
the audit log is its own page, filtered by action, actor and local date, each entry in words."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from litestar import MediaType, Request, get
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy import Select, func, select

from engage.accounts.guards import OrganizerPages
from engage.accounts.models import Organizer
from engage.audit.models import AuditEntry
from engage.errors import InvalidInput
from engage.home import desk
from engage.home.audit_words import action_words, actor_words, subject_with_id
from engage.i18n import gettext as _
from engage.residents.models import Resident
from engage.settings import Settings
from engage.web.deps import DB

PAGE_SIZE = 100
ACTOR_KINDS = ("system", "resident")  # besides each organizer


class DeskPages(OrganizerPages):
    path = "/organizer"

    @get("/", media_type=MediaType.HTML)
    async def desk(self, request: Request[Any, Any, Any], db: DB, state: State) -> Template:
        residents = (await db.execute(select(func.count(Resident.id)))).scalar_one()
        items = await desk.needs(db)
        events = await desk.timetable(db)
        days: dict[str, list[desk.Event]] = {}
        for event in events:
            days.setdefault(event.at.astimezone(state.settings.tz).strftime("%Y-%m-%d"), []).append(event)
        context = {
            "organizer": request.user,
            "residents": residents,
            "items": items,
            "days": days,
            "kinds": desk.KINDS,
        }
        return Template("pages/organizer/desk.html", context=context)

    @get("/audit", media_type=MediaType.HTML)
    async def audit(self, request: Request[Any, Any, Any], db: DB, state: State) -> Template:
        query = request.query_params
        filters = {
            name: str(query.get(name) or "").strip() for name in ("action", "actor", "from", "to", "page")
        }
        organizers = {o.id: o.email for o in (await db.execute(select(Organizer))).scalars()}
        actions = sorted((await db.execute(select(AuditEntry.action).distinct())).scalars())
        status = 200
        problem: InvalidInput | None = None
        try:
            statement = _filtered(filters, state.settings)
            page = int(filters["page"]) if filters["page"].isdigit() else (0 if filters["page"] else 1)
            if page < 1:
                raise InvalidInput("page", _("Enter a page number of 1 or more."))
        except InvalidInput as error:
            problem, status, statement, page = error, 400, select(AuditEntry).where(AuditEntry.id < 0), 1
        total = (await db.execute(select(func.count()).select_from(statement.subquery()))).scalar_one()
        entries = (
            await db.execute(
                statement.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
            )
        ).scalars()
        rows = [
            {
                "id": entry.id,
                "at": entry.at,
                "who": actor_words(entry.actor, organizers),
                "what": action_words(entry.action),
                "subject": subject_with_id(entry.subject_type, entry.subject_id),
            }
            for entry in entries
        ]
        context = {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "filters": filters,
            "action_options": sorted(((a, action_words(a)) for a in actions), key=lambda pair: pair[1]),
            "actor_options": [
                ("system", _("System")),
                ("resident", _("Residents")),
                *((f"organizer:{oid}", email) for oid, email in sorted(organizers.items())),
            ],
            "problem": problem,
        }
        return Template("pages/organizer/audit.html", context=context, status_code=status)


def _local_day(raw: str, field: str, settings: Settings) -> datetime:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(field, _("Enter a date like 2026-03-01.")) from None
    return datetime.combine(day, time(0), tzinfo=settings.tz)


def _filtered(filters: dict[str, str], settings: Settings) -> Select[AuditEntry]:
    statement = select(AuditEntry)
    if filters["action"]:
        statement = statement.where(AuditEntry.action == filters["action"])
    actor = filters["actor"]
    if actor == "resident":
        statement = statement.where(AuditEntry.actor.startswith("resident:"))
    elif actor == "system":
        statement = statement.where(AuditEntry.actor == "system")
    elif actor.startswith("organizer:") and actor.removeprefix("organizer:").isdigit():
        statement = statement.where(AuditEntry.actor == actor)
    elif actor:
        raise InvalidInput("actor", _("Choose who acted from the list."))
    if filters["from"]:
        statement = statement.where(AuditEntry.at >= _local_day(filters["from"], "from", settings))
    if filters["to"]:
        end = _local_day(filters["to"], "to", settings) + timedelta(days=1)
        statement = statement.where(AuditEntry.at < end)
    return statement
