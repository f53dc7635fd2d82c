"""/api/v1/conflicts: declared conflicts of interest between residents and candidates.

A resident tells the office (or an organizer records for them) that they are family of a candidate,
share a household, or have another conflict. At freeze these declarations are merged into the facts
of the panel's candidates (`engage.panels.conflicts.rules.with_declarations`, matching the candidate's key or
name) and the resident is excluded from the draw, with the reason kept beside the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, delete
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct
from sqlalchemy import select

from engage.accounts.guards import OrganizerApi, staff
from engage.audit.services import organizer_actor
from engage.panels.conflicts import services as declarations
from engage.panels.models import DeclaredConflict
from engage.web.deps import DB, MAX_ID, problems
from engage.web.routes import LISTING, change, read
from engage.web.text import FilledLine, Line

ConflictId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="a declared conflict")]


class DeclaredConflictIn(Struct):
    resident_id: Annotated[int, Meta(ge=1, le=MAX_ID)]
    kind: Literal["family", "household", "other"]
    candidate: Annotated[
        FilledLine, Meta(min_length=1, max_length=200, description="the candidate's key or name")
    ]
    note: Annotated[Line, Meta(max_length=500)] = ""
    by_resident: Annotated[bool, Meta(description="the resident declared it (the organizer records it)")] = (
        False
    )


@dataclass
class DeclaredConflictOut:
    id: int
    resident_id: int
    kind: str
    candidate: str
    note: str
    declared_by: str
    created_at: datetime


def _out(row: DeclaredConflict) -> DeclaredConflictOut:
    return DeclaredConflictOut(
        row.id, row.resident_id, row.kind, row.candidate, row.note, row.declared_by, row.created_at
    )


class DeclaredConflictController(OrganizerApi):
    path = "/api/v1/conflicts"
    tags = ["panels"]

    @change(
        summary="Record a declared conflict of interest",
        guards=[staff],
        status_code=201,
        fails=(400, 401, 403, 404, 422),
    )
    async def create(
        self, db: DB, request: Request[Any, Any, Any], data: JSONBody[DeclaredConflictIn]
    ) -> DeclaredConflictOut:
        """A resident's declared tie with a candidate or a work unit; the resident is left out of that
        candidate's jury and ballots."""
        row = await declarations.declare(
            db,
            organizer_actor(request.user.id),
            data.resident_id,
            data.kind,
            data.candidate,
            data.note,
            by_resident=data.by_resident,
        )
        return _out(row)

    @read(summary="Declared conflicts, newest first", fails=LISTING)
    async def list_conflicts(
        self,
        db: DB,
        resident_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=MAX_ID)] = 0,
    ) -> list[DeclaredConflictOut]:
        """Every declared conflict, with resident pseudonyms."""
        query = select(DeclaredConflict).order_by(DeclaredConflict.id.desc()).limit(limit).offset(offset)
        if resident_id is not None:
            query = query.where(DeclaredConflict.resident_id == resident_id)
        return [_out(row) for row in (await db.execute(query)).scalars()]

    @delete(
        "/{conflict_id:int}",
        summary="Remove a declared conflict (entered by mistake, or the tie ended)",
        guards=[staff],
        responses=problems(400, 401, 403, 404),
    )
    async def remove(self, db: DB, request: Request[Any, Any, Any], conflict_id: ConflictId) -> None:
        """The resident may serve again where the conflict kept them out."""
        await declarations.remove(db, organizer_actor(request.user.id), conflict_id)
