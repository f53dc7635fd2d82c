"""Campaigns after creation (edit before the opening, move the dates, close now, each audited), exact
results at the ends of the scale, and English that agrees with its numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.evaluations.models import Rating
from engage.evaluations.rules import stats
from engage.notices.models import Notice
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import (
    api_phone,
    campaign_body,
    organizer_headers,
    outbox_links,
    phone_of,
    post_rating,
    token_for,
)
from tests.support import run_jobs

API = "/api/v1/evaluations"


def audit(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def create(client: TestClient[Litestar], headers: dict[str, str], **change: Any) -> dict[str, Any]:
    created = client.post(API, json=campaign_body(**change), headers=headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


def rate_directly(db: Session, campaign_id: int, subject_id: int, scores: list[list[int]]) -> None:
    """Counted ratings of one subject, as the web and SMS paths store them."""
    for n, given in enumerate(scores):
        db.add(
            Rating(
                campaign_id=campaign_id,
                subject_id=subject_id,
                slot=f"online:{subject_id}:{n}",
                scores=given,
                via="web",
            )
        )
    db.commit()


# -- edit, reschedule, close ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_campaign_is_edited_before_it_opens_and_the_edit_is_audited(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    headers = organizer_headers(settings)
    campaign = create(client, headers, opens_at=later(1), closes_at=later(8))
    kept = campaign["subjects"][0]
    cid = campaign["id"]
    contact = {
        "subject_id": kept["id"],
        "phone": api_phone(1),
        "served_on": "2026-11-20",
        "matter": "户籍证明",
    }
    assert client.post(f"{API}/{cid}/contacts", json=contact, headers=headers).status_code == 201
    body = campaign_body(
        title_en="2026 reverse evaluation (corrected)",
        opens_at=later(2),
        closes_at=later(9),
        questions=[{"zh": "办事效率", "en": "Speed"}],
        subjects=[{"name": kept["name"], "unit": kept["unit"]}, {"name": "民政窗口", "unit": "南塔社区"}],
        threshold="80%",
    )
    edited = client.put(f"{API}/{cid}", json=body, headers=headers)
    assert edited.status_code == 200, edited.text
    answer = edited.json()
    assert answer["title_en"] == "2026 reverse evaluation (corrected)" and answer["threshold"] == "80%"
    assert [q["en"] for q in answer["questions"]] == ["Speed"]
    assert answer["subjects"][0]["id"] == kept["id"]  # kept, with its service contact
    assert [s["name"] for s in answer["subjects"]] == [kept["name"], "民政窗口"]
    [entry] = audit(db, "evaluation.edit")
    assert entry.subject_id == str(cid)
    assert (entry.details["before"]["questions"], entry.details["after"]["questions"]) == (3, 1)
    assert (entry.details["before"]["threshold"], entry.details["after"]["threshold"]) == ("3/4", "80%")
    # A subject with a recorded contact cannot be dropped; nor the mode changed under its contacts.
    dropped = client.put(f"{API}/{cid}", json={**body, "subjects": [{"name": "民政窗口"}]}, headers=headers)
    assert (dropped.status_code, dropped.json()["field"]) == (409, "subjects")
    online = client.put(f"{API}/{cid}", json={**body, "mode": "online"}, headers=headers)
    assert (online.status_code, online.json()["field"]) == (409, "mode")
    bad = client.put(f"{API}/{cid}", json={**body, "closes_at": later(1)}, headers=headers)
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (422, "rule_broken", "closes_at")
    assert len(audit(db, "evaluation.edit")) == 1


@pytest.mark.slow
def test_an_open_campaign_cannot_be_edited_but_its_closing_can_move_and_it_can_close_now(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    headers = organizer_headers(settings)
    campaign = create(client, headers)  # opened an hour ago
    cid = campaign["id"]
    edit = client.put(f"{API}/{cid}", json=campaign_body(), headers=headers)
    assert (edit.status_code, edit.json()["field"]) == (409, "opens_at")
    moved_opening = client.post(f"{API}/{cid}/schedule", json={"opens_at": later(1)}, headers=headers)
    assert (moved_opening.status_code, moved_opening.json()["field"]) == (409, "opens_at")
    past = client.post(f"{API}/{cid}/schedule", json={"closes_at": later(-1)}, headers=headers)
    assert (past.status_code, past.json()["code"], past.json()["field"]) == (422, "rule_broken", "closes_at")
    empty = client.post(f"{API}/{cid}/schedule", json={}, headers=headers)
    assert (empty.status_code, empty.json()["field"]) == (400, "closes_at")
    new_closing = later(20)
    moved = client.post(f"{API}/{cid}/schedule", json={"closes_at": new_closing}, headers=headers)
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["closes_at"]) == datetime.fromisoformat(new_closing)
    [entry] = audit(db, "evaluation.reschedule")
    assert entry.details["closes_at"][1] == datetime.fromisoformat(new_closing).isoformat()
    assert entry.details["opens_at"][0] == entry.details["opens_at"][1]
    closed = client.post(f"{API}/{cid}/close", headers=headers)
    assert closed.status_code == 200
    assert datetime.fromisoformat(closed.json()["closes_at"]) <= datetime.now(UTC)
    [entry] = audit(db, "evaluation.close")
    assert entry.actor.startswith("organizer:")
    again = client.post(f"{API}/{cid}/close", headers=headers)
    assert (again.status_code, again.json()["field"]) == (409, "closes_at")
    after = client.post(f"{API}/{cid}/schedule", json={"closes_at": later(3)}, headers=headers)
    assert (after.status_code, after.json()["field"]) == (409, "closes_at")
    # Closed now, its results can be published at once.
    assert client.post(f"{API}/{cid}/publish", headers=headers).status_code == 201
    auditor = {"Authorization": f"Bearer {token_for(settings, 'sun@district.gov.cn', 'auditor')}"}
    assert client.post(f"{API}/{cid}/close", headers=auditor).status_code == 403


def test_a_campaign_closed_before_it_opens_never_opens(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    headers = organizer_headers(settings)
    campaign = create(client, headers, opens_at=later(1), closes_at=later(8))
    closed = client.post(f"{API}/{campaign['id']}/close", headers=headers).json()
    assert closed["opens_at"] == closed["closes_at"]
    assert datetime.fromisoformat(closed["closes_at"]) <= datetime.now(UTC)


# -- exact ends, plain English -------------------------------------------------------------------


@pytest.mark.parametrize("trials", [1, 2, 3, 7, 30, 101, 1000])
def test_the_interval_is_exactly_0_or_1_at_the_ends_of_the_scale(trials: int) -> None:
    none = stats.wilson(0, trials)
    every = stats.wilson(trials, trials)
    assert none is not None and every is not None
    assert none.low == 0.0 and every.high == 1.0
    assert 0.0 < none.high < 1.0 and 0.0 < every.low < 1.0
    for k in range(trials + 1):
        between = stats.wilson(k, trials)
        assert between is not None and 0.0 <= between.low <= k / trials <= between.high <= 1.0


@pytest.mark.slow
def test_results_for_0_of_n_and_n_of_n_satisfied_have_interval_ends_of_exactly_0_and_1(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    headers = organizer_headers(settings)
    campaign = create(client, headers, mode="online")
    cid = campaign["id"]
    never, always = (s["id"] for s in campaign["subjects"])
    rate_directly(db, cid, never, [[1, 2, 3], [3, 3, 2], [2, 1, 1]])  # 0 of 9 answers satisfied
    rate_directly(db, cid, always, [[4, 5, 4], [5, 5, 5]])  # 6 of 6
    found = {
        s["subject"]["id"]: s for s in client.get(f"{API}/{cid}/results", headers=headers).json()["subjects"]
    }
    assert (found[never]["rate_fraction"], found[never]["interval"]["low"]) == ("0", 0)
    assert (found[always]["rate_fraction"], found[always]["interval"]["high"]) == ("1", 1)
    assert 0 < found[never]["interval"]["high"] < 1 and 0 < found[always]["interval"]["low"] < 1


@pytest.mark.slow
def test_one_rating_and_one_question_read_as_grammatical_english(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    headers = organizer_headers(settings)
    campaign = create(client, headers, questions=[{"zh": "办事效率", "en": "Speed"}])
    cid, subject = campaign["id"], campaign["subjects"][0]["id"]
    english = 4  # every fourth resident reads English
    contact = {
        "subject_id": subject,
        "phone": api_phone(english),
        "served_on": "2026-11-20",
        "matter": "ID",
    }
    assert client.post(f"{API}/{cid}/contacts", json=contact, headers=headers).status_code == 201
    assert client.post(f"{API}/{cid}/invite", headers=headers).json() == {"texts": 1}
    [invitation] = db.execute(select(SmsMessage.body)).scalars().all()
    assert "or reply 1 digit 1-5 (5 very satisfied): 1.Speed" in invitation
    assert "digits" not in invitation
    run_jobs(settings)
    assert post_rating(client, outbox_links(settings)[phone_of(english)], [5]).status_code == 200
    assert client.post(f"{API}/{cid}/close", headers=headers).status_code == 200
    notice_id = client.post(f"{API}/{cid}/publish", headers=headers).json()["notice_id"]
    notice = db.get(Notice, notice_id)
    assert notice is not None
    assert notice.body_zh.startswith("有效评价1份，2个对象中0个低于标准。")
    assert notice.body_en.startswith("1 valid rating; 0 of 2 below the standard: http")
    page = client.get(f"/evaluations/{cid}/results", headers={"Accept-Language": "en"})
    assert "1 rating from " in page.text and "1 ratings" not in page.text
    chinese = client.get(f"/evaluations/{cid}/results", headers={"Accept-Language": "zh-CN"})
    assert "共收到1份有效评价" in chinese.text


def test_the_openapi_document_lists_the_webhooks_and_the_campaign_changes(
    client: TestClient[Litestar],
) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    inbound = paths["/webhooks/twilio/inbound"]["post"]
    form = inbound["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert {"MessageSid", "From", "To", "Body"} <= set(form["properties"])
    assert [p["name"] for p in inbound["parameters"]] == ["X-Twilio-Signature"]
    assert "HMAC-SHA1" in inbound["description"] and "403" in inbound["description"]
    assert set(inbound["responses"]) == {"200", "400", "403"}
    assert "text/xml" in inbound["responses"]["200"]["content"]
    status = paths["/webhooks/twilio/status"]["post"]
    assert (
        "MessageStatus"
        in status["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]
    )
    assert set(status["responses"]) == {"200", "403"}
    assert "put" in paths["/api/v1/evaluations/{campaign_id}"]
    assert "post" in paths["/api/v1/evaluations/{campaign_id}/schedule"]
    assert "post" in paths["/api/v1/evaluations/{campaign_id}/close"]
