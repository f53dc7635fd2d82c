"""Declared conflicts of interest in the database: recorded by a resident on their own page or by an
organizer through the API, removed when entered by mistake. Audited about the resident with the kind
only: the candidate and the note are about people."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import record_async
from engage.errors import InvalidInput, NotFound
from engage.panels.conflicts.rules import TieKind
from engage.panels.models import DeclaredConflict
from engage.residents.models import Resident

MAX_CANDIDATE, MAX_NOTE = 200, 500


def clean(field: str, value: str, limit: int, *, required: bool = False) -> str:
    value = value.strip()
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise InvalidInput(field, "must not contain control characters")
    if required and not value:
        raise InvalidInput(field, "name the candidate (key or name)")
    if len(value) > limit:
        raise InvalidInput(field, f"at most {limit} characters")
    return value


async def declare(
    db: AsyncSession,
    actor: str,
    resident_id: int,
    kind: str,
    candidate: str,
    note: str,
    *,
    by_resident: bool,
) -> DeclaredConflict:
    """Record a tie; commits. `by_resident`: the resident declared it (else the organizer `actor`)."""
    if kind not in {k.value for k in TieKind}:
        raise InvalidInput("kind", "one of family, household, other")
    named = clean("candidate", candidate, MAX_CANDIDATE, required=True)
    text = clean("note", note, MAX_NOTE)
    resident = await db.get(Resident, resident_id)
    if resident is None:
        raise NotFound("resident_id", f"no resident {resident_id}")
    row = DeclaredConflict(
        resident_id=resident.id,
        kind=kind,
        candidate=named,
        note=text,
        declared_by=f"resident:{resident.pseudonym}" if by_resident else actor,
    )
    db.add(row)
    await db.flush()
    details = {"conflict": row.id, "kind": kind, "by_resident": by_resident}
    await record_async(db, actor, "conflict.declare", "resident", resident.id, details)
    await db.commit()
    return row


async def remove(db: AsyncSession, actor: str, conflict_id: int, *, resident_id: int | None = None) -> None:
    """Remove a declaration; with `resident_id`, only one of that resident's own. Commits."""
    row = await db.get(DeclaredConflict, conflict_id)
    if row is None or (resident_id is not None and row.resident_id != resident_id):
        raise NotFound("conflict_id", f"no declared conflict {conflict_id}")
    details = {"conflict": row.id, "kind": row.kind}
    await record_async(db, actor, "conflict.remove", "resident", row.resident_id, details)
    await db.delete(row)
    await db.commit()


async def of_resident(db: AsyncSession, resident_id: int) -> list[DeclaredConflict]:
    query = select(DeclaredConflict).where(DeclaredConflict.resident_id == resident_id)
    return list((await db.execute(query.order_by(DeclaredConflict.id))).scalars())
