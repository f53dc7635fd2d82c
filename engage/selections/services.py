"""Selections for organizers: create, publish, applicants, and the stage machine. Sync functions on a
Session, so the API (through run_sync), the scheduled jobs and the seed share one implementation.
Each returns what must happen after the commit (texts and notices to enqueue) in an `After`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from engage.audit.models import AuditEntry
from engage.audit.services import record
from engage.errors import Conflict, InvalidInput, NotFound, RuleBroken
from engage.i18n import gettext as _
from engage.jobs import After
from engage.notices import fanout, lifecycle
from engage.notices import period as periods
from engage.notices.models import Audience, Notice, NoticeStatus
from engage.notices.objections.models import NoticePeriod, Objection, ObjectionStatus
from engage.notices.services import check_texts
from engage.residents.notice_kinds import NoticeKind
from engage.selections import labels
from engage.selections.models import (
    STAGE_ORDER,
    Applicant,
    ApplicantStatus,
    Juror,
    Nominee,
    Post,
    Selection,
    SelectionStatus,
    Stage,
    StageKind,
    StageStatus,
)
from engage.selections.rules.config import Rules, parse_rubric, rubric_json
from engage.settings import Settings
from engage.sms.segments import count_segments
from engage.web.text import storable

MAX_POSTS = 50
MAX_SEATS = 1000


@dataclass(frozen=True)
class PostSpec:
    title_zh: str
    title_en: str
    seats: int
    advance: int | None = None
    conditions_zh: str = ""
    conditions_en: str = ""


@dataclass(frozen=True)
class StageSpec:
    kind: str
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class SelectionSpec:
    title_zh: str
    title_en: str
    unit: str
    unit_category: str
    posts: list[PostSpec]
    stages: list[StageSpec]
    rubric: list[dict[str, Any]]
    rules: dict[str, Any] = field(default_factory=dict)
    eligibility_zh: str = ""
    eligibility_en: str = ""


def get_selection(session: Session, selection_id: int, *, for_update: bool = False) -> Selection:
    query = (
        select(Selection)
        .where(Selection.id == selection_id)
        .options(selectinload(Selection.posts), selectinload(Selection.stages))
    )
    if for_update:
        # The lock's point is to see what others committed while we waited: refresh objects already
        # loaded in this session instead of handing back their stale state.
        query = query.with_for_update().execution_options(populate_existing=True)
    selection = session.execute(query).scalar_one_or_none()
    if selection is None:
        raise NotFound("selection_id", f"no selection {selection_id}")
    return selection


def list_selections(session: Session, *, public: bool) -> list[Selection]:
    query = select(Selection).options(selectinload(Selection.posts), selectinload(Selection.stages))
    if public:
        query = query.where(Selection.status != SelectionStatus.DRAFT)
    return list(session.execute(query.order_by(Selection.id.desc()).limit(200)).scalars())


def rules_of(selection: Selection) -> Rules:
    return Rules.parse(selection.rules)


def _check_stages(stages: Sequence[StageSpec]) -> None:
    """The kinds in the timetable's order (/schema states it: 400), then the dates in that order
    (beyond any JSON Schema: 422)."""
    kinds = [stage.kind for stage in stages]
    if sorted(
        kinds, key=lambda k: STAGE_ORDER.index(StageKind(k)) if k in STAGE_ORDER else -1
    ) != kinds or set(kinds) != set(STAGE_ORDER):
        order = ", ".join(STAGE_ORDER)
        raise InvalidInput("stages", f"give each stage once, in this order: {order}")
    previous_close: datetime | None = None
    for index, stage in enumerate(stages):
        if stage.opens_at.tzinfo is None or stage.closes_at.tzinfo is None:
            raise InvalidInput(f"stages[{index}]", "times need a timezone")
        if stage.closes_at <= stage.opens_at:
            raise RuleBroken(f"stages[{index}].closes_at", _("A stage must close after it opens."))
        if previous_close is not None and stage.opens_at < previous_close:
            raise RuleBroken(
                f"stages[{index}].opens_at", _("A stage cannot open before the previous one closes.")
            )
        previous_close = stage.closes_at


def create_selection(session: Session, actor: str, spec: SelectionSpec) -> Selection:
    for name in ("title_zh", "title_en", "unit", "unit_category"):
        storable(name, getattr(spec, name))
    storable("eligibility_zh", spec.eligibility_zh, lines=True)
    storable("eligibility_en", spec.eligibility_en, lines=True)
    for index, post in enumerate(spec.posts):
        for name in ("title_zh", "title_en"):
            storable(f"posts[{index}].{name}", getattr(post, name))
        for name in ("conditions_zh", "conditions_en"):
            storable(f"posts[{index}].{name}", getattr(post, name), lines=True)
    for index, item in enumerate(spec.rubric):
        for name in ("code", "name_zh", "name_en"):
            storable(f"rubric[{index}].{name}", str(item.get(name) or ""))
    if not spec.posts or len(spec.posts) > MAX_POSTS:
        raise InvalidInput("posts", f"name from 1 to {MAX_POSTS} posts")
    for index, post in enumerate(spec.posts):
        if not 1 <= post.seats <= MAX_SEATS:
            raise InvalidInput(f"posts[{index}].seats", f"from 1 to {MAX_SEATS}")
        if post.advance is not None and post.advance < post.seats:
            raise RuleBroken(f"posts[{index}].advance", "at least as many as there are seats")
    _check_stages(spec.stages)
    rules = Rules.parse(spec.rules)
    rubric = parse_rubric(spec.rubric)
    selection = Selection(
        title_zh=spec.title_zh.strip(),
        title_en=spec.title_en.strip(),
        unit=spec.unit.strip(),
        unit_category=spec.unit_category.strip(),
        eligibility_zh=spec.eligibility_zh.strip(),
        eligibility_en=spec.eligibility_en.strip(),
        rules=rules.to_json(),
        rubric=rubric_json(rubric),
        created_by=actor,
        posts=[
            Post(
                title_zh=p.title_zh.strip(),
                title_en=p.title_en.strip(),
                seats=p.seats,
                advance=p.advance,
                conditions_zh=p.conditions_zh.strip(),
                conditions_en=p.conditions_en.strip(),
            )
            for p in spec.posts
        ],
        stages=[
            Stage(kind=s.kind, position=i, opens_at=s.opens_at, closes_at=s.closes_at)
            for i, s in enumerate(spec.stages)
        ],
    )
    session.add(selection)
    session.flush()
    if not rules.tie_break_seed:
        # Fixed before anything is known about the candidates, and published with the rules.
        selection.rules = dict(selection.rules, tie_break_seed=f"selection-{selection.id}")
    record(session, actor, "selection.create", "selection", selection.id, {"posts": len(spec.posts)})
    return selection


def issue_notice(
    session: Session,
    actor: str,
    settings: Settings,
    kind: NoticeKind,
    titles: tuple[str, str],
    bodies: Sequence[tuple[str, str]],
    *,
    now: datetime | None = None,
) -> Notice:
    """Publish a notice now (or at `now`, the moment its texts were written for). `bodies` are (zh, en)
    pairs, longest first: the first that fits the SMS length limit is used (the selection's public page
    always carries the whole of it)."""
    notice = Notice(
        kind=kind,
        title_zh=titles[0][:200],
        title_en=titles[1][:200],
        body_zh="",
        body_en="",
        audience=Audience.KIND,
        community_codes=[],
        status=NoticeStatus.DRAFT,
        created_by=actor,
    )
    session.add(notice)
    session.flush()
    write_body(notice, bodies, settings)
    change = lifecycle.publish(notice, now or _now(), settings, kind=kind)
    change.apply(notice)
    record(session, actor, change.action, "notice", notice.id, change.details)
    if kind == NoticeKind.APPOINTMENT:
        open_notice_period(session, actor, settings, notice)
    return notice


def write_body(notice: Notice, bodies: Sequence[tuple[str, str]], settings: Settings) -> None:
    """In each language, the longest of `bodies` whose text fits the SMS length limit: an English
    title is longer, so the two languages may settle on different lengths."""
    # The last resort always fits: the page, one tap away, carries everything.
    candidates = [*bodies, ("详见公告页面。", "Details on the page.")]
    for index, (name, locale) in enumerate((("body_zh", "zh_CN"), ("body_en", "en"))):
        for pair in candidates:
            setattr(notice, name, pair[index])
            if (
                count_segments(fanout.sms_text(notice, locale, settings)).segments
                <= settings.sms_max_segments
            ):
                break
    check_texts(notice, settings)  # names the field if even the last resort is too long


def open_notice_period(session: Session, actor: str, settings: Settings, notice: Notice) -> NoticePeriod:
    """The public notice period of an appointment notice: from publication, N working days on the
    district's calendar (the same rules as a notice published by hand; engage.notices.period)."""
    assert notice.published_at is not None
    days = settings.notice_period_days
    change = lifecycle.open_period(days, notice.published_at, periods.calendar_for(settings))
    period = NoticePeriod(notice_id=notice.id, days=days, extended_days=0)
    change.apply(period)
    session.add(period)
    record(session, actor, change.action, "notice", notice.id, change.details)
    return period


