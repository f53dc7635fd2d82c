"""/api/v1/notices: public notices from draft to closed, with the SMS preview an organizer checks
before publishing. Thin: parse, call engage.notices.services, respond. Staff write; every organizer
role reads. Publishing commits, then enqueues the fan-out job (workers.fanout) with the notice's id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar

from litestar import Request, put
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct

from engage import jobs
from engage.accounts.guards import OrganizerApi, staff
from engage.audit.services import organizer_actor
from engage.errors import InvalidInput
from engage.notices import fanout, services
from engage.notices.models import Audience, Notice, NoticeStatus
from engage.notices.objections.web import api as objections_api
from engage.residents.notice_kinds import NoticeKind
from engage.web.dates import Moment, in_years
from engage.web.deps import DB, MAX_ID
from engage.web.fields import copy_fields
from engage.web.routes import LISTING, change, create, read
from engage.web.text import FilledLine, FilledLines, Line, storable

NoticeId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="the notice")]
Title = Annotated[FilledLine, Meta(min_length=1, max_length=200)]
Body = Annotated[
    FilledLines,
    Meta(min_length=1, max_length=1600, description="plain text; the SMS adds signature and link"),
]
CommunityCode = Annotated[Line, Meta(min_length=1, max_length=32)]


class NoticeIn(Struct):
    schema_rules: ClassVar[dict[str, Any]] = {
        "if": {"properties": {"audience": {"const": Audience.COMMUNITIES.value}}, "required": ["audience"]},
        "then": {"properties": {"community_codes": {"minItems": 1}}, "required": ["community_codes"]},
    }

    kind: NoticeKind
    title_zh: Title
    title_en: Title
    body_zh: Body
    body_en: Body
    audience: Audience = Audience.KIND
    community_codes: Annotated[list[CommunityCode], Meta(max_length=100)] = []
    period_days: (
        Annotated[int, Meta(ge=0, le=60, description="public notice period in working days; 0: none")] | None
    ) = None  # None: the kind's default (NOTICE_PERIOD_DAYS for appointment notices, else none)
    urgent: Annotated[bool, Meta(description="texted even in the quiet hours (SMS_QUIET_HOURS)")] = False


class PublishIn(Struct):
    publish_at: Annotated[Moment, Meta(description="later: scheduled until then")] | None = None


@dataclass
class LanguagePreviewOut:
    locale: str
    encoding: str  # GSM-7 or UCS-2
    characters: int
    units: int
    segments: int
    per_segment: int
    ucs2_characters: list[str]  # what forced UCS-2, to change if the text should be GSM-7
    recipients: int


@dataclass
class PreviewOut:
    languages: list[LanguagePreviewOut]
    recipients: int
    segments: int  # over every recipient
    cost: str  # decimal, in `currency`
    currency: str
    price_per_segment: str
    max_segments: int


@dataclass
class NoticeOut:
    id: int
    kind: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    audience: str
    community_codes: list[str]
    status: str
    publish_at: datetime | None
    published_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    urgent: bool
    texts_held_until: datetime | None  # the texts wait for the quiet hours to end
    url: str
    preview: PreviewOut
    period: objections_api.PeriodOut | None = None  # the public notice period, when the notice has one


@dataclass
class NoticeSummary:
    id: int
    kind: str
    title_zh: str
    title_en: str
    status: str
    publish_at: datetime | None
    published_at: datetime | None


@dataclass
class NoticePage:
    total: int
    limit: int
    offset: int
    notices: list[NoticeSummary]


def _plain(field: str, value: str, *, lines: bool = False) -> str:
    storable(field, value, lines=lines)  # the rule the body's patterns state
    if not value.strip():
        raise InvalidInput(field, "must not be blank")
    return value


def _draft(data: NoticeIn) -> services.Draft:
    return services.Draft(
        kind=data.kind.value,
        title_zh=_plain("title_zh", data.title_zh),
        title_en=_plain("title_en", data.title_en),
        body_zh=_plain("body_zh", data.body_zh, lines=True),
        body_en=_plain("body_en", data.body_en, lines=True),
        audience=data.audience.value,
        community_codes=[_plain("community_codes", code) for code in data.community_codes],
        period_days=data.period_days,
        urgent=data.urgent,
    )


async def _out(db: DB, state: State, notice: Notice) -> NoticeOut:
    settings = state.settings
    preview = await services.preview(db, notice, settings)
    languages = [
        LanguagePreviewOut(
            locale=p.locale,
            encoding=p.count.encoding.value,
            characters=p.count.characters,
            units=p.count.units,
            segments=p.count.segments,
            per_segment=p.count.per_segment,
            ucs2_characters=list(p.count.ucs2_characters),
            recipients=p.recipients,
        )
        for p in preview.languages
    ]
    return NoticeOut(
        id=notice.id,
        kind=notice.kind,
        title_zh=notice.title_zh,
        title_en=notice.title_en,
        body_zh=notice.body_zh,
        body_en=notice.body_en,
        audience=notice.audience,
        community_codes=list(notice.community_codes),
        status=notice.status,
        publish_at=notice.publish_at,
        published_at=notice.published_at,
        closed_at=notice.closed_at,
        created_at=notice.created_at,
        urgent=notice.urgent,
        texts_held_until=notice.texts_held_until,
        url=fanout.notice_link(settings, notice.id),
        preview=PreviewOut(
            languages=languages,
            recipients=preview.recipients,
            segments=preview.segments,
            cost=str(preview.cost),
            currency=settings.sms_price_currency,
            price_per_segment=str(settings.sms_price_per_segment),
            max_segments=settings.sms_max_segments,
        ),
        period=await objections_api.period_out(db, state, notice),
    )


class NoticeController(OrganizerApi):
    path = "/api/v1/notices"
    tags = ["notices"]

    @create(summary="Create a draft notice (refused when its SMS is too long)", guards=[staff])
    async def create(
        self, db: DB, state: State, request: Request[Any, Any, Any], data: JSONBody[NoticeIn]
    ) -> NoticeOut:
        """A notice (公示) starts as a draft. Its SMS text is composed from the title and body; 422 when that
        text would be longer than the limit."""
        actor = organizer_actor(request.user.id)
        notice = await services.create_draft(db, actor, _draft(data), state.settings)
        return await _out(db, state, notice)

    @read(summary="Notices, newest first", fails=LISTING)
    async def list_notices(
        self,
        db: DB,
        status: Annotated[NoticeStatus | None, Parameter(description="only notices in this state")] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_ID)] = 0,
    ) -> NoticePage:
        """Notices of every status, with their kind and publication time."""
        total, notices = await services.list_notices(db, status.value if status else None, limit, offset)
        summaries = [copy_fields(NoticeSummary, n) for n in notices]
        return NoticePage(total=total, limit=limit, offset=offset, notices=summaries)

    @read("/{notice_id:int}", summary="One notice with its SMS preview")
    async def show(self, db: DB, state: State, notice_id: NoticeId) -> NoticeOut:
        """The notice, with the SMS its subscribers get and how many parts it takes."""
        return await _out(db, state, await services.get_notice(db, notice_id))

    @change(
        "/{notice_id:int}",
        summary="Change a draft (refused when its SMS is too long)",
        guards=[staff],
        method=put,
        fails=(400, 401, 403, 404, 409, 422),
    )
    async def update(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        notice_id: NoticeId,
        data: JSONBody[NoticeIn],
    ) -> NoticeOut:
        """Only a draft can change: 409 once published."""
        actor = organizer_actor(request.user.id)
        notice = await services.update_draft(db, actor, notice_id, _draft(data), state.settings)
        return await _out(db, state, notice)

    @change(
        "/{notice_id:int}/publish",
        summary="Publish a draft now, or schedule it; its texts go out to every recipient once",
        guards=[staff],
    )
    async def publish(
        self,
        db: DB,
        state: State,
        request: Request[Any, Any, Any],
        notice_id: NoticeId,
        data: JSONBody[PublishIn],
    ) -> NoticeOut:
        """Now, or at `publish_at`. The texts go out once to every subscribed resident whose communities
        match; deliveries show their progress."""
        at = in_years("publish_at", data.publish_at)
        actor = organizer_actor(request.user.id)
        notice = await services.publish(db, actor, notice_id, at, state.settings)
        # Committed: the job finds it. Held texts wait for the morning, scheduled ones for their time.
        at = notice.texts_held_until or notice.publish_at
        await jobs.after_commit(state.redis_url, jobs.After(notices_at=[(notice.id, at)]))
        await objections_api.schedule_close(db, state.redis_url, notice.id)
        return await _out(db, state, notice)

    @change(
        "/{notice_id:int}/close",
        summary="Close a published notice (its page stays public, marked closed)",
        guards=[staff],
    )
    async def close(
        self, db: DB, state: State, request: Request[Any, Any, Any], notice_id: NoticeId
    ) -> NoticeOut:
        """Ends the notice's period early. The page stays public and says closed."""
        notice = await services.close(db, organizer_actor(request.user.id), notice_id)
        return await _out(db, state, notice)
