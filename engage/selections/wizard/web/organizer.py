"""The selection wizard: from nothing to a draft in six steps, then publishing behind a confirmation.

Each step's form is checked on its own (engage/selections/wizard.py) and kept in the organizer's
server-side session, so Back and Next never lose what was typed and nothing reaches the database
before the review step creates the draft. The draft is private; publishing it is the step that
cannot be undone, and it has its own confirmation page (engage/selections/steps/web/organizer.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import MediaType, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.accounts.guards import OrganizerPages, staff
from engage.audit.services import organizer_actor
from engage.db import utcnow
from engage.errors import EngageError
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.notices import period as periods
from engage.residents.models import Resident, ResidentRole, ResidentRoleKind
from engage.selections import services
from engage.selections.rules.config import EVALUATOR_GROUPS
from engage.selections.web.api import run
from engage.selections.web.organizer import DEFAULT_RUBRIC
from engage.selections.wizard import forms as wizard
from engage.settings import Settings
from engage.web.deps import DB
from engage.web.flash import flash

SESSION_KEY = "selection_wizard"
CLEANERS = {
    "basics": wizard.clean_basics,
    "posts": wizard.clean_posts,
    "rubric": wizard.clean_rubric,
    "evaluators": wizard.clean_evaluators,
}


def _draft(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return dict(request.session.get(SESSION_KEY) or {})


def _today(settings: Settings) -> date:
    return utcnow().astimezone(settings.tz).date()


def step_titles() -> dict[str, str]:
    return {
        "basics": _("The selection"),
        "posts": _("Posts and seats"),
        "timetable": _("Timetable"),
        "rubric": _("Interview rubric"),
        "evaluators": _("Evaluator groups and the approval line"),
        "review": _("Review"),
    }


def _initial(step: str, draft: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The form's values: what the organizer gave before, else sensible first values."""
    saved = draft.get(step)
    if step == "posts":
        rows = (saved or {}).get("posts") or []
        return {
            f"posts-{i}-{key}": str(value)
            for i, row in enumerate(rows)
            for key, value in row.items()
            if key != "number"
        }
    if step == "rubric":
        rows = (saved or {}).get("rubric") or DEFAULT_RUBRIC
        return {
            f"rubric-{i}-{key}": str(row[key])
            for i, row in enumerate(rows)
            for key in ("name_zh", "name_en", "max_points")
        }
    if step == "timetable":
        if saved:
            return {f"{s['kind']}-{edge}": s[edge] for s in saved["stages"] for edge in ("opens", "closes")}
        calendar = periods.calendar_for(settings)
        return wizard.suggest_timetable(
            calendar, _today(settings) + timedelta(days=7), settings.notice_period_days
        )
    if step == "evaluators":
        if saved:
            values = {f"group-{g}": "on" for g in saved["groups"]}
            return values | {
                "threshold": str(saved["threshold"]),
                "basically_counts": "on" if saved["basically_counts"] else "",
            }
        return {f"group-{g}": "on" for g in EVALUATOR_GROUPS} | {"threshold": "80", "basically_counts": "on"}
    if step == "basics":
        return saved or {"unit_category": "street"}
    return {}


def _evaluators_available(session: Session) -> int:
    return int(
        session.execute(
            select(func.count(func.distinct(ResidentRole.resident_id)))
            .join(Resident, Resident.id == ResidentRole.resident_id)
            .where(
                ResidentRole.role == ResidentRoleKind.EVALUATOR,
                ResidentRole.withdrawn_at.is_(None),
                Resident.verified_at.is_not(None),
            )
        ).scalar_one()
    )


def _months(values: dict[str, Any], settings: Settings) -> list[tuple[date, list[list[wizard.Day]]]]:
    """The months the timetable spans (at most four), each as a grid of working and other days."""
    days = []
    for value in values.values():
        try:
            days.append(date.fromisoformat(str(value)))
        except ValueError:
            continue
    first = min(days) if days else _today(settings)
    last = max(days) if days else first
    calendar = periods.calendar_for(settings)
    months: list[tuple[date, list[list[wizard.Day]]]] = []
    month = first.replace(day=1)
    while month <= last and len(months) < 4:
        months.append((month, wizard.month_grid(calendar, month)))
        month = (month + timedelta(days=32)).replace(day=1)
    return months


