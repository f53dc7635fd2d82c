"""/api/v1/panels: a grand-jury panel from draft to check-in. Thin: parse, call
engage.panels.services, respond. Staff write; every organizer role reads (auditors included).

The draw record and the pool CSV are what an auditor replays with `engage panel verify`."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

import msgspec
from anyio import to_thread
from litestar import Request, Response, put
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct

from engage import jobs
from engage.accounts.guards import OrganizerApi, staff
from engage.audit.services import organizer_actor
from engage.db import utcnow
from engage.errors import Conflict, InvalidInput
from engage.panels import pool as pools
from engage.panels import services
from engage.panels.conflicts import rules as conflicts
from engage.panels.models import MemberStatus, Panel, PanelMember
from engage.panels.seats import services as seats
from engage.panels.seats.schedule import (
    replacement_reminders,
    schedule_deadline_jobs,
    schedule_member_reminders,
)
from engage.sms.models import SmsMessage
from engage.web.dates import Moment, in_years
from engage.web.deps import DB, MAX_ID
from engage.web.fields import copy_fields
from engage.web.routes import CHANGE, LISTING, ONE, change, create, read
from engage.web.text import Line

PanelId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="the panel")]
MemberId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="a member of the panel's pool")]
Count = Annotated[int, Meta(ge=0, le=1000)]
Category = Literal["participant_type", "community", "gender", "age_band"]
Algorithm = Literal["leximin", "maximin", "legacy"]


class QuotaRow(Struct):
    category: Category
    feature: Annotated[
        Line,
        Meta(
            min_length=1,
            max_length=32,
            description=(
                "the value within the category: participant_type resident, deputy or expert; gender "
                "female, male or other; age_band 18-29, 30-44, 45-59, 60-74 or 75+; community a code "
                "from GET /api/v1/communities; in every category `unknown` counts those who did not "
                "say. Another value is refused (422, `extra.allowed` lists the valid ones)"
            ),
        ),
    ]
    min: Count
    max: Count


class PanelIn(Struct):
    title: Annotated[Line, Meta(min_length=1, max_length=200)]
    size: Annotated[int, Meta(ge=1, le=1000, description="seats")]
    algorithm: Algorithm = "leximin"
    event_date: Annotated[Line, Meta(max_length=100, description="as the invitation says it")] = ""
    place: Annotated[Line, Meta(max_length=200)] = ""
    reply_deadline: Moment | None = None
    max_prior_service: (
        Annotated[int, Meta(ge=1, le=100, description="leave out residents who attended this many panels")]
        | None
    ) = None


class QuotasIn(Struct):
    quotas: Annotated[list[QuotaRow], Meta(max_length=200)]


ResidentIds = Annotated[list[Annotated[int, Meta(ge=1, le=MAX_ID)]], Meta(max_length=1000)]


class CandidateIn(Struct):
    """What is known about one candidate; the residents it puts in conflict are excluded at freeze."""

    key: Annotated[Line, Meta(min_length=1, max_length=200, description="the candidate's key (public)")]
    name: Annotated[Line, Meta(max_length=200, description="matched against declared conflicts")] = ""
    work_unit: Annotated[Line, Meta(min_length=1, max_length=200)] | None = None
    household_key: Annotated[Line, Meta(min_length=1, max_length=200)] | None = None
    nominator_resident_ids: ResidentIds = []
    family_resident_ids: ResidentIds = []
    household_resident_ids: ResidentIds = []
    other_resident_ids: ResidentIds = []


class ExclusionsIn(Struct):
    resident_ids: ResidentIds = []
    work_units: Annotated[
        list[Annotated[Line, Meta(min_length=1, max_length=200)]], Meta(max_length=100)
    ] = []
    candidates: Annotated[list[CandidateIn], Meta(max_length=100)] = []


class DrawIn(Struct):
    seed_parts: Annotated[
        list[Annotated[Line, Meta(min_length=1, max_length=200)]],
        Meta(min_length=1, max_length=services.MAX_SEED_PARTS, description="revealed in the published order"),
    ]


class CheckInIn(Struct):
    code: Annotated[Line, Meta(min_length=1, max_length=8, description="from the confirmation text")]


@dataclass
class QuotaOut:
    category: str
    feature: str
    min: int
    max: int


@dataclass
class ConflictOut:
    pseudonym: str
    candidate: str
    reasons: list[str]  # same_work_unit, same_household, nominator, declared_family, ...


@dataclass
class ExclusionsOut:
    resident_ids: list[int]
    work_units: list[str]
    candidates: list[str]  # keys of the candidates given with the exclusions
    conflicts: list[ConflictOut]  # once frozen: who was excluded for which candidate, and why


class SeedPart(Struct):
    value: str
    commitment: str


class DrawPool(Struct):
    sha256: str
    size: int
    categories: list[str]


class DrawRecord(Struct, omit_defaults=True):  # the prepared half has no seed keys at all
    """The draw record (format engage.lottery.draw, docs/lottery.md): the prepared half is fixed and
    committed to at freeze; the draw half (seed_parts … reserve) is added by the draw. Anyone can
    replay it with `engage lottery verify`."""

    format: str
    version: int
    algorithm: dict[str, str]
    pool: DrawPool
    quotas: Annotated[list[list[str | int]], Meta(description="rows of [category, value, min, max]")]
    panel_size: int
    exclusions: Annotated[list[int], Meta(description="tickets (1-based pool positions) left out")]
    reserve_size: int
    panels: Annotated[list[list[int]], Meta(description="the M candidate panels, as sorted tickets")]
    commitment: str
    seed_parts: list[SeedPart] | None = None
    seed: str | None = None
    index: Annotated[int | None, Meta(description="which of the M panels the seed chose")] = None
    panel: list[int] | None = None
    reserve: list[int] | None = None


@dataclass
class PanelOut:
    id: int
    title: str
    size: int
    algorithm: str
    status: str
    quotas: list[QuotaOut]
    exclusions: ExclusionsOut
    event_date: str
    place: str
    reply_deadline: datetime | None
    max_prior_service: int | None
    pool_sha256: str | None
    commitment: str | None  # publish it before the seed parts are revealed
    members_by_status: dict[str, int]
    created_at: datetime
    frozen_at: datetime | None
    drawn_at: datetime | None


@dataclass
class PanelSummary:
    id: int
    title: str
    size: int
    status: str
    event_date: str
    commitment: str | None
    created_at: datetime


@dataclass
class QuotaChangeOut:
    category: str
    feature: str
    min: int
    max: int
    new_min: int
    new_max: int


@dataclass
class FeasibilityOut:
    feasible: bool
    panel_size: int
    pool: int  # eligible volunteers now
    eligible: int  # of them, not excluded
    explanation: str
    problems: list[str]
    relaxation: list[QuotaChangeOut]  # the smallest change of bounds that would work


@dataclass
class MemberOut:
    id: int
    pseudonym: str
    resident_id: int | None
    ticket: int
    status: str
    reserve_position: int | None
    replacement_for_id: int | None
    invited_at: datetime | None
    replied_at: datetime | None
    checked_in_at: datetime | None
    service_count: int  # panels this resident has attended, all panels


@dataclass
class TextsQueued:
    texts: int  # invitations queued


def _plain(field: str, value: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def _candidate(row: CandidateIn) -> conflicts.CandidateFacts:
    return conflicts.CandidateFacts(
        key=_plain("candidates", row.key),
        name=_plain("candidates", row.name),
        work_unit=_plain("candidates", row.work_unit) if row.work_unit else None,
        household_key=_plain("candidates", row.household_key) if row.household_key else None,
        nominator_resident_ids=frozenset(row.nominator_resident_ids),
        family_resident_ids=frozenset(row.family_resident_ids),
        household_resident_ids=frozenset(row.household_resident_ids),
        other_resident_ids=frozenset(row.other_resident_ids),
    )


def candidate_source(state: State) -> services.CandidateSource | None:
    """The selections domain's candidates of a panel, when the app was given a source (`state`)."""
    source: services.CandidateSource | None = state.get("candidate_source")
    return source