def appointment_period_closes(settings: Settings, published_at: datetime) -> datetime:
    """When the period of an appointment notice published at `published_at` closes."""
    days = settings.notice_period_days
    closes: datetime = lifecycle.open_period(days, published_at, periods.calendar_for(settings)).fields[
        "closes_at"
    ]
    return closes


def _now() -> datetime:
    from engage.db import utcnow

    return utcnow()


def publish(session: Session, actor: str, selection_id: int, settings: Settings) -> tuple[Selection, After]:
    selection = get_selection(session, selection_id, for_update=True)
    if selection.status != SelectionStatus.DRAFT:
        raise Conflict(
            "status",
            _("Only a draft can be published; this selection is %(status)s.") % {"status": selection.status},
            code="not_a_draft",
        )
    selection.status = SelectionStatus.PUBLISHED
    selection.published_at = _now()
    seats_zh = "；".join(f"{p.title_zh}{p.seats}名" for p in selection.posts)
    seats_en = "; ".join(f"{p.title_en}: {p.seats}" for p in selection.posts)
    notice = issue_notice(
        session,
        actor,
        settings,
        NoticeKind.POSTS_AND_QUOTAS,
        (f"{selection.title_zh}：岗位和名额", f"{selection.title_en}: posts and seats"),
        [
            (f"{selection.unit}公开选拔。{seats_zh}。", f"Open selection at {selection.unit}. {seats_en}."),
            (
                f"{selection.unit}公开选拔，岗位详见页面。",
                f"Open selection at {selection.unit}; see the page.",
            ),
        ],
    )
    selection.posts_notice_id = notice.id
    record(session, actor, "selection.publish", "selection", selection.id, {"notice_id": notice.id})
    after = After(notices=[notice.id])
    for stage in selection.stages:
        after.schedule.append((stage.opens_at, selection.id, stage.kind))
        after.schedule.append((stage.closes_at, selection.id, stage.kind))
    return selection, after


