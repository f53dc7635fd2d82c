"""The grand-jury panel's deadline jobs and the cap on repeat service (issue 5, items 4 and 5): a
reminder before the reply deadline to everyone still silent, sent once; the lapse at the deadline as a
scheduled job, replacing the silent within the quotas; residents who already served enough left out."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.panels.models import MemberStatus, Panel, PanelMember, PanelStatus
from engage.panels.seats.schedule import REMIND_BEFORE, reminder_at
from engage.queues import QueueName, queue
from engage.residents.models import Resident
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import (
    QUOTAS,
    SEED_PARTS,
    add_volunteers,
    assert_quotas_met,
    csrf_token,
    organizer,
    sign_in,
    token_for,
)
from tests.support import LiveServer
from workers import panels as panel_jobs

DEADLINE = "2200-01-01T00:00:00+08:00"


def _panel(client: TestClient[Litestar], headers: dict[str, str], **extra: Any) -> str:
    made = client.post("/api/v1/panels", json={"title": "评审团", "size": 55, **extra}, headers=headers)
    assert made.status_code == 201, made.text
    base = f"/api/v1/panels/{made.json()['id']}"
    assert client.put(f"{base}/quotas", json={"quotas": QUOTAS}, headers=headers).status_code == 200
    return base


def _invited_panel(client: TestClient[Litestar], headers: dict[str, str]) -> tuple[int, str]:
    base = _panel(client, headers, reply_deadline=DEADLINE)
    assert client.post(f"{base}/freeze", headers=headers).status_code == 200
    assert client.post(f"{base}/draw", json={"seed_parts": SEED_PARTS}, headers=headers).status_code == 200
    assert client.post(f"{base}/invite", headers=headers).json() == {"texts": 55}
    return int(base.rsplit("/", 1)[1]), base


def _members(db: Session, panel_id: int) -> list[PanelMember]:
    db.expire_all()
    return list(db.execute(select(PanelMember).where(PanelMember.panel_id == panel_id)).scalars())


def test_the_reminder_comes_a_day_before_the_deadline_or_halfway_when_closer() -> None:
    deadline = datetime(2026, 12, 5, 4, tzinfo=UTC)
    assert reminder_at(deadline, deadline - timedelta(days=7)) == deadline - REMIND_BEFORE
    assert reminder_at(deadline, deadline - timedelta(hours=10)) == deadline - timedelta(hours=5)
    assert reminder_at(deadline, deadline) is None


@pytest.mark.slow
def test_inviting_schedules_the_reminder_and_the_lapse(
    client: TestClient[Litestar], panel_staff: dict[str, str], settings: Settings
) -> None:
    panel_id, _ = _invited_panel(client, panel_staff)
    assert settings.redis_url
    registry = ScheduledJobRegistry(queue=queue(settings.redis_url, QueueName.DEFAULT))
    deadline = datetime.fromisoformat(DEADLINE)
    assert registry.get_scheduled_time(f"panel-{panel_id}-lapse") == deadline
    assert registry.get_scheduled_time(f"panel-{panel_id}-reminders") == deadline - REMIND_BEFORE


@pytest.mark.slow
def test_reminders_go_once_to_those_still_invited(
    client: TestClient[Litestar], panel_staff: dict[str, str], db: Session
) -> None:
    panel_id, _ = _invited_panel(client, panel_staff)
    seated = [m for m in _members(db, panel_id) if m.status == MemberStatus.INVITED]
    answered = seated[0]
    answered.status = MemberStatus.CONFIRMED.value  # replied 1 already
    db.commit()
    before = db.execute(select(SmsMessage.id)).scalars().all()

    assert panel_jobs.send_reminders(panel_id) == 54
    assert panel_jobs.send_reminders(panel_id) == 0  # nobody twice

    members = _members(db, panel_id)
    reminded = {m.resident_id for m in members if m.reminded_at is not None}
    assert len(reminded) == 54 and answered.resident_id not in reminded
    texts = db.execute(select(SmsMessage).where(SmsMessage.id.not_in(before))).scalars().all()
    phones = {r.id: r.phone for r in db.execute(select(Resident)).scalars()}
    assert sorted(t.to for t in texts) == sorted(phones[rid] for rid in reminded if rid is not None)
    assert all("2200-01-01 00:00" in t.body for t in texts)  # the deadline in the district's time
    assert {("提醒" in t.body) or ("Reminder" in t.body) for t in texts} == {True}
    assert any("请于2200-01-01 00:00前回复" in t.body for t in texts)


@pytest.mark.slow
def test_the_lapse_job_replaces_the_silent_keeping_every_quota(
    client: TestClient[Litestar], panel_staff: dict[str, str], db: Session
) -> None:
    panel_id, base = _invited_panel(client, panel_staff)
    confirmed = next(m for m in _members(db, panel_id) if m.status == MemberStatus.INVITED)
    confirmed.status = MemberStatus.CONFIRMED.value
    db.commit()
    assert panel_jobs.lapse(panel_id) == 0  # before the deadline, nothing lapses
    panel = db.get(Panel, panel_id)
    assert panel is not None
    panel.reply_deadline = datetime.now(UTC)  # the deadline passes
    db.commit()

    invitations = panel_jobs.lapse(panel_id)
    assert panel_jobs.lapse(panel_id) == 0  # the replacements were invited after the deadline

    members = _members(db, panel_id)
    statuses = Counter(m.status for m in members)
    assert statuses["replaced"] == 54 and statuses["confirmed"] == 1
    stand_ins = [m for m in members if m.replacement_for_id is not None]
    assert invitations == len(stand_ins) == statuses["invited"] > 0
    record = client.get(f"{base}/record", headers=panel_staff).json()
    seated = [m for m in members if m.status in ("invited", "confirmed", "attended", "drawn")]
    if len(seated) == record["panel_size"]:
        assert_quotas_met(members, record)
    else:  # the reserve ran out of fitting people: the seats stay empty, no quota is broken
        categories = record["pool"]["categories"]
        for category, value, _low, high in record["quotas"]:
            assert sum(1 for m in seated if m.values[categories.index(category)] == value) <= high


@pytest.mark.slow
def test_the_cap_leaves_out_a_resident_who_already_served(
    client: TestClient[Litestar], panel_staff: dict[str, str], db: Session
) -> None:
    veteran = db.execute(select(Resident).order_by(Resident.id)).scalars().first()
    assert veteran is not None
    earlier = Panel(title="上一届", size=1, status=PanelStatus.CLOSED.value, created_by="organizer:1")
    earlier.members = [
        PanelMember(
            resident_id=veteran.id,
            pseudonym=veteran.pseudonym,
            ticket=1,
            values=["resident"],
            status=MemberStatus.ATTENDED.value,
        )
    ]
    db.add(earlier)
    db.commit()

    uncapped = _panel(client, panel_staff)
    assert client.get(f"{uncapped}/feasibility", headers=panel_staff).json()["eligible"] == 300
    base = _panel(client, panel_staff, max_prior_service=1)
    assert client.get(base, headers=panel_staff).json()["max_prior_service"] == 1
    assert client.get(f"{base}/feasibility", headers=panel_staff).json()["eligible"] == 299
    assert client.post(f"{base}/freeze", headers=panel_staff).status_code == 200

    members = client.get(f"{base}/members?include_pool=true", headers=panel_staff).json()
    mine = next(m for m in members if m["pseudonym"] == veteran.pseudonym)
    assert mine["status"] == "excluded" and mine["service_count"] == 1
    assert [m["pseudonym"] for m in members if m["status"] == "excluded"] == [veteran.pseudonym]
    record = client.get(f"{base}/record", headers=panel_staff).json()
    assert record["exclusions"] == [mine["ticket"]]
    panel = db.get(Panel, int(base.rsplit("/", 1)[1]))
    db.refresh(panel)
    assert panel is not None and panel.exclusions["prior_service"] == [veteran.pseudonym]


# -- the organizer pages ----------------------------------------------------------------------------

SMALL_QUOTAS = [
    {"category": "participant_type", "feature": "expert", "min": 2, "max": 3},
    {"category": "gender", "feature": "female", "min": 5, "max": 7},
]


def _small_panel(client: TestClient[Litestar], headers: dict[str, str]) -> int:
    made = client.post(
        "/api/v1/panels",
        json={
            "title": "五里河改造评审团",
            "size": 12,
            "event_date": "2026-12-10 09:00",
            "place": "区政务中心三楼",
            "reply_deadline": DEADLINE,
            "max_prior_service": 2,
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    panel_id = int(made.json()["id"])
    quotas = {"quotas": SMALL_QUOTAS}
    assert client.put(f"/api/v1/panels/{panel_id}/quotas", json=quotas, headers=headers).status_code == 200
    return panel_id


def _post_form(client: TestClient[Litestar], page: str, action: str, **fields: str) -> Any:
    data = {"_csrf_token": csrf_token(client, page), **fields}
    return client.post(action, data=data, follow_redirects=False)


@pytest.mark.slow
def test_staff_freeze_draw_and_invite_from_the_panel_page(
    client: TestClient[Litestar], panel_staff: dict[str, str], settings: Settings
) -> None:
    panel_id = _small_panel(client, panel_staff)
    sign_in(client, "chen@district.gov.cn", organizer(settings, "chen@district.gov.cn", "organizer"))
    page = f"/organizer/panels/{panel_id}"
    assert "五里河改造评审团" in client.get("/organizer/panels").text
    assert 'href="/organizer/panels"' in client.get("/organizer").text
    draft = client.get(page, headers={"Accept-Language": "en"})
    assert draft.status_code == 200
    assert "The pool can fill the panel within the quotas." in draft.text
    assert f'href="{page}/freeze"' in draft.text  # the step's page first (tests/panels/test_console.py)

    frozen = _post_form(client, f"{page}/freeze", f"{page}/freeze")
    assert frozen.status_code == 303 and frozen.headers["location"] == page
    assert f'href="{page}/draw"' in client.get(page).text
    assert _post_form(client, f"{page}/draw", f"{page}/draw", seed_parts="\n  \n").status_code == 400
    drawn = _post_form(client, f"{page}/draw", f"{page}/draw", seed_parts="\n".join(SEED_PARTS))
    assert drawn.status_code == 303
    assert _post_form(client, f"{page}/invite", f"{page}/invite").status_code == 303

    shown = client.get(page, headers={"Accept-Language": "zh-CN"}).text
    assert shown.count("已邀请，未回复") == 12 + 1  # twelve rows and the count line
    assert "+86" not in shown and "志愿者" not in shown  # pseudonyms only, never phones or names
    assert f"{page}/record.json" in shown
    record = client.get(f"{page}/record.json")
    assert record.status_code == 200 and record.json()["seed_parts"][0]["value"] == SEED_PARTS[0]


@pytest.mark.slow
def test_auditors_read_the_panel_pages_without_buttons(
    client: TestClient[Litestar], panel_staff: dict[str, str], settings: Settings
) -> None:
    panel_id = _small_panel(client, panel_staff)
    sign_in(client, "audit@district.gov.cn", organizer(settings, "audit@district.gov.cn", "auditor"))
    page = f"/organizer/panels/{panel_id}"
    shown = client.get(page)
    assert shown.status_code == 200 and "五里河改造评审团" in shown.text
    assert "<form" not in shown.text.split("<main", 1)[-1].replace('action="/logout"', "")
    assert _post_form(client, "/organizer", f"{page}/freeze").status_code == 403  # a valid token, still no
    assert client.get(f"/api/v1/panels/{panel_id}", headers=panel_staff).json()["status"] == "draft"


@pytest.mark.browser
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_panel_page_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    db: Session,
    phone_page: Any,
    output_dir: Path,
    language: str,
) -> None:
    add_volunteers(db)
    headers = {"Authorization": f"Bearer {token_for(settings, 'api@district.gov.cn', 'organizer')}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as api:
        made = api.post(
            "/api/v1/panels",
            json={
                "title": "五里河改造评审团",
                "size": 12,
                "event_date": "2026-12-10 09:00",
                "place": "区政务中心",
            },
        )
        panel_id = made.json()["id"]
        api.put(f"/api/v1/panels/{panel_id}/quotas", json={"quotas": SMALL_QUOTAS})
        assert api.post(f"/api/v1/panels/{panel_id}/freeze").status_code == 200
        assert api.post(f"/api/v1/panels/{panel_id}/draw", json={"seed_parts": SEED_PARTS}).status_code == 200
    password = organizer(settings, "lin@district.gov.cn", "organizer")
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"{live_server.url}/login")
    page.fill("#email", "lin@district.gov.cn")
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/organizer")
    page.goto(f"{live_server.url}/organizer/panels/{panel_id}")
    assert page.locator("h1").inner_text() == "五里河改造评审团"
    assert ("发送邀请" if language == "zh-CN" else "Send the invitations") in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(output_dir / f"panel-{language}.png"), full_page=True)
