"""Writing and checking the audit log. Appends happen inside the caller's transaction, so an action and
its audit entry commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.audit.chain import GENESIS, Break, Link, canonical, entry_hash, first_break
from engage.audit.models import AuditEntry, AuditHead
from engage.db import utcnow

SYSTEM = "system"


def organizer_actor(organizer_id: int) -> str:
    return f"organizer:{organizer_id}"


# Built once (SQLAlchemy computes a statement's cache key once per statement object) and run on the
# session's connection. Updating the head row first takes its write lock (a row lock on PostgreSQL, the
# database lock on SQLite), so concurrent appenders queue there and the chain never forks. Pending ORM
# changes are flushed before, so the lock is held for these three statements and the commit only.
_LOCK_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(entries=AuditHead.entries + 1)
    .returning(AuditHead.last_hash)
)
_NEW_ENTRY = insert(AuditEntry).returning(AuditEntry.id)
_NEW_TIP = update(AuditHead).where(AuditHead.id == 1).values(last_hash=bindparam("tip"))


@dataclass(frozen=True)
class Appended:
    id: int
    hash: str


def _entry(
    prev_hash: str,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    at = utcnow()
    details = details or {}
    body = canonical(at, actor, action, subject_type, str(subject_id), details)
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "details": details,
        "prev_hash": prev_hash,
        "hash": entry_hash(prev_hash, body),
    }


def record(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> Appended:
    session.flush()
    connection = session.connection()
    prev_hash = connection.execute(_LOCK_HEAD).scalar_one()
    entry = _entry(prev_hash, actor, action, subject_type, subject_id, details)
    entry_id = connection.execute(_NEW_ENTRY, entry).scalar_one()
    connection.execute(_NEW_TIP, {"tip": entry["hash"]})
    return Appended(entry_id, entry["hash"])


async def record_async(
    session: AsyncSession,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> Appended:
    await session.flush()
    connection = await session.connection()
    prev_hash = (await connection.execute(_LOCK_HEAD)).scalar_one()
    entry = _entry(prev_hash, actor, action, subject_type, subject_id, details)
    entry_id = (await connection.execute(_NEW_ENTRY, entry)).scalar_one()
    await connection.execute(_NEW_TIP, {"tip": entry["hash"]})
    return Appended(entry_id, entry["hash"])


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
