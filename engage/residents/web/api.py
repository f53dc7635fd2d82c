"""/api/v1/residents for organizers: list and filter, counts, one resident with history, the CSV
export and the roster import. Thin: parse, call engage.residents.queries, respond.

Phone numbers are masked unless `reveal=true` is asked by an admin or organizer; each full number
shown writes a `resident.phone_view` audit entry naming the resident (never the number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import MediaType, Request, Response, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, Parameter, RawBody
from msgspec import Struct

from engage.accounts.guards import OrganizerApi, staff
from engage.audit.services import organizer_actor
from engage.phones import RULE, MobileNumber, api_mobile_number
from engage.residents import queries
from engage.residents.models import ParticipantType, Resident, ResidentRoleKind
from engage.residents.queries import EXPORT_COLUMNS, EXPORT_SAFE_COLUMNS, CountBy, ResidentFilter
from engage.residents.roster import COLUMNS, MAX_ROWS, RosterRejected, write_csv
from engage.web.deps import DB, MAX_ID, problems
from engage.web.openapi import csv_upload
from engage.web.routes import ONE, read

Phone = Annotated[
    MobileNumber | None,
    Parameter(
        description=f"{RULE}; finds the one resident with it (admin and organizer only, audited like a reveal)"
    ),
]
Reveal = Annotated[
    bool,
    Parameter(
        description="show full phone numbers (admin and organizer only; every number shown is audited)"
    ),
]
Filters = NamedDependency[ResidentFilter]
"""A handler parameter `filters: Filters` gets the checked query filters (see provide_filters)."""


async def provide_filters(
    db: DB,
    state: State,
    request: Request[Any, Any, Any],
    role: Annotated[ResidentRoleKind | None, Parameter(description="holds this role (not withdrawn)")] = None,
    community: Annotated[str | None, Parameter(max_length=32, description="a community code")] = None,
    participant_type: FromQuery[ParticipantType | None] = None,
    verified: Annotated[bool | None, Parameter(description="confirmed their number")] = None,
    phone: Phone = None,
) -> ResidentFilter:
    filters = await queries.resolve_filter(
        db,
        state.settings.default_region,
        role=role.value if role else None,
        community=community,
        participant_type=participant_type.value if participant_type else None,
        verified=verified,
        phone=api_mobile_number(phone, state.settings, "phone") if phone is not None else None,
    )
    # here, once, for the list, the counts and the export alike
    await queries.audit_phone_filter(db, request.user, filters, f"api.phone_filter:{request.url.path}")
    return filters


@dataclass
class ResidentSummary:
    id: int
    pseudonym: str
    name: str | None
    phone: str | None  # masked unless revealed; None once the resident was deleted
    community: str | None
    participant_type: str
    roles: list[str]  # active roles only
    verified: bool
    source: str
    invited_at: datetime | None
    created_at: datetime


@dataclass
class ResidentPage:
    total: int
    limit: int
    offset: int
    phones_revealed: bool
    residents: list[ResidentSummary]


@dataclass
class RoleOut:
    role: str
    consented_at: datetime
    consent_version: str
    withdrawn_at: datetime | None


@dataclass
class SubscriptionOut:
    kind: str
    value: str


@dataclass
class HistoryEntry:
    id: int
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]


@dataclass
class ResidentDetail:
    id: int
    pseudonym: str
    name: str | None
    phone: str | None
    phone_revealed: bool
    community: str | None
    participant_type: str
    expertise: str | None
    work_unit: str | None
    age_band: str | None
    gender: str | None
    occupation: str | None
    locale: str
    source: str
    verified_at: datetime | None
    invited_at: datetime | None
    sms_opt_out_at: datetime | None
    created_at: datetime
    roles: list[RoleOut]
    subscriptions: list[SubscriptionOut]
    history: list[HistoryEntry]  # audit entries about this resident, newest first (at most 200)


class RosterRowError(Struct, omit_defaults=True):
    row: int  # as a spreadsheet numbers it: the header is row 1
    field: str
    message: str
    allowed: list[str] | None = None  # the cell names an unknown community or option: the valid ones


class RosterProblem(Struct):
    """The problem shape of engage.web.deps.Problem, plus every row error when a roster is refused."""

    status_code: int
    code: str
    detail: str
    field: str | None = None
    extra: dict[str, Any] | None = None
    errors: list[RosterRowError] = []


@dataclass
class RosterImported:
    imported: int
    invited: int  # SMS invitations queued
    by_participant_type: dict[str, int]


def _summary(resident: Resident, reveal: bool) -> ResidentSummary:
    return ResidentSummary(
        id=resident.id,
        pseudonym=resident.pseudonym,
        name=resident.name,
        phone=queries.shown_phone(resident, reveal),
        community=resident.community.code if resident.community else None,
        participant_type=resident.participant_type,
        roles=sorted(resident.active_roles()),
        verified=resident.verified_at is not None,
        source=resident.source,
        invited_at=resident.invited_at,
        created_at=resident.created_at,
    )


def _roster_rejected(_: Request[Any, Any, Any], exc: RosterRejected) -> Response[RosterProblem]:
    errors = [
        RosterRowError(row=e.row, field=e.field, message=e.text(), allowed=list(e.allowed) or None)
        for e in exc.errors
    ]
    problem = RosterProblem(
        status_code=exc.status_code, code=exc.code, detail=exc.detail, field=exc.field, errors=errors
    )
    return Response(problem, status_code=exc.status_code, media_type=MediaType.JSON)


# The import reads the raw body (`body: bytes`); the document describes it as what it is: a CSV file.
_CSV_UPLOAD = csv_upload(
    f"UTF-8 CSV (a byte-order mark is fine), at most {MAX_ROWS} rows, header: {','.join(COLUMNS)}. "
    "name, phone, community (code or name) and participant_type (expert or a deputy type) are "
    "required; expertise is required for experts."
)


class ResidentController(OrganizerApi):
    path = "/api/v1/residents"
    tags = ["residents"]
    dependencies = {"filters": Provide(provide_filters)}

    @read(summary="Residents, filtered and paginated", fails=ONE)
    async def list_residents(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        filters: Filters,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_ID)] = 0,
        reveal: Reveal = False,
    ) -> ResidentPage:
        """Filter by community, role, participant type, verified, and (with the reveal permission) by phone.
        Numbers are masked unless the organizer may reveal them; a reveal is audited. Paged with `limit` and
        `offset`."""
        if reveal:
            queries.check_reveal(request.user)
        total, residents = await queries.list_residents(db, filters, limit, offset)
        if reveal:
            await queries.record_phone_views(db, organizer_actor(request.user.id), residents, "api.list")
            await db.commit()
        summaries = [_summary(r, reveal) for r in residents]
        return ResidentPage(
            total=total, limit=limit, offset=offset, phones_revealed=reveal, residents=summaries
        )

    @read(
        "/counts",
        summary="How many residents have each value of one attribute ({value: count}; `unknown` if unsaid)",
        fails=ONE,
    )
    async def counts(
        self,
        db: DB,
        filters: Filters,
        by: Annotated[CountBy, Parameter(description="the attribute to count by")],
    ) -> dict[str, int]:
        """For dashboards and for checking a pool before setting quotas."""
        return await queries.count_by(db, filters, by.value)

    @read(
        "/export",
        summary="The filtered residents as CSV (UTF-8 with a byte-order mark, for Excel)",
        fails=ONE,
        media_type="text/csv",
    )
    async def export(
        self, db: DB, request: Request[Any, Any, Any], filters: Filters, reveal: Reveal = False
    ) -> Response[bytes]:
        """The same filters as the list. Cells are spreadsheet-safe; numbers masked unless revealed."""
        if reveal:
            queries.check_reveal(request.user)
        residents = await queries.all_residents(db, filters)
        if reveal:
            await queries.record_phone_views(db, organizer_actor(request.user.id), residents, "api.export")
            await db.commit()
        content = write_csv(
            EXPORT_COLUMNS,
            (queries.export_row(r, reveal) for r in residents),
            safe_columns=EXPORT_SAFE_COLUMNS,
        )
        disposition = 'attachment; filename="residents.csv"'
        return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})

    @post(
        "/import",
        summary="Import a roster of experts or deputies (all rows or none) and invite each by SMS",
        guards=[staff],
        operation_class=_CSV_UPLOAD,
        exception_handlers={RosterRejected: _roster_rejected},
        responses={
            **problems(400, 401, 403, 409),
            422: ResponseSpec(
                RosterProblem,
                generate_examples=False,
                description="the file's columns or rows break the roster's rules; `errors` lists every "
                "problem, each unknown community or option with `allowed`",
            ),
        },
    )
    async def import_roster(
        self, body: RawBody, db: DB, state: State, request: Request[Any, Any, Any]
    ) -> RosterImported:
        """Rostered experts and deputies are created and texted an invitation to confirm. All rows or none:
        422 `roster_rejected` lists every bad row in `errors`."""
        actor = organizer_actor(request.user.id)
        outcome = await queries.import_roster(db, actor, body, state.settings, state.redis_url)
        return RosterImported(
            imported=outcome.imported,
            invited=outcome.invited,
            by_participant_type=outcome.by_participant_type,
        )

    @read("/{resident_id:int}", summary="One resident: profile, roles, subscriptions, history")
    async def show(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        resident_id: Annotated[int, Parameter(ge=1, le=MAX_ID)],
        reveal: Reveal = False,
    ) -> ResidentDetail:
        """The resident's profile, roles and their consents, subscriptions and recent history. The number is
        masked unless the organizer may reveal it."""
        if reveal:
            queries.check_reveal(request.user)
        resident = await queries.get_resident(db, resident_id)
        if reveal:
            await queries.record_phone_views(db, organizer_actor(request.user.id), [resident], "api.detail")
            await db.commit()
        entries = await queries.history(db, resident)
        return ResidentDetail(
            id=resident.id,
            pseudonym=resident.pseudonym,
            name=resident.name,
            phone=queries.shown_phone(resident, reveal),
            phone_revealed=reveal and resident.phone is not None,
            community=resident.community.code if resident.community else None,
            participant_type=resident.participant_type,
            expertise=resident.expertise,
            work_unit=resident.work_unit,
            age_band=resident.age_band,
            gender=resident.gender,
            occupation=resident.occupation,
            locale=resident.locale,
            source=resident.source,
            verified_at=resident.verified_at,
            invited_at=resident.invited_at,
            sms_opt_out_at=resident.sms_opt_out_at,
            created_at=resident.created_at,
            roles=[
                RoleOut(
                    role=r.role,
                    consented_at=r.consented_at,
                    consent_version=r.consent_version,
                    withdrawn_at=r.withdrawn_at,
                )
                for r in sorted(resident.roles, key=lambda r: r.role)
            ],
            subscriptions=[
                SubscriptionOut(kind=s.kind, value=s.value)
                for s in sorted(resident.subscriptions, key=lambda s: (s.kind, s.value))
            ],
            history=[
                HistoryEntry(id=e.id, at=e.at, actor=e.actor, action=e.action, details=e.details)
                for e in entries
            ],
        )
