"""/api/v1/selections (organizers) and the personal-link endpoints residents use from their phones:
/api/v1/nominations, /api/v1/ballots/{token}, /api/v1/speech/{token}, /api/v1/scores/{token}.
Thin: parse, run the sync service in the request's session, commit, then dispatch texts and notices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from anyio import to_thread
from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.accounts.guards import any_organizer, staff
from engage.audit.services import organizer_actor
from engage.errors import Forbidden, InvalidInput
from engage.jobs import After, dispatch
from engage.keys import Purpose
from engage.residents import tokens
from engage.residents.models import Resident
from engage.residents.web.public_api import TOKEN_PURPOSE
from engage.selections import services, stages
from engage.selections.models import ConsentStatus, InvitationStage, Selection, StageKind
from engage.selections.stages import assessment as balloting
from engage.selections.stages import interview as interviews
from engage.selections.stages import nomination as nominating
from engage.selections.stages import outcome
from engage.web.deps import DB, MAX_ID, problems

T = TypeVar("T")
SelectionId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="the selection")]
ItemId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
Token = Annotated[str, Parameter(min_length=8, max_length=64, description="the personal link's token")]
Short = Annotated[str, Meta(min_length=1, max_length=200)]
Text = Annotated[str, Meta(max_length=2000)]


async def run(db: AsyncSession, work: Callable[[Session], T]) -> T:
    result = await db.run_sync(work)
    await db.commit()
    return result


async def after_commit(state: State, after: After) -> None:
    await to_thread.run_sync(dispatch, state.redis_url, after)


def _actor(request: Request[Any, Any, Any]) -> str:
    return organizer_actor(request.user.id)


class PostIn(Struct):
    title_zh: Short
    title_en: Short
    seats: Annotated[int, Meta(ge=1, le=services.MAX_SEATS)]
    advance: Annotated[int, Meta(ge=1, le=10 * services.MAX_SEATS)] | None = None
    conditions_zh: Text = ""
    conditions_en: Text = ""


class StageIn(Struct):
    kind: StageKind
    opens_at: Annotated[datetime, Meta(tz=True)]
    closes_at: Annotated[datetime, Meta(tz=True)]


class DatesIn(Struct):
    opens_at: Annotated[datetime, Meta(tz=True)]
    closes_at: Annotated[datetime, Meta(tz=True)]


class CriterionIn(Struct):
    code: Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$")]
    max_points: Annotated[int, Meta(ge=1, le=100)]
    name_zh: Annotated[str, Meta(max_length=100)] = ""
    name_en: Annotated[str, Meta(max_length=100)] = ""


class SelectionIn(Struct):
    title_zh: Short
    title_en: Short
    unit: Short
    unit_category: Annotated[str, Meta(min_length=1, max_length=64)]
    posts: Annotated[list[PostIn], Meta(min_length=1, max_length=services.MAX_POSTS)]
    stages: Annotated[list[StageIn], Meta(min_length=6, max_length=6)]
    rubric: Annotated[list[CriterionIn], Meta(min_length=1, max_length=20)]
    rules: dict[str, Any] = {}
    eligibility_zh: Text = ""
    eligibility_en: Text = ""


class ApplicantIn(Struct):
    post_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    work_unit: Annotated[str, Meta(max_length=200)] = ""


class WithdrawIn(Struct):
    objection: (
        Annotated[
            str,
            Meta(
                max_length=20,
                description="the reference of the upheld objection that withdraws a proposed appointee",
            ),
        ]
        | None
    ) = None


class ApplicantsIn(Struct):
    applicants: Annotated[list[ApplicantIn], Meta(min_length=1, max_length=500)]


class InviteeIn(Struct):
    resident_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    group: Annotated[str, Meta(min_length=1, max_length=32)]


class InvitationsIn(Struct):
    stage: InvitationStage
    invitees: Annotated[list[InviteeIn], Meta(min_length=1, max_length=5000)]


class ConsentIn(Struct):
    consent: ConsentStatus


class PanelLinkIn(Struct):
    panel_id: Annotated[int, Meta(ge=1, le=MAX_ID)]


class ConflictIn(Struct):
    applicant_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    reason: Annotated[str, Meta(max_length=200)] = ""


class NominationIn(Struct):
    token: Annotated[str, Meta(min_length=1, max_length=1000, description="from /api/v1/signup/verify")]
    selection_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    post_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    work_unit: Annotated[str, Meta(max_length=200)] = ""
    reason: Annotated[str, Meta(max_length=nominating.MAX_REASON)] = ""


class BallotIn(Struct):
    ratings: dict[Annotated[int, Meta(ge=1, le=MAX_ID)], Annotated[str, Meta(max_length=32)]]


class SpeechIn(Struct):
    points: dict[Annotated[int, Meta(ge=1, le=MAX_ID)], Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]]


class ScoresIn(Struct):
    scores: dict[
        Annotated[int, Meta(ge=1, le=MAX_ID)],
        dict[Annotated[str, Meta(max_length=32)], Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]],
    ]


def _spec(data: SelectionIn) -> services.SelectionSpec:
    return services.SelectionSpec(
        title_zh=data.title_zh,
        title_en=data.title_en,
        unit=data.unit,
        unit_category=data.unit_category,
        eligibility_zh=data.eligibility_zh,
        eligibility_en=data.eligibility_en,
        posts=[
            services.PostSpec(p.title_zh, p.title_en, p.seats, p.advance, p.conditions_zh, p.conditions_en)
            for p in data.posts
        ],
        stages=[services.StageSpec(s.kind, s.opens_at, s.closes_at) for s in data.stages],
        rubric=[
            {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en, "max_points": c.max_points}
            for c in data.rubric
        ],
        rules=data.rules,
    )


def organizer_view(session: Session, selection: Selection, locale: str = "en") -> dict[str, Any]:
    """The public view plus what only organizers see: nominee tallies incl. names awaiting consent,
    turnout, jurors' progress, the per-judge deviation report, blocked stages."""
    view = outcome.public_view(session, selection, locale)
    view["all_tallies"] = [t.__dict__ | {"total": t.total} for t in nominating.tallies(session, selection.id)]
    view["turnout"] = {
        stage: dict(zip(("invited", "cast"), balloting._turnout(session, selection.id, stage), strict=True))
        for stage in InvitationStage
    }
    view["jurors"] = interviews.progress(session, selection.id)
    view["margins"] = [check.__dict__ for check in balloting.margin_report(session, selection)]
    view["blocked"] = {s.kind: (s.outcome or {}).get("blocked") for s in selection.stages if s.outcome}
    private = (selection.stage(StageKind.INTERVIEW).outcome or {}).get("private")
    if private is not None:
        view["deviation"] = private
    return view


