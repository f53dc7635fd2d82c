"""Writing and checking the audit log. Appends happen inside the caller's transaction, so an action and
its audit entry commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.audit.chain import GENESIS, Break, Link, canonical, entry_hash, first_break
from engage.audit.models import AuditEntry, AuditHead
from engage.db import utcnow

SYSTEM = "system"


def organizer_actor(organizer_id: int) -> str:
    return f"organizer:{organizer_id}"


# How an entry is appended without forking the chain, holding the head row's lock (a row lock on
# PostgreSQL, the database's write lock on SQLite) as briefly as possible, since every audited action
# queues there:
#   1. take the tip the entry will follow: this process's last known tip, else read it (no lock);
#   2. hash the entry (in Python, before any lock);
#   3. move the head from that tip to the new hash in one UPDATE ... WHERE last_hash = tip. It takes the
#      lock; if another appender moved the head meanwhile it matches nothing: read the tip, go to 2;
#   4. insert the entry (ids therefore follow the chain), and the caller commits.
# The lock is held from 3 to the commit. On PostgreSQL, 3 and 4 are one statement (the UPDATE in a WITH,
# the INSERT selecting from it: no row moved, nothing inserted), so the lock is held for one round trip
# and the commit; SQLite, which cannot put an UPDATE in a WITH and locks the whole database for any
# writer anyway, runs them one after the other. The remembered tip is only a guess: the UPDATE
# checks it, so another process appending, or an appender here rolling back, costs one more try. It is
# remembered as soon as the head moves, so the next appender here waits at the lock with the right tip
# instead of failing once it gets it.
# The statements are built once (SQLAlchemy computes a statement's cache key once per statement
# object) and run on the session's connection; pending ORM changes are flushed before step 3.
_READ_TIP = select(AuditHead.last_hash).where(AuditHead.id == 1)
_ADVANCE = (
    update(AuditHead)
    .where(AuditHead.id == 1, AuditHead.last_hash == bindparam("prev"))
    .values(entries=AuditHead.entries + 1, last_hash=bindparam("tip"))
)
_NEW_ENTRY = insert(AuditEntry).returning(AuditEntry.id)
_ENTRY_COLUMNS = ("at", "actor", "action", "subject_type", "subject_id", "details", "prev_hash", "hash")
_MOVED = _ADVANCE.returning(AuditHead.id).cte("moved")
_ADVANCE_AND_INSERT = (
    insert(AuditEntry)
    .from_select(
        _ENTRY_COLUMNS,
        select(
            *(bindparam(f"entry_{name}", type_=AuditEntry.__table__.c[name].type) for name in _ENTRY_COLUMNS)
        ).select_from(_MOVED),
    )
    .returning(AuditEntry.id)
    .add_cte(_MOVED)
)
_TRIES = 1000  # each failed try means another entry was appended: the chain moves on regardless
_remembered: dict[URL, str] = {}  # database -> the last tip this process saw


class HeadKeptMoving(RuntimeError):
    pass


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


def _prefixed(entry: dict[str, Any]) -> dict[str, Any]:
    return {f"entry_{name}": value for name, value in entry.items()}


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
    database = connection.engine.url
    prev = _remembered.get(database) or connection.execute(_READ_TIP).scalar_one()
    for _ in range(_TRIES):
        entry = _entry(prev, actor, action, subject_type, subject_id, details)
        moves = {"prev": prev, "tip": entry["hash"]}
        if connection.dialect.name == "postgresql":
            entry_id = connection.execute(_ADVANCE_AND_INSERT, {**moves, **_prefixed(entry)}).scalar()
        elif connection.execute(_ADVANCE, moves).rowcount == 1:
            entry_id = connection.execute(_NEW_ENTRY, entry).scalar_one()
        else:
            entry_id = None
        if entry_id is not None:
            _remembered[database] = entry["hash"]
            return Appended(entry_id, entry["hash"])
        prev = connection.execute(_READ_TIP).scalar_one()
    raise HeadKeptMoving(f"the audit head moved {_TRIES} times during one append")


async def record_async(
    session: AsyncSession,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> Appended:
    """record() from async code: the same function, run on the session's connection (written once)."""
    return await session.run_sync(lambda sync: record(sync, actor, action, subject_type, subject_id, details))


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
