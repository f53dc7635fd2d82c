"""Which selection a grand-jury panel serves, for the panel's form on the organizer pages. The panels
domain sits below selections, so it cannot ask for them itself: the app puts `SELECTION_LINKS` into its
state (`selection_links`) and the panel form calls these functions through it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from engage.audit.services import record_async
from engage.errors import Conflict
from engage.i18n import gettext as _
from engage.selections.models import Selection, StageKind, StageStatus
from engage.selections.stages.interview import link_panel


@dataclass(frozen=True)
class SelectionChoice:
    id: int
    title_zh: str
    title_en: str


def _interview_pending(selection: Selection) -> bool:
    try:
        return selection.stage(StageKind.INTERVIEW).status == StageStatus.PENDING
    except KeyError:
        return False


async def choices(db: AsyncSession, panel_id: int | None) -> tuple[list[SelectionChoice], int | None]:
    """Selections the panel may serve (no panel yet, or this one; interview not open), and the one it
    serves now."""
    rows = await db.execute(select(Selection).options(selectinload(Selection.stages)).order_by(Selection.id))
    offered, current = [], None
    for selection in rows.scalars():
        if panel_id is not None and selection.panel_id == panel_id:
            current = selection.id
        free = selection.panel_id is None or selection.panel_id == panel_id
        if free and _interview_pending(selection):
            offered.append(SelectionChoice(selection.id, selection.title_zh, selection.title_en))
    return offered, current


async def link(db: AsyncSession, actor: str, panel_id: int, selection_id: int | None) -> None:
    """Make `selection_id` (or none) the selection the panel serves; commits."""
    rows = await db.execute(
        select(Selection).options(selectinload(Selection.stages)).where(Selection.panel_id == panel_id)
    )
    for old in rows.scalars():
        if old.id == selection_id:
            return
        if not _interview_pending(old):
            raise Conflict("selection_id", _("The panel is chosen before the interview opens."))
        old.panel_id = None
        await record_async(db, actor, "selection.panel", "selection", old.id, {"panel_id": None})
    if selection_id is not None:
        await db.run_sync(lambda session: link_panel(session, actor, selection_id, panel_id))
    await db.commit()


class SelectionLinks:
    """What the panel form needs from this domain, handed to it through the app's state."""

    choices = staticmethod(choices)
    link = staticmethod(link)


SELECTION_LINKS = SelectionLinks()
