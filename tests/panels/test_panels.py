"""The grand-jury panel in the service (issue 5, items 3-5): a pool of 300 volunteers, quotas, a
frozen commitment, a draw from revealed seed parts, invitations by SMS, declines answered by text
through the signed inbound webhook with quota-keeping replacements, check-in, and the published
record replayed by `engage panel verify` from the exported pool, the way an auditor would."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.panels.models import MemberStatus, Panel
from engage.residents.models import (
    Resident,
)
from engage.settings import Settings
from tests.factories import (
    QUOTAS,
    SEED_PARTS,
    PanelDistrict,
    assert_quotas_met,
    create_panel,
    phones_by_pseudonym,
    token_for,
)
from tests.support import ROOT, run_jobs


@pytest.mark.slow
def test_a_55_seat_panel_is_drawn_invited_replaced_and_verified(
    panel_district: PanelDistrict, tmp_path: Path
) -> None:
    panel_id = create_panel(panel_district)
    feasible = panel_district.api("GET", f"/{panel_id}/feasibility").json()
    assert (feasible["feasible"], feasible["pool"], feasible["eligible"]) == (True, 300, 300)

    frozen = panel_district.api("POST", f"/{panel_id}/freeze")
    assert frozen.status_code == 200, frozen.text
    commitment = frozen.json()["commitment"]
    assert frozen.json()["status"] == "frozen" and len(commitment) == 64
    prepared = panel_district.api("GET", f"/{panel_id}/record").json()
    assert prepared["commitment"] == commitment and "seed" not in prepared

    drawn = panel_district.api("POST", f"/{panel_id}/draw", json={"seed_parts": SEED_PARTS})
    assert drawn.status_code == 200, drawn.text
    assert drawn.json()["members_by_status"]["drawn"] == 55

    invited = panel_district.api("POST", f"/{panel_id}/invite")
    assert invited.json() == {"texts": 55}
    assert panel_district.api("POST", f"/{panel_id}/invite").json() == {"texts": 0}  # nobody twice
    run_jobs(panel_district.settings)
    phones = phones_by_pseudonym(panel_district.db)
    seated = [m for m in panel_district.members(panel_id) if m.status == MemberStatus.INVITED]
    assert len(seated) == 55
    first = panel_district.fake.messages_to(phones[seated[0].pseudonym])
    assert len(first) == 1 and "2026-12-10 09:00" in first[0].body and "区政务中心三楼" in first[0].body
    assert ("回复1确认参加" in first[0].body) or ("Reply 1 to confirm" in first[0].body)

    # Four decline by text; each seat goes to the first reserve that keeps every quota.
    decliners = seated[:4]
    for member in decliners:
        replies = panel_district.text(phones[member.pseudonym], "2")
        assert len(replies) == 1 and ("递补" in replies[0] or "someone else" in replies[0])
    members = panel_district.members(panel_id)
    by_id = {m.id: m for m in members}
    replacements = [m for m in members if m.replacement_for_id is not None]
    assert sorted(by_id[m.replacement_for_id].pseudonym for m in replacements) == sorted(
        d.pseudonym for d in decliners
    )
    assert all(m.status == MemberStatus.INVITED for m in replacements)
    for member in replacements:  # the alternates got their own invitation
        assert len(panel_district.fake.messages_to(phones[member.pseudonym])) == 1
    record = panel_district.api("GET", f"/{panel_id}/record").json()
    assert_quotas_met(members, record)
    assert {m.pseudonym for m in decliners} <= {m.pseudonym for m in members if m.status == "declined"}

    # A second "2" changes nothing; a "1" confirms once and the code checks the member in.
    decliner_phone = phones[decliners[0].pseudonym]
    declined_reply = panel_district.fake.messages_to(decliner_phone)[-1].body
    assert panel_district.text(decliner_phone, "2") == [declined_reply]
    assert len([m for m in panel_district.members(panel_id) if m.replacement_for_id is not None]) == 4
    confirmer = replacements[0]
    answer = panel_district.text(phones[confirmer.pseudonym], "1")
    again = panel_district.text(phones[confirmer.pseudonym], "1")
    assert answer == again and len(answer) == 1
    code = next(m for m in panel_district.members(panel_id) if m.id == confirmer.id).reply_code
    assert code is not None and code in answer[0]
    confirms = panel_district.db.execute(
        select(AuditEntry).where(AuditEntry.action == "panel.confirm")
    ).scalars()
    assert len(list(confirms)) == 1
    checked = panel_district.api("POST", f"/{panel_id}/check-in", json={"code": code})
    assert checked.status_code == 200 and checked.json()["status"] == "attended"
    assert checked.json()["service_count"] == 1
    assert (
        panel_district.api("POST", f"/{panel_id}/check-in", json={"code": code}).json()["status"]
        == "attended"
    )

    # Someone in the pool who was never invited, and a stranger: the help text.
    never = next(m for m in panel_district.members(panel_id) if m.status == MemberStatus.POOL)
    for phone in (phones[never.pseudonym], "+8613700137000"):
        help_text = panel_district.text(phone, "1")
        assert len(help_text) == 1 and ("JOIN" in help_text[0] or "参加" in help_text[0]), help_text

    # The auditor's replay: the published record and the exported pool.
    listed = panel_district.api("GET", f"/{panel_id}/members").json()
    assert Counter(m["status"] for m in listed) == Counter({"invited": 54, "attended": 1, "declined": 4})
    pool_csv = panel_district.api("GET", f"/{panel_id}/pool.csv")
    assert pool_csv.status_code == 200 and pool_csv.text.startswith("id,ticket,participant_type")
    # Anyone, signed in or not, downloads the same two files from the public address.
    with urllib.request.urlopen(f"{panel_district.url}/panels/{panel_id}/record.json", timeout=10) as public:
        assert json.loads(public.read()) == record
    with urllib.request.urlopen(f"{panel_district.url}/panels/{panel_id}/pool.csv", timeout=10) as public:
        published_pool = public.read()
    assert published_pool == pool_csv.content
    (tmp_path / "record.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "pool.csv").write_bytes(published_pool)
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "engage",
            "panel",
            "verify",
            str(tmp_path / "record.json"),
            "--respondents",
            str(tmp_path / "pool.csv"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert record["commitment"] == commitment and [p["value"] for p in record["seed_parts"]] == SEED_PARTS

    # Pseudonyms only: no name, phone or pseudonym in the record, no phone or name in the audit log.
    text = json.dumps(record, ensure_ascii=False)
    assert "+86" not in text and "志愿者" not in text and "r-" not in text
    entries = list(
        panel_district.db.execute(select(AuditEntry).where(AuditEntry.subject_type == "panel")).scalars()
    )
    actions = Counter(e.action for e in entries)
    assert actions["panel.freeze"] == actions["panel.draw"] == 1
    assert actions["panel.declined"] == actions["panel.replace"] == 4
    assert actions["panel.invite"] == 59
    declines = [e for e in entries if e.action == "panel.declined"]
    assert {e.actor for e in declines} == {f"resident:{m.pseudonym}" for m in decliners}
    assert {e.actor for e in entries if e.action == "panel.replace"} == {"system"}
    logged = json.dumps([e.details for e in entries], ensure_ascii=False)
    assert "+86" not in logged and "志愿者" not in logged


# -- bad inputs, through the test client ------------------------------------------------------------


def _draft(client: TestClient[Litestar], headers: dict[str, str], quotas: list[dict[str, Any]]) -> int:
    made = client.post("/api/v1/panels", json={"title": "评审团", "size": 55}, headers=headers)
    assert made.status_code == 201, made.text
    panel_id = int(made.json()["id"])
    assert (
        client.put(f"/api/v1/panels/{panel_id}/quotas", json={"quotas": quotas}, headers=headers).status_code
        == 200
    )
    return panel_id


@pytest.mark.slow
def test_infeasible_quotas_are_refused_naming_the_quota(
    client: TestClient[Litestar], panel_staff: dict[str, str]
) -> None:
    quotas = [{"category": "participant_type", "feature": "expert", "min": 30, "max": 40}]  # 20 experts
    panel_id = _draft(client, panel_staff, quotas)
    report = client.get(f"/api/v1/panels/{panel_id}/feasibility", headers=panel_staff).json()
    assert report["feasible"] is False
    assert report["relaxation"][0]["feature"] == "expert" and report["relaxation"][0]["new_min"] == 20
    refused = client.post(f"/api/v1/panels/{panel_id}/freeze", headers=panel_staff)
    assert refused.status_code == 409
    assert refused.json()["field"] == "quotas" and "participant_type/expert" in refused.json()["detail"]
    assert client.get(f"/api/v1/panels/{panel_id}", headers=panel_staff).json()["status"] == "draft"


def test_drawing_before_freezing_is_a_conflict(
    client: TestClient[Litestar], panel_staff: dict[str, str]
) -> None:
    panel_id = _draft(client, panel_staff, QUOTAS)
    early = client.post(f"/api/v1/panels/{panel_id}/draw", json={"seed_parts": ["a"]}, headers=panel_staff)
    assert early.status_code == 409 and "frozen" in early.json()["detail"]
    assert client.get(f"/api/v1/panels/{panel_id}/record", headers=panel_staff).status_code == 409


@pytest.mark.slow
def test_a_work_unit_exclusion_keeps_its_people_off_the_panel(
    client: TestClient[Litestar], panel_staff: dict[str, str], db: Session
) -> None:
    panel_id = _draft(client, panel_staff, QUOTAS)
    excluded = client.put(
        f"/api/v1/panels/{panel_id}/exclusions", json={"work_units": ["单位7"]}, headers=panel_staff
    )
    assert excluded.status_code == 200
    assert client.get(f"/api/v1/panels/{panel_id}/feasibility", headers=panel_staff).json()["eligible"] < 300
    assert client.post(f"/api/v1/panels/{panel_id}/freeze", headers=panel_staff).status_code == 200
    drawn = client.post(
        f"/api/v1/panels/{panel_id}/draw", json={"seed_parts": SEED_PARTS}, headers=panel_staff
    )
    assert drawn.status_code == 200
    members = client.get(f"/api/v1/panels/{panel_id}/members?include_pool=true", headers=panel_staff).json()
    unit7 = {r.pseudonym for r in db.execute(select(Resident).where(Resident.work_unit == "单位7")).scalars()}
    assert unit7 and all(m["status"] == "excluded" for m in members if m["pseudonym"] in unit7)
    record = client.get(f"/api/v1/panels/{panel_id}/record", headers=panel_staff).json()
    tickets = {m["pseudonym"]: m["ticket"] for m in members}
    assert sorted(record["exclusions"]) == sorted(tickets[p] for p in unit7)


@pytest.mark.slow
def test_quotas_cannot_change_once_frozen_and_auditors_only_read(
    client: TestClient[Litestar], panel_staff: dict[str, str], settings: Settings
) -> None:
    panel_id = _draft(client, panel_staff, QUOTAS)
    assert client.post(f"/api/v1/panels/{panel_id}/freeze", headers=panel_staff).status_code == 200
    late = client.put(f"/api/v1/panels/{panel_id}/quotas", json={"quotas": QUOTAS}, headers=panel_staff)
    assert late.status_code == 409
    auditor = {"Authorization": f"Bearer {token_for(settings, 'audit@district.gov.cn', 'auditor')}"}
    assert client.get(f"/api/v1/panels/{panel_id}/record", headers=auditor).status_code == 200
    assert (
        client.post(
            f"/api/v1/panels/{panel_id}/draw", json={"seed_parts": ["x"]}, headers=auditor
        ).status_code
        == 403
    )


@pytest.mark.slow
def test_no_answer_and_withdrawal_bring_in_reserves(
    client: TestClient[Litestar], panel_staff: dict[str, str]
) -> None:
    panel_id = _draft(client, panel_staff, QUOTAS)
    base = f"/api/v1/panels/{panel_id}"
    assert client.post(f"{base}/freeze", headers=panel_staff).status_code == 200
    assert (
        client.post(f"{base}/draw", json={"seed_parts": SEED_PARTS}, headers=panel_staff).status_code == 200
    )
    assert client.post(f"{base}/invite", headers=panel_staff).json() == {"texts": 55}
    seated = client.get(f"{base}/members", headers=panel_staff).json()
    silent, leaving = seated[0], seated[1]
    marked = client.post(f"{base}/members/{silent['id']}/no-answer", headers=panel_staff)
    assert marked.status_code == 200 and marked.json()["status"] == "replaced"
    assert client.post(f"{base}/members/{silent['id']}/no-answer", headers=panel_staff).status_code == 409
    assert (
        client.post(f"{base}/members/{leaving['id']}/withdraw", headers=panel_staff).json()["status"]
        == "withdrawn"
    )
    now = client.get(f"{base}/members", headers=panel_staff).json()
    stand_ins = {m["replacement_for_id"]: m for m in now if m["replacement_for_id"] is not None}
    assert set(stand_ins) == {silent["id"], leaving["id"]}
    assert all(m["status"] == "invited" for m in stand_ins.values())
    assert Counter(m["status"] for m in now)["invited"] == 55
    early = client.post(f"{base}/lapse", headers=panel_staff)  # this panel has no reply deadline
    assert early.status_code == 409 and early.json()["field"] == "reply_deadline"
    assert client.post(f"{base}/check-in", json={"code": "000000"}, headers=panel_staff).status_code == 404
    closed = client.post(f"{base}/close", headers=panel_staff)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert client.post(f"{base}/invite", headers=panel_staff).status_code == 409


@pytest.mark.slow
def test_at_the_reply_deadline_everyone_silent_is_replaced(
    client: TestClient[Litestar], panel_staff: dict[str, str], db: Session
) -> None:
    made = client.post(
        "/api/v1/panels",
        json={"title": "评审团", "size": 55, "reply_deadline": "2200-01-01T00:00:00+08:00"},
        headers=panel_staff,
    )
    panel_id = int(made.json()["id"])
    base = f"/api/v1/panels/{panel_id}"
    assert client.put(f"{base}/quotas", json={"quotas": QUOTAS}, headers=panel_staff).status_code == 200
    assert client.post(f"{base}/freeze", headers=panel_staff).status_code == 200
    assert (
        client.post(f"{base}/draw", json={"seed_parts": SEED_PARTS}, headers=panel_staff).status_code == 200
    )
    assert client.post(f"{base}/invite", headers=panel_staff).json() == {"texts": 55}
    assert client.post(f"{base}/lapse", headers=panel_staff).status_code == 409  # not yet
    panel = db.get(Panel, panel_id)
    assert panel is not None
    panel.reply_deadline = datetime.now(UTC)  # the deadline passes
    db.commit()
    lapsed = client.post(f"{base}/lapse", headers=panel_staff)
    assert lapsed.status_code == 200
    members = client.get(f"{base}/members", headers=panel_staff).json()
    statuses = Counter(m["status"] for m in members)
    assert statuses["replaced"] == 55
    stand_ins = [m for m in members if m["replacement_for_id"] is not None]
    assert lapsed.json()["texts"] == len(stand_ins) == statuses["invited"]  # invited after the deadline