@dataclass(frozen=True)
class ApplicantSpec:
    post_id: int
    name: str
    work_unit: str = ""
    nominee_id: int | None = None


def post_of(selection: Selection, post_id: int, field_name: str = "post_id") -> Post:
    for post in selection.posts:
        if post.id == post_id:
            return post
    raise NotFound(field_name, f"selection {selection.id} has no post {post_id}")


def _before(selection: Selection, kind: StageKind, what: str) -> None:
    if selection.stage(kind).status != StageStatus.PENDING:
        raise Conflict(
            "stage",
            _("This can be changed only before the %(stage)s stage opens.")
            % {"stage": labels.stage_name(kind)},
        )


def add_applicants(
    session: Session, actor: str, selection_id: int, specs: Sequence[ApplicantSpec]
) -> list[Applicant]:
    selection = get_selection(session, selection_id, for_update=True)
    _before(selection, StageKind.ASSESSMENT, "applicants can be added")
    applicants = []
    for index, spec in enumerate(specs):
        post_of(selection, spec.post_id, f"applicants[{index}].post_id")
        name = storable(f"applicants[{index}].name", spec.name).strip()
        storable(f"applicants[{index}].work_unit", spec.work_unit)
        if not name:
            raise InvalidInput(f"applicants[{index}].name", "must not be empty")
        applicants.append(
            Applicant(
                selection_id=selection.id,
                post_id=spec.post_id,
                name=name,
                work_unit=spec.work_unit.strip(),
                nominee_id=spec.nominee_id,
            )
        )
    session.add_all(applicants)
    session.flush()
    for applicant in applicants:
        record(
            session,
            actor,
            "selection.applicant.add",
            "selection",
            selection.id,
            {"applicant_id": applicant.id},
        )
    return applicants


