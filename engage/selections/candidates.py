"""The candidates of the selection a grand-jury panel serves, as the panel's conflict rules need them:
work unit, and the residents who nominated them. Plugged into the panel service at freeze (the app
puts `candidate_facts` into its state as the `candidate_source`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.panels.conflicts.rules import CandidateFacts
from engage.panels.models import Panel
from engage.selections.models import Applicant, ApplicantStatus, Nomination, Selection


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
