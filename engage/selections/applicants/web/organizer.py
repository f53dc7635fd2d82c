"""The applicants of one selection, by post, and the forms that add them: one person, several pasted as
lines for one post, or a nominee who agreed to stand (one click). Every form is re-shown with what was
typed and the problem named beside its field; nothing is added until all of it is right.

Applicants can be added until the democratic assessment opens: its ballots list them, so the list is
fixed from then on and the page says so instead of offering the forms. Adding goes through
`services.add_applicants`, which checks again and writes one audit entry per applicant."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from engage.accounts.guards import any_organizer, staff
from engage.audit.services import organizer_actor
from engage.errors import EngageError
from engage.i18n import current_locale
from engage.selections import labels, services
from engage.selections.applicants import forms
from engage.selections.models import ConsentStatus, StageKind, StageStatus
from engage.selections.stages import assessment as balloting
from engage.selections.stages import nomination as nominating
from engage.selections.steps.web.organizer import plural
from engage.selections.web.api import run
from engage.selections.web.organizer import STAFF_ROLES
from engage.web.deps import DB
from engage.web.flash import flash


def _load(session: Session, selection_id: int) -> dict[str, Any]:
    selection = services.get_selection(session, selection_id)
    locale = current_locale.get()
    applicants = services.applicants_of(session, selection_id)
    admitted = {a.nominee_id for a in applicants if a.nominee_id is not None}
    # The margin decides whether the speech stage may open; once it has, the count is history and a ✗
    # beside a finished selection would read as a fault.
    speech_pending = selection.stage(StageKind.SPEECH).status == StageStatus.PENDING
    margins = {m.post_id: m for m in balloting.margin_report(session, selection)} if speech_pending else {}
    posts = [
        {
            "id": p.id,
            "title": p.title(locale),
            "seats": p.seats,
            "margin": margins.get(p.id),
            "applicants": [a for a in applicants if a.post_id == p.id],
        }
        for p in selection.posts
    ]
    nominees = [
        t
        for t in nominating.tallies(session, selection_id)
        if t.consent == ConsentStatus.GIVEN and t.nominee_id not in admitted
    ]
    assessment = selection.stage(StageKind.ASSESSMENT)
    return {
        "selection_id": selection_id,
        "locale": locale,
        "title": selection.title(locale),
        "posts": posts,
        "post_titles": {p["id"]: p["title"] for p in posts},
        "post_options": [(str(p["id"]), p["title"]) for p in posts],
        "nominees": nominees,
        "assessment": assessment,
        "may_add": assessment.status == StageStatus.PENDING,
        "stage_status": labels.stage_status,
        "applicant_status": labels.applicant_status,
    }


def _back(selection_id: int) -> str:
    return f"/organizer/selections/{selection_id}/applicants"


class SelectionApplicants(Controller):
    path = "/organizer/selections/{selection_id:int}/applicants"
    include_in_schema = False
    guards = [any_organizer]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        selection_id: int,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        problem: EngageError | None = None,
    ) -> Template:
        context = await db.run_sync(lambda s: _load(s, selection_id))
        context.update(
            values=values or {},
            errors=errors or {},
            problem=problem,
            may_write=request.user.role in STAFF_ROLES,
        )
        status = problem.status_code if problem else 400 if errors else 200
        return Template("pages/organizer/selections/applicants.html", context=context, status_code=status)

    async def _add(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        selection_id: int,
        clean: Callable[[dict[str, Any], set[int]], tuple[Sequence[services.ApplicantSpec], dict[str, str]]],
    ) -> Template | Redirect:
        form = dict(await request.form())
        posts = await db.run_sync(lambda s: {p.id for p in services.get_selection(s, selection_id).posts})
        specs, errors = clean(form, posts)
        if errors:
            return await self._page(request, db, selection_id, form, errors)
        actor = organizer_actor(request.user.id)
        try:
            added = await run(
                db, lambda s: [a.post_id for a in services.add_applicants(s, actor, selection_id, specs)]
            )
        except EngageError as problem:
            await db.rollback()
            return await self._page(request, db, selection_id, form, problem=problem)
        await self._report(request, db, selection_id, added)
        return Redirect(_back(selection_id), status_code=303)

    async def _report(
        self, request: Request[Any, Any, Any], db: DB, selection_id: int, post_ids: list[int]
    ) -> None:
        locale = current_locale.get()
        titles = await db.run_sync(
            lambda s: {p.id: p.title(locale) for p in services.get_selection(s, selection_id).posts}
        )
        flash(
            request,
            plural(
                "%(num)s applicant added for “%(post)s”.",
                "%(num)s applicants added for “%(post)s”.",
                len(post_ids),
                post=titles[post_ids[0]],
            ),
        )

    @get("/")
    async def show(self, request: Request[Any, Any, Any], db: DB, selection_id: FromPath[int]) -> Template:
        return await self._page(request, db, selection_id)

    @post("/", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def add_one(
        self, request: Request[Any, Any, Any], db: DB, selection_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._add(request, db, selection_id, forms.clean_one)

    @post("/several", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def add_several(
        self, request: Request[Any, Any, Any], db: DB, selection_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._add(request, db, selection_id, forms.clean_several)

    @post("/nominees/{nominee_id:int}", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def admit(
        self, request: Request[Any, Any, Any], db: DB, selection_id: FromPath[int], nominee_id: FromPath[int]
    ) -> Template | Redirect:
        """A nominee who agreed to stand becomes an applicant for the post they were nominated for."""
        actor = organizer_actor(request.user.id)
        try:
            post_id = await run(db, lambda s: nominating.admit(s, actor, selection_id, nominee_id).post_id)
        except EngageError as problem:
            await db.rollback()
            return await self._page(request, db, selection_id, problem=problem)
        await self._report(request, db, selection_id, [post_id])
        return Redirect(_back(selection_id), status_code=303)
