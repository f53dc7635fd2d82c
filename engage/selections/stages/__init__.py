"""The stage machine of a selection: what each stage kind does when it opens and when it closes, in one
table, and the three moves (open, close, reschedule) that the API, the pages, the scheduled jobs and the
demo share. Sync functions on a Session, like the services they call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from engage.audit.services import record
from engage.errors import Conflict, RuleBroken
from engage.i18n import gettext as _
from engage.jobs import After
from engage.selections import labels
from engage.selections.models import Selection, SelectionStatus, Stage, StageKind, StageStatus
from engage.selections.services import StageSpec, _check_stages, _now, get_selection, stage_of
from engage.selections.stages.assessment import close_assessment, close_speech, open_assessment, open_speech
from engage.selections.stages.interview import close_interview, open_interview
from engage.selections.stages.nomination import close_nomination
from engage.selections.stages.outcome import close_public_notice, open_public_notice, open_result
from engage.settings import Settings

Move = Callable[[Session, str, Selection, Settings], After]

# What each stage does beyond changing its status: (on opening, on closing). A stage kind that is not
# listed, or a None, does nothing more.
STAGES: dict[StageKind, tuple[Move | None, Move | None]] = {
    StageKind.NOMINATION: (None, close_nomination),
    StageKind.ASSESSMENT: (open_assessment, close_assessment),
    StageKind.SPEECH: (open_speech, close_speech),
    StageKind.INTERVIEW: (open_interview, close_interview),
    StageKind.RESULT: (open_result, None),
    StageKind.PUBLIC_NOTICE: (open_public_notice, close_public_notice),
}


def _previous(selection: Selection, stage: Stage) -> Stage | None:
    earlier = [s for s in selection.stages if s.position < stage.position]
    return earlier[-1] if earlier else None


def _move(kind: str, edge: int) -> Move | None:
    try:
        return STAGES.get(StageKind(kind), (None, None))[edge]
    except ValueError:
        return None


def open_stage(
    session: Session, actor: str, selection_id: int, kind: str, settings: Settings
) -> tuple[Selection, After]:
    selection = get_selection(session, selection_id, for_update=True)
    stage = stage_of(selection, kind)
    if selection.status != SelectionStatus.PUBLISHED:
        raise Conflict(
            "status",
            _("The selection is %(status)s; publish it first.")
            % {"status": labels.selection_status(selection.status)},
            code="not_published",
        )
    if stage.status != StageStatus.PENDING:
        raise Conflict(
            "stage",
            _("The %(stage)s stage is already %(status)s.")
            % {"stage": labels.stage_name(kind), "status": labels.stage_status(stage.status)},
            code="stage_already_moved",
        )
    previous = _previous(selection, stage)
    if previous is not None and previous.status != StageStatus.CLOSED:
        raise Conflict(
            "stage",
            _("The %(previous)s stage must close before the %(stage)s stage opens.")
            % {"previous": labels.stage_name(previous.kind), "stage": labels.stage_name(kind)},
            code="previous_stage_open",
        )
    opening = _move(kind, 0)
    after = opening(session, actor, selection, settings) if opening else After()
    stage.status = StageStatus.OPEN
    stage.opened_at = _now()
    record(session, actor, "selection.stage.open", "selection", selection.id, {"stage": kind})
    return selection, after


def close_stage(
    session: Session, actor: str, selection_id: int, kind: str, settings: Settings
) -> tuple[Selection, After]:
    selection = get_selection(session, selection_id, for_update=True)
    stage = stage_of(selection, kind)
    if stage.status != StageStatus.OPEN:
        raise Conflict(
            "stage",
            _("The %(stage)s stage is %(status)s, not open.")
            % {"stage": labels.stage_name(kind), "status": labels.stage_status(stage.status)},
            code="stage_not_open",
        )
    closing = _move(kind, 1)
    after = closing(session, actor, selection, settings) if closing else After()
    stage.status = StageStatus.CLOSED
    stage.closed_at = _now()
    record(session, actor, "selection.stage.close", "selection", selection.id, {"stage": kind})
    if kind == StageKind.PUBLIC_NOTICE:
        selection.status = SelectionStatus.FINISHED
        record(session, actor, "selection.finish", "selection", selection.id)
    return selection, after


def _body_field(timetable_field: str | None, position: int) -> str:
    """The member of the rescheduling body that a timetable problem (`stages[i].opens_at`) is about: the
    stage's own date, or its closing when the next stage would then open before it closes."""
    if timetable_field == f"stages[{position}].opens_at":
        return "opens_at"
    return "closes_at"


def reschedule_stage(
    session: Session, actor: str, selection_id: int, kind: str, opens_at: datetime, closes_at: datetime
) -> tuple[Selection, After]:
    """New dates for a stage that has not closed (an open stage keeps its opening). The order of the
    timetable must still hold; the new edges are scheduled after the commit."""
    selection = get_selection(session, selection_id, for_update=True)
    stage = stage_of(selection, kind)
    if stage.status == StageStatus.CLOSED:
        raise Conflict("stage", _("The %(stage)s stage is closed.") % {"stage": kind}, code="stage_closed")
    if stage.status == StageStatus.OPEN and kind == StageKind.PUBLIC_NOTICE:
        raise Conflict(
            "closes_at",
            _("The public notice stage runs with its notice period; extend or suspend that instead."),
        )
    if stage.status == StageStatus.OPEN and opens_at != stage.opens_at:
        raise Conflict("opens_at", _("An open stage keeps its opening time; change its closing time only."))
    specs = [
        StageSpec(s.kind, opens_at, closes_at)
        if s.kind == kind
        else StageSpec(s.kind, s.opens_at, s.closes_at)
        for s in selection.stages
    ]
    try:
        _check_stages(specs)
    except RuleBroken as problem:
        raise RuleBroken(_body_field(problem.field, stage.position), problem.detail) from None
    stage.opens_at, stage.closes_at = opens_at, closes_at
    record(
        session,
        actor,
        "selection.stage.reschedule",
        "selection",
        selection.id,
        {"stage": kind, "opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()},
    )
    after = After()
    if selection.status == SelectionStatus.PUBLISHED:
        after.schedule += [(opens_at, selection.id, kind), (closes_at, selection.id, kind)]
    return selection, after