class SelectionController(Controller):
    path = "/api/v1/selections"
    tags = ["selections"]
    security = [{"BearerToken": []}]
    guards = [any_organizer]

    @post(
        summary="Create a draft selection: posts, timetable, rubric, rules",
        guards=[staff],
        responses=problems(400, 401, 403, 422),
    )
    async def create(
        self, db: DB, request: Request[Any, Any, Any], data: JSONBody[SelectionIn]
    ) -> dict[str, Any]:
        spec = _spec(data)
        actor = _actor(request)
        selection_id = await run(db, lambda s: services.create_selection(s, actor, spec).id)
        return await db.run_sync(lambda s: organizer_view(s, services.get_selection(s, selection_id)))

    @get(summary="Selections, newest first", responses=problems(401, 403))
    async def list_selections(self, db: DB) -> list[dict[str, Any]]:
        rows = await db.run_sync(lambda s: services.list_selections(s, public=False))
        return [
            {"id": r.id, "title_zh": r.title_zh, "title_en": r.title_en, "status": r.status} for r in rows
        ]

    @get(
        "/{selection_id:int}",
        summary="One selection, with what only organizers see",
        responses=problems(400, 401, 403, 404),
    )
    async def show(self, db: DB, selection_id: SelectionId) -> dict[str, Any]:
        return await db.run_sync(lambda s: organizer_view(s, services.get_selection(s, selection_id)))

    @post(
        "/{selection_id:int}/publish",
        summary="Publish: the public page and the posts-and-seats notice; stages then run on their dates",
        guards=[staff],
        status_code=200,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def publish(
        self, db: DB, request: Request[Any, Any, Any], state: State, selection_id: SelectionId
    ) -> dict[str, Any]:
        actor = _actor(request)
        _, after = await run(db, lambda s: services.publish(s, actor, selection_id, state.settings))
        await after_commit(state, after)
        return await db.run_sync(lambda s: organizer_view(s, services.get_selection(s, selection_id)))

    @post(
        "/{selection_id:int}/applicants",
        summary="Add applicants (before the assessment opens)",
        guards=[staff],
        responses=problems(400, 401, 403, 404, 409),
    )
    async def add_applicants(
        self, db: DB, request: Request[Any, Any, Any], selection_id: SelectionId, data: JSONBody[ApplicantsIn]
    ) -> list[dict[str, Any]]:
        actor = _actor(request)
        specs = [services.ApplicantSpec(a.post_id, a.name, a.work_unit) for a in data.applicants]
        added = await run(db, lambda s: services.add_applicants(s, actor, selection_id, specs))
        return [{"id": a.id, "post_id": a.post_id, "name": a.name, "status": a.status} for a in added]

    @post(
        "/{selection_id:int}/applicants/{applicant_id:int}/withdraw",
        summary="Record an applicant's withdrawal, or withdraw a proposed appointee after an upheld objection",
        guards=[staff],
        status_code=200,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def withdraw(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        selection_id: SelectionId,
        applicant_id: ItemId,
        data: JSONBody[WithdrawIn | None] = None,
    ) -> dict[str, Any]:
        actor = _actor(request)
        objection = data.objection if data is not None else None
        a = await run(
            db, lambda s: services.withdraw_applicant(s, actor, selection_id, applicant_id, objection)
        )
        return {"id": a.id, "status": a.status, "reason": a.status_reason}

    @post(
        "/{selection_id:int}/stages/{kind:str}/{edge:str}",
        summary="Open or close a stage now (they also open and close on their dates by themselves)",
        guards=[staff],
        status_code=200,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def move_stage(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        state: State,
        selection_id: SelectionId,
        kind: Annotated[str, Parameter(max_length=32)],
        edge: Annotated[str, Parameter(max_length=8, description="open or close")],
    ) -> dict[str, Any]:
        actor = _actor(request)
        if edge not in ("open", "close"):
            raise InvalidInput("edge", "open or close")
        move = stages.open_stage if edge == "open" else stages.close_stage
        _, after = await run(db, lambda s: move(s, actor, selection_id, kind, state.settings))
        await after_commit(state, after)
        return await db.run_sync(lambda s: organizer_view(s, services.get_selection(s, selection_id)))

    @put(
        "/{selection_id:int}/stages/{kind:str}",
        summary="New dates for a stage that has not closed (the timetable's order must hold)",
        guards=[staff],
        responses=problems(400, 401, 403, 404, 409),
    )
    async def reschedule(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        state: State,
        selection_id: SelectionId,
        kind: Annotated[str, Parameter(max_length=32)],
        data: JSONBody[DatesIn],
    ) -> dict[str, Any]:
        actor = _actor(request)
        _, after = await run(
            db,
            lambda s: stages.reschedule_stage(s, actor, selection_id, kind, data.opens_at, data.closes_at),
        )
        await after_commit(state, after)
        return await db.run_sync(lambda s: organizer_view(s, services.get_selection(s, selection_id)))

    @post(
        "/{selection_id:int}/invitations",
        summary="Invite evaluators (assessment) or speech raters; each gets a personal link by SMS",
        guards=[staff],
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def invite(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        state: State,
        selection_id: SelectionId,
        data: JSONBody[InvitationsIn],
    ) -> dict[str, Any]:
        actor = _actor(request)
        invitees = [balloting.Invitee(i.resident_id, i.group) for i in data.invitees]
        invitations, after = await run(
            db, lambda s: balloting.invite(s, actor, selection_id, data.stage, invitees, state.settings)
        )
        await after_commit(state, after)
        return {"invited": len(invitations), "stage": data.stage}

    @get(
        "/{selection_id:int}/nominations",
        summary="Nomination tallies per nominee (all names)",
        responses=problems(400, 401, 403, 404),
    )
    async def nominations(self, db: DB, selection_id: SelectionId) -> list[dict[str, Any]]:
        def work(s: Session) -> list[dict[str, Any]]:
            services.get_selection(s, selection_id)
            return [t.__dict__ | {"total": t.total} for t in nominating.tallies(s, selection_id)]

        return await db.run_sync(work)

    @post(
        "/{selection_id:int}/nominees/{nominee_id:int}/consent",
        summary="Record whether a nominee consented to be named",
        guards=[staff],
        status_code=200,
        responses=problems(400, 401, 403, 404, 422),
    )
    async def consent(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        selection_id: SelectionId,
        nominee_id: ItemId,
        data: JSONBody[ConsentIn],
    ) -> dict[str, Any]:
        actor = _actor(request)
        n = await run(
            db, lambda s: nominating.record_consent(s, actor, selection_id, nominee_id, data.consent)
        )
        return {"id": n.id, "consent": n.consent}

    @post(
        "/{selection_id:int}/nominees/{nominee_id:int}/admit",
        summary="A consenting nominee becomes an applicant",
        guards=[staff],
        responses=problems(400, 401, 403, 404, 409),
    )
    async def admit(
        self, db: DB, request: Request[Any, Any, Any], selection_id: SelectionId, nominee_id: ItemId
    ) -> dict[str, Any]:
        actor = _actor(request)
        a = await run(db, lambda s: nominating.admit(s, actor, selection_id, nominee_id))
        return {"id": a.id, "post_id": a.post_id, "name": a.name, "status": a.status}

    @put(
        "/{selection_id:int}/panel",
        summary="The grand-jury panel that scores the interviews",
        guards=[staff],
        responses=problems(400, 401, 403, 404, 409),
    )
    async def link_panel(
        self, db: DB, request: Request[Any, Any, Any], selection_id: SelectionId, data: JSONBody[PanelLinkIn]
    ) -> dict[str, Any]:
        actor = _actor(request)
        selection = await run(db, lambda s: interviews.link_panel(s, actor, selection_id, data.panel_id))
        return {"id": selection.id, "panel_id": selection.panel_id}

    @get(
        "/{selection_id:int}/jurors",
        summary="The jurors of the interview: progress, absences, conflicts",
        responses=problems(400, 401, 403, 404),
    )
    async def jurors(self, db: DB, selection_id: SelectionId) -> list[dict[str, Any]]:
        def work(s: Session) -> list[dict[str, Any]]:
            services.get_selection(s, selection_id)
            return [
                {
                    "id": j.id,
                    "pseudonym": j.pseudonym,
                    "group": j.group,
                    "absent": j.absent,
                    "submitted": j.submitted_at is not None,
                    "conflicts": j.conflicts,
                }
                for j in interviews.jurors(s, selection_id)
            ]

        return await db.run_sync(work)

    @post(
        "/{selection_id:int}/jurors/{juror_id:int}/absent",
        summary="Mark a juror absent (they will not score)",
        guards=[staff],
        status_code=200,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def absent(
        self, db: DB, request: Request[Any, Any, Any], selection_id: SelectionId, juror_id: ItemId
    ) -> dict[str, Any]:
        actor = _actor(request)
        j = await run(db, lambda s: interviews.mark_absent(s, actor, selection_id, juror_id))
        return {"id": j.id, "absent": j.absent}

    @post(
        "/{selection_id:int}/jurors/{juror_id:int}/conflicts",
        summary="Record a juror's declared conflict with a candidate (they will not score that candidate)",
        guards=[staff],
        status_code=200,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def conflict(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        selection_id: SelectionId,
        juror_id: ItemId,
        data: JSONBody[ConflictIn],
    ) -> dict[str, Any]:
        actor = _actor(request)
        j = await run(
            db,
            lambda s: interviews.declare_conflict(
                s, actor, selection_id, juror_id, data.applicant_id, data.reason
            ),
        )
        return {"id": j.id, "conflicts": j.conflicts}


def _resident_from_token(session: Session, secrets: tuple[str, ...], token: str) -> int:
    payload = tokens.unsign(secrets, TOKEN_PURPOSE, token)
    if payload is None:
        raise InvalidInput("token", "sign in again with a new code: this token is invalid or expired")
    from sqlalchemy import select

    resident_id = session.execute(
        select(Resident.id).where(Resident.phone == payload["phone"])
    ).scalar_one_or_none()
    if resident_id is None:
        raise Forbidden("token", "sign up first: only registered residents nominate")
    return int(resident_id)


class ParticipationApi(Controller):
    """What residents do from their phones. Personal links carry a token that is their capability."""

    path = "/api/v1"
    tags = ["participation"]

    @post(
        "/nominations",
        summary="Nominate a person for a post (or change one's nomination)",
        status_code=200,
        responses=problems(400, 403, 404, 409),
    )
    async def nominate(self, db: DB, state: State, data: JSONBody[NominationIn]) -> dict[str, Any]:
        entry = nominating.NominationIn(data.post_id, data.name, data.work_unit, data.reason)

        def work(s: Session) -> dict[str, Any]:
            resident_id = _resident_from_token(
                s, state.settings.verifying_keys(Purpose.SIGNUP_TOKEN), data.token
            )
            nomination, changed = nominating.nominate(s, resident_id, data.selection_id, entry)
            return {"post_id": nomination.post_id, "nominee_id": nomination.nominee_id, "changed": changed}

        return await run(db, work)

    @get(
        "/ballots/{token:str}",
        summary="What an evaluator's ballot link opens",
        responses=problems(400, 404, 429),
    )
    async def ballot(self, db: DB, token: Token) -> dict[str, Any]:
        return await db.run_sync(
            lambda s: _link_view(balloting.open_link(s, InvitationStage.ASSESSMENT, token))
        )

    @post(
        "/ballots/{token:str}",
        summary="Cast the secret ballot (once)",
        status_code=200,
        responses=problems(400, 403, 404, 409, 429),
    )
    async def cast(self, db: DB, token: Token, data: JSONBody[BallotIn]) -> dict[str, Any]:
        await run(db, lambda s: balloting.cast_ballot(s, token, data.ratings))
        return {"cast": True}

    @get("/speech/{token:str}", summary="What a speech rater's link opens", responses=problems(400, 404, 429))
    async def speech(self, db: DB, token: Token) -> dict[str, Any]:
        return await db.run_sync(lambda s: _link_view(balloting.open_link(s, InvitationStage.SPEECH, token)))

    @post(
        "/speech/{token:str}",
        summary="Rate the speeches (once)",
        status_code=200,
        responses=problems(400, 403, 404, 409, 429),
    )
    async def rate_speeches(self, db: DB, token: Token, data: JSONBody[SpeechIn]) -> dict[str, Any]:
        await run(db, lambda s: balloting.submit_speech_scores(s, token, data.points))
        return {"submitted": True}

    @get("/scores/{token:str}", summary="A juror's scoring sheet", responses=problems(400, 404, 429))
    async def sheet(self, db: DB, token: Token) -> dict[str, Any]:
        def work(s: Session) -> dict[str, Any]:
            sheet = interviews.open_sheet(s, token)
            return {
                "selection_id": sheet.selection.id,
                "title": sheet.selection.title_en,
                "stage": sheet.selection.stage(StageKind.INTERVIEW).status,
                "candidates": [{"id": a.id, "name": a.name, "post_id": a.post_id} for a in sheet.candidates],
                "conflicted": [a.id for a in sheet.conflicted],
                "rubric": [
                    {"code": c.code, "max_points": c.max_points, "name_en": c.name_en, "name_zh": c.name_zh}
                    for c in sheet.rubric
                ],
                "submitted": sheet.juror.submitted_at is not None,
                "absent": sheet.juror.absent,
            }

        return await db.run_sync(work)

    @post(
        "/scores/{token:str}",
        summary="Submit the scores (once)",
        status_code=200,
        responses=problems(400, 403, 404, 409, 429),
    )
    async def score(self, db: DB, token: Token, data: JSONBody[ScoresIn]) -> dict[str, Any]:
        await run(db, lambda s: interviews.submit(s, token, data.scores))
        return {"submitted": True}


def _link_view(ballot: balloting.Ballot) -> dict[str, Any]:
    stage = ballot.selection.stage(StageKind(ballot.invitation.stage))
    return {
        "selection_id": ballot.selection.id,
        "title_zh": ballot.selection.title_zh,
        "title_en": ballot.selection.title_en,
        "stage": stage.status,
        "closes_at": stage.closes_at.isoformat(),
        "applicants": [{"id": a.id, "name": a.name, "post_id": a.post_id} for a in ballot.applicants],
        "used": ballot.invitation.voted_at is not None,
    }
