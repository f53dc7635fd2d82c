"""Conflicts of interest as data (issue 5, item 3): volunteers in a candidate's work unit or household,
nominators of a candidate and residents who declared a tie are excluded from the draw, each with the
reason kept beside the record; declared conflicts are recorded through /api/v1/conflicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.panels.conflicts.rules import (
    CandidateFacts,
    DeclaredTie,
    Exclusion,
    PoolMember,
    Reason,
    TieKind,
    exclusions,
    facts_from_json,
    facts_to_json,
    with_declarations,
)
from engage.panels.models import Panel
from engage.residents.models import Resident
from engage.settings import Settings
from tests.factories import SEED_PARTS, organizer, sign_in, token_for

# -- the pure rules ---------------------------------------------------------------------------------


def test_each_kind_of_conflict_excludes_with_its_reason() -> None:
    members = [
        PoolMember(1, "沈河区 城建局"),
        PoolMember(2, "other unit", household_key="H-7"),
        PoolMember(3, None),
        PoolMember(4, "elsewhere"),
        PoolMember(5, "沈河区城建局", household_key="h-7"),
        PoolMember(6, "quiet unit"),
    ]
    candidate = CandidateFacts(
        key="c-1",
        work_unit="沈河区城建局",
        household_key="H-7",
        nominator_resident_ids=frozenset({3}),
        family_resident_ids=frozenset({4}),
        other_resident_ids=frozenset({5}),
    )
    assert exclusions(members, [candidate]) == [
        Exclusion(1, "c-1", (Reason.WORK_UNIT,)),  # compared without spaces or case
        Exclusion(2, "c-1", (Reason.HOUSEHOLD,)),
        Exclusion(3, "c-1", (Reason.NOMINATOR,)),
        Exclusion(4, "c-1", (Reason.FAMILY,)),
        Exclusion(5, "c-1", (Reason.WORK_UNIT, Reason.HOUSEHOLD, Reason.OTHER)),
    ]


def test_a_candidate_without_a_work_unit_or_household_excludes_no_one_by_them() -> None:
    members = [PoolMember(1, None), PoolMember(2, ""), PoolMember(3, "unit", household_key=None)]
    assert exclusions(members, [CandidateFacts(key="c-2")]) == []


def test_declared_ties_join_the_candidate_they_name_by_key_or_name() -> None:
    candidates = [CandidateFacts(key="c-1", name="王明"), CandidateFacts(key="c-2", name="Li Hua")]
    declared = [
        DeclaredTie(10, TieKind.FAMILY, "王明"),
        DeclaredTie(11, TieKind.HOUSEHOLD, "C-2"),
        DeclaredTie(12, TieKind.OTHER, "li hua"),
        DeclaredTie(13, TieKind.FAMILY, "someone else"),  # not a candidate of this draw
    ]
    merged = with_declarations(candidates, declared)
    found = exclusions([PoolMember(rid) for rid in (10, 11, 12, 13)], merged)
    assert found == [
        Exclusion(10, "c-1", (Reason.FAMILY,)),
        Exclusion(11, "c-2", (Reason.DECLARED_HOUSEHOLD,)),
        Exclusion(12, "c-2", (Reason.OTHER,)),
    ]


ids = st.frozensets(st.integers(1, 12), max_size=4)
units = st.sampled_from([None, "", "Unit A", "unit a", " unit  a ", "Unit B"])
households = st.sampled_from([None, "H1", "h1", "H2"])
members_strategy = st.lists(
    st.builds(PoolMember, st.integers(1, 12), units, households),
    max_size=12,
    unique_by=lambda m: m.resident_id,
)
candidates_strategy = st.lists(
    st.builds(
        CandidateFacts,
        key=st.sampled_from(["c-1", "c-2", "c-3"]),
        name=st.sampled_from(["", "王明", "Li"]),
        work_unit=units,
        household_key=households,
        nominator_resident_ids=ids,
        family_resident_ids=ids,
        household_resident_ids=ids,
        other_resident_ids=ids,
    ),
    max_size=3,
    unique_by=lambda c: c.key,
)


def _norm(value: str | None) -> str:
    return "".join((value or "").split()).casefold()


@given(members_strategy, candidates_strategy)
def test_exactly_the_members_in_conflict_are_excluded_each_with_true_reasons(
    members: list[PoolMember], candidates: list[CandidateFacts]
) -> None:
    found = exclusions(members, candidates)
    by_pair = {(e.resident_id, e.candidate): e.reasons for e in found}
    assert len(by_pair) == len(found)  # one per member and candidate
    for member in members:
        for candidate in candidates:
            expected = set()
            if _norm(member.work_unit) and _norm(member.work_unit) == _norm(candidate.work_unit):
                expected.add(Reason.WORK_UNIT)
            if _norm(member.household_key) and _norm(member.household_key) == _norm(candidate.household_key):
                expected.add(Reason.HOUSEHOLD)
            rid = member.resident_id
            for reason, group in (
                (Reason.NOMINATOR, candidate.nominator_resident_ids),
                (Reason.FAMILY, candidate.family_resident_ids),
                (Reason.DECLARED_HOUSEHOLD, candidate.household_resident_ids),
                (Reason.OTHER, candidate.other_resident_ids),
            ):
                if rid in group:
                    expected.add(reason)
            reasons = by_pair.get((rid, candidate.key), ())
            assert set(reasons) == expected and len(reasons) == len(expected)
    assert found == sorted(found, key=lambda e: (e.resident_id, e.candidate))


@given(candidates_strategy)
def test_candidate_facts_survive_the_json_the_panel_stores(candidates: list[CandidateFacts]) -> None:
    assert [facts_from_json(facts_to_json(c)) for c in candidates] == candidates


@given(members_strategy, candidates_strategy)
def test_declaring_nothing_changes_nothing(
    members: list[PoolMember], candidates: list[CandidateFacts]
) -> None:
    assert exclusions(members, with_declarations(candidates, [])) == exclusions(members, candidates)


# -- declared conflicts and the freeze, through the API ---------------------------------------------


def _residents(db: Session) -> list[Resident]:
    return list(db.execute(select(Resident).order_by(Resident.id)).scalars())


@pytest.mark.slow
def test_declared_conflicts_are_recorded_listed_and_removed(
    client: TestClient[Litestar], panel_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    resident = _residents(db)[0]
    made = client.post(
        "/api/v1/conflicts",
        json={
            "resident_id": resident.id,
            "kind": "family",
            "candidate": " 王明 ",
            "note": "表兄",
            "by_resident": True,
        },
        headers=panel_staff,
    )
    assert made.status_code == 201, made.text
    row = made.json()
    assert (row["candidate"], row["declared_by"]) == ("王明", f"resident:{resident.pseudonym}")
    listed = client.get(f"/api/v1/conflicts?resident_id={resident.id}", headers=panel_staff).json()
    assert [r["id"] for r in listed] == [row["id"]]

    for body, field, status in (
        ({"resident_id": 999999, "kind": "family", "candidate": "王明"}, "resident_id", 404),
        (
            {"resident_id": resident.id, "kind": "cousin", "candidate": "王明"},
            "kind",
            422,
        ),  # names no kind: the answer lists them
        ({"resident_id": resident.id, "kind": "other", "candidate": "   "}, "candidate", 400),
        ({"resident_id": resident.id, "kind": "other", "candidate": "王\x00明"}, "candidate", 400),
    ):
        refused = client.post("/api/v1/conflicts", json=body, headers=panel_staff)
        assert (refused.status_code, refused.json()["field"]) == (status, field), refused.text
    assert len(client.get("/api/v1/conflicts", headers=panel_staff).json()) == 1

    auditor = {"Authorization": f"Bearer {token_for(settings, 'audit@district.gov.cn', 'auditor')}"}
    assert client.get("/api/v1/conflicts", headers=auditor).status_code == 200
    assert client.delete(f"/api/v1/conflicts/{row['id']}", headers=auditor).status_code == 403
    assert client.delete(f"/api/v1/conflicts/{row['id']}", headers=panel_staff).status_code == 204
    assert client.delete(f"/api/v1/conflicts/{row['id']}", headers=panel_staff).status_code == 404
    entries = db.execute(select(AuditEntry).where(AuditEntry.action.like("conflict.%"))).scalars().all()
    assert [e.action for e in entries] == ["conflict.declare", "conflict.remove"]
    assert "王明" not in str([e.details for e in entries]) and "表兄" not in str([e.details for e in entries])


def _frozen_with_candidate(
    client: TestClient[Litestar], headers: dict[str, str], candidate: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    made = client.post("/api/v1/panels", json={"title": "评审团", "size": 12}, headers=headers)
    base = f"/api/v1/panels/{made.json()['id']}"
    quotas = [{"category": "participant_type", "feature": "expert", "min": 2, "max": 3}]
    assert client.put(f"{base}/quotas", json={"quotas": quotas}, headers=headers).status_code == 200
    put = client.put(f"{base}/exclusions", json={"candidates": [candidate]}, headers=headers)
    assert put.status_code == 200 and put.json()["exclusions"]["candidates"] == [candidate["key"]]
    feasible = client.get(f"{base}/feasibility", headers=headers).json()
    frozen = client.post(f"{base}/freeze", headers=headers)
    assert frozen.status_code == 200, frozen.text
    return base, {"feasibility": feasible, "panel": frozen.json()}


@pytest.mark.slow
def test_freezing_excludes_every_conflict_with_a_candidate_and_records_why(
    client: TestClient[Litestar], panel_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    residents = _residents(db)
    same_unit = {r.pseudonym for r in residents if r.work_unit == "单位3"}
    nominator, cousin, housemate = residents[0], residents[1], residents[2]
    for resident, kind, named in (
        (cousin, "family", "王明"),
        (housemate, "household", "c-9"),
        (residents[4], "other", "另一人"),
    ):
        body = {"resident_id": resident.id, "kind": kind, "candidate": named}
        assert client.post("/api/v1/conflicts", json=body, headers=panel_staff).status_code == 201
    candidate = {
        "key": "c-9",
        "name": "王明",
        "work_unit": "单位 3",
        "nominator_resident_ids": [nominator.id],
    }
    base, seen = _frozen_with_candidate(client, panel_staff, candidate)

    expected = same_unit | {nominator.pseudonym, cousin.pseudonym, housemate.pseudonym}
    assert residents[4].pseudonym not in expected  # declared against someone who is not a candidate
    assert seen["feasibility"]["eligible"] == 300 - len(expected)
    conflicts = {c["pseudonym"]: c for c in seen["panel"]["exclusions"]["conflicts"]}
    assert set(conflicts) == expected
    assert {c["candidate"] for c in conflicts.values()} == {"c-9"}
    assert "nominator" in conflicts[nominator.pseudonym]["reasons"]
    assert "declared_family" in conflicts[cousin.pseudonym]["reasons"]
    assert "declared_household" in conflicts[housemate.pseudonym]["reasons"]
    assert all("same_work_unit" in conflicts[p]["reasons"] for p in same_unit)

    members = client.get(f"{base}/members?include_pool=true", headers=panel_staff).json()
    tickets = {m["pseudonym"]: m["ticket"] for m in members}
    assert {m["pseudonym"] for m in members if m["status"] == "excluded"} == expected
    record = client.get(f"{base}/record", headers=panel_staff).json()
    assert sorted(record["exclusions"]) == sorted(tickets[p] for p in expected)
    drawn = client.post(f"{base}/draw", json={"seed_parts": SEED_PARTS}, headers=panel_staff).json()
    assert drawn["status"] == "drawn"
    seated = client.get(f"{base}/members", headers=panel_staff).json()
    assert not {m["pseudonym"] for m in seated} & expected

    freeze = db.execute(select(AuditEntry).where(AuditEntry.action == "panel.freeze")).scalar_one()
    assert freeze.details["excluded_conflicts"] == len(expected)
    panel_id = base.rsplit("/", 1)[1]
    public = client.get(f"/panels/{panel_id}", headers={"Accept-Language": "en"}).text
    assert "Nominated a candidate" in public and "Declared family tie with a candidate" in public
    assert nominator.pseudonym not in public  # tickets only
    sign_in(client, "chen@district.gov.cn", organizer(settings, "chen@district.gov.cn", "organizer"))
    page = client.get(f"/organizer/panels/{panel_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "因利益冲突回避" in page and "与候选人同一工作单位" in page


def test_the_candidates_of_a_panel_can_come_from_a_source_the_app_is_given(
    app: Litestar, client: TestClient[Litestar], panel_staff: dict[str, str], db: Session
) -> None:
    nominators = [r.id for r in _residents(db)[:3]]
    asked: list[int] = []

    async def selections(session: AsyncSession, panel: Panel) -> Sequence[CandidateFacts]:
        asked.append(panel.id)
        return [CandidateFacts(key="c-5", nominator_resident_ids=frozenset(nominators))]

    app.state["candidate_source"] = selections  # how the selections domain plugs in
    made = client.post("/api/v1/panels", json={"title": "评审团", "size": 12}, headers=panel_staff)
    base = f"/api/v1/panels/{made.json()['id']}"
    assert client.get(f"{base}/feasibility", headers=panel_staff).json()["eligible"] == 297
    frozen = client.post(f"{base}/freeze", headers=panel_staff).json()
    assert len(frozen["exclusions"]["conflicts"]) == 3
    assert {tuple(c["reasons"]) for c in frozen["exclusions"]["conflicts"]} == {("nominator",)}
    assert asked == [made.json()["id"]] * 2


@pytest.mark.slow
def test_a_candidate_key_given_twice_is_refused(
    client: TestClient[Litestar], panel_staff: dict[str, str]
) -> None:
    made = client.post("/api/v1/panels", json={"title": "评审团", "size": 12}, headers=panel_staff)
    base = f"/api/v1/panels/{made.json()['id']}"
    twice = {"candidates": [{"key": "c-1"}, {"key": "c-1", "work_unit": "x"}]}
    refused = client.put(f"{base}/exclusions", json=twice, headers=panel_staff)
    assert (refused.status_code, refused.json()["field"]) == (422, "candidates")  # beyond the schema
    bad = client.put(
        f"{base}/exclusions",
        json={"candidates": [{"key": "c-1", "nominator_resident_ids": [0]}]},
        headers=panel_staff,
    )
    assert bad.status_code == 400
