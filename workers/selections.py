"""Selection stages open and close on their dates by themselves. A tick reloads the stage and does
what is due; when a rule blocks it (say, too few candidates for the speech stage), the reason is kept
on the stage for the public page and the organizer, and nothing else changes."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from engage import i18n
from engage.audit.services import record
from engage.db import utcnow
from engage.errors import EngageError
from engage.jobs import dispatch
from engage.selections import services, stages
from engage.selections.models import Stage, StageKind, StageStatus
from workers import context

log = logging.getLogger(__name__)
SYSTEM = "system:schedule"


def tick(selection_id: int, kind: str) -> str:
    """Open or close the stage if due. Closing late also opens the next stage when its time has come
    (its own job found it waiting for this one)."""
    done = _tick(selection_id, kind)
    if done == "closed":
        following = _next_kind(selection_id, kind)
        if following is not None and _tick(selection_id, following) == "opened":
            return "closed, next opened"
    return done


def _next_kind(selection_id: int, kind: str) -> str | None:
    order = [k.value for k in StageKind]
    index = order.index(kind)
    return order[index + 1] if index + 1 < len(order) else None


def _tick(selection_id: int, kind: str, *, close_now: bool = False) -> str:
    # A blocked stage keeps its reason in the source language; pages translate it when they show it.
    with i18n.use_locale("en"):
        return _tick_in_english(selection_id, kind, close_now=close_now)


def _tick_in_english(selection_id: int, kind: str, *, close_now: bool) -> str:
    settings = context.settings()
    assert settings.redis_url
    now = utcnow()
    with Session(context.engine(), expire_on_commit=False) as session:
        # Locked from the first read: a second tick for the same edge (the scheduled one and one the
        # sweeper enqueued) waits, then finds the stage already moved and does nothing.
        selection = services.get_selection(session, selection_id, for_update=True)
        stage = selection.stage(kind)
        try:
            previous = [s for s in selection.stages if s.position == stage.position - 1]
            if stage.status == StageStatus.PENDING and previous and previous[0].status != StageStatus.CLOSED:
                return f"waiting for {previous[0].kind}"
            if stage.status == StageStatus.PENDING and stage.opens_at <= now:
                _, after = stages.open_stage(session, SYSTEM, selection_id, kind, settings)
                done = "opened"
            elif stage.status == StageStatus.OPEN and (close_now or stage.closes_at <= now):
                _, after = stages.close_stage(session, SYSTEM, selection_id, kind, settings)
                done = "closed"
            else:
                return "nothing due"
        except EngageError as error:
            session.rollback()
            selection = services.get_selection(session, selection_id)
            stage = selection.stage(kind)
            stage.outcome = dict(stage.outcome or {}, blocked={"field": error.field, "detail": error.detail})
            record(session, SYSTEM, "selection.stage.blocked", "selection", selection_id, {"stage": kind})
            session.commit()
            log.info("selection %s: %s stage blocked: %s", selection_id, kind, error.detail)
            return "blocked"
        session.commit()
    dispatch(settings.redis_url, after)
    return done


def notice_closed(notice_id: int) -> str | None:
    """When an appointment notice's period has closed, the selection's public-notice stage closes."""
    with Session(context.engine(), expire_on_commit=False) as session:
        found = session.execute(
            select(Stage.selection_id).where(
                Stage.notice_id == notice_id,
                Stage.kind == StageKind.PUBLIC_NOTICE,
                Stage.status == StageStatus.OPEN,
            )
        ).scalar_one_or_none()
    if found is None:
        return None
    return _tick(found, StageKind.PUBLIC_NOTICE.value, close_now=True)
