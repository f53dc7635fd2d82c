"""/api/v1/evaluations: campaigns, service contacts (one or a CSV), SMS invitations, results, comment
moderation, review of flagged ratings, the anonymous export and publishing as a notice. Thin: parse,
call the services, respond. Staff write; every organizer role reads (auditors included).

No answer of this API carries a resident id, number or name next to a rating."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from litestar import MediaType, Request, Response, post, put
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter, RawBody
from msgspec import Meta, Struct

from engage import jobs
from engage.accounts.guards import OrganizerApi, staff
from engage.audit.services import organizer_actor
from engage.errors import InvalidInput, explain_pattern
from engage.evaluations import editing, ratings, results, services
from engage.evaluations.models import Campaign, CommentStatus, Mode
from engage.fractions import SHARE_PATTERN
from engage.i18n import N_
from engage.phones import RULE, MobileNumber, api_mobile_number
from engage.sms.models import SmsMessage
from engage.web.dates import Moment, in_years
from engage.web.deps import DB, MAX_ID, problems
from engage.web.fields import copy_fields
from engage.web.openapi import csv_upload
from engage.web.routes import CHANGE, LISTING, change, create, read
from engage.web.text import FilledLine, Line

CampaignId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="the evaluation")]
RatingId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="a rating (never a resident)")]
Text = Annotated[FilledLine, Meta(min_length=1, max_length=200)]
THRESHOLD_PATTERN = explain_pattern(
    SHARE_PATTERN,
    N_(
        "Write a share from 0 to 1 without spaces: a decimal (0.8), a percentage (80%) or a fraction "
        "whose denominator is at most 99 (2/3)."
    ),
)


class QuestionIn(Struct):
    zh: Annotated[FilledLine, Meta(min_length=1, max_length=60)]
    en: Annotated[FilledLine, Meta(min_length=1, max_length=100)]


class SubjectIn(Struct):
    name: Annotated[FilledLine, Meta(min_length=1, max_length=100, description="the official or the office")]
    unit: Annotated[Line, Meta(max_length=200, description="e.g. the community or department")] = ""


class CampaignIn(Struct):
    # A reverse evaluation is answered by the residents an office served, never by communities.
    schema_rules: ClassVar[dict[str, Any]] = {
        "if": {"properties": {"mode": {"const": Mode.REVERSE.value}}, "required": ["mode"]},
        "then": {"properties": {"community_codes": {"maxItems": 0}}},
    }

    title_zh: Text
    title_en: Text
    mode: Literal["online", "reverse"]
    opens_at: Moment
    closes_at: Moment
    questions: Annotated[list[QuestionIn], Meta(min_length=1, max_length=services.MAX_QUESTIONS)]
    subjects: Annotated[list[SubjectIn], Meta(min_length=1, max_length=services.MAX_SUBJECTS)]
    community_codes: Annotated[
        list[Annotated[Line, Meta(min_length=1, max_length=32)]],
        Meta(max_length=100, description="online: who may answer (none: every community)"),
    ] = []
    threshold: Annotated[
        str,
        Meta(
            pattern=THRESHOLD_PATTERN,
            max_length=16,
            description="satisfaction rate below which a subject is flagged: 2/3, 0.8 or 80% "
            "(a fraction's denominator at most 99)",
        ),
    ] = "2/3"
    min_answers: Annotated[int, Meta(ge=1, le=100000, description="fewer answers: too few to judge")] = 1
    bulk_limit: Annotated[
        int, Meta(ge=1, le=10000, description="more ratings than this from one address ...")
    ] = 10
    bulk_minutes: Annotated[
        int, Meta(ge=1, le=1440, description="... within this many minutes are flagged")
    ] = 10


class ScheduleIn(Struct):
    # One date at least: a body with neither (or both null) moves nothing and is refused.
    schema_rules: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"required": ["opens_at"], "properties": {"opens_at": {"type": "string"}}},
            {"required": ["closes_at"], "properties": {"closes_at": {"type": "string"}}},
        ]
    }

    opens_at: (
        Annotated[Moment, Meta(description="a new opening; only before the evaluation opens")] | None
    ) = None
    closes_at: (
        Annotated[Moment, Meta(description="a new closing, in the future; only before it closes")] | None
    ) = None


class ContactIn(Struct):
    subject_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    phone: Annotated[MobileNumber, Meta(description=f"{RULE}; of a verified resident (404 otherwise)")]
    served_on: date
    matter: Annotated[
        FilledLine, Meta(min_length=1, max_length=40, description="the kind of matter, e.g. 户籍证明")
    ]


@dataclass
class QuestionOut:
    zh: str
    en: str


@dataclass
class SubjectOut:
    id: int
    name: str
    unit: str


@dataclass
class CampaignOut:
    id: int
    title_zh: str
    title_en: str
    mode: str
    opens_at: datetime
    closes_at: datetime
    community_codes: list[str]
    questions: list[QuestionOut]
    subjects: list[SubjectOut]
    threshold: str
    min_answers: int
    bulk_limit: int
    bulk_minutes: int
    notice_id: int | None


@dataclass
class ContactOut:
    id: int
    subject_id: int
    served_on: date
    matter: str


@dataclass
class ContactsImported:
    imported: int


@dataclass
class ContactRowError:
    line: int
    field: str
    detail: str


@dataclass
class ImportProblem:
    """A refused import: `rows` lists each row's errors; a file refused as a whole (a missing column, no
    rows, too many) has no rows."""

    status_code: int
    code: str
    detail: str
    field: str | None
    rows: list[ContactRowError] = dataclass_field(default_factory=list)


@dataclass
class RatingLinksQueued:
    texts: int


@dataclass
class IntervalOut:
    low: float
    high: float


@dataclass
class TrendOut:
    campaign_id: int
    title_zh: str
    title_en: str
    rate: float | None
    answers: int


@dataclass
class CommentOut:
    rating_id: int
    text: str
    status: str


@dataclass
class SubjectResultOut:
    subject: SubjectOut
    ratings: int
    answers: int
    satisfied: int  # answers of 4 or 5
    by_score: dict[str, int]
    question_means: list[float | None]
    rate: float | None  # satisfied / answers
    rate_fraction: str | None  # exact, e.g. "7/10"
    interval: IntervalOut | None  # Wilson 95 %
    below_threshold: bool
    enough_answers: bool
    flagged: int  # held for review, not in the figures
    rejected: int
    entitled: int | None  # reverse: service contacts recorded
    trend: list[TrendOut]
    change: float | None
    comments: list[CommentOut]


@dataclass
class ResultsOut:
    campaign_id: int
    definition: str
    threshold: str
    ratings: int
    flagged: int
    subjects: list[SubjectResultOut]


@dataclass
class FlaggedOut:
    rating_id: int
    subject_id: int
    scores: list[int]
    via: str
    updated_at: datetime


@dataclass
class RatingStateOut:
    rating_id: int
    status: str
    comment_status: str


@dataclass
class PublishedOut:
    notice_id: int


DEFINITION = (
    "satisfaction rate = answers of 4 (satisfied) or 5 (very satisfied) / all answers, on the 1-5 scale, "
    "over counted ratings; interval: Wilson score, 95 %; flagged ratings are not counted until accepted"
)


def campaign_out(campaign: Campaign) -> CampaignOut:
    return copy_fields(
        CampaignOut,
        campaign,
        community_codes=list(campaign.community_codes),
        questions=[QuestionOut(q["zh"], q["en"]) for q in campaign.questions],
        subjects=[SubjectOut(s.id, s.name, s.unit) for s in campaign.subjects],
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def results_out(found: results.CampaignResults) -> ResultsOut:
    subjects = []
    for r in found.subjects:
        s = r.summary
        subjects.append(
            SubjectResultOut(
                subject=SubjectOut(r.subject.id, r.subject.name, r.subject.unit),
                ratings=s.ratings,
                answers=s.answers,
                satisfied=s.satisfied,
                by_score={str(k): v for k, v in s.by_score.items()},
                question_means=[_float(m) for m in s.question_means],
                rate=_float(s.rate),
                rate_fraction=str(s.rate) if s.rate is not None else None,
                interval=IntervalOut(s.interval.low, s.interval.high) if s.interval else None,
                below_threshold=r.verdict.below,
                enough_answers=r.verdict.enough,
                flagged=r.flagged,
                rejected=r.rejected,
                entitled=r.entitled,
                trend=[
                    TrendOut(p.campaign_id, p.title_zh, p.title_en, _float(p.rate), p.answers)
                    for p in r.trend
                ],
                change=_float(r.change),
                comments=[CommentOut(c.rating_id, c.text, c.status) for c in r.comments],
            )
        )
    return ResultsOut(
        campaign_id=found.campaign.id,
        definition=DEFINITION,
        threshold=str(found.threshold),
        ratings=found.ratings,
        flagged=found.flagged,
        subjects=subjects,
    )


def draft_from(data: CampaignIn) -> services.CampaignDraft:
    in_years("opens_at", data.opens_at)  # what /schema states, before any state is looked at
    in_years("closes_at", data.closes_at)
    return copy_fields(
        services.CampaignDraft,
        data,
        questions=[services.Question(q.zh, q.en) for q in data.questions],
        subjects=[services.SubjectIn(s.name, s.unit) for s in data.subjects],
        community_codes=list(data.community_codes),
    )


async def send_texts(state: State, messages: list[SmsMessage]) -> None:
    await jobs.after_commit(state.redis_url, jobs.After(texts=[message.id for message in messages]))


def _import_rejected(_: Request[Any, Any, Any], exc: services.ImportRejected) -> Response[ImportProblem]:
    rows = [ContactRowError(e.line, e.field, e.detail) for e in exc.rows]
    problem = ImportProblem(
        status_code=exc.status_code, code=exc.code, detail=exc.detail, field=exc.field, rows=rows
    )
    return Response(problem, status_code=exc.status_code, media_type=MediaType.JSON)


_CSV_UPLOAD = csv_upload(
    f"UTF-8 CSV, at most {services.MAX_IMPORT_ROWS} rows, header: {','.join(services.IMPORT_COLUMNS)}. "
    "subject: its id, its name, or unit and name; phone: any format of a verified resident's number; "
    "served_on: YYYY-MM-DD. All rows or none."
)


def _actor(request: Request[Any, Any, Any]) -> str:
    return organizer_actor(request.user.id)


class EvaluationController(OrganizerApi):
    path = "/api/v1/evaluations"
    tags = ["evaluations"]

    @create(summary="Create an evaluation campaign", guards=[staff])
    async def create(
        self, db: DB, state: State, request: Request[Any, Any, Any], data: JSONBody[CampaignIn]
    ) -> CampaignOut:
        """A campaign rates officials or offices over a period; residents rate through personal links texted
        to them. The campaign starts as a draft."""
        campaign = await services.create_campaign(db, _actor(request), draft_from(data), state.settings)
        return campaign_out(campaign)

    @read(summary="Evaluation campaigns, newest first", fails=LISTING)
    async def list_campaigns(
        self,
        db: DB,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_ID)] = 0,
    ) -> list[CampaignOut]:
        """Every campaign with its status and period."""
        return [campaign_out(c) for c in await services.list_campaigns(db, limit, offset)]

    @read("/{campaign_id:int}", summary="One campaign")
    async def show(self, db: DB, campaign_id: CampaignId) -> CampaignOut:
        """The campaign with its subjects, channels, period and counts."""
        return campaign_out(await services.get_campaign(db, campaign_id))

    @change(
        "/{campaign_id:int}",
        summary="Edit a campaign before it opens: the body replaces everything it says",
        guards=[staff],
        method=put,
        description="Subjects are matched by name and unit: those kept keep their id and service contacts; "
        "one with contacts cannot be removed, nor the mode changed once contacts are recorded. "
        "Audited as evaluation.edit. 409 once the evaluation has opened; 422 for an opening in the past, "
        "a closing not after it, a subject given twice or an unknown community.",
        fails=(*CHANGE, 422),
    )
    async def edit(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        campaign_id: CampaignId,
        data: JSONBody[CampaignIn],
    ) -> CampaignOut:
        draft = draft_from(data)
        campaign = await editing.edit_campaign(db, _actor(request), campaign_id, draft, state.settings)
        return campaign_out(campaign)

    @change(
        "/{campaign_id:int}/schedule",
        summary="Move a campaign's dates: its opening until it opens, its closing until it closes",
        guards=[staff],
        description="Audited as evaluation.reschedule with the dates before and after. 409 for a date that "
        "has passed; 422 for a new opening in the past, or a closing in the past or not after the opening.",
        fails=(*CHANGE, 422),
    )
    async def reschedule(
        self, db: DB, request: Request[Any, Any, Any], campaign_id: CampaignId, data: JSONBody[ScheduleIn]
    ) -> CampaignOut:
        if data.opens_at is None and data.closes_at is None:
            raise InvalidInput("closes_at", "give opens_at, closes_at or both")
        in_years("opens_at", data.opens_at)
        in_years("closes_at", data.closes_at)
        campaign = await editing.reschedule(db, _actor(request), campaign_id, data.opens_at, data.closes_at)
        return campaign_out(campaign)

    @change(
        "/{campaign_id:int}/close",
        summary="Close a campaign now: no rating is taken after this; results may then be published",
        guards=[staff],
        description="A campaign that had not opened never opens. Audited as evaluation.close.",
    )
    async def close(self, db: DB, request: Request[Any, Any, Any], campaign_id: CampaignId) -> CampaignOut:
        return campaign_out(await editing.close_now(db, _actor(request), campaign_id))

    @change(
        "/{campaign_id:int}/contacts",
        summary="Record that an office served a verified resident (reverse evaluations)",
        guards=[staff],
        status_code=201,
        fails=(*CHANGE, 422),
    )
    async def add_contact(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        campaign_id: CampaignId,
        data: JSONBody[ContactIn],
    ) -> ContactOut:
        """A reverse evaluation starts from a service: the office records that it served a resident, who can
        then be invited to rate it. 409 for a service after the evaluation closes; 422 when the invitation
        with this matter would be longer than the SMS limit."""
        phone = api_mobile_number(data.phone, state.settings, "phone")
        contact = services.ContactIn(data.subject_id, phone, data.served_on, data.matter)
        row = await services.record_contact(db, _actor(request), campaign_id, contact, state.settings)
        return ContactOut(row.id, row.subject_id, row.served_on, row.matter)

    @post(
        "/{campaign_id:int}/contacts/import",
        summary="Import service contacts from CSV (all rows or none)",
        guards=[staff],
        operation_class=_CSV_UPLOAD,
        exception_handlers={services.ImportRejected: _import_rejected},
        responses={
            **problems(400, 401, 403, 404, 409),
            422: ResponseSpec(
                ImportProblem,
                generate_examples=False,
                description="the file has errors; `rows` lists every one (none when a column or every row "
                "is missing, or there are too many)",
            ),
        },
    )
    async def import_contacts(
        self, body: RawBody, db: DB, state: State, request: Request[Any, Any, Any], campaign_id: CampaignId
    ) -> ContactsImported:
        """The CSV form of adding contacts, for offices that keep a register. 422 `import_rejected` lists
        every bad row in `rows`; nothing is imported then. 422 `rule_broken` for a missing column, no rows
        or too many; 400 for a body that is not UTF-8."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("file", "not UTF-8 text") from None
        rows = await services.import_contacts(db, _actor(request), campaign_id, text, state.settings)
        return ContactsImported(len(rows))

    @change(
        "/{campaign_id:int}/invite",
        summary="Text every served resident not invited yet a personal rating link",
        guards=[staff],
        status_code=201,
    )
    async def invite(
        self, db: DB, state: State, request: Request[Any, Any, Any], campaign_id: CampaignId
    ) -> RatingLinksQueued:
        """Each served resident not invited yet gets one text with a personal link. Texts respect opt-outs and
        quiet hours."""
        messages = await services.invite(db, state.settings, _actor(request), campaign_id)
        await send_texts(state, messages)
        return RatingLinksQueued(len(messages))

    @read("/{campaign_id:int}/results", summary="Results per official or office")
    async def results(self, db: DB, campaign_id: CampaignId) -> ResultsOut:
        """Counts and mean scores per subject, with the comments moderators approved. Flagged ratings count
        only once accepted."""
        return results_out(await results.campaign_results(db, campaign_id))

    @read(
        "/{campaign_id:int}/ratings.csv",
        summary="Every rating, anonymous: subject, channel, status, scores, approved comment",
        media_type="text/csv",
    )
    async def export(self, db: DB, campaign_id: CampaignId) -> Response[bytes]:
        """One row per rating, with no resident identity; spreadsheet-safe cells."""
        content = (await results.export(db, campaign_id)).encode()
        disposition = f'attachment; filename="evaluation-{campaign_id}-ratings.csv"'
        return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})

    @read(
        "/{campaign_id:int}/flagged", summary="Ratings flagged as part of a bulk pattern, waiting for review"
    )
    async def flagged(self, db: DB, campaign_id: CampaignId) -> list[FlaggedOut]:
        """Ratings that look like part of a bulk pattern wait here until an organizer accepts or rejects them."""
        await services.get_campaign(db, campaign_id)
        rows = await results.flagged_ratings(db, campaign_id)
        return [FlaggedOut(r.id, r.subject_id, list(r.scores), r.via, r.updated_at) for r in rows]

    async def _state(self, rating: Any) -> RatingStateOut:
        return RatingStateOut(rating.id, rating.status, rating.comment_status)

    @change(
        "/{campaign_id:int}/ratings/{rating_id:int}/{decision:str}",
        summary="Review a flagged rating: accept (count it) or reject",
        guards=[staff],
        status_code=201,
    )
    async def review(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        campaign_id: CampaignId,
        rating_id: RatingId,
        decision: Annotated[Literal["accept", "reject"], Parameter(description="accept or reject")],
    ) -> RatingStateOut:
        """`decision` is accept (the rating counts) or reject (it does not)."""
        rating = await ratings.review(db, _actor(request), campaign_id, rating_id, decision == "accept")
        return await self._state(rating)

    @change(
        "/{campaign_id:int}/comments/{rating_id:int}/{decision:str}",
        summary="Moderate a comment (personal data is already removed): approve or hide",
        guards=[staff],
        status_code=201,
    )
    async def moderate(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        campaign_id: CampaignId,
        rating_id: RatingId,
        decision: Annotated[Literal["approve", "hide"], Parameter(description="approve or hide")],
    ) -> RatingStateOut:
        """`decision` is approve (the comment is shown in the results) or hide."""
        status = CommentStatus.APPROVED if decision == "approve" else CommentStatus.HIDDEN
        rating = await ratings.set_comment_status(db, _actor(request), campaign_id, rating_id, status)
        return await self._state(rating)

    @change(
        "/{campaign_id:int}/publish",
        summary="Publish the results as a notice (after the close); its texts go to subscribers",
        guards=[staff],
        status_code=201,
        fails=(*CHANGE, 422),
    )
    async def publish(
        self, db: DB, state: State, request: Request[Any, Any, Any], campaign_id: CampaignId
    ) -> PublishedOut:
        """The results become a public notice, texted to subscribers. Only after the campaign closed (409);
        422 when the campaign's title makes the notice's title longer than 200 characters or its text
        longer than the SMS limit."""
        notice = await results.publish(db, _actor(request), campaign_id, state.settings)
        await jobs.after_commit(state.redis_url, jobs.After(notices_at=[(notice.id, notice.publish_at)]))
        return PublishedOut(notice.id)