def applicants_of(session: Session, selection_id: int, *statuses: str) -> list[Applicant]:
    query = select(Applicant).where(Applicant.selection_id == selection_id)
    if statuses:
        query = query.where(Applicant.status.in_(statuses))
    return list(session.execute(query.order_by(Applicant.post_id, Applicant.id)).scalars())


Part = TypeVar("Part", Applicant, Nominee, Juror)


def part_of(session: Session, kind: type[Part], selection_id: int, part_id: int, what: str) -> Part:
    """A row that belongs to one selection (an applicant, a nominee, a juror) by its id: 404 naming
    `<what>_id` when there is none, or it belongs to another selection."""
    part = session.get(kind, part_id)
    if part is None or part.selection_id != selection_id:
        raise NotFound(f"{what}_id", f"selection {selection_id} has no {what} {part_id}")
    return part


def get_applicant(session: Session, selection_id: int, applicant_id: int) -> Applicant:
    return part_of(session, Applicant, selection_id, applicant_id, "applicant")


def withdraw_applicant(
    session: Session, actor: str, selection_id: int, applicant_id: int, objection: str | None = None
) -> Applicant:
    """An applicant in the running withdraws; a proposed (or suspended) appointee is withdrawn only on
    an objection upheld against the appointment notice, whose reference goes on the record."""
    selection = get_selection(session, selection_id, for_update=True)
    applicant = get_applicant(session, selection_id, applicant_id)
    details: dict[str, Any] = {"applicant_id": applicant.id}
    if applicant.status == ApplicantStatus.ACTIVE and objection is None:
        reason = "withdrawn"
    elif applicant.status in (ApplicantStatus.PROPOSED, ApplicantStatus.SUSPENDED):
        details["objection"] = _upheld_objection(session, selection, objection)
        reason = "objection_upheld"
    else:
        raise Conflict("status", _("The applicant is %(status)s.") % {"status": applicant.status})
    applicant.status = ApplicantStatus.WITHDRAWN
    applicant.status_reason = reason
    record(session, actor, "selection.applicant.withdraw", "selection", selection_id, details)
    return applicant


# A withdrawal entered by mistake may be taken back for this long, and only while no stage has moved
# since: after a stage opens or closes, the ballots, margins and notices may already count on it.
UNDO_WITHDRAWAL = timedelta(minutes=10)


def _withdrawal_entry(session: Session, selection_id: int, applicant_id: int) -> AuditEntry | None:
    entries = session.execute(
        select(AuditEntry)
        .where(
            AuditEntry.action == "selection.applicant.withdraw",
            AuditEntry.subject_type == "selection",
            AuditEntry.subject_id == str(selection_id),
        )
        .order_by(AuditEntry.id.desc())
    ).scalars()
    return next((e for e in entries if (e.details or {}).get("applicant_id") == applicant_id), None)


