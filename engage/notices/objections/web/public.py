"""Objection pages. Public: the notice page's period box (`period_context`), the objection form
(anonymous, or named with a code texted to the phone; the filing waits in the server-side session until
the code is entered), the status page by reference number. Organizers: the objections of one notice
with an answer form each (staff; auditors read). The same services as the JSON API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from engage.accounts.guards import OrganizerPages, staff
from engage.accounts.models import Role
from engage.audit.services import organizer_actor
from engage.errors import Conflict, EngageError, InvalidInput, NotFound, RateLimited
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.notices import period as periods
from engage.notices import services
from engage.notices.models import Notice
from engage.notices.objections import periods as period_services
from engage.notices.objections import services as objections
from engage.notices.objections.models import ObjectionStatus, PeriodAction
from engage.notices.objections.web.api import schedule_close
from engage.phones import mask
from engage.residents.labels import N_
from engage.web.deps import DB

PENDING = "objection_pending"  # session key: the named filing waiting for its code
STATE_LABELS = {
    periods.PeriodState.PENDING: N_("Not open yet"),
    periods.PeriodState.OPEN: N_("Open for objections"),
    periods.PeriodState.EXTENDED: N_("Open for objections (extended)"),
    periods.PeriodState.SUSPENDED: N_("Suspended"),
    periods.PeriodState.CLOSED: N_("Closed"),
}
STATUS_LABELS = {
    ObjectionStatus.RECEIVED: N_("Received"),
    ObjectionStatus.UNDER_REVIEW: N_("Under review"),
    ObjectionStatus.UPHELD: N_("Upheld"),
    ObjectionStatus.REJECTED: N_("Rejected"),
}
ACTION_LABELS = {
    PeriodAction.NONE: N_("No change to the notice"),
    PeriodAction.EXTEND: N_("Extend the notice period"),
    PeriodAction.SUSPEND: N_("Suspend the notice"),
}
OUTCOME_LABELS = {  # what an upheld objection did, as the public reads it
    PeriodAction.NONE: N_("No change to the notice"),
    PeriodAction.EXTEND: N_("The notice period was extended"),
    PeriodAction.SUSPEND: N_("The notice was suspended"),
}


def label(labels: dict[Any, str], value: str) -> str:
    text = labels.get(value)
    return _(text) if text else value


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def period_context(db: DB, state: State, notice: Notice) -> dict[str, Any] | None:
    """What the public notice page shows of the period, or None when the notice has none."""
    found = await period_services.standing(db, notice, state.settings)
    if found is None:
        return None
    return {
        "state": found.state.value,
        "state_label": label(STATE_LABELS, found.state),
        "accepting": found.state in periods.ACCEPTING,
        "period": found.period,
        "working_days_left": found.working_days_left,
        "counts": await objections.outcome_counts(db, notice.id),
        "status_labels": {s.value: label(STATUS_LABELS, s) for s in ObjectionStatus},
    }


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(form.get(key) or "") for key in ("name", "phone", "reason", "code", "reference")}


class ObjectionPages(Controller):
    include_in_schema = False

    async def _new(
        self, db: DB, state: State, notice_id: int, values: dict[str, str], error: EngageError | None = None
    ) -> Template:
        notice = await services.public_notice(db, notice_id)
        errors = {error.field or "reason": error.detail} if error else {}
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
        context = {
            "notice": notice,
            "locale": current_locale.get(),
            "values": values,
            "errors": errors,
            "box": await period_context(db, state, notice),
        }
        status = error.status_code if error else 200
        return Template("pages/objections/new.html", context=context, status_code=status, headers=headers)

    @get("/notices/{notice_id:int}/object", media_type=MediaType.HTML)
    async def new(self, db: DB, state: State, notice_id: FromPath[int]) -> Template:
        return await self._new(db, state, notice_id, {})

    @post("/notices/{notice_id:int}/object", media_type=MediaType.HTML, status_code=303)
    async def submit(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Redirect | Template:
        values = await _form(request)
        try:
            if not values["phone"].strip():  # anonymous: filed at once
                filing = objections.Filing(reason=values["reason"], name=values["name"])
                objection = await objections.file_objection(
                    db, state.redis, state.settings, notice_id, filing, _client(request), current_locale.get()
                )
                return Redirect(f"/objections/{objection.reference}?filed=1", status_code=303)
            objections.check_reason(values["reason"])
            objections.check_name(values["name"])
            sent = await objections.request_code(
                db, state.redis, state.settings, notice_id, values["phone"], _client(request)
            )
        except EngageError as error:
            await db.rollback()
            return await self._new(db, state, notice_id, values, error)
        request.session[PENDING] = {
            "notice_id": notice_id,
            "name": values["name"],
            "phone": sent.phone,
            "reason": values["reason"],
        }
        return Redirect(f"/notices/{notice_id}/object/code", status_code=303)

    def _code_page(
        self, notice_id: int, pending: dict[str, Any], error: EngageError | None = None
    ) -> Template:
        context = {
            "notice_id": notice_id,
            "masked": mask(pending["phone"]),
            "errors": {"code": error.detail} if error else {},
        }
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
        status = error.status_code if error else 200
        return Template("pages/objections/code.html", context=context, status_code=status, headers=headers)

    def _pending(self, request: Request[Any, Any, Any], notice_id: int) -> dict[str, Any] | None:
        pending = request.session.get(PENDING) if request.session else None
        return pending if isinstance(pending, dict) and pending.get("notice_id") == notice_id else None

    @get("/notices/{notice_id:int}/object/code", media_type=MediaType.HTML)
    async def code_form(self, request: Request[Any, Any, Any], notice_id: FromPath[int]) -> Any:
        pending = self._pending(request, notice_id)
        if pending is None:
            return Redirect(f"/notices/{notice_id}/object")
        return self._code_page(notice_id, pending)

    @post("/notices/{notice_id:int}/object/code", media_type=MediaType.HTML, status_code=303)
    async def code(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Any:
        pending = self._pending(request, notice_id)
        if pending is None:
            return Redirect(f"/notices/{notice_id}/object", status_code=303)
        values = await _form(request)
        filing = objections.Filing(
            reason=pending["reason"], name=pending["name"], phone=pending["phone"], code=values["code"]
        )
        try:
            objection = await objections.file_objection(
                db, state.redis, state.settings, notice_id, filing, _client(request), current_locale.get()
            )
        except EngageError as error:
            await db.rollback()
            return self._code_page(notice_id, pending, error)
        request.session.pop(PENDING, None)
        return Redirect(f"/objections/{objection.reference}?filed=1", status_code=303)

    @get("/objections", media_type=MediaType.HTML)
    async def lookup(self, reference: FromQuery[str | None] = None) -> Any:
        if reference and reference.strip():
            return Redirect(f"/objections/{quote(objections.clean_reference(reference)[:40], safe='')}")
        return Template("pages/objections/lookup.html", context={"errors": {}, "reference": ""})

    @get("/objections/{reference:str}", media_type=MediaType.HTML)
    async def status(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        reference: FromPath[str],
        filed: FromQuery[str | None] = None,
    ) -> Template:
        try:
            objection, notice = await objections.by_reference(db, state.redis, reference, _client(request))
        except (InvalidInput, NotFound, RateLimited) as error:
            headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
            context: dict[str, Any] = {"errors": {"reference": error.detail}, "reference": reference[:40]}
            return Template(
                "pages/objections/lookup.html",
                context=context,
                status_code=error.status_code,
                headers=headers,
            )
        context = {  # no name, phone or reason: anyone holding the reference sees this page
            "objection": objection,
            "notice": notice,
            "locale": current_locale.get(),
            "filed": filed == "1",
            "status_label": label(STATUS_LABELS, objection.status),
            "action_label": label(OUTCOME_LABELS, objection.action),
        }
        return Template("pages/objections/status.html", context=context)


async def organizer_section(
    request: Request[Any, Any, Any], db: DB, state: State, notice: Notice
) -> dict[str, Any]:
    """The context of templates/pages/organizer/notices/_objections.html, its names prefixed so that any
    organizer notice page can merge it into its own and include the section."""
    return {
        "objection_notice_id": notice.id,
        "objection_box": await period_context(db, state, notice),
        "objection_list": await objections.list_objections(db, notice.id),
        "objection_may_write": request.user.role in (Role.ADMIN.value, Role.ORGANIZER.value),
        "objection_mask": mask,
        "objection_status_label": lambda s: label(STATUS_LABELS, s),
        "objection_outcome_label": lambda a: label(OUTCOME_LABELS, a),
        "objection_statuses": [(s.value, label(STATUS_LABELS, s)) for s in ObjectionStatus],
        "objection_actions": [(a.value, label(ACTION_LABELS, a)) for a in PeriodAction],
    }


class OrganizerObjectionPages(OrganizerPages):
    path = "/organizer/notices/{notice_id:int}/objections"

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        notice_id: int,
        problem: EngageError | None = None,
    ) -> Template:
        notice = await db.get(Notice, notice_id)
        if notice is None:
            raise NotFound("notice_id", _("There is no such notice."))
        context = {
            "notice": notice,
            "locale": current_locale.get(),
            "problem": problem,
            **await organizer_section(request, db, state, notice),
        }
        status = problem.status_code if problem else 200
        return Template("pages/organizer/notices/objections.html", context=context, status_code=status)

    async def _refused(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: int, error: Exception
    ) -> Template:
        """The page again, with what was wrong next to the form: days that are not a whole number, or a
        step the notice's state refuses (rolled back)."""
        if isinstance(error, EngageError):
            await db.rollback()
            return await self._page(request, db, state, notice_id, error)
        return await self._page(
            request, db, state, notice_id, InvalidInput("days", _("Enter a whole number of working days."))
        )

    @get("/", media_type=MediaType.HTML)
    async def index(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Template:
        return await self._page(request, db, state, notice_id)

    @post("/{objection_id:int}", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        notice_id: FromPath[int],
        objection_id: FromPath[int],
    ) -> Redirect | Template:
        form = await request.form()
        raw_days = str(form.get("days") or "").strip()
        try:
            days = int(raw_days) if raw_days else None
            given = objections.Answer(
                status=str(form.get("status") or ""),
                reply=str(form.get("reply") or ""),
                action=str(form.get("action") or PeriodAction.NONE.value),
                days=days,
            )
            actor = organizer_actor(request.user.id)
            done = await objections.answer(db, actor, notice_id, objection_id, given, state.settings)
        except (ValueError, InvalidInput, Conflict) as error:
            return await self._refused(request, db, state, notice_id, error)
        if done.reschedule_close is not None:
            await schedule_close(db, state.redis_url, notice_id)
        return Redirect(
            f"/organizer/notices/{notice_id}/objections#objection-{objection_id}", status_code=303
        )

    @post("/resume", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def resume(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Redirect | Template:
        form = await request.form()
        try:
            days = int(str(form.get("days") or "").strip())
            await period_services.resume(
                db, organizer_actor(request.user.id), notice_id, days, state.settings
            )
        except (ValueError, InvalidInput, Conflict) as error:
            return await self._refused(request, db, state, notice_id, error)
        await schedule_close(db, state.redis_url, notice_id)
        return Redirect(f"/organizer/notices/{notice_id}/objections", status_code=303)
