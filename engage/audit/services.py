"""Writing and checking the audit log. Appends happen inside the caller's transaction, so an action and
its audit entry commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.audit.chain import GENESIS, Break, Link, canonical, entry_hash, first_break
from engage.audit.models import AuditEntry, AuditHead
from engage.db import utcnow

SYSTEM = "system"


def organizer_actor(organizer_id: int) -> str:
    return f"organizer:{organizer_id}"


def _bump_head() -> Any:
    # Updating the head row first takes its write lock (a row lock on PostgreSQL, the database lock on
    # SQLite), so concurrent appenders queue here and the chain never forks.
    return update(AuditHead).where(AuditHead.id == 1).values(entries=AuditHead.entries + 1)


def _new_entry(
    prev_hash: str, actor: str, action: str, subject_type: str, subject_id: str, details: dict[str, Any]
) -> AuditEntry:
    at = utcnow()
    body = canonical(at, actor, action, subject_type, subject_id, details)
    return AuditEntry(
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details,
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash, body),
    )


def record(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    session.execute(_bump_head())
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    entry = _new_entry(head.last_hash, actor, action, subject_type, str(subject_id), details or {})
    session.add(entry)
    head.last_hash = entry.hash
    session.flush()
    return entry


async def record_async(
    session: AsyncSession,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    await session.execute(_bump_head())
    head = (await session.execute(select(AuditHead).where(AuditHead.id == 1))).scalar_one()
    entry = _new_entry(head.last_hash, actor, action, subject_type, str(subject_id), details or {})
    session.add(entry)
    head.last_hash = entry.hash
    await session.flush()
    return entry


def _links(session: Session, batch: int = 1000) -> Iterator[Link]:
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=batch))
    for entry in rows.scalars():
        yield Link(
            entry.id,
            entry.at,
            entry.actor,
            entry.action,
            entry.subject_type,
            entry.subject_id,
            entry.details,
            entry.prev_hash,
            entry.hash,
        )


def verify(session: Session) -> tuple[int, Break | None]:
    """Recompute the whole chain; returns how many entries were read and the first break, if any."""
    seen: list[Link] = []

    def remembered() -> Iterator[Link]:
        for link in _links(session):
            seen[:] = [link]
            yield link

    count = session.execute(select(AuditHead.entries).where(AuditHead.id == 1)).scalar_one()
    broken = first_break(remembered())
    if broken is not None:
        return count, broken
    head_hash = session.execute(select(AuditHead.last_hash).where(AuditHead.id == 1)).scalar_one()
    tail = seen[0] if seen else None
    if (tail.hash if tail else GENESIS) != head_hash:
        # Entries after `tail` were removed: the head still names the hash of the true last entry.
        return count, Break((tail.id if tail else 0) + 1, "entries at the end of the log were removed")
    return count, None
