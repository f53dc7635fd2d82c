from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar.params import Parameter
from sqlalchemy import select

from engage.accounts.guards import OrganizerApi
from engage.audit.chain import Link
from engage.audit.models import AuditEntry
from engage.web.deps import DB, MAX_ID
from engage.web.fields import copy_fields
from engage.web.routes import LISTING, read


class AuditEntryOut(Link):
    """An entry as the chain holds it: what `engage audit verify` checks, a client can check too."""


@dataclass
class AuditPage:
    entries: list[AuditEntryOut]
    next_before: int | None


class AuditController(OrganizerApi):
    path = "/api/v1/audit"
    tags = ["audit"]

    @read(summary="Audit log entries, newest first", fails=LISTING)
    async def list_entries(
        self,
        db: DB,
        limit: Annotated[int, Parameter(ge=1, le=500, description="entries per page")] = 50,
        before: Annotated[
            int | None, Parameter(ge=1, le=MAX_ID, description="entries with an id below this")
        ] = None,
        action: Annotated[
            str | None,
            Parameter(max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)*$", description="e.g. organizer.login"),
        ] = None,
    ) -> AuditPage:
        """Every change anyone made, with its actor (an organizer, a resident's pseudonym, or the system),
        action and target. Residents appear by pseudonym only."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        if action:
            query = query.where(AuditEntry.action == action)
        rows = (await db.execute(query)).scalars().all()
        entries = [copy_fields(AuditEntryOut, e) for e in rows]
        next_before = entries[-1].id if len(entries) == limit else None
        return AuditPage(entries=entries, next_before=next_before)
