"""Opting out is a state of the number, not of the resident: a stranger who texts 退订 is as stopped
as a resident, and stays stopped if they later sign up, until the number sends START.

Twilio enforces its own English opt-out words (STOP...) and refuses later sends with 21610; for TD and
退订, and for every reply we would otherwise queue, this record is the guard.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.db import utcnow
from engage.residents.models import Resident
from engage.sms.models import OptOut


async def opted_out(db: AsyncSession, phone: str, resident: Resident | None = None) -> bool:
    if resident is not None and resident.sms_opt_out_at is not None:
        return True
    found = await db.execute(select(OptOut.id).where(OptOut.phone == phone))
    return found.first() is not None


async def stop(db: AsyncSession, phone: str, resident: Resident | None) -> bool:
    """Record the opt-out of `phone` (and of its resident); False when it was already recorded."""
    now = utcnow()
    changed = False
    if resident is not None and resident.sms_opt_out_at is None:
        resident.sms_opt_out_at = now
        changed = True
    if (await db.execute(select(OptOut.id).where(OptOut.phone == phone))).first() is None:
        try:
            async with db.begin_nested():  # a concurrent STOP from the same number may insert first
                db.add(OptOut(phone=phone, opted_out_at=now))
            changed = True
        except IntegrityError:
            pass
    return changed


async def start(db: AsyncSession, phone: str, resident: Resident | None) -> bool:
    """Lift the opt-out of `phone` (and of its resident); False when there was none."""
    changed = False
    if resident is not None and resident.sms_opt_out_at is not None:
        resident.sms_opt_out_at = None
        changed = True
    removed = await db.execute(delete(OptOut).where(OptOut.phone == phone))
    return changed or bool(getattr(removed, "rowcount", 0))
