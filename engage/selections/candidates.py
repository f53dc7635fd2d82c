"""What the selections domain tells other domains, handed over by create_app through the app state: the
candidates of the selection a panel serves, with work unit and nominators, for the panel's conflict rules at
freeze (`candidate_source`), and the selection a notice belongs to, for the notice page (`notice_origin`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.panels.conflicts.rules import CandidateFacts
from engage.panels.models import Panel
from engage.selections.models import Applicant, ApplicantStatus, Nomination, Selection, Stage


def candidate_key(applicant: Applicant) -> str:
    return f"selection-{applicant.selection_id}-applicant-{applicant.id}"


def facts(session: Session, panel_id: int) -> list[CandidateFacts]:
    selection_id = session.execute(
        select(Selection.id).where(Selection.panel_id == panel_id)
    ).scalar_one_or_none()
    if selection_id is None:
        return []
    applicants = session.execute(
        select(Applicant).where(
            Applicant.selection_id == selection_id,
            Applicant.status.in_(
                [ApplicantStatus.ACTIVE, ApplicantStatus.PROPOSED, ApplicantStatus.APPOINTED]
            ),
        )
    ).scalars()
    found = []
    for applicant in applicants:
        nominators: frozenset[int] = frozenset()
        if applicant.nominee_id is not None:
            nominators = frozenset(
                session.execute(
                    select(Nomination.resident_id).where(Nomination.nominee_id == applicant.nominee_id)
                ).scalars()
            )
        found.append(
            CandidateFacts(
                key=candidate_key(applicant),
                name=applicant.name,
                work_unit=applicant.work_unit or None,
                nominator_resident_ids=nominators,
            )
        )
    return found


async def candidate_facts(db: AsyncSession, panel: Panel) -> Sequence[CandidateFacts]:
    panel_id = panel.id
    return await db.run_sync(lambda session: facts(session, panel_id))


async def notice_origin(db: AsyncSession, notice_id: int) -> int | None:
    """The selection a notice belongs to (its posts notice, or a stage's), so the notice page can link it.
    Handed to the notices domain by create_app, like `candidate_facts` to the panels."""
    by_stage = select(Stage.selection_id).where(Stage.notice_id == notice_id)
    by_posts = select(Selection.id).where(Selection.posts_notice_id == notice_id)
    found = (await db.execute(by_stage.union(by_posts).limit(1))).scalar_one_or_none()
    return int(found) if found is not None else None
