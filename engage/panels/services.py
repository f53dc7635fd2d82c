"""Grand-jury panels in the database up to the draw: drafts, quotas, exclusions, the pool, feasibility,
freezing and the draw. The lottery itself is `engage.lottery` (pure); this module only feeds it and
stores what it answers. What happens to the seats afterwards is in `engage.panels.seats.services`.

Every step writes an audit entry about the panel (`subject_type="panel"`) naming members by pseudonym.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from anyio import to_thread
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from engage.audit.services import record_async
from engage.db import utcnow
from engage.errors import Conflict, EngageError, NotFound, RuleBroken, UnknownValue
from engage.lottery import (
    FeasibilityReport,
    InfeasibleQuotas,
    LotteryError,
    Pool,
    Quota,
    check_feasibility,
    prepare,
)
from engage.lottery.record import draw_from
from engage.panels import pool as pools
from engage.panels.conflicts import rules as conflicts
from engage.panels.models import DeclaredConflict, MemberStatus, Panel, PanelMember, PanelStatus
from engage.residents.categories import quota_values
from engage.residents.models import Community, Resident, ResidentRole, ResidentRoleKind

MAX_SEED_PARTS = 10
log = logging.getLogger(__name__)


class LotteryFailed(EngageError):
    """Freezing found the quotas infeasible for the pool as it is now, or the solver failed: 409 (the
    state of the pool, not the request's shape: it can succeed later), the panel stays a draft."""

    status_code = 409
    code = "lottery_failed"


async def get_panel(db: AsyncSession, panel_id: int, *, for_update: bool = False) -> Panel:
    """The panel with its members. `for_update` locks the panel row (PostgreSQL; SQLite has one writer
    anyway) and reloads what the session already holds, so that two replies arriving together never
    hand the same reserve two seats."""
    query = select(Panel).where(Panel.id == panel_id).options(selectinload(Panel.members))
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    panel = (await db.execute(query)).scalar_one_or_none()
    if panel is None:
        raise NotFound("panel_id", f"no panel {panel_id}")
    return panel


async def list_panels(db: AsyncSession, limit: int, offset: int) -> list[Panel]:
    query = select(Panel).order_by(Panel.id.desc()).limit(limit).offset(offset)
    return list((await db.execute(query)).scalars())


def require_status(panel: Panel, *statuses: PanelStatus) -> None:
    if panel.status not in statuses:
        wanted = " or ".join(s.value for s in statuses)
        raise Conflict("status", f"the panel is {panel.status}; this needs it {wanted}")


async def audit(db: AsyncSession, actor: str, action: str, panel: Panel, /, **details: Any) -> None:
    await record_async(db, actor, action, "panel", panel.id, details)


async def create_panel(
    db: AsyncSession,
    actor: str,
    *,
    title: str,
    size: int,
    algorithm: str,
    event_date: str,
    place: str,
    reply_deadline: datetime | None,
    max_prior_service: int | None = None,
) -> Panel:
    panel = Panel(
        title=title,
        size=size,
        algorithm=algorithm,
        status=PanelStatus.DRAFT.value,
        quotas=[],
        exclusions={"resident_ids": [], "work_units": []},
        event_date=event_date,
        place=place,
        reply_deadline=reply_deadline,
        max_prior_service=max_prior_service,
        created_by=actor,
    )
    db.add(panel)
    await db.flush()
    await audit(db, actor, "panel.create", panel, size=size, algorithm=algorithm)
    await db.commit()
    return await get_panel(db, panel.id)


# What may change once the pool is frozen: the words of the invitation, never what the lottery used.
EDITABLE_AFTER_FREEZE = ("title", "event_date", "place", "reply_deadline")


async def update_panel(db: AsyncSession, actor: str, panel_id: int, changes: Mapping[str, Any]) -> Panel:
    """Change a panel's details. A draft may change anything; once frozen, only the invitation's
    words (title, date, place, reply deadline): size and the cap fixed the commitment."""
    panel = await get_panel(db, panel_id, for_update=True)
    if panel.status == PanelStatus.CLOSED:
        raise Conflict("status", "a closed panel cannot change")
    if panel.status != PanelStatus.DRAFT:
        fixed = sorted(
            k for k, v in changes.items() if k not in EDITABLE_AFTER_FREEZE and getattr(panel, k) != v
        )
        if fixed:
            raise Conflict(fixed[0], f"{fixed[0]} is fixed once the panel is frozen")
    changed = {k: v for k, v in changes.items() if getattr(panel, k) != v}
    for key, value in changed.items():
        setattr(panel, key, value)
    if changed:
        await audit(db, actor, "panel.update", panel, fields=sorted(changed))
    await db.commit()
    return await get_panel(db, panel_id)


def _check_quota_rows(rows: Sequence[dict[str, Any]], size: int, values: Mapping[str, Sequence[str]]) -> None:
    """Beyond /schema: the values of each category (422 unknown_value), a min above its max or a row
    given twice (422 rule_broken); a min above the panel's size conflicts with the panel (409)."""
    seen: set[tuple[str, str]] = set()
    for index, row in enumerate(rows):
        name = f"{row['category']}/{row['feature']}"
        if row["category"] not in values:
            raise UnknownValue(f"quotas[{index}].category", row["category"], list(values))
        if row["feature"] not in values[row["category"]]:
            raise UnknownValue(f"quotas[{index}].feature", row["feature"], values[row["category"]])
        if row["min"] > row["max"]:
            raise RuleBroken("quotas", f"{name}: min {row['min']} is more than max {row['max']}")
        if row["min"] > size:
            raise Conflict("quotas", f"{name}: min {row['min']} is more than the panel size {size}")
        if (row["category"], row["feature"]) in seen:
            raise RuleBroken("quotas", f"{name}: given twice")
        seen.add((row["category"], row["feature"]))


async def set_quotas(db: AsyncSession, actor: str, panel_id: int, rows: list[dict[str, Any]]) -> Panel:
    panel = await get_panel(db, panel_id, for_update=True)
    require_status(panel, PanelStatus.DRAFT)
    codes = (await db.execute(select(Community.code))).scalars().all()
    _check_quota_rows(rows, panel.size, quota_values(codes))
    panel.quotas = rows
    await audit(db, actor, "panel.quotas", panel, quotas=rows)
    await db.commit()
    return panel


async def set_exclusions(
    db: AsyncSession,
    actor: str,
    panel_id: int,
    resident_ids: list[int],
    work_units: list[str],
    candidates: Sequence[conflicts.CandidateFacts] = (),
) -> Panel:
    """The organizer's exclusions: residents, work units, and candidates whose conflicts exclude."""
    keys = [c.key for c in candidates]
    if len(set(keys)) != len(keys):
        raise RuleBroken("candidates", "each candidate key may be given once")
    panel = await get_panel(db, panel_id, for_update=True)
    require_status(panel, PanelStatus.DRAFT)
    panel.exclusions = {
        "resident_ids": sorted(set(resident_ids)),
        "work_units": sorted(set(work_units)),
        "candidates": [conflicts.facts_to_json(c) for c in candidates],
    }
    # Counts only: the work units of candidates can point at people.
    await audit(
        db,
        actor,
        "panel.exclusions",
        panel,
        residents=len(set(resident_ids)),
        work_units=len(set(work_units)),
        candidates=len(keys),
    )
    await db.commit()
    return panel


async def eligible_volunteers(db: AsyncSession) -> list[pools.Volunteer]:
    """Residents with an active judge role, a confirmed number, and texts not stopped."""
    judge = and_(
        ResidentRole.resident_id == Resident.id,
        ResidentRole.role == ResidentRoleKind.JUDGE.value,
        ResidentRole.withdrawn_at.is_(None),
    )
    rows = await db.execute(
        select(
            Resident.id,
            Resident.pseudonym,
            Resident.work_unit,
            Resident.participant_type,
            Community.code,
            Resident.gender,
            Resident.age_band,
        )
        .join(ResidentRole, judge)
        .outerjoin(Community, Community.id == Resident.community_id)
        .where(
            Resident.verified_at.is_not(None), Resident.sms_opt_out_at.is_(None), Resident.phone.is_not(None)
        )
        .order_by(Resident.pseudonym)
    )
    return [
        pools.Volunteer(rid, pseudonym, unit, pools.features_of(ptype, community, gender, age))
        for rid, pseudonym, unit, ptype, community, gender, age in rows
    ]


# Where the candidates of a panel come from (the selections domain, once it exists): their facts are
# added to those the organizer stored with the exclusions.
CandidateSource = Callable[[AsyncSession, Panel], Awaitable[Sequence[conflicts.CandidateFacts]]]


@dataclass(frozen=True)
class LivePool:
    pool: Pool
    quotas: list[Quota]
    excluded: list[str]  # every exclusion, the cap's and the conflicts' included
    volunteers: list[pools.Volunteer]
    served_enough: list[str]  # excluded by the cap on repeat service (`max_prior_service`)
    # [{"pseudonym", "candidate", "reasons"}]: conflicts of interest with a candidate
    conflicts: list[dict[str, Any]] = field(default_factory=list)


async def declared_ties(db: AsyncSession) -> list[conflicts.DeclaredTie]:
    rows = await db.execute(
        select(DeclaredConflict.resident_id, DeclaredConflict.kind, DeclaredConflict.candidate)
    )
    return [conflicts.DeclaredTie(rid, conflicts.TieKind(kind), name) for rid, kind, name in rows]


async def candidate_facts(
    db: AsyncSession, panel: Panel, source: CandidateSource | None = None
) -> list[conflicts.CandidateFacts]:
    """The panel's candidates (stored with its exclusions, and from `source`) with declared ties."""
    given = [conflicts.facts_from_json(row) for row in panel.exclusions.get("candidates", [])]
    if source is not None:
        given += list(await source(db, panel))
    return conflicts.with_declarations(given, await declared_ties(db))


def conflict_rows(
    volunteers: Sequence[pools.Volunteer], candidates: Sequence[conflicts.CandidateFacts]
) -> list[dict[str, Any]]:
    members = [conflicts.PoolMember(v.resident_id, v.work_unit) for v in volunteers]
    pseudonym = {v.resident_id: v.pseudonym for v in volunteers}
    return [
        {
            "pseudonym": pseudonym[e.resident_id],
            "candidate": e.candidate,
            "reasons": [r.value for r in e.reasons],
        }
        for e in conflicts.exclusions(members, candidates)
    ]


async def attended_counts(db: AsyncSession, resident_ids: Sequence[int]) -> dict[int, int]:
    """How many panels each resident has served on (checked in), over all panels."""
    if not resident_ids:
        return {}
    rows = await db.execute(
        select(PanelMember.resident_id, func.count())
        .where(PanelMember.resident_id.in_(resident_ids), PanelMember.status == MemberStatus.ATTENDED)
        .group_by(PanelMember.resident_id)
    )
    return {int(rid): int(n) for rid, n in rows if rid is not None}


async def live_pool(
    db: AsyncSession,
    panel: Panel,
    source: CandidateSource | None = None,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> LivePool:
    """The pool as freezing would find it now; `rows` checks quotas not saved yet (the editor)."""
    volunteers = await eligible_volunteers(db)
    quotas = pools.effective_quotas(panel.quotas if rows is None else rows, panel.size, volunteers)
    excluded = pools.excluded_ids(
        volunteers, panel.exclusions.get("resident_ids", []), panel.exclusions.get("work_units", [])
    )
    served_enough: list[str] = []
    if panel.max_prior_service is not None:
        counts = await attended_counts(db, [v.resident_id for v in volunteers])
        served_enough = pools.served_enough(volunteers, counts, panel.max_prior_service)
    conflicted = conflict_rows(volunteers, await candidate_facts(db, panel, source))
    excluded = sorted(set(excluded) | set(served_enough) | {row["pseudonym"] for row in conflicted})
    pool = pools.build_pool(volunteers, quotas)
    return LivePool(pool, quotas, excluded, volunteers, served_enough, conflicted)


async def feasibility(
    db: AsyncSession,
    panel_id: int,
    source: CandidateSource | None = None,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> tuple[Panel, LivePool, FeasibilityReport]:
    """The quotas (or `rows`, not saved yet) checked against the pool as it is now (what freezing
    would find)."""
    panel = await get_panel(db, panel_id)
    live = await live_pool(db, panel, source, rows)
    try:
        report = await to_thread.run_sync(
            partial(check_feasibility, live.pool, live.quotas, panel.size, live.excluded)
        )
    except (LotteryError, RuntimeError, ValueError, ArithmeticError) as error:
        log.warning("panel %s: the feasibility check failed: %r", panel_id, error)
        raise LotteryFailed("algorithm", f"the feasibility check could not be computed ({error})") from None
    return panel, live, report


async def freeze(db: AsyncSession, actor: str, panel_id: int, source: CandidateSource | None = None) -> Panel:
    """Fix the pool and compute the lottery; publishes the commitment. 422 names infeasible quotas or
    a solver failure; the panel then stays a draft."""
    panel = await get_panel(db, panel_id, for_update=True)
    require_status(panel, PanelStatus.DRAFT)
    live = await live_pool(db, panel, source)
    try:
        prepared = await to_thread.run_sync(
            partial(
                prepare,
                live.pool,
                live.quotas,
                panel.size,
                algorithm=panel.algorithm,  # type: ignore[arg-type]
                exclusions=live.excluded,
            )
        )
    except InfeasibleQuotas as error:
        raise LotteryFailed("quotas", f"the quotas cannot be met by the pool as it is now: {error}") from None
    except (LotteryError, RuntimeError, ValueError, ArithmeticError) as error:
        # The solver gave up (or a bug below it): say so, keep the panel a draft, never a 500.
        log.warning("panel %s: the lottery failed at freeze: %r", panel_id, error)
        raise LotteryFailed("algorithm", f"the lottery could not be computed ({error}); try again") from None
    numbers = pools.tickets(live.pool)
    excluded = set(live.excluded)
    by_pseudonym = {v.pseudonym: v for v in live.volunteers}
    for person in live.pool.people:
        panel.members.append(
            PanelMember(
                resident_id=by_pseudonym[person.id].resident_id,
                pseudonym=person.id,
                ticket=numbers[person.id],
                values=list(person.values),
                status=(MemberStatus.EXCLUDED if person.id in excluded else MemberStatus.POOL).value,
            )
        )
    # Why each is excluded, beside the organizer's own lists (the record holds tickets only).
    panel.exclusions = {
        **panel.exclusions,
        "prior_service": live.served_enough,
        "conflicts": live.conflicts,  # who, with which candidate, why
    }
    panel.prepared = prepared.record
    panel.pool_sha256 = prepared.record["pool"]["sha256"]
    panel.commitment = prepared.record["commitment"]
    panel.status = PanelStatus.FROZEN.value
    panel.frozen_at = utcnow()
    await audit(
        db,
        actor,
        "panel.freeze",
        panel,
        pool_sha256=panel.pool_sha256,
        commitment=panel.commitment,
        pool_size=len(live.pool.people),
        excluded=len(excluded),
        excluded_prior_service=len(live.served_enough),
        excluded_conflicts=len({row["pseudonym"] for row in live.conflicts}),
        min_probability=round(prepared.min_probability, 6),
    )
    await db.commit()
    return await get_panel(db, panel_id)


async def draw(db: AsyncSession, actor: str, panel_id: int, seed_parts: list[str]) -> Panel:
    """Reveal the seed parts: the draw seats the panel and orders the reserve."""
    panel = await get_panel(db, panel_id, for_update=True)
    require_status(panel, PanelStatus.FROZEN)
    assert panel.prepared is not None
    record = draw_from(panel.prepared, seed_parts)
    by_ticket = {m.ticket: m for m in panel.members}
    for ticket in record["panel"]:
        by_ticket[ticket].status = MemberStatus.DRAWN.value
    for position, ticket in enumerate(record["reserve"], start=1):
        by_ticket[ticket].reserve_position = position
    panel.record = record
    panel.status = PanelStatus.DRAWN.value
    panel.drawn_at = utcnow()
    await audit(
        db,
        actor,
        "panel.draw",
        panel,
        commitment=record["commitment"],
        seed=record["seed"],
        index=record["index"],
        panel=record["panel"],  # tickets, never names
    )
    await db.commit()
    return await get_panel(db, panel_id)


def frozen_pool(panel: Panel) -> Pool:
    record = panel.record or panel.prepared
    if record is None:
        raise Conflict("status", "the pool is fixed when the panel is frozen")
    rows = [(m.pseudonym, m.values) for m in panel.members]
    return pools.pool_from_rows(record["pool"]["categories"], rows)


async def community_names(db: AsyncSession) -> dict[str, tuple[str, str]]:
    """{code: (name_zh, name_en)}: how pages name the community values of the quotas."""
    rows = await db.execute(select(Community.code, Community.name_zh, Community.name_en))
    return {code: (zh, en) for code, zh, en in rows}


def conflict_exclusions(panel: Panel) -> list[dict[str, Any]]:
    """The conflicts recorded at freeze, with each member's ticket: [{ticket, candidate, reasons}]."""
    tickets = {m.pseudonym: m.ticket for m in panel.members}
    rows = [
        {"ticket": tickets.get(c["pseudonym"]), "candidate": c["candidate"], "reasons": c["reasons"]}
        for c in panel.exclusions.get("conflicts", [])
    ]
    return sorted(rows, key=lambda r: (r["ticket"] or 0, r["candidate"]))
