"""Jobs of a panel's reply deadline (scheduled by `engage.panels.seats.schedule`). Both take the panel id,
reload it locked, check its state, act, commit, then enqueue the texts: running either twice sends
nothing twice (a member gets one reminder; a lapsed member is no longer invited).

send_reminders(panel_id): one reminder to each member still invited, before the deadline.
lapse(panel_id): at the deadline, members still invited are replaced from the reserve (`seats.lapse`,
    the same code as the organizer's `POST .../lapse`).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engage import jobs
from engage.audit.services import SYSTEM
from engage.db import sync_session, utcnow
from engage.errors import Conflict
from engage.panels.models import Panel, PanelStatus
from engage.panels.seats import services as seats
from engage.queues import QueueName
from workers import context

log = logging.getLogger(__name__)


def _panel(session: Session, panel_id: int) -> Panel | None:
    """The panel with its members, its row locked (PostgreSQL) like the web's writes."""
    return session.execute(
        select(Panel)
        .where(Panel.id == panel_id)
        .options(selectinload(Panel.members))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def send_reminders(panel_id: int) -> int:
    """Remind the members still invited; returns the number of reminders queued."""
    with sync_session(context.engine()) as session:
        panel = _panel(session, panel_id)
        if panel is None:
            return 0
        messages = seats.remind(session, context.settings(), panel, utcnow())
        ids = [m.id for m in messages]
    _enqueue_ids(ids)
    log.info("panel %s: %d reminders", panel_id, len(ids))
    return len(ids)


def lapse(panel_id: int) -> int:
    """Replace the members still silent at the deadline; returns the number of invitations queued."""
    with sync_session(context.engine()) as session:
        panel = _panel(session, panel_id)
        if panel is None or panel.status != PanelStatus.DRAWN:
            log.info("panel %s: not drawn, nothing lapses", panel_id)
            return 0
        try:
            messages = seats.lapse(session, context.settings(), SYSTEM, panel, utcnow())
        except Conflict:
            log.info("panel %s: the reply deadline has not passed", panel_id)
            return 0
        ids = [m.id for m in messages]
    _enqueue_ids(ids)
    log.info("panel %s: %d replacements invited", panel_id, len(ids))
    return len(ids)


def _enqueue_ids(ids: list[int]) -> None:
    # Committed (sync_session commits on leaving): every enqueued id names a row that exists.
    redis_url = context.settings().redis_url
    assert redis_url
    for message_id in ids:
        jobs.enqueue_text(redis_url, message_id, QueueName.DEFAULT)
