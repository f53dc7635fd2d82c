"""Organizer pages of the selections: the list with a short form to start one, and one selection with
its stages (open / close now; they also move on their dates), applicants, nominee tallies (consent,
admit), turnout, the 1.5x margin, the jurors (absent, conflicts) and, once the interview is closed,
the per-judge deviation report. Buttons call the same services as /api/v1/selections."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from engage.accounts.guards import OrganizerPages, staff
from engage.accounts.models import Role
from engage.audit.services import organizer_actor
from engage.errors import EngageError, InvalidInput
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.selections import figures, labels, services
from engage.selections.models import ApplicantStatus, ConsentStatus, StageKind
from engage.selections.stages import interview as interviews
from engage.selections.stages import nomination as nominating
from engage.selections.web.api import organizer_view, run
from engage.web.deps import DB

STAFF_ROLES = (Role.ADMIN.value, Role.ORGANIZER.value)
DEFAULT_RUBRIC = [
    {"code": "knowledge", "name_zh": "专业知识", "name_en": "Knowledge", "max_points": 40},
    {"code": "judgement", "name_zh": "分析判断", "name_en": "Judgement", "max_points": 30},
    {"code": "communication", "name_zh": "沟通表达", "name_en": "Communication", "max_points": 30},
]


def parse_posts(raw: str) -> list[services.PostSpec]:
    """One post a line: "Chinese title | English title | seats"."""
    posts = []
    for number, line in enumerate((line for line in raw.splitlines() if line.strip()), start=1):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2].isdecimal():
            raise InvalidInput(
                "posts", _("Line %(n)s: write “Chinese title | English title | seats”.") % {"n": number}
            )
        posts.append(services.PostSpec(parts[0], parts[1], int(parts[2])))
    if not posts:
        raise InvalidInput("posts", _("Name at least one post."))
    return posts


def weekly_timetable(first_day: str, zone: ZoneInfo) -> list[services.StageSpec]:
    """Each stage a week apart from the first day, open 09:00 to 17:30 four days later; when the real
    dates differ, `PUT /api/v1/selections/{id}/stages/{stage}` moves a stage."""
    try:
        day = datetime.strptime(first_day, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("first_day", _("Enter the first day as YYYY-MM-DD.")) from None
    stages = []
    for index, kind in enumerate(StageKind):
        opens = datetime.combine(day + timedelta(days=7 * index), time(9, 0), zone)
        closes = datetime.combine(day + timedelta(days=7 * index + 4), time(17, 30), zone)
        stages.append(services.StageSpec(kind.value, opens, closes))
    return stages


async def detail_page(
    request: Request[Any, Any, Any], db: DB, selection_id: int, problem: EngageError | None = None
) -> Template:
    locale = current_locale.get()

    def load(session: Session) -> dict[str, Any]:
        selection = services.get_selection(session, selection_id)
        undo = {
            a.id: deadline
            for a in services.applicants_of(session, selection_id, ApplicantStatus.WITHDRAWN)
            if (deadline := services.undo_deadline(session, selection_id, a)) is not None
        }
        return {
            "selection": selection,
            "v": organizer_view(session, selection, locale),
            "jurors": interviews.jurors(session, selection_id),
            "live": figures.live(session, selection_id),
            "approval": figures.approval_chart(selection),
            "undo": undo,
        }

    context = await db.run_sync(load)
    context.update(problem=problem, may_write=request.user.role in STAFF_ROLES, locale=locale)
    context.update(
        selection_status=labels.selection_status,
        stage_status=labels.stage_status,
        applicant_status=labels.applicant_status,
    )
    return Template(
        "pages/organizer/selections/detail.html",
        context=context,
        status_code=problem.status_code if problem else 200,
    )


class SelectionPages(OrganizerPages):
    path = "/organizer/selections"

    @get("/")
    async def list_page(self, request: Request[Any, Any, Any], db: DB) -> Template:
        rows = await db.run_sync(lambda s: services.list_selections(s, public=False))
        context = {
            "selections": rows,
            "locale": current_locale.get(),
            "may_write": request.user.role in STAFF_ROLES,
        }
        return Template("pages/organizer/selections/list.html", context=context)

    @post("/", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def create(self, request: Request[Any, Any, Any], db: DB, state: State) -> Redirect | Template:
        form = await request.form()
        actor = organizer_actor(request.user.id)
        try:
            spec = services.SelectionSpec(
                title_zh=str(form.get("title_zh") or "").strip(),
                title_en=str(form.get("title_en") or "").strip(),
                unit=str(form.get("unit") or "").strip(),
                unit_category=str(form.get("unit_category") or "").strip() or "street",
                posts=parse_posts(str(form.get("posts") or "")),
                stages=weekly_timetable(str(form.get("first_day") or ""), state.settings.tz),
                rubric=DEFAULT_RUBRIC,
            )
            for name in ("title_zh", "title_en", "unit"):
                if not getattr(spec, name) or len(getattr(spec, name)) > 200:
                    raise InvalidInput(name, _("Required, at most 200 characters."))
            selection_id = await run(db, lambda s: services.create_selection(s, actor, spec).id)
        except EngageError as problem:
            await db.rollback()
            rows = await db.run_sync(lambda s: services.list_selections(s, public=False))
            context = {
                "selections": rows,
                "locale": current_locale.get(),
                "may_write": True,
                "problem": problem,
                "values": dict(form),
            }
            return Template(
                "pages/organizer/selections/list.html", context=context, status_code=problem.status_code
            )
        return Redirect(f"/organizer/selections/{selection_id}", status_code=303)

    @get("/{selection_id:int}")
    async def detail(self, request: Request[Any, Any, Any], db: DB, selection_id: FromPath[int]) -> Template:
        return await detail_page(request, db, selection_id)

    @get("/{selection_id:int}/live")
    async def live(self, db: DB, selection_id: FromPath[int]) -> Template:
        """The live part of the page (turnout, interview progress), polled by htmx every 2 s."""
        context = await db.run_sync(lambda s: figures.live(s, selection_id))
        return Template("pages/organizer/selections/_live.html", context={"live": context})

    @post("/{selection_id:int}/action", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def action(
        self, request: Request[Any, Any, Any], db: DB, state: State, selection_id: FromPath[int]
    ) -> Redirect | Template:
        form = await request.form()
        actor = organizer_actor(request.user.id)
        what = str(form.get("do") or "")
        target = _int(form.get("id"))
        try:
            # Publishing, moving a stage and withdrawing are not here: each has its confirmation page
            # (engage/selections/steps/web/organizer.py), so no single click can do them.
            if what in ("consent", "refuse"):
                given = ConsentStatus.GIVEN if what == "consent" else ConsentStatus.REFUSED
                await run(db, lambda s: nominating.record_consent(s, actor, selection_id, target, given))
            elif what == "admit":
                await run(db, lambda s: nominating.admit(s, actor, selection_id, target))
            elif what == "absent":
                await run(db, lambda s: interviews.mark_absent(s, actor, selection_id, target))
            else:
                raise InvalidInput("do", _("Unknown action."))
        except EngageError as problem:
            await db.rollback()
            return await detail_page(request, db, selection_id, problem)
        return Redirect(f"/organizer/selections/{selection_id}", status_code=303)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
