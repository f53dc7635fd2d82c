"""Leases: one holder at a time across every process and machine, kept in the database (not in Redis,
which may be wiped). A lease that its holder does not give back (the process died) ends by itself.

A conditional UPDATE takes it, so the same code holds on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engage.db import Base, UTCDateTime, utcnow


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def take(session: Session, name: str, holder: str, ttl: timedelta) -> bool:
    """Take (or renew) the lease for `ttl`; False while someone else holds it. The caller commits."""
    now = utcnow()
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.expires_at <= now, Lease.holder == holder))
        .values(holder=holder, expires_at=now + ttl)
    )
    if getattr(taken, "rowcount", 0):
        return True
    if session.execute(select(Lease.name).where(Lease.name == name)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(insert(Lease).values(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False  # another process created it a moment ago: theirs
    return True


def give_back(session: Session, name: str, holder: str) -> None:
    session.execute(
        update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=utcnow())
    )
