"""Conflicts of interest as data: which pool members a candidate's facts exclude from a draw, and why.

Pure (data in, data out). A pool member is excluded for a candidate when they
- work in the candidate's work unit (compared without case or spaces, as the manual exclusions are),
- share the candidate's household key,
- nominated the candidate,
- declared a family tie, a household tie or another conflict with the candidate.

The selections domain says who the candidates are and what is known about them (`CandidateFacts`);
residents and organizers add declared ties (`DeclaredTie`, the `panel_declared_conflicts` table),
merged into the facts by candidate key or name with `with_declarations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    WORK_UNIT = "same_work_unit"
    HOUSEHOLD = "same_household"
    NOMINATOR = "nominator"
    FAMILY = "declared_family"
    DECLARED_HOUSEHOLD = "declared_household"
    OTHER = "declared_other"


class TieKind(StrEnum):
    FAMILY = "family"
    HOUSEHOLD = "household"
    OTHER = "other"


@dataclass(frozen=True)
class PoolMember:
    resident_id: int
    work_unit: str | None = None
    household_key: str | None = None


@dataclass(frozen=True)
class CandidateFacts:
    key: str  # how the selections domain names the candidate (public)
    name: str = ""  # declarations may name the candidate instead of giving the key
    work_unit: str | None = None
    household_key: str | None = None
    nominator_resident_ids: frozenset[int] = field(default_factory=frozenset)
    family_resident_ids: frozenset[int] = field(default_factory=frozenset)
    household_resident_ids: frozenset[int] = field(default_factory=frozenset)
    other_resident_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class DeclaredTie:
    resident_id: int
    kind: TieKind
    candidate: str  # the candidate's key or name, as declared


@dataclass(frozen=True)
class Exclusion:
    resident_id: int
    candidate: str  # the candidate's key
    reasons: tuple[Reason, ...]  # in Reason's order, each once


def _unit(name: str | None) -> str:
    return "".join((name or "").split()).casefold()


def _key(value: str | None) -> str:
    return (value or "").strip().casefold()


def matches(candidate: CandidateFacts, named: str) -> bool:
    """Whether a declaration naming `named` is about this candidate (key or name, case-insensitive)."""
    wanted = _key(named)
    return bool(wanted) and wanted in {_key(candidate.key), _key(candidate.name)} - {""}


def with_declarations(
    candidates: Sequence[CandidateFacts], declared: Iterable[DeclaredTie]
) -> list[CandidateFacts]:
    """The candidates with each declared tie added to the candidate it names (ties naming no candidate
    of this draw are left out)."""
    ties = list(declared)
    merged = []
    for candidate in candidates:
        mine = [t for t in ties if matches(candidate, t.candidate)]

        def ids(kind: TieKind, mine: list[DeclaredTie] = mine) -> frozenset[int]:
            return frozenset(t.resident_id for t in mine if t.kind == kind)

        merged.append(
            replace(
                candidate,
                family_resident_ids=candidate.family_resident_ids | ids(TieKind.FAMILY),
                household_resident_ids=candidate.household_resident_ids | ids(TieKind.HOUSEHOLD),
                other_resident_ids=candidate.other_resident_ids | ids(TieKind.OTHER),
            )
        )
    return merged


def reasons_for(member: PoolMember, candidate: CandidateFacts) -> tuple[Reason, ...]:
    found = []
    if _unit(member.work_unit) and _unit(member.work_unit) == _unit(candidate.work_unit):
        found.append(Reason.WORK_UNIT)
    if _key(member.household_key) and _key(member.household_key) == _key(candidate.household_key):
        found.append(Reason.HOUSEHOLD)
    rid = member.resident_id
    if rid in candidate.nominator_resident_ids:
        found.append(Reason.NOMINATOR)
    if rid in candidate.family_resident_ids:
        found.append(Reason.FAMILY)
    if rid in candidate.household_resident_ids:
        found.append(Reason.DECLARED_HOUSEHOLD)
    if rid in candidate.other_resident_ids:
        found.append(Reason.OTHER)
    return tuple(found)


def exclusions(members: Sequence[PoolMember], candidates: Sequence[CandidateFacts]) -> list[Exclusion]:
    """One exclusion per (member, candidate) pair in conflict, ordered by resident id then candidate."""
    found = [
        Exclusion(member.resident_id, candidate.key, reasons)
        for member in members
        for candidate in candidates
        if (reasons := reasons_for(member, candidate))
    ]
    return sorted(found, key=lambda e: (e.resident_id, e.candidate))


def excluded_resident_ids(found: Iterable[Exclusion]) -> set[int]:
    return {e.resident_id for e in found}


def facts_to_json(candidate: CandidateFacts) -> dict[str, Any]:
    """How a panel stores the facts it was given (`panel.exclusions["candidates"]`)."""
    return {
        "key": candidate.key,
        "name": candidate.name,
        "work_unit": candidate.work_unit,
        "household_key": candidate.household_key,
        "nominator_resident_ids": sorted(candidate.nominator_resident_ids),
        "family_resident_ids": sorted(candidate.family_resident_ids),
        "household_resident_ids": sorted(candidate.household_resident_ids),
        "other_resident_ids": sorted(candidate.other_resident_ids),
    }


def facts_from_json(row: Mapping[str, Any]) -> CandidateFacts:
    def ids(name: str) -> frozenset[int]:
        return frozenset(int(i) for i in row.get(name) or [])

    return CandidateFacts(
        key=str(row["key"]),
        name=str(row.get("name") or ""),
        work_unit=row.get("work_unit"),
        household_key=row.get("household_key"),
        nominator_resident_ids=ids("nominator_resident_ids"),
        family_resident_ids=ids("family_resident_ids"),
        household_resident_ids=ids("household_resident_ids"),
        other_resident_ids=ids("other_resident_ids"),
    )