async def _page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: Settings,
    step: str,
    values: dict[str, Any],
    errors: dict[str, str],
) -> Template:
    draft = _draft(request)
    context: dict[str, Any] = {
        "step": step,
        "steps": wizard.STEPS,
        "titles": step_titles(),
        "values": values,
        "errors": errors,
        "done": [s for s in wizard.STEPS if s in draft],
        "locale": current_locale.get(),
        "stage_labels": wizard.stage_labels(),
        "groups": EVALUATOR_GROUPS,
        "post_rows": range(wizard.POST_ROWS),
        "criterion_rows": range(wizard.CRITERION_ROWS),
        "unit_categories": wizard.UNIT_CATEGORIES,
    }
    if step == "timetable":
        context["months"] = _months(values, settings)
        context["minimum"] = {
            k: wizard.minimum_days(k, settings.notice_period_days) for k in context["stage_labels"]
        }
        context["notice_period_days"] = settings.notice_period_days
    if step == "evaluators":
        context["available"] = await db.run_sync(_evaluators_available)
    if step == "review":
        context["draft"] = draft
    return Template(
        "pages/organizer/selections/wizard.html", context=context, status_code=400 if errors else 200
    )


def _next(step: str) -> str:
    return wizard.STEPS[wizard.STEPS.index(step) + 1]


class SelectionWizard(OrganizerPages):
    path = "/organizer/selections/new"
    guards = [staff]

    @get("/")
    async def start(self) -> Redirect:
        return Redirect("/organizer/selections/new/basics")

    @get("/{step:str}")
    async def show(
        self, request: Request[Any, Any, Any], db: DB, state: State, step: FromPath[str]
    ) -> Template | Redirect:
        if step not in wizard.STEPS:
            raise NotFoundException()
        draft = _draft(request)
        if step == "review" and (missing := wizard.missing_step(draft)):
            return Redirect(f"/organizer/selections/new/{missing}")
        return await _page(request, db, state.settings, step, _initial(step, draft, state.settings), {})

    @post("/{step:str}", media_type=MediaType.HTML, status_code=303)
    async def save(
        self, request: Request[Any, Any, Any], db: DB, state: State, step: FromPath[str]
    ) -> Template | Redirect:
        if step not in wizard.STEPS:
            raise NotFoundException()
        settings: Settings = state.settings
        form = dict(await request.form())
        if step == "review":
            return await self._create(request, db, settings)
        if step == "timetable":
            values, errors = wizard.clean_timetable(
                form, periods.calendar_for(settings), _today(settings), settings.notice_period_days
            )
        else:
            values, errors = CLEANERS[step](form)
        if errors:
            return await _page(request, db, settings, step, form, errors)
        draft = _draft(request)
        draft[step] = values
        request.session[SESSION_KEY] = draft
        return Redirect(f"/organizer/selections/new/{_next(step)}", status_code=303)

    async def _create(
        self, request: Request[Any, Any, Any], db: DB, settings: Settings
    ) -> Template | Redirect:
        draft = _draft(request)
        if missing := wizard.missing_step(draft):
            return Redirect(f"/organizer/selections/new/{missing}", status_code=303)
        actor = organizer_actor(request.user.id)
        try:
            spec = wizard.to_spec(draft, settings.tz)
            selection_id = await run(db, lambda s: services.create_selection(s, actor, spec).id)
        except EngageError as problem:
            await db.rollback()
            return await _page(
                request, db, settings, "review", {}, {problem.field or "review": problem.detail}
            )
        request.session.pop(SESSION_KEY, None)
        flash(request, _("The draft is saved; only organizers see it. Publish it when it is ready."))
        return Redirect(f"/organizer/selections/{selection_id}/publish", status_code=303)