def _panel_out(panel: Panel) -> PanelOut:
    return copy_fields(
        PanelOut,
        panel,
        quotas=[QuotaOut(r["category"], r["feature"], r["min"], r["max"]) for r in panel.quotas],
        exclusions=ExclusionsOut(
            list(panel.exclusions.get("resident_ids", [])),
            list(panel.exclusions.get("work_units", [])),
            [c["key"] for c in panel.exclusions.get("candidates", [])],
            [
                ConflictOut(c["pseudonym"], c["candidate"], c["reasons"])
                for c in panel.exclusions.get("conflicts", [])
            ],
        ),
        members_by_status=dict(Counter(m.status for m in panel.members)),
    )


def _member_out(member: PanelMember, counts: dict[int, int]) -> MemberOut:
    served = counts.get(member.resident_id, 0) if member.resident_id is not None else 0
    return copy_fields(MemberOut, member, service_count=served)


async def send_texts(state: State, messages: list[SmsMessage]) -> None:
    await send_texts_by_id(state, [message.id for message in messages])


async def send_texts_by_id(state: State, ids: list[int]) -> None:
    """Enqueue committed texts for sending."""
    await jobs.after_commit(state.redis_url, jobs.After(texts=ids))


async def schedule_deadline(state: State, panel: Panel) -> None:
    """The reminder and the lapse of the reply deadline (`engage.panels.seats.schedule`), and the reminders
    of replacements invited along the way."""
    await to_thread.run_sync(
        partial(schedule_deadline_jobs, state.redis_url, panel.id, panel.reply_deadline, utcnow())
    )
    await schedule_reminders(state, panel.id, replacement_reminders(panel, utcnow()))


