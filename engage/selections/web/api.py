"""/api/v1/selections (organizers) and the personal-link endpoints residents use from their phones:
/api/v1/nominations, /api/v1/ballots/{token}, /api/v1/speech/{token}, /api/v1/scores/{token}.
Thin: parse, run the sync service in the request's session, commit, then dispatch texts and notices."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args

from anyio import to_thread
from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter
from msgspec import UNSET, Meta, Struct, UnsetType, to_builtins
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.accounts.guards import OrganizerApi, staff
from engage.audit.services import organizer_actor
from engage.errors import Forbidden, NotFound
from engage.fractions import MAX_DIGITS
from engage.jobs import After, dispatch
from engage.keys import Purpose
from engage.residents import tokens
from engage.residents.models import Resident
from engage.residents.web.public_api import TOKEN_PURPOSE
from engage.selections import schemas as out
from engage.selections import services, stages
from engage.selections.models import (
    STAGE_ORDER,
    ApplicantStatus,
    ConsentStatus,
    InvitationStage,
    Selection,
    StageKind,
    StageStatus,
)
from engage.selections.rules.config import (
    CODE_PATTERN,
    EVALUATOR_GROUPS,
    JURY_GROUPS,
    RATER_GROUPS,
)
from engage.selections.rules.red_line import Rating
from engage.selections.stages import assessment as balloting
from engage.selections.stages import interview as interviews
from engage.selections.stages import nomination as nominating
from engage.selections.stages import outcome
from engage.web.deps import DB, MAX_ID, problems
from engage.web.fields import copy_fields
from engage.web.routes import CHANGE, change, create, read
from engage.web.text import FilledLine, Line, Lines

T = TypeVar("T")
SelectionId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="the selection")]
ItemId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
Token = Annotated[str, Parameter(min_length=8, max_length=64, description="the personal link's token")]
Short = Annotated[Line, Meta(min_length=1, max_length=200)]
Text = Annotated[Lines, Meta(max_length=2000)]


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
    code: Annotated[str, Meta(min_length=1, max_length=32, pattern=CODE_PATTERN)]
    max_points: Annotated[int, Meta(ge=1, le=100)]
    name_zh: Annotated[Line, Meta(max_length=100)] = ""
    name_en: Annotated[Line, Meta(max_length=100)] = ""


# A share: 4/5, "4/5", 0.8, "0.8" or "80%". Its bounds, and the text's form, are checked by
# rules.config.fraction (422 naming the rule): JSON Schema has no fraction type to bound.
Share = float | Annotated[str, Meta(max_length=2 * MAX_DIGITS, description='such as "4/5", "0.8" or "80%"')]


JuryGroup = Literal["expert", "deputy", "resident"]
RaterGroup = Literal["staff", "resident"]
EvaluatorGroup = Literal["leadership", "staff", "resident_rep"]
assert (get_args(JuryGroup), get_args(RaterGroup), get_args(EvaluatorGroup)) == (
    JURY_GROUPS,
    RATER_GROUPS,
    EVALUATOR_GROUPS,
)
WEIGHTS = "a positive share per group; the shares add up to 1"
# msgspec enforces the keys (Literal) but does not state them in its JSON Schema: propertyNames does.
JuryWeights = Annotated[
    dict[JuryGroup, Share],
    Meta(min_length=1, description=WEIGHTS, extra_json_schema={"propertyNames": {"enum": list(JURY_GROUPS)}}),
]
SpeechWeights = Annotated[
    dict[RaterGroup, Share],
    Meta(
        min_length=1, description=WEIGHTS, extra_json_schema={"propertyNames": {"enum": list(RATER_GROUPS)}}
    ),
]


class RulesIn(Struct):
    """The rules a selection may set; each left out keeps its default (docs/selection.md)."""

    threshold: Annotated[Share, Meta(description="from 0 to 1")] | UnsetType = UNSET
    basically_counts: bool | UnsetType = UNSET
    quorum: Annotated[Share, Meta(description="from 0 to 1")] | UnsetType = UNSET
    margin: Annotated[Share, Meta(description="from 1 to 10")] | UnsetType = UNSET
    trim_small_max: Annotated[int, Meta(ge=0, le=1000)] | UnsetType = UNSET
    trim_small: Annotated[int, Meta(ge=0, le=10)] | UnsetType = UNSET
    trim_large_share: Annotated[Share, Meta(description="from 0 to 1/3")] | UnsetType = UNSET
    jury_weights: JuryWeights | UnsetType = UNSET
    speech_weights: SpeechWeights | UnsetType = UNSET
    speech_max_points: Annotated[int, Meta(ge=1, le=1000)] | UnsetType = UNSET
    tie_break_seed: Annotated[Line, Meta(max_length=200)] | UnsetType = UNSET
    evaluator_groups: Annotated[list[EvaluatorGroup], Meta(min_length=1, max_length=10)] | UnsetType = UNSET


# Item i of `stages` is the stage of kind STAGE_ORDER[i] (services._check_stages refuses another order).
IN_TIMETABLE_ORDER = [
    {"$ref": StageIn.__name__, "properties": {"kind": {"const": kind.value}}} for kind in STAGE_ORDER
]


class SelectionIn(Struct):
    title_zh: Short
    title_en: Short
    unit: Short
    unit_category: Annotated[Line, Meta(min_length=1, max_length=64)]
    posts: Annotated[list[PostIn], Meta(min_length=1, max_length=services.MAX_POSTS)]
    stages: Annotated[
        list[StageIn],
        Meta(
            min_length=len(STAGE_ORDER),
            max_length=len(STAGE_ORDER),
            description="every stage once, in the timetable's order",
            extra_json_schema={"prefixItems": IN_TIMETABLE_ORDER},
        ),
    ]
    rubric: Annotated[list[CriterionIn], Meta(min_length=1, max_length=20)]
    rules: RulesIn | UnsetType = UNSET  # left out: every rule keeps its default
    eligibility_zh: Text = ""
    eligibility_en: Text = ""


class ApplicantIn(Struct):
    post_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    name: Annotated[FilledLine, Meta(min_length=1, max_length=100)]
    work_unit: Annotated[Line, Meta(max_length=200)] = ""


class WithdrawIn(Struct):
    objection: (
        Annotated[
            Line,
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
    group: Annotated[Line, Meta(min_length=1, max_length=32)]


def _groups_of(stage: InvitationStage, groups: tuple[str, ...]) -> dict[str, Any]:
    return {
        "if": {"properties": {"stage": {"const": stage.value}}, "required": ["stage"]},
        "then": {"properties": {"invitees": {"items": {"properties": {"group": {"enum": list(groups)}}}}}},
    }


class InvitationsIn(Struct):
    # Each stage has its own groups (assessment.invite refuses another, 400 naming the invitee's group).
    schema_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            _groups_of(InvitationStage.ASSESSMENT, EVALUATOR_GROUPS),
            _groups_of(InvitationStage.SPEECH, RATER_GROUPS),
        ]
    }

    stage: InvitationStage
    invitees: Annotated[list[InviteeIn], Meta(min_length=1, max_length=5000)]


class ConsentIn(Struct):
    consent: Literal["given", "refused"]  # pending is where a nominee starts, not an answer


class PanelLinkIn(Struct):
    panel_id: Annotated[int, Meta(ge=1, le=MAX_ID)]


class ConflictIn(Struct):
    applicant_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    reason: Annotated[Line, Meta(max_length=200)] = ""


class NominationIn(Struct):
    token: Annotated[Line, Meta(min_length=1, max_length=1000, description="from /api/v1/signup/verify")]
    selection_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    post_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    name: Annotated[FilledLine, Meta(min_length=1, max_length=100)]
    work_unit: Annotated[Line, Meta(max_length=200)] = ""
    reason: Annotated[Lines, Meta(max_length=nominating.MAX_REASON)] = ""


# JSON keys are strings: an id key is a string of digits, and /schema says so (propertyNames), which an
# int key type would not. Nine digits at most keep it below MAX_ID.
IdKey = Annotated[str, Meta(pattern=r"^[1-9][0-9]{0,8}$", description="an applicant id")]
Points = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]


def by_id(mapping: Mapping[str, T]) -> Mapping[int, T]:
    return {int(key): value for key, value in mapping.items()}


class BallotIn(Struct):
    ratings: dict[IdKey, Rating]


class SpeechIn(Struct):
    points: dict[IdKey, Points]


class ScoresIn(Struct):
    scores: dict[IdKey, dict[Annotated[Line, Meta(max_length=32)], Points]]


def _spec(data: SelectionIn) -> services.SelectionSpec:
    return copy_fields(
        services.SelectionSpec,
        data,
        posts=[
            services.PostSpec(p.title_zh, p.title_en, p.seats, p.advance, p.conditions_zh, p.conditions_en)
            for p in data.posts
        ],
        stages=[services.StageSpec(s.kind, s.opens_at, s.closes_at) for s in data.stages],
        rules={} if isinstance(data.rules, UnsetType) else to_builtins(data.rules),
        rubric=[
            {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en, "max_points": c.max_points}
            for c in data.rubric
        ],
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


async def _view(db: AsyncSession, selection_id: int) -> out.SelectionOut:
    view = await db.run_sync(lambda s: organizer_view(s, services.get_selection(s, selection_id)))
    return out.typed(out.SelectionOut, view)


class SelectionController(OrganizerApi):
    path = "/api/v1/selections"
    tags = ["selections"]

    @create(summary="Create a draft selection: posts, timetable, rubric, rules", guards=[staff])
    async def create(
        self, db: DB, request: Request[Any, Any, Any], data: JSONBody[SelectionIn]
    ) -> out.SelectionOut:
        """A new selection starts as a draft: nothing is public and nothing runs until it is published.
        `stages` gives all six stages (nomination, assessment, speech, interview, result, public_notice)
        in this order; `rules` may set any of the rule keys shown in the answer (threshold, quorum,
        margin, weights, trims); the rest keep their defaults (docs/selection.md). 422 `rule_broken`:
        a stage closing before it opens or opening before the previous one closes, a post advancing
        fewer than its seats, a criterion code twice, a share out of its bounds or weights not adding
        up to 1."""
        spec = _spec(data)
        actor = _actor(request)
        selection_id = await run(db, lambda s: services.create_selection(s, actor, spec).id)
        return await _view(db, selection_id)

    @read(summary="Selections, newest first", fails=(401, 403))
    async def list_selections(self, db: DB) -> list[out.SelectionSummary]:
        """Every selection, drafts included, with its status (draft, published, finished)."""
        rows = await db.run_sync(lambda s: services.list_selections(s, public=False))
        return [out.typed(out.SelectionSummary, r) for r in rows]

    @read("/{selection_id:int}", summary="One selection, with what only organizers see")
    async def show(self, db: DB, selection_id: SelectionId) -> out.SelectionOut:
        """The whole selection: timetable, applicants and their status, each closed stage's outcome,
        and what only organizers see (tallies with unconsented names, turnout, deviation report)."""
        return await _view(db, selection_id)

    @change(
        "/{selection_id:int}/publish",
        summary="Publish: the public page and the posts-and-seats notice; stages then run on their dates",
        guards=[staff],
    )
    async def publish(
        self, db: DB, request: Request[Any, Any, Any], state: State, selection_id: SelectionId
    ) -> out.SelectionOut:
        """A draft becomes public: its page appears and the posts-and-seats notice is published and
        texted to subscribers. From then on each stage opens and closes on its dates. 409
        `not_a_draft` when it was published before."""
        actor = _actor(request)
        _, after = await run(db, lambda s: services.publish(s, actor, selection_id, state.settings))
        await after_commit(state, after)
        return await _view(db, selection_id)

    @change(
        "/{selection_id:int}/applicants",
        summary="Add applicants (before the assessment opens)",
        guards=[staff],
        status_code=201,
    )
    async def add_applicants(
        self, db: DB, request: Request[Any, Any, Any], selection_id: SelectionId, data: JSONBody[ApplicantsIn]
    ) -> list[out.ApplicantAdded]:
        """Applicants who applied directly (nominees come in through `admit`). Allowed until the
        assessment opens; 409 `stage_not_open`/`stage_closed` afterwards."""
        actor = _actor(request)
        specs = [services.ApplicantSpec(a.post_id, a.name, a.work_unit) for a in data.applicants]
        added = await run(db, lambda s: services.add_applicants(s, actor, selection_id, specs))
        return [out.typed(out.ApplicantAdded, a) for a in added]

    @change(
        "/{selection_id:int}/applicants/{applicant_id:int}/withdraw",
        summary="Record an applicant's withdrawal, or withdraw a proposed appointee after an upheld objection",
        guards=[staff],
    )
    async def withdraw(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        selection_id: SelectionId,
        applicant_id: ItemId,
        data: JSONBody[WithdrawIn | None] = None,
    ) -> out.ApplicantStatusOut:
        """Without a body: the applicant withdrew. With `objection`: a proposed appointee is withdrawn
        because that objection was upheld during the pre-appointment notice."""
        actor = _actor(request)
        objection = data.objection if data is not None else None
        a = await run(
            db, lambda s: services.withdraw_applicant(s, actor, selection_id, applicant_id, objection)
        )
        return out.ApplicantStatusOut(id=a.id, status=ApplicantStatus(a.status), reason=a.status_reason)

    @change(
        "/{selection_id:int}/stages/{kind:str}/{edge:str}",
        summary="Open or close a stage now (they also open and close on their dates by themselves)",
        guards=[staff],
    )
    async def move_stage(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        state: State,
        selection_id: SelectionId,
        kind: Annotated[StageKind, Parameter(description="the stage")],
        edge: Annotated[Literal["open", "close"], Parameter(description="open or close")],
    ) -> out.SelectionOut:
        """Stages open and close on their dates by themselves; this moves one now. Closing a stage
        computes its outcome (verdicts, rankings, the proposal) and publishes its notice. Refusals:
        409 `previous_stage_open`, `stage_already_moved`, `stage_not_open`, `quorum_not_met` (the
        assessment), `margin_not_met` (the speech stage), `scores_sealed` (the interview)."""
        actor = _actor(request)
        move = stages.open_stage if edge == "open" else stages.close_stage
        _, after = await run(db, lambda s: move(s, actor, selection_id, kind, state.settings))
        await after_commit(state, after)
        return await _view(db, selection_id)

    @change(
        "/{selection_id:int}/stages/{kind:str}",
        summary="New dates for a stage that has not closed (the timetable's order must hold)",
        guards=[staff],
        method=put,
        fails=(*CHANGE, 422),
    )
    async def reschedule(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        state: State,
        selection_id: SelectionId,
        kind: Annotated[StageKind, Parameter(description="the stage")],
        data: JSONBody[DatesIn],
    ) -> out.SelectionOut:
        """Move a stage that has not closed. An open stage keeps its opening time; the public notice
        stage runs with its notice period instead (extend or suspend that). 422 `rule_broken` when the
        stage would close before it opens, open before the previous stage closes, or close after the
        next one opens."""
        actor = _actor(request)
        _, after = await run(
            db,
            lambda s: stages.reschedule_stage(s, actor, selection_id, kind, data.opens_at, data.closes_at),
        )
        await after_commit(state, after)
        return await _view(db, selection_id)

    @change(
        "/{selection_id:int}/invitations",
        summary="Invite evaluators (assessment) or speech raters; each gets a personal link by SMS",
        guards=[staff],
        status_code=201,
        fails=(400, 401, 403, 404, 409, 422),
    )
    async def invite(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        state: State,
        selection_id: SelectionId,
        data: JSONBody[InvitationsIn],
    ) -> out.InvitationsSent:
        """Each invitee gets a personal link by text. `group` is an evaluator group for the assessment
        (leadership, staff, resident_rep) or a rater group for the speech stage (staff, resident).
        Each resident once (422 `rule_broken`); 404 names an invitee who is no resident, 409 one
        without the evaluator role; 409 `already_invited` names the invitee; 409 `stage_closed` once
        the stage has closed."""
        actor = _actor(request)
        invitees = [balloting.Invitee(i.resident_id, i.group) for i in data.invitees]
        invitations, after = await run(
            db, lambda s: balloting.invite(s, actor, selection_id, data.stage, invitees, state.settings)
        )
        await after_commit(state, after)
        return out.InvitationsSent(invited=len(invitations), stage=data.stage)

    @read("/{selection_id:int}/nominations", summary="Nomination tallies per nominee (all names)")
    async def nominations(self, db: DB, selection_id: SelectionId) -> list[out.Tally]:
        """Every nominee with the nominations from deputies and from residents, including names that
        have not consented yet (the public page shows those only as counts)."""

        def work(s: Session) -> list[out.Tally]:
            services.get_selection(s, selection_id)
            return [out.typed(out.Tally, t) for t in nominating.tallies(s, selection_id)]

        return await db.run_sync(work)

    @change(
        "/{selection_id:int}/nominees/{nominee_id:int}/consent",
        summary="Record whether a nominee consented to be named",
        guards=[staff],
        fails=(400, 401, 403, 404, 422),
    )
    async def consent(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        selection_id: SelectionId,
        nominee_id: ItemId,
        data: JSONBody[ConsentIn],
    ) -> out.NomineeConsent:
        """A nominee's name is published, and the nominee can be admitted, only after consent."""
        actor = _actor(request)
        n = await run(
            db,
            lambda s: nominating.record_consent(
                s, actor, selection_id, nominee_id, ConsentStatus(data.consent)
            ),
        )
        return out.NomineeConsent(id=n.id, consent=ConsentStatus(n.consent))

    @change(
        "/{selection_id:int}/nominees/{nominee_id:int}/admit",
        summary="A consenting nominee becomes an applicant",
        guards=[staff],
        status_code=201,
    )
    async def admit(
        self, db: DB, request: Request[Any, Any, Any], selection_id: SelectionId, nominee_id: ItemId
    ) -> out.ApplicantAdded:
        """409 `consent_missing` before the nominee consented; 409 `already_applicant` the second time."""
        actor = _actor(request)
        a = await run(db, lambda s: nominating.admit(s, actor, selection_id, nominee_id))
        return out.typed(out.ApplicantAdded, a)

    @change(
        "/{selection_id:int}/panel",
        summary="The grand-jury panel that scores the interviews",
        guards=[staff],
        method=put,
    )
    async def link_panel(
        self, db: DB, request: Request[Any, Any, Any], selection_id: SelectionId, data: JSONBody[PanelLinkIn]
    ) -> out.SelectionPanel:
        """The panel (see /api/v1/panels) whose confirmed members become the interview's jurors when
        the interview opens. Chosen before the interview opens; a panel serves one selection."""
        actor = _actor(request)
        selection = await run(db, lambda s: interviews.link_panel(s, actor, selection_id, data.panel_id))
        return out.SelectionPanel(id=selection.id, panel_id=selection.panel_id)

    @read("/{selection_id:int}/jurors", summary="The jurors of the interview: progress, absences, conflicts")
    async def jurors(self, db: DB, selection_id: SelectionId) -> list[out.JurorOut]:
        """Jurors by pseudonym (never by name or number), with whether each has submitted, was marked
        absent, and the applicants each declared a conflict with."""

        def work(s: Session) -> list[out.JurorOut]:
            services.get_selection(s, selection_id)
            return [
                out.JurorOut(
                    id=j.id,
                    pseudonym=j.pseudonym,
                    group=j.group,
                    absent=j.absent,
                    submitted=j.submitted_at is not None,
                    conflicts=list(j.conflicts),
                )
                for j in interviews.jurors(s, selection_id)
            ]

        return await db.run_sync(work)

    @change(
        "/{selection_id:int}/jurors/{juror_id:int}/absent",
        summary="Mark a juror absent (they will not score)",
        guards=[staff],
    )
    async def absent(
        self, db: DB, request: Request[Any, Any, Any], selection_id: SelectionId, juror_id: ItemId
    ) -> out.JurorAbsence:
        """An absent juror does not score, and the interview can close without their sheet. 409
        `scores_already_submitted` when the juror has submitted."""
        actor = _actor(request)
        j = await run(db, lambda s: interviews.mark_absent(s, actor, selection_id, juror_id))
        return out.JurorAbsence(id=j.id, absent=j.absent)

    @change(
        "/{selection_id:int}/jurors/{juror_id:int}/conflicts",
        summary="Record a juror's declared conflict with a candidate (they will not score that candidate)",
        guards=[staff],
    )
    async def conflict(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        selection_id: SelectionId,
        juror_id: ItemId,
        data: JSONBody[ConflictIn],
    ) -> out.JurorConflicts:
        """The juror's sheet leaves that candidate out. Recorded before the juror submits."""
        actor = _actor(request)
        j = await run(
            db,
            lambda s: interviews.declare_conflict(
                s, actor, selection_id, juror_id, data.applicant_id, data.reason
            ),
        )
        return out.JurorConflicts(id=j.id, conflicts=list(j.conflicts))


