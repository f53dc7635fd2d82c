"""Objections and notice periods as a JSON API. Thin: parse, call engage.notices.objections.services, respond.

Public (no token): ask for a code, file an objection, read its status by reference, read a notice's
period. Organizers (bearer token): list and read objections (phones masked), answer them (staff), resume
a suspended period (staff). Changing the closing moment commits, then reschedules the closing job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar

from anyio import to_thread
from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct

from engage import jobs
from engage.accounts.guards import any_organizer, staff
from engage.audit.services import organizer_actor
from engage.errors import InvalidInput, NotFound, explain_pattern
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.notices.models import PUBLIC_STATUSES, Notice
from engage.notices.objections import periods as period_services
from engage.notices.objections import services as objections
from engage.notices.objections.models import Objection, ObjectionStatus, PeriodAction
from engage.phones import RULE, MobileNumber, MobileNumberOrEmpty, api_mobile_number, mask
from engage.residents.codes import API_CODE_PATTERN, CODE_FORM, CODE_LIFETIME, is_api_code
from engage.web.deps import DB, MAX_ID, problems
from engage.web.fields import copy_fields
from engage.web.openapi import BEARER
from engage.web.text import FILLED_LINES_PATTERN, FilledLines, Line, Lines

NoticeId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="the notice")]
ObjectionId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="the objection")]
Days = Annotated[int, Meta(ge=1, le=period_services.MAX_DAYS, description="working days")]


class CodeIn(Struct):
    phone: MobileNumber


class ObjectionCodeSent(Struct):
    phone: str  # masked
    expires_in_seconds: int


# Where a text must not be blank: a character that is not white space (Line has no control characters,
# where Python's str.strip and JSON Schema's \s differ).
_NOT_BLANK = r"[^\s]"
OPTIONAL_CODE = f"^(?:{API_CODE_PATTERN[1:-1]})?$"  # empty for an anonymous objection


class ObjectionIn(Struct):
    # Named objections: a name alone cannot be verified, a number comes with its owner's name, and it is
    # proven by the code texted to it (engage.notices.objections.services.file_objection enforces the same).
    schema_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            {
                "if": {"properties": {"name": {"pattern": _NOT_BLANK}}, "required": ["name"]},
                "then": {"properties": {"phone": {"minLength": 1}}, "required": ["phone"]},
            },
            {
                "if": {"properties": {"phone": {"minLength": 1}}, "required": ["phone"]},
                "then": {
                    "properties": {"name": {"pattern": _NOT_BLANK}, "code": {"minLength": 1}},
                    "required": ["name", "code"],
                },
            },
        ]
    }

    reason: Annotated[FilledLines, Meta(max_length=objections.MAX_REASON, description="required, plain text")]
    name: Annotated[Line, Meta(max_length=objections.MAX_NAME)] = ""
    phone: Annotated[MobileNumberOrEmpty, Meta(description=f"empty: anonymous; else {RULE}")] = ""
    code: Annotated[
        str, Meta(pattern=explain_pattern(OPTIONAL_CODE, CODE_FORM), description="the code texted to `phone`")
    ] = ""


@dataclass
class FiledOut:
    reference: str
    notice_id: int
    status: str
    anonymous: bool
    filed_at: datetime
    status_url: str


@dataclass
class PublicStatusOut:
    """What anyone holding the reference sees: never a name, a phone or the reason."""

    reference: str
    notice_id: int
    notice_title_zh: str
    notice_title_en: str
    status: str
    reply: str | None
    action: str
    action_days: int | None
    filed_at: datetime
    answered_at: datetime | None


@dataclass
class PeriodOut:
    state: str  # pending, open, extended, suspended, closed
    days: int
    extended_days: int
    opens_at: datetime | None
    closes_at: datetime | None
    working_days_left: int
    objections: dict[str, int]  # total and per status


@dataclass
class ObjectionOut:
    id: int
    reference: str
    notice_id: int
    anonymous: bool
    name: str | None
    phone: str | None  # masked
    reason: str
    status: str
    reply: str | None
    action: str
    action_days: int | None
    filed_at: datetime
    answered_at: datetime | None
    answered_by: str | None


def _when(member: str, values: list[str], then: dict[str, Any]) -> dict[str, Any]:
    return {"if": {"properties": {member: {"enum": values}}, "required": [member]}, "then": then}


class AnswerIn(Struct):
    # The answer's rules between members (objections._check_answer enforces them, 400 naming the field).
    schema_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            # a decision is given with its reasons
            _when(
                "status",
                [status.value for status in objections.FINAL],
                {"properties": {"reply": {"pattern": FILLED_LINES_PATTERN}}, "required": ["reply"]},
            ),
            # only an upheld objection acts on the notice's period
            _when(
                "action",
                [PeriodAction.EXTEND.value, PeriodAction.SUSPEND.value],
                {"properties": {"status": {"const": ObjectionStatus.UPHELD.value}}},
            ),
            # an extension says by how many working days
            _when(
                "action",
                [PeriodAction.EXTEND.value],
                {"properties": {"days": {"type": "integer"}}, "required": ["days"]},
            ),
        ]
    }

    status: ObjectionStatus
    reply: Annotated[Lines, Meta(max_length=objections.MAX_REPLY)] = ""
    action: PeriodAction = PeriodAction.NONE
    days: Days | None = None


class ResumeIn(Struct):
    days: Days


@dataclass
class AnswerOut:
    objection: ObjectionOut
    period: PeriodOut | None


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def objection_out(o: Objection) -> ObjectionOut:
    return ObjectionOut(
        id=o.id,
        reference=o.reference,
        notice_id=o.notice_id,
        anonymous=o.anonymous,
        name=o.name,
        phone=mask(o.phone) if o.phone else None,
        reason=o.reason,
        status=o.status,
        reply=o.reply,
        action=o.action,
        action_days=o.action_days,
        filed_at=o.filed_at,
        answered_at=o.answered_at,
        answered_by=o.answered_by,
    )


async def period_out(db: DB, state: State, notice: Notice) -> PeriodOut | None:
    found = await period_services.standing(db, notice, state.settings)
    if found is None:
        return None
    current = found.period
    return PeriodOut(
        state=found.state.value,
        days=current.days,
        extended_days=current.extended_days,
        opens_at=current.opens_at,
        closes_at=current.closes_at,
        working_days_left=found.working_days_left,
        objections=await objections.outcome_counts(db, notice.id),
    )


async def schedule_close(db: DB, redis_url: str, notice_id: int) -> None:
    """After a commit that set a closing moment: (re)schedule the closing job at it."""
    current = await period_services.get_period(db, notice_id)
    if current is not None and current.closes_at is not None:
        await to_thread.run_sync(jobs.schedule_close_period, redis_url, notice_id, current.closes_at)


class PublicObjectionApi(Controller):
    path = "/api/v1"
    tags = ["objections"]

    @get(
        "/objections/{reference:str}",
        summary="The public status of an objection, by its reference number",
        responses=problems(400, 404, 429),
    )
    async def status(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        reference: Annotated[
            str, Parameter(pattern=r"^[A-Za-z0-9-]{1,20}$", description="e.g. OBJ-2026-K7QM2T")
        ],
    ) -> PublicStatusOut:
        """Anyone holding the reference an objector was given sees the objection's state and answer (never who
        filed it). Limited per address."""
        objection, notice = await objections.by_reference(db, state.redis, reference, _client(request))
        # Only the fields of PublicStatusOut are read: never the objector's name, number or reason.
        return copy_fields(
            PublicStatusOut,
            objection,
            notice_id=notice.id,
            notice_title_zh=notice.title_zh,
            notice_title_en=notice.title_en,
        )

    @get(
        "/notices/{notice_id:int}/period",
        summary="A published notice's period: state, closing moment, countdown, objection counts",
        responses=problems(400, 404),
    )
    async def period(self, db: DB, state: State, notice_id: NoticeId) -> PeriodOut:
        """Whether objections are accepted now, until when (working days, in the district's calendar), and how
        many were filed and upheld."""
        notice = await db.get(Notice, notice_id)
        found = None
        if notice is not None and notice.status in PUBLIC_STATUSES:
            found = await period_out(db, state, notice)
        if found is None:
            raise NotFound("notice_id", f"no published notice {notice_id} with a notice period")
        return found


ORGANIZERS: dict[str, Any] = {"guards": [any_organizer], "security": BEARER}
STAFF: dict[str, Any] = {"guards": [staff], "security": BEARER}


class ObjectionController(Controller):
    """One path for the public (file, code) and the organizers (list, answer): guards per handler."""

    path = "/api/v1/notices/{notice_id:int}"
    tags = ["objections"]

    @post(
        "/objections/code",
        status_code=202,
        summary="Text a code to the objector's phone (named objections only)",
        responses=problems(400, 404, 409, 429),
    )
    async def code(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        notice_id: NoticeId,
        data: JSONBody[CodeIn],
    ) -> ObjectionCodeSent:
        """A named objection is confirmed by a code texted to the objector's phone. Anonymous objections need
        no code."""
        phone = api_mobile_number(data.phone, state.settings, "phone")
        sent = await objections.request_code(
            db, state.redis, state.settings, notice_id, phone, _client(request)
        )
        return ObjectionCodeSent(
            phone=mask(sent.phone), expires_in_seconds=int(CODE_LIFETIME.total_seconds())
        )

    @post(
        "/objections",
        status_code=201,
        summary="File an objection during the notice period: anonymous (reason only) or named (phone + code)",
        responses=problems(400, 403, 404, 409, 429),
    )
    async def file(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        notice_id: NoticeId,
        data: JSONBody[ObjectionIn],
    ) -> FiledOut:
        """Accepted only while the notice's period is open (409 otherwise). The answer carries the reference
        to follow the objection with."""
        phone = api_mobile_number(data.phone, state.settings, "phone") if data.phone else ""
        if data.code and not is_api_code(data.code):
            raise InvalidInput("code", _(CODE_FORM))
        filing = objections.Filing(reason=data.reason, name=data.name, phone=phone, code=data.code)
        objection = await objections.file_objection(
            db, state.redis, state.settings, notice_id, filing, _client(request), current_locale.get()
        )
        return FiledOut(
            reference=objection.reference,
            notice_id=notice_id,
            status=objection.status,
            anonymous=objection.anonymous,
            filed_at=objection.filed_at,
            status_url=f"{state.settings.public_base_url}/objections/{objection.reference}",
        )

    @get(
        "/objections",
        summary="The objections to a notice, oldest first",
        responses=problems(400, 401, 403, 404),
        **ORGANIZERS,
    )
    async def list_objections(self, db: DB, notice_id: NoticeId) -> list[ObjectionOut]:
        """Organizers see every objection with its status; the objector's number is masked."""
        return [objection_out(o) for o in await objections.list_objections(db, notice_id)]

    @get(
        "/objections/{objection_id:int}",
        summary="One objection",
        responses=problems(400, 401, 403, 404),
        **ORGANIZERS,
    )
    async def show(self, db: DB, notice_id: NoticeId, objection_id: ObjectionId) -> ObjectionOut:
        """The objection's reason, status, reply and history."""
        return objection_out(await objections.get_objection(db, notice_id, objection_id))

    @put(
        "/objections/{objection_id:int}",
        summary="Answer an objection: status, reply; an upheld one may extend or suspend the notice",
        **STAFF,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def answer(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        notice_id: NoticeId,
        objection_id: ObjectionId,
        data: JSONBody[AnswerIn],
    ) -> AnswerOut:
        """Record the finding and the reply texted to a named objector. An upheld objection may extend the
        period or suspend it."""
        given = objections.Answer(data.status.value, data.reply, data.action.value, data.days)
        actor = organizer_actor(request.user.id)
        done = await objections.answer(db, actor, notice_id, objection_id, given, state.settings)
        if done.reschedule_close is not None:
            await schedule_close(db, state.redis_url, notice_id)
        notice = await db.get(Notice, notice_id)
        assert notice is not None
        return AnswerOut(objection_out(done.objection), await period_out(db, state, notice))

    @post(
        "/period/resume",
        status_code=200,
        summary="Resume a suspended period for N more working days from now",
        **STAFF,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def resume(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        notice_id: NoticeId,
        data: JSONBody[ResumeIn],
    ) -> PeriodOut:
        """A suspended period runs again, for the given number of working days from now."""
        actor = organizer_actor(request.user.id)
        await period_services.resume(db, actor, notice_id, data.days, state.settings)
        await schedule_close(db, state.redis_url, notice_id)
        notice = await db.get(Notice, notice_id)
        assert notice is not None
        found = await period_out(db, state, notice)
        assert found is not None
        return found