def undo_deadline(session: Session, selection_id: int, applicant: Applicant) -> datetime | None:
    """Until when the withdrawal of `applicant` may be undone, or None when it may not (anymore)."""
    if applicant.status != ApplicantStatus.WITHDRAWN or applicant.status_reason != "withdrawn":
        return None
    entry = _withdrawal_entry(session, selection_id, applicant.id)
    if entry is None:
        return None
    moved = session.execute(
        select(AuditEntry.id).where(
            AuditEntry.id > entry.id,
            AuditEntry.action.in_(("selection.stage.open", "selection.stage.close")),
            AuditEntry.subject_type == "selection",
            AuditEntry.subject_id == str(selection_id),
        )
    ).first()
    deadline = entry.at + UNDO_WITHDRAWAL
    return None if moved is not None or _now() >= deadline else deadline


def undo_withdrawal(session: Session, actor: str, selection_id: int, applicant_id: int) -> Applicant:
    """Put back in the running an applicant withdrawn by mistake, within the window (UNDO_WITHDRAWAL)."""
    get_selection(session, selection_id, for_update=True)
    applicant = get_applicant(session, selection_id, applicant_id)
    if undo_deadline(session, selection_id, applicant) is None:
        raise Conflict("applicant_id", _("This withdrawal can no longer be undone."))
    applicant.status = ApplicantStatus.ACTIVE
    applicant.status_reason = None
    record(
        session,
        actor,
        "selection.applicant.restore",
        "selection",
        selection_id,
        {"applicant_id": applicant.id},
    )
    return applicant


def _upheld_objection(session: Session, selection: Selection, reference: str | None) -> str:
    """The reference of the upheld objection that withdraws a proposed appointee: 409 without one
    (the applicant's status asks for it), 404 when it names no objection to this selection's
    appointment notice, 409 when that objection was not upheld."""
    words = _("Give the reference of an objection upheld against this selection's appointment notice.")
    if not reference:
        raise Conflict("objection", words)
    notice_id = selection.stage(StageKind.PUBLIC_NOTICE).notice_id
    found = session.execute(
        select(Objection).where(
            Objection.reference == reference.strip().upper(), Objection.notice_id == notice_id
        )
    ).scalar_one_or_none()
    if notice_id is None or found is None:
        raise NotFound("objection", words)
    if found.status != ObjectionStatus.UPHELD:
        raise Conflict("objection", words)
    return found.reference


def active_counts(session: Session, selection_id: int) -> dict[int, int]:
    rows = session.execute(
        select(Applicant.post_id, func.count())
        .where(Applicant.selection_id == selection_id, Applicant.status == ApplicantStatus.ACTIVE)
        .group_by(Applicant.post_id)
    )
    return {int(post_id): int(count) for post_id, count in rows.all()}


def stage_of(selection: Selection, kind: str) -> Stage:
    try:
        return selection.stage(StageKind(kind))
    except (KeyError, ValueError):
        raise InvalidInput("stage", f"no stage {kind!r}; stages are {', '.join(STAGE_ORDER)}") from None


def open_stages(session: Session, selection_id: int) -> list[str]:
    rows = session.execute(
        select(Stage.kind).where(Stage.selection_id == selection_id, Stage.status == StageStatus.OPEN)
    )
    return [str(kind) for kind in rows.scalars()]


def require_open(selection: Selection, kind: StageKind, field_name: str = "stage") -> Stage:
    stage = selection.stage(kind)
    if stage.status != StageStatus.OPEN:
        if stage.status == StageStatus.PENDING:
            raise Conflict(
                field_name,
                _("This stage (%(stage)s) has not opened yet.") % {"stage": kind},
                code="stage_not_open",
            )
        raise Conflict(
            field_name, _("This stage (%(stage)s) is closed.") % {"stage": kind}, code="stage_closed"
        )
    return stage


def notice_link(settings: Settings, notice_id: int) -> str:
    return fanout.notice_link(settings, notice_id)