def _resident_from_token(session: Session, secrets: tuple[str, ...], token: str) -> int:
    payload = tokens.unsign(secrets, TOKEN_PURPOSE, token)
    if payload is None:
        raise NotFound("token", "sign in again with a new code: this token is invalid or expired")
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
    async def nominate(self, db: DB, state: State, data: JSONBody[NominationIn]) -> out.NominationOut:
        """A registered resident or deputy nominates one person per post while the nomination stage
        is open, authenticated by the token /api/v1/signup/verify returned (valid about 30 minutes).
        Nominating again for the same post replaces the earlier nomination (`changed`)."""
        entry = nominating.NominationIn(data.post_id, data.name, data.work_unit, data.reason)

        def work(s: Session) -> out.NominationOut:
            resident_id = _resident_from_token(
                s, state.settings.verifying_keys(Purpose.SIGNUP_TOKEN), data.token
            )
            nomination, changed = nominating.nominate(s, resident_id, data.selection_id, entry)
            return out.NominationOut(
                post_id=nomination.post_id, nominee_id=nomination.nominee_id, changed=changed
            )

        return await run(db, work)

    @get(
        "/ballots/{token:str}",
        summary="What an evaluator's ballot link opens",
        responses=problems(400, 404, 429),
    )
    async def ballot(self, db: DB, token: Token) -> out.LinkView:
        """The applicants an evaluator rates, from the token in the texted link; `used` once cast."""
        return await db.run_sync(
            lambda s: _link_view(balloting.open_link(s, InvitationStage.ASSESSMENT, token))
        )

    @post(
        "/ballots/{token:str}",
        summary="Cast the secret ballot (once)",
        status_code=200,
        responses=problems(400, 403, 404, 409, 429),
    )
    async def cast(self, db: DB, token: Token, data: JSONBody[BallotIn]) -> out.Cast:
        """`ratings` maps each applicant id to competent, basically_competent or not_competent. The
        ballot is secret: only the counts are kept. 409 `ballot_already_cast` the second time."""
        await run(db, lambda s: balloting.cast_ballot(s, token, by_id(data.ratings)))
        return out.Cast(cast=True)

    @get("/speech/{token:str}", summary="What a speech rater's link opens", responses=problems(400, 404, 429))
    async def speech(self, db: DB, token: Token) -> out.LinkView:
        """The candidates a speech rater scores, from the token in the texted link."""
        return await db.run_sync(lambda s: _link_view(balloting.open_link(s, InvitationStage.SPEECH, token)))

    @post(
        "/speech/{token:str}",
        summary="Rate the speeches (once)",
        status_code=200,
        responses=problems(400, 403, 404, 409, 429),
    )
    async def rate_speeches(self, db: DB, token: Token, data: JSONBody[SpeechIn]) -> out.Submitted:
        """`points` maps each applicant id to points from 0 to the rules' speech_max_points."""
        await run(db, lambda s: balloting.submit_speech_scores(s, token, by_id(data.points)))
        return out.Submitted(submitted=True)

    @get("/scores/{token:str}", summary="A juror's scoring sheet", responses=problems(400, 404, 429))
    async def sheet(self, db: DB, token: Token) -> out.ScoreSheet:
        """The candidates a juror scores on each rubric criterion; declared conflicts are left out."""

        def work(s: Session) -> out.ScoreSheet:
            sheet = interviews.open_sheet(s, token)
            return out.ScoreSheet(
                selection_id=sheet.selection.id,
                title=sheet.selection.title_en,
                stage=StageStatus(sheet.selection.stage(StageKind.INTERVIEW).status),
                candidates=[out.typed(out.Candidate, a) for a in sheet.candidates],
                conflicted=[a.id for a in sheet.conflicted],
                rubric=[out.typed(out.Criterion, c) for c in sheet.rubric],
                submitted=sheet.juror.submitted_at is not None,
                absent=sheet.juror.absent,
            )

        return await db.run_sync(work)

    @post(
        "/scores/{token:str}",
        summary="Submit the scores (once)",
        status_code=200,
        responses=problems(400, 403, 404, 409, 429),
    )
    async def score(self, db: DB, token: Token, data: JSONBody[ScoresIn]) -> out.Submitted:
        """`scores` maps each candidate id to points per rubric criterion code (0 to its max_points).
        Submitted once: 409 `scores_already_submitted` afterwards."""
        await run(db, lambda s: interviews.submit(s, token, by_id(data.scores)))
        return out.Submitted(submitted=True)


def _link_view(ballot: balloting.Ballot) -> out.LinkView:
    stage = ballot.selection.stage(StageKind(ballot.invitation.stage))
    return out.LinkView(
        selection_id=ballot.selection.id,
        title_zh=ballot.selection.title_zh,
        title_en=ballot.selection.title_en,
        stage=StageStatus(stage.status),
        closes_at=stage.closes_at,
        applicants=[out.typed(out.Candidate, a) for a in ballot.applicants],
        used=ballot.invitation.voted_at is not None,
    )
