"""The grand-jury panel in the service (issue 5, items 3-5): a pool of 300 volunteers, quotas, a
frozen commitment, a draw from revealed seed parts, invitations by SMS, declines answered by text
through the signed inbound webhook with quota-keeping replacements, check-in, and the published
record replayed by `engage panel verify` from the exported pool, the way an auditor would."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.panels.models import MemberStatus, Panel, PanelMember
from engage.residents.models import (
    AGE_BANDS,
    Community,
    ParticipantType,
    Resident,
    ResidentRole,
    ResidentRoleKind,
    Source,
)
from engage.settings import Settings
from engage.testing.fake_twilio import FakeTwilio
from tests.conftest import LiveServer, _free_port, make_settings, run_jobs, twilio_environment
from tests.support import token_for

ROOT = Path(__file__).resolve().parent.parent
OUR_NUMBER = "+8610690000"
COMMUNITIES = [
    ("wulihe", "五里河社区", "Wulihe"),
    ("dongxing", "东兴社区", "Dongxing"),
    ("dongxingbei", "东兴北社区", "Dongxing North"),
    ("fengyutan", "风雨坛社区", "Fengyutan"),
    ("wanlian", "万莲社区", "Wanlian"),
]
DEPUTY_TYPES = [ParticipantType.DEPUTY_PC, ParticipantType.DEPUTY_PARTY, ParticipantType.DEPUTY_CPPCC]
QUOTAS = [
    {"category": "participant_type", "feature": "resident", "min": 40, "max": 40},
    {"category": "participant_type", "feature": "deputy", "min": 5, "max": 5},
    {"category": "participant_type", "feature": "expert", "min": 10, "max": 10},
    {"category": "gender", "feature": "female", "min": 24, "max": 31},
    {"category": "gender", "feature": "male", "min": 24, "max": 31},
    *({"category": "age_band", "feature": band, "min": 4, "max": 20} for band in AGE_BANDS),
]
SEED_PARTS = ["district office: 7f3a91c2", "notary: 20261126-0815"]


def phone_of(n: int) -> str:
    return f"+86139{n:08d}"


def add_volunteers(db: Session, count: int = 300) -> list[Resident]:
    """~250 residents, 30 deputies, 20 experts over five communities, both genders (a few other), all
    age bands; every one a verified volunteer judge."""
    rng = random.Random(20261126)
    communities = []
    for code, zh, en in COMMUNITIES:
        community = Community(code=code, name_zh=zh, name_en=en)
        db.add(community)
        communities.append(community)
    db.flush()
    now = datetime.now(UTC)
    residents = []
    for n in range(count):
        kind = (
            ParticipantType.RESIDENT
            if n < 250
            else DEPUTY_TYPES[n % 3]
            if n < 280
            else ParticipantType.EXPERT
        )
        resident = Resident(
            phone=phone_of(n),
            name=f"志愿者{n}",
            community_id=rng.choice(communities).id,
            participant_type=kind.value,
            gender="other" if n % 97 == 5 else rng.choice(["female", "male"]),
            age_band=rng.choice(AGE_BANDS),
            expertise="城市规划" if kind == ParticipantType.EXPERT else None,
            work_unit=f"单位{n % 40}",
            locale="zh_CN" if n % 4 else "en",
            source=Source.IMPORT.value,
            verified_at=now,
        )
        resident.roles = [ResidentRole(role=ResidentRoleKind.JUDGE.value, consented_at=now)]
        residents.append(resident)
    db.add_all(residents)
    db.commit()
    return residents


@dataclass
class District:
    fake: FakeTwilio
    settings: Settings
    url: str
    headers: dict[str, str]
    db: Session

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}/api/v1/panels{path}", headers=self.headers, timeout=60, **kwargs
        )

    def text(self, phone: str, body: str) -> list[str]:
        """Text us from `phone`; returns what that phone received once the worker has run."""
        before = len(self.fake.messages_to(phone))
        answered = self.fake.send_inbound(f"{self.url}/webhooks/twilio/inbound", phone, OUR_NUMBER, body)
        assert answered.status == 200, answered.body
        run_jobs(self.settings)
        return [m.body for m in self.fake.messages_to(phone)[before:]]

    def members(self, panel_id: int) -> list[PanelMember]:
        self.db.expire_all()
        return list(self.db.execute(select(PanelMember).where(PanelMember.panel_id == panel_id)).scalars())


@pytest.fixture
def district(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Session
) -> Iterator[District]:
    """A live server that knows its public address (Twilio signs it), 300 volunteers, an organizer."""
    port = _free_port()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        **twilio_environment(fake_twilio),
    )
    add_volunteers(db)
    headers = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}
    with LiveServer(create_app(settings), port=port) as server:
        yield District(fake_twilio, settings, server.url, headers, db)


def create_panel(district: District) -> int:
    made = district.api(
        "POST",
        "",
        json={
            "title": "沈河区干部选任大评审团",
            "size": 55,
            "event_date": "2026-12-10 09:00",
            "place": "区政务中心三楼",
            "reply_deadline": "2026-12-05T12:00:00+08:00",
        },
    )
    assert made.status_code == 201, made.text
    panel_id = int(made.json()["id"])
    assert [p["id"] for p in district.api("GET", "").json()] == [panel_id]
    assert district.api("PUT", f"/{panel_id}/quotas", json={"quotas": QUOTAS}).status_code == 200
    return panel_id


def phones_by_pseudonym(db: Session) -> dict[str, str]:
    return {r.pseudonym: r.phone for r in db.execute(select(Resident)).scalars() if r.phone}


def assert_quotas_met(members: list[PanelMember], record: dict[str, Any]) -> None:
    categories = record["pool"]["categories"]
    seated = [m for m in members if m.status in ("invited", "confirmed", "attended", "drawn")]
    assert len(seated) == record["panel_size"]
    for category, value, low, high in record["quotas"]:
        seats = sum(1 for m in seated if m.values[categories.index(category)] == value)
        assert low <= seats <= high, (category, value, seats)


def test_a_55_seat_panel_is_drawn_invited_replaced_and_verified(district: District, tmp_path: Path) -> None:
    panel_id = create_panel(district)
    feasible = district.api("GET", f"/{panel_id}/feasibility").json()
    assert (feasible["feasible"], feasible["pool"], feasible["eligible"]) == (True, 300, 300)

    frozen = district.api("POST", f"/{panel_id}/freeze")
    assert frozen.status_code == 200, frozen.text
    commitment = frozen.json()["commitment"]
    assert frozen.json()["status"] == "frozen" and len(commitment) == 64
    prepared = district.api("GET", f"/{panel_id}/record").json()
    assert prepared["commitment"] == commitment and "seed" not in prepared

    drawn = district.api("POST", f"/{panel_id}/draw", json={"seed_parts": SEED_PARTS})
    assert drawn.status_code == 200, drawn.text
    assert drawn.json()["members_by_status"]["drawn"] == 55

    invited = district.api("POST", f"/{panel_id}/invite")
    assert invited.json() == {"texts": 55}
    assert district.api("POST", f"/{panel_id}/invite").json() == {"texts": 0}  # nobody twice
    run_jobs(district.settings)
    phones = phones_by_pseudonym(district.db)
    seated = [m for m in district.members(panel_id) if m.status == MemberStatus.INVITED]
    assert len(seated) == 55
    first = district.fake.messages_to(phones[seated[0].pseudonym])
    assert len(first) == 1 and "2026-12-10 09:00" in first[0].body and "区政务中心三楼" in first[0].body
    assert ("回复1确认参加" in first[0].body) or ("Reply 1 to confirm" in first[0].body)

    # Four decline by text; each seat goes to the first reserve that keeps every quota.
    decliners = seated[:4]
    for member in decliners:
        replies = district.text(phones[member.pseudonym], "2")
        assert len(replies) == 1 and ("递补" in replies[0] or "someone else" in replies[0])
    members = district.members(panel_id)
    by_id = {m.id: m for m in members}
    replacements = [m for m in members if m.replacement_for_id is not None]
    assert sorted(by_id[m.replacement_for_id].pseudonym for m in replacements) == sorted(
        d.pseudonym for d in decliners
    )
    assert all(m.status == MemberStatus.INVITED for m in replacements)
    for member in replacements:  # the alternates got their own invitation
        assert len(district.fake.messages_to(phones[member.pseudonym])) == 1
    record = district.api("GET", f"/{panel_id}/record").json()
    assert_quotas_met(members, record)
    assert {m.pseudonym for m in decliners} <= {m.pseudonym for m in members if m.status == "declined"}

    # A second "2" changes nothing; a "1" confirms once and the code checks the member in.
    decliner_phone = phones[decliners[0].pseudonym]
    declined_reply = district.fake.messages_to(decliner_phone)[-1].body
    assert district.text(decliner_phone, "2") == [declined_reply]
    assert len([m for m in district.members(panel_id) if m.replacement_for_id is not None]) == 4
    confirmer = replacements[0]
    answer = district.text(phones[confirmer.pseudonym], "1")
    again = district.text(phones[confirmer.pseudonym], "1")
    assert answer == again and len(answer) == 1
    code = next(m for m in district.members(panel_id) if m.id == confirmer.id).reply_code
    assert code is not None and code in answer[0]
    confirms = district.db.execute(select(AuditEntry).where(AuditEntry.action == "panel.confirm")).scalars()
    assert len(list(confirms)) == 1
    checked = district.api("POST", f"/{panel_id}/check-in", json={"code": code})
    assert checked.status_code == 200 and checked.json()["status"] == "attended"
    assert checked.json()["service_count"] == 1
    assert district.api("POST", f"/{panel_id}/check-in", json={"code": code}).json()["status"] == "attended"

    # Someone in the pool who was never invited, and a stranger: the help text.
    never = next(m for m in district.members(panel_id) if m.status == MemberStatus.POOL)
    for phone in (phones[never.pseudonym], "+8613700137000"):
        help_text = district.text(phone, "1")
        assert len(help_text) == 1 and ("JOIN" in help_text[0] or "参加" in help_text[0]), help_text

    # The auditor's replay: the published record and the exported pool.
    listed = district.api("GET", f"/{panel_id}/members").json()
    assert Counter(m["status"] for m in listed) == Counter({"invited": 54, "attended": 1, "declined": 4})
    pool_csv = district.api("GET", f"/{panel_id}/pool.csv")
    assert pool_csv.status_code == 200 and pool_csv.text.startswith("id,ticket,participant_type")
    # Anyone, signed in or not, downloads the same two files from the public address.
    with urllib.request.urlopen(f"{district.url}/panels/{panel_id}/record.json", timeout=10) as public:
        assert json.loads(public.read()) == record
    with urllib.request.urlopen(f"{district.url}/panels/{panel_id}/pool.csv", timeout=10) as public:
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
        district.db.execute(select(AuditEntry).where(AuditEntry.subject_type == "panel")).scalars()
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


@pytest.fixture
def organizer(client: TestClient[Litestar], settings: Settings, db: Session) -> dict[str, str]:
    add_volunteers(db)
    return {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}


def _draft(client: TestClient[Litestar], headers: dict[str, str], quotas: list[dict[str, Any]]) -> int:
    made = client.post("/api/v1/panels", json={"title": "评审团", "size": 55}, headers=headers)
    assert made.status_code == 201, made.text
    panel_id = int(made.json()["id"])
    assert (
        client.put(f"/api/v1/panels/{panel_id}/quotas", json={"quotas": quotas}, headers=headers).status_code
        == 200
    )
    return panel_id


def test_infeasible_quotas_are_refused_naming_the_quota(
    client: TestClient[Litestar], organizer: dict[str, str]
) -> None:
    quotas = [{"category": "participant_type", "feature": "expert", "min": 30, "max": 40}]  # 20 experts
    panel_id = _draft(client, organizer, quotas)
    report = client.get(f"/api/v1/panels/{panel_id}/feasibility", headers=organizer).json()
    assert report["feasible"] is False
    assert report["relaxation"][0]["feature"] == "expert" and report["relaxation"][0]["new_min"] == 20
    refused = client.post(f"/api/v1/panels/{panel_id}/freeze", headers=organizer)
    assert refused.status_code == 422
    assert refused.json()["field"] == "quotas" and "participant_type/expert" in refused.json()["detail"]
    assert client.get(f"/api/v1/panels/{panel_id}", headers=organizer).json()["status"] == "draft"


def test_drawing_before_freezing_is_a_conflict(
    client: TestClient[Litestar], organizer: dict[str, str]
) -> None:
    panel_id = _draft(client, organizer, QUOTAS)
    early = client.post(f"/api/v1/panels/{panel_id}/draw", json={"seed_parts": ["a"]}, headers=organizer)
    assert early.status_code == 409 and "frozen" in early.json()["detail"]
    assert client.get(f"/api/v1/panels/{panel_id}/record", headers=organizer).status_code == 409


def test_a_work_unit_exclusion_keeps_its_people_off_the_panel(
    client: TestClient[Litestar], organizer: dict[str, str], db: Session
) -> None:
    panel_id = _draft(client, organizer, QUOTAS)
    excluded = client.put(
        f"/api/v1/panels/{panel_id}/exclusions", json={"work_units": ["单位7"]}, headers=organizer
    )
    assert excluded.status_code == 200
    assert client.get(f"/api/v1/panels/{panel_id}/feasibility", headers=organizer).json()["eligible"] < 300
    assert client.post(f"/api/v1/panels/{panel_id}/freeze", headers=organizer).status_code == 200
    drawn = client.post(f"/api/v1/panels/{panel_id}/draw", json={"seed_parts": SEED_PARTS}, headers=organizer)
    assert drawn.status_code == 200
    members = client.get(f"/api/v1/panels/{panel_id}/members?include_pool=true", headers=organizer).json()
    unit7 = {r.pseudonym for r in db.execute(select(Resident).where(Resident.work_unit == "单位7")).scalars()}
    assert unit7 and all(m["status"] == "excluded" for m in members if m["pseudonym"] in unit7)
    record = client.get(f"/api/v1/panels/{panel_id}/record", headers=organizer).json()
    tickets = {m["pseudonym"]: m["ticket"] for m in members}
    assert sorted(record["exclusions"]) == sorted(tickets[p] for p in unit7)


def test_quotas_cannot_change_once_frozen_and_auditors_only_read(
    client: TestClient[Litestar], organizer: dict[str, str], settings: Settings
) -> None:
    panel_id = _draft(client, organizer, QUOTAS)
    assert client.post(f"/api/v1/panels/{panel_id}/freeze", headers=organizer).status_code == 200
    late = client.put(f"/api/v1/panels/{panel_id}/quotas", json={"quotas": QUOTAS}, headers=organizer)
    assert late.status_code == 409
    auditor = {"Authorization": f"Bearer {token_for(settings, 'audit@district.gov.cn', 'auditor')}"}
    assert client.get(f"/api/v1/panels/{panel_id}/record", headers=auditor).status_code == 200
    assert (
        client.post(
            f"/api/v1/panels/{panel_id}/draw", json={"seed_parts": ["x"]}, headers=auditor
        ).status_code
        == 403
    )


def test_no_answer_and_withdrawal_bring_in_reserves(
    client: TestClient[Litestar], organizer: dict[str, str]
) -> None:
    panel_id = _draft(client, organizer, QUOTAS)
    base = f"/api/v1/panels/{panel_id}"
    assert client.post(f"{base}/freeze", headers=organizer).status_code == 200
    assert client.post(f"{base}/draw", json={"seed_parts": SEED_PARTS}, headers=organizer).status_code == 200
    assert client.post(f"{base}/invite", headers=organizer).json() == {"texts": 55}
    seated = client.get(f"{base}/members", headers=organizer).json()
    silent, leaving = seated[0], seated[1]
    marked = client.post(f"{base}/members/{silent['id']}/no-answer", headers=organizer)
    assert marked.status_code == 200 and marked.json()["status"] == "replaced"
    assert client.post(f"{base}/members/{silent['id']}/no-answer", headers=organizer).status_code == 409
    assert (
        client.post(f"{base}/members/{leaving['id']}/withdraw", headers=organizer).json()["status"]
        == "withdrawn"
    )
    now = client.get(f"{base}/members", headers=organizer).json()
    stand_ins = {m["replacement_for_id"]: m for m in now if m["replacement_for_id"] is not None}
    assert set(stand_ins) == {silent["id"], leaving["id"]}
    assert all(m["status"] == "invited" for m in stand_ins.values())
    assert Counter(m["status"] for m in now)["invited"] == 55
    early = client.post(f"{base}/lapse", headers=organizer)  # this panel has no reply deadline
    assert early.status_code == 409 and early.json()["field"] == "reply_deadline"
    assert client.post(f"{base}/check-in", json={"code": "000000"}, headers=organizer).status_code == 404
    closed = client.post(f"{base}/close", headers=organizer)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert client.post(f"{base}/invite", headers=organizer).status_code == 409


def test_at_the_reply_deadline_everyone_silent_is_replaced(
    client: TestClient[Litestar], organizer: dict[str, str], db: Session
) -> None:
    made = client.post(
        "/api/v1/panels",
        json={"title": "评审团", "size": 55, "reply_deadline": "2200-01-01T00:00:00+08:00"},
        headers=organizer,
    )
    panel_id = int(made.json()["id"])
    base = f"/api/v1/panels/{panel_id}"
    assert client.put(f"{base}/quotas", json={"quotas": QUOTAS}, headers=organizer).status_code == 200
    assert client.post(f"{base}/freeze", headers=organizer).status_code == 200
    assert client.post(f"{base}/draw", json={"seed_parts": SEED_PARTS}, headers=organizer).status_code == 200
    assert client.post(f"{base}/invite", headers=organizer).json() == {"texts": 55}
    assert client.post(f"{base}/lapse", headers=organizer).status_code == 409  # not yet
    panel = db.get(Panel, panel_id)
    assert panel is not None
    panel.reply_deadline = datetime.now(UTC)  # the deadline passes
    db.commit()
    lapsed = client.post(f"{base}/lapse", headers=organizer)
    assert lapsed.status_code == 200
    members = client.get(f"{base}/members", headers=organizer).json()
    statuses = Counter(m["status"] for m in members)
    assert statuses["replaced"] == 55
    stand_ins = [m for m in members if m["replacement_for_id"] is not None]
    assert lapsed.json()["texts"] == len(stand_ins) == statuses["invited"]  # invited after the deadline