async def schedule_reminders(state: State, panel_id: int, reminders: list[tuple[int, datetime]]) -> None:
    """Replacements invited after the panel's reminder still get one (`schedule.replacement_reminders`)."""
    if reminders:
        await to_thread.run_sync(partial(schedule_member_reminders, state.redis_url, panel_id, reminders))


def _actor(request: Request[Any, Any, Any]) -> str:
    return organizer_actor(request.user.id)


class PanelController(OrganizerApi):
    path = "/api/v1/panels"
    tags = ["panels"]

    @create(summary="Create a draft panel", guards=[staff])
    async def create(self, db: DB, request: Request[Any, Any, Any], data: JSONBody[PanelIn]) -> PanelOut:
        """A panel (a grand jury) is drawn by lot from the volunteers of the pool. It starts as a draft: set
        quotas and exclusions, then freeze and draw."""
        in_years("reply_deadline", data.reply_deadline)
        panel = await services.create_panel(
            db,
            _actor(request),
            title=_plain("title", data.title),
            size=data.size,
            algorithm=data.algorithm,
            event_date=_plain("event_date", data.event_date),
            place=_plain("place", data.place),
            reply_deadline=data.reply_deadline,
            max_prior_service=data.max_prior_service,
        )
        return _panel_out(panel)

    @read(summary="Panels, newest first", fails=LISTING)
    async def list_panels(
        self,
        db: DB,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_ID)] = 0,
    ) -> list[PanelSummary]:
        """Every panel with its status (draft, frozen, drawn, closed)."""
        panels = await services.list_panels(db, limit, offset)
        return [
            PanelSummary(p.id, p.title, p.size, p.status, p.event_date, p.commitment, p.created_at)
            for p in panels
        ]

    @read("/{panel_id:int}", summary="One panel")
    async def show(self, db: DB, panel_id: PanelId) -> PanelOut:
        """The panel's size, quotas, exclusions, status and commitment."""
        return _panel_out(await services.get_panel(db, panel_id))

    @change(
        "/{panel_id:int}/quotas",
        summary="Set the quotas (category, feature, min, max) of a draft panel",
        guards=[staff],
        method=put,
        fails=(400, 401, 403, 404, 409, 422),
    )
    async def set_quotas(
        self, db: DB, request: Request[Any, Any, Any], panel_id: PanelId, data: JSONBody[QuotasIn]
    ) -> PanelOut:
        """Each row bounds how many seats go to residents with one value of a category (participant_type,
        gender, age_band, community). Values must exist: 422 `unknown_value` lists the valid ones. Each
        category and value once, a min at most its max (422 `rule_broken`) and at most the panel's size
        (409)."""
        rows = [
            {"category": q.category, "feature": _plain("quotas", q.feature), "min": q.min, "max": q.max}
            for q in data.quotas
        ]
        return _panel_out(await services.set_quotas(db, _actor(request), panel_id, rows))

    @change(
        "/{panel_id:int}/exclusions",
        summary="Exclude residents by id or by work unit (e.g. a candidate's) from a draft panel",
        guards=[staff],
        method=put,
        fails=(*CHANGE, 422),
    )
    async def set_exclusions(
        self, db: DB, request: Request[Any, Any, Any], panel_id: PanelId, data: JSONBody[ExclusionsIn]
    ) -> PanelOut:
        """Excluded residents are left out of the pool at freeze, e.g. a candidate's colleagues. Each
        candidate key is given once (422 `rule_broken`)."""
        units = [_plain("work_units", unit) for unit in data.work_units]
        candidates = [_candidate(c) for c in data.candidates]
        panel = await services.set_exclusions(
            db, _actor(request), panel_id, data.resident_ids, units, candidates
        )
        return _panel_out(panel)

    @read(
        "/{panel_id:int}/feasibility",
        summary="Whether the pool as it is now can fill the panel within the quotas; if not, why",
        fails=(*ONE, 409),
    )
    async def feasibility(self, db: DB, state: State, panel_id: PanelId) -> FeasibilityOut:
        """Run before freezing: says whether the quotas can be met by the pool as it is, and which quota
        cannot, with the numbers."""
        panel, live, report = await services.feasibility(db, panel_id, candidate_source(state))
        return FeasibilityOut(
            feasible=report.feasible,
            panel_size=panel.size,
            pool=len(live.pool.people),
            eligible=report.eligible,
            explanation=report.explanation(),
            problems=list(report.problems),
            relaxation=[
                QuotaChangeOut(c.category, c.value, c.min, c.max, c.new_min, c.new_max)
                for c in report.relaxation
            ],
        )

    @change(
        "/{panel_id:int}/freeze",
        summary="Fix the pool and compute the lottery; answers the commitment to publish",
        guards=[staff],
        fails=CHANGE,
    )
    async def freeze(
        self, db: DB, state: State, request: Request[Any, Any, Any], panel_id: PanelId
    ) -> PanelOut:
        """The pool is fixed and the lottery computed; the answer's commitment is published before the draw,
        so no one can choose the outcome. 409 `lottery_failed` when the quotas cannot be met by the pool as it
        is now (or the solver failed)."""
        panel = await services.freeze(db, _actor(request), panel_id, candidate_source(state))
        return _panel_out(panel)

    @change(
        "/{panel_id:int}/draw",
        summary="Reveal the seed parts and draw the panel (the panel must be frozen)",
        guards=[staff],
    )
    async def draw(
        self, db: DB, request: Request[Any, Any, Any], panel_id: PanelId, data: JSONBody[DrawIn]
    ) -> PanelOut:
        """The seed parts are revealed, and the seed picks one of the computed panels. The record can then be
        replayed by anyone."""
        parts = [_plain("seed_parts", part) for part in data.seed_parts]
        return _panel_out(await services.draw(db, _actor(request), panel_id, parts))

    @change(
        "/{panel_id:int}/invite",
        summary="Text every seated member not invited yet: date, place, reply 1 or 2",
        guards=[staff],
    )
    async def invite(
        self, db: DB, state: State, request: Request[Any, Any, Any], panel_id: PanelId
    ) -> TextsQueued:
        """Each seated member not invited yet gets a text with the date and place, answering 1 (yes) or 2
        (no)."""
        messages = await seats.invite(db, state.settings, _actor(request), panel_id)
        await send_texts(state, messages)
        await schedule_deadline(state, await services.get_panel(db, panel_id))
        return TextsQueued(texts=len(messages))

    @change(
        "/{panel_id:int}/lapse",
        summary="After the reply deadline: replace everyone invited who has not answered",
        guards=[staff],
    )
    async def lapse(
        self, db: DB, state: State, request: Request[Any, Any, Any], panel_id: PanelId
    ) -> TextsQueued:
        """Run after the reply deadline: every invited member who has not answered is replaced by the next
        fitting reserve."""
        messages = await seats.lapse_unanswered(db, state.settings, _actor(request), panel_id, utcnow())
        await send_texts(state, messages)
        return TextsQueued(texts=len(messages))

    @read(
        "/{panel_id:int}/members",
        summary="The panel's members and their statuses (with `include_pool`, the whole frozen pool)",
    )
    async def members(
        self,
        db: DB,
        panel_id: PanelId,
        include_pool: Annotated[bool, Parameter(description="include pool members never seated")] = False,
    ) -> list[MemberOut]:
        """Members by pseudonym with their status (drawn, invited, confirmed, declined, replaced, withdrawn, attended).
        `include_pool` adds the whole frozen pool."""
        panel = await services.get_panel(db, panel_id)
        hidden = () if include_pool else (MemberStatus.POOL, MemberStatus.EXCLUDED)
        chosen = [m for m in panel.members if m.status not in hidden]
        counts = await seats.service_counts(db, [m.resident_id for m in chosen if m.resident_id])
        return [_member_out(m, counts) for m in chosen]

    async def _mark(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        panel_id: int,
        member_id: int,
        status: MemberStatus,
    ) -> MemberOut:
        actor = _actor(request)
        member, messages = await seats.mark(db, state.settings, actor, panel_id, member_id, status)
        await send_texts(state, messages)
        panel = await services.get_panel(db, panel_id)
        await schedule_reminders(state, panel_id, replacement_reminders(panel, utcnow()))
        counts = await seats.service_counts(db, [member.resident_id] if member.resident_id else [])
        return _member_out(member, counts)

    @change(
        "/{panel_id:int}/members/{member_id:int}/no-answer",
        summary="An invited member did not answer: their seat goes to the next fitting reserve",
        guards=[staff],
    )
    async def no_answer(
        self, db: DB, state: State, request: Request[Any, Any, Any], panel_id: PanelId, member_id: MemberId
    ) -> MemberOut:
        """One member at a time, when the deadline is not the same for everyone."""
        return await self._mark(db, state, request, panel_id, member_id, MemberStatus.REPLACED)

    @change(
        "/{panel_id:int}/members/{member_id:int}/withdraw",
        summary="A seated member withdrew: their seat goes to the next fitting reserve",
        guards=[staff],
    )
    async def withdraw(
        self, db: DB, state: State, request: Request[Any, Any, Any], panel_id: PanelId, member_id: MemberId
    ) -> MemberOut:
        """The seat goes to the next reserve who fits the same quotas."""
        return await self._mark(db, state, request, panel_id, member_id, MemberStatus.WITHDRAWN)

    @change(
        "/{panel_id:int}/check-in",
        summary="On the day: check a confirmed member in by the code from their text",
        guards=[staff],
    )
    async def check_in(
        self, db: DB, request: Request[Any, Any, Any], panel_id: PanelId, data: JSONBody[CheckInIn]
    ) -> MemberOut:
        """On the day, the organizer types the code from the member's text; the member is then recorded as
        attended."""
        member = await seats.check_in(db, _actor(request), panel_id, data.code.strip())
        counts = await seats.service_counts(db, [member.resident_id] if member.resident_id else [])
        return _member_out(member, counts)

    @change("/{panel_id:int}/close", summary="Close a drawn panel once the day is over", guards=[staff])
    async def close(self, db: DB, request: Request[Any, Any, Any], panel_id: PanelId) -> PanelOut:
        """After the day: the panel's record is final."""
        return _panel_out(await seats.close(db, _actor(request), panel_id))

    @read(
        "/{panel_id:int}/record",
        summary="The public draw record (before the draw: its prepared half, with the commitment)",
        fails=CHANGE,
    )
    async def record(self, db: DB, panel_id: PanelId) -> DrawRecord:
        """What makes the draw checkable: before the draw, the prepared half and its commitment;
        after, the seed parts, the seed, the chosen panel and the reserve. 409 before the freeze."""
        panel = await services.get_panel(db, panel_id)
        record = panel.record or panel.prepared
        if record is None:
            raise Conflict("status", "the record exists once the panel is frozen", code="not_frozen")
        return msgspec.convert(record, DrawRecord)

    @read(
        "/{panel_id:int}/pool.csv",
        summary="The frozen pool as a respondents CSV (pseudonym, ticket, quota categories) for verify",
        fails=CHANGE,
        media_type="text/csv",
    )
    async def pool_csv(self, db: DB, panel_id: PanelId) -> Response[bytes]:
        """The frozen pool in the respondents format of the Sortition Foundation's tools, with pseudonyms
        only, to replay the draw elsewhere."""
        panel = await services.get_panel(db, panel_id)
        content = pools.pool_csv(services.frozen_pool(panel)).encode()
        disposition = f'attachment; filename="panel-{panel.id}-pool.csv"'
        return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})
