"""Public notice periods and objections (issue 4, items 2 and 3) through the JSON API: an appointment
notice runs N working days and closes by itself at its closing moment (a real rq worker runs the
scheduled job); anyone files an objection during the period, anonymous or with a verified phone, and
reads its status by reference; organizers answer each one, and an upheld one extends or suspends the
notice. Bad input gets a clear 4xx naming the field and changes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage import jobs
from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.notices import period as periods
from engage.notices.objections.models import Objection
from engage.queues import QueueName, queue
from engage.settings import Settings
from tests.factories import (
    OBJECTOR_PHONE,
    appointment,
    closes_at,
    file_objection,
    texted_code,
    token_for,
)
from tests.support import make_settings, run_jobs
from workers import notices as notice_jobs

REFERENCE = re.compile(r"^OBJ-20\d\d-[A-HJKMNP-Z2-9]{6}$")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The moment periods are judged by; a test moves it by setting clock[0] (None: the real time)."""
    moment: list[Any] = [None]
    real = periods.clock
    monkeypatch.setattr(periods, "clock", lambda: moment[0] or real())
    yield moment


def scheduler_tick(settings: Settings, at: datetime) -> list[str]:
    """What rq's scheduler does when the clock reads `at`: move the jobs due by then to their queue.
    (The real scheduler reads the machine's clock, which a test cannot move.)"""
    assert settings.redis_url
    jobs = queue(settings.redis_url, QueueName.DEFAULT)
    registry = ScheduledJobRegistry(queue=jobs)
    due = registry.get_jobs_to_schedule(int(at.timestamp()))
    for job_id in due:
        job = jobs.fetch_job(job_id)
        assert job is not None
        registry.remove(job_id)
        jobs._enqueue_job(job)
    return due


def scheduled_close(settings: Settings, notice_id: int) -> datetime | None:
    assert settings.redis_url
    registry = ScheduledJobRegistry(queue=queue(settings.redis_url, QueueName.DEFAULT))
    return registry.get_scheduled_time(jobs.close_period_job_id(notice_id))


def audit(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(
        db.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars()
    )


def objection_count(db: Session) -> int:
    db.expire_all()
    return int(db.execute(select(func.count()).select_from(Objection)).scalar_one())


# --- the period ------------------------------------------------------------------------------------


def test_an_appointment_notice_runs_five_working_days_from_publication(
    client: TestClient[Litestar], notice_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    notice = appointment(client, notice_staff)
    period = notice["period"]
    published = datetime.fromisoformat(notice["published_at"])
    calendar = periods.calendar_for(settings)
    assert period["state"] == "open" and period["days"] == 5 and period["extended_days"] == 0
    assert datetime.fromisoformat(period["opens_at"]) == published
    assert closes_at(notice) == calendar.add_working_days(published, 5)
    assert closes_at(notice).astimezone(settings.tz).strftime("%H:%M") == "17:30"
    assert period["working_days_left"] == 5  # the day of publication is not one of them
    assert period["objections"] == {"total": 0, "received": 0, "under_review": 0, "upheld": 0, "rejected": 0}
    assert scheduled_close(settings, notice["id"]) == closes_at(notice)
    [opened] = audit(db, "notice.period_open")
    assert opened.details["days"] == 5 and opened.subject_id == str(notice["id"])
    public = client.get(f"/api/v1/notices/{notice['id']}/period")
    assert public.status_code == 200 and public.json()["closes_at"] == period["closes_at"]


def test_other_kinds_have_a_period_only_when_the_organizer_asks(
    client: TestClient[Litestar], notice_staff: dict[str, str]
) -> None:
    assert appointment(client, notice_staff, kind="stage_result")["period"] is None
    assert appointment(client, notice_staff, kind="stage_result", period_days=3)["period"]["days"] == 3
    assert appointment(client, notice_staff, period_days=0)["period"] is None
    assert appointment(client, notice_staff, period_days=7)["period"]["days"] == 7
    too_long = client.post(
        "/api/v1/notices",
        json={
            "kind": "appointment",
            "title_zh": "a",
            "title_en": "a",
            "body_zh": "b",
            "body_en": "b",
            "period_days": 61,
        },
        headers=notice_staff,
    )
    assert too_long.status_code == 400 and too_long.json()["field"] == "period_days"


def test_the_period_closes_by_itself_at_its_closing_moment(
    client: TestClient[Litestar],
    notice_staff: dict[str, str],
    settings: Settings,
    db: Session,
    clock: list[Any],
) -> None:
    notice = appointment(client, notice_staff)
    closing = closes_at(notice)

    clock[0] = closing - timedelta(seconds=1)
    assert scheduler_tick(settings, clock[0]) == []  # not due yet
    assert notice_jobs.close_period(notice["id"]) is False  # and an early run changes nothing
    assert file_objection(client, notice["id"]).status_code == 201  # the last second still counts

    clock[0] = closing
    assert scheduler_tick(settings, closing) == [jobs.close_period_job_id(notice["id"])]
    run_jobs(settings)  # a real rq worker runs the closing job

    shown = client.get(f"/api/v1/notices/{notice['id']}", headers=notice_staff).json()
    assert shown["status"] == "closed" and shown["period"]["state"] == "closed"
    assert shown["period"]["working_days_left"] == 0
    [closed] = audit(db, "notice.period_close")
    assert closed.actor == "system"
    assert notice_jobs.close_period(notice["id"]) is False  # twice: nothing more
    assert len(audit(db, "notice.period_close")) == 1

    late = file_objection(client, notice["id"])
    assert late.status_code == 409 and late.json()["field"] == "notice_id"
    assert "closed" in late.json()["detail"]
    assert objection_count(db) == 1


def test_objections_stop_at_the_closing_moment_even_before_the_job_runs(
    client: TestClient[Litestar], notice_staff: dict[str, str], clock: list[Any]
) -> None:
    notice = appointment(client, notice_staff)
    clock[0] = closes_at(notice)
    assert file_objection(client, notice["id"]).status_code == 409
    assert client.get(f"/api/v1/notices/{notice['id']}/period").json()["state"] == "closed"


def test_a_scheduled_notice_opens_its_period_at_the_scheduled_time(
    client: TestClient[Litestar], notice_staff: dict[str, str], settings: Settings
) -> None:
    made = client.post(
        "/api/v1/notices",
        json={
            "kind": "appointment",
            "title_zh": "公示",
            "title_en": "N",
            "body_zh": "正文",
            "body_en": "Body",
        },
        headers=notice_staff,
    ).json()
    at = (datetime.now(settings.tz) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    scheduled = client.post(
        f"/api/v1/notices/{made['id']}/publish", json={"publish_at": at.isoformat()}, headers=notice_staff
    )
    assert scheduled.status_code == 200, scheduled.text
    period = scheduled.json()["period"]
    assert period["state"] == "pending"
    assert datetime.fromisoformat(period["opens_at"]) == at
    assert datetime.fromisoformat(period["closes_at"]) == periods.calendar_for(settings).add_working_days(
        at, 5
    )
    assert scheduled_close(settings, made["id"]) == datetime.fromisoformat(period["closes_at"])


# --- filing ----------------------------------------------------------------------------------------


def test_an_anonymous_objection_gets_a_reference_and_a_public_status(
    client: TestClient[Litestar], notice_staff: dict[str, str], db: Session
) -> None:
    notice = appointment(client, notice_staff)
    filed = file_objection(client, notice["id"], reason="王芳同志的任职经历与公示不符。")
    assert filed.status_code == 201, filed.text
    reference = filed.json()["reference"]
    assert REFERENCE.match(reference) and filed.json()["anonymous"] is True
    assert filed.json()["status_url"].endswith(f"/objections/{reference}")

    status = client.get(f"/api/v1/objections/{reference.lower()}")  # as typed: lower case works too
    assert status.status_code == 200
    body = status.json()
    assert body["status"] == "received" and body["notice_id"] == notice["id"]
    assert not {"name", "phone", "reason"} & set(body)
    counts = client.get(f"/api/v1/notices/{notice['id']}/period").json()["objections"]
    assert counts["total"] == 1 and counts["received"] == 1
    [entry] = audit(db, "objection.file")
    assert entry.details == {"reference": reference, "anonymous": True}


@pytest.mark.slow
def test_a_named_objection_is_verified_by_code_and_gets_the_reference_by_sms(
    client: TestClient[Litestar], notice_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    notice = appointment(client, notice_staff)
    sent = client.post(f"/api/v1/notices/{notice['id']}/objections/code", json={"phone": OBJECTOR_PHONE})
    assert sent.status_code == 202 and sent.json()["phone"] == "+86138****8000"
    code = texted_code(settings, "+86" + OBJECTOR_PHONE)
    wrong = "000000" if code != "000000" else "111111"
    refused = file_objection(client, notice["id"], name="张伟", phone=OBJECTOR_PHONE, code=wrong)
    assert refused.status_code == 403 and refused.json()["field"] == "code"
    assert objection_count(db) == 0

    filed = file_objection(client, notice["id"], name="张伟", phone=OBJECTOR_PHONE, code=code)
    assert filed.status_code == 201, filed.text
    reference = filed.json()["reference"]
    assert filed.json()["anonymous"] is False
    run_jobs(settings)
    texts = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
    assert any(t["to"] == "+86" + OBJECTOR_PHONE and reference in t["body"] for t in texts)

    public = json.dumps(client.get(f"/api/v1/objections/{reference}").json(), ensure_ascii=False)
    page = client.get(f"/notices/{notice['id']}").text
    for private in ("张伟", OBJECTOR_PHONE, "8000", "履历有误"):
        assert private not in public and private not in page
    for entry in audit(db, "objection.file"):
        assert "张伟" not in json.dumps(
            entry.details, ensure_ascii=False
        ) and OBJECTOR_PHONE not in json.dumps(entry.details)
    again = file_objection(
        client, notice["id"], name="张伟", phone=OBJECTOR_PHONE, code=code
    )  # a code works once
    assert again.status_code == 403 and again.json()["field"] == "code"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   \n "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"reason": "理由", "name": "张伟", "phone": "12345", "code": "123456"}, "phone"),
        (
            {"reason": "理由", "name": "张伟", "phone": "+8610 6552 9988", "code": "123456"},
            "phone",
        ),  # landline
        ({"reason": "理由", "name": "", "phone": OBJECTOR_PHONE, "code": "123456"}, "name"),
        ({"reason": "理由", "name": "张伟"}, "phone"),  # a name alone cannot be verified
        ({"reason": "理由", "name": "张伟", "phone": OBJECTOR_PHONE}, "code"),
        (
            {"reason": "理由", "name": "张伟", "phone": OBJECTOR_PHONE, "code": "123456"},
            "code",
        ),  # none was sent
    ],
)
@pytest.mark.slow
def test_bad_objections_are_refused_naming_the_field(
    client: TestClient[Litestar], notice_staff: dict[str, str], db: Session, body: dict[str, Any], field: str
) -> None:
    notice = appointment(client, notice_staff)
    refused = client.post(f"/api/v1/notices/{notice['id']}/objections", json=body)
    # a well-formed code that grants nothing is a credential refused (403), the rest malformed (400)
    assert refused.status_code == (403 if field == "code" and body.get("code") else 400), refused.text
    assert refused.json()["field"] == field and refused.json()["detail"]
    assert objection_count(db) == 0


def test_a_named_objection_needs_a_number_and_the_number_a_name_and_its_code(
    client: TestClient[Litestar],
) -> None:
    """/schema states what test_bad_objections_are_refused_naming_the_field shows the server enforces."""
    schema = client.get("/schema/openapi.json").json()["components"]["schemas"]["ObjectionIn"]
    name_rule, number_rule = schema["allOf"]
    assert name_rule["if"]["required"] == ["name"] and name_rule["then"]["required"] == ["phone"]
    assert number_rule["if"]["required"] == ["phone"] and number_rule["then"]["required"] == ["name", "code"]


@pytest.mark.slow
def test_an_objection_without_a_reason_field_is_refused(
    client: TestClient[Litestar], notice_staff: dict[str, str], db: Session
) -> None:
    notice = appointment(client, notice_staff)
    refused = client.post(f"/api/v1/notices/{notice['id']}/objections", json={"name": "x"})
    assert refused.status_code == 400 and refused.json()["field"] == "reason"
    assert objection_count(db) == 0


@pytest.mark.slow
def test_objections_to_notices_that_take_none_are_refused(
    client: TestClient[Litestar], notice_staff: dict[str, str], db: Session
) -> None:
    assert file_objection(client, 999999).status_code == 404
    assert file_objection(client, 999999).json()["field"] == "notice_id"
    draft = client.post(
        "/api/v1/notices",
        json={
            "kind": "appointment",
            "title_zh": "草稿",
            "title_en": "D",
            "body_zh": "正文",
            "body_en": "Body",
        },
        headers=notice_staff,
    ).json()
    assert file_objection(client, draft["id"]).status_code == 404  # a draft is not public
    without = appointment(client, notice_staff, kind="process")
    refused = file_objection(client, without["id"])
    assert refused.status_code == 409 and refused.json()["field"] == "notice_id"
    code = client.post(f"/api/v1/notices/{without['id']}/objections/code", json={"phone": OBJECTOR_PHONE})
    assert code.status_code == 409  # no code is texted for a notice that takes no objections
    assert client.post("/api/v1/notices/0/objections", json={"reason": "x"}).status_code == 400
    assert objection_count(db) == 0


@pytest.mark.slow
def test_unknown_references_are_not_found(client: TestClient[Litestar]) -> None:
    missing = client.get("/api/v1/objections/OBJ-2026-AAAAAA")
    assert missing.status_code == 404 and missing.json()["field"] == "reference"
    assert client.get("/api/v1/objections/" + "A" * 30).status_code == 400


def test_objections_are_rate_limited_per_address(
    client: TestClient[Litestar], notice_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    notice = appointment(client, notice_staff)
    for _ in range(settings.objections_per_ip_per_hour):
        assert file_objection(client, notice["id"]).status_code == 201
    limited = file_objection(client, notice["id"])
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    assert objection_count(db) == settings.objections_per_ip_per_hour


def test_objections_are_rate_limited_per_phone(
    database_url: str, redis_url: str, tmp_path: Path, db: Session
) -> None:
    settings = make_settings(database_url, redis_url, tmp_path / "var", OBJECTIONS_PER_PHONE_PER_DAY="1")
    with TestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        headers = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}
        notice = appointment(client, headers)
        client.post(f"/api/v1/notices/{notice['id']}/objections/code", json={"phone": OBJECTOR_PHONE})
        code = texted_code(settings, "+86" + OBJECTOR_PHONE)
        assert (
            file_objection(client, notice["id"], name="张伟", phone=OBJECTOR_PHONE, code=code).status_code
            == 201
        )
        limited = file_objection(client, notice["id"], name="张伟", phone=OBJECTOR_PHONE, code="123456")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 3600
        assert (
            file_objection(client, notice["id"]).status_code == 201
        )  # anonymous from the same address still can
    assert objection_count(db) == 2


def test_status_lookups_are_rate_limited_per_address(client: TestClient[Litestar]) -> None:
    from engage.notices.objections.services import LOOKUPS_PER_IP_PER_HOUR

    for _ in range(LOOKUPS_PER_IP_PER_HOUR):
        assert client.get("/api/v1/objections/OBJ-2026-AAAAAA").status_code == 404
    limited = client.get("/api/v1/objections/OBJ-2026-AAAAAA")
    assert limited.status_code == 429 and "Retry-After" in limited.headers


# --- answering ------------------------------------------------------------------------------------


def answer(
    client: TestClient[Litestar], headers: dict[str, str], notice_id: int, objection_id: int, **body: Any
) -> Any:
    return client.put(f"/api/v1/notices/{notice_id}/objections/{objection_id}", json=body, headers=headers)


@pytest.mark.slow
def test_organizers_answer_each_objection_and_every_answer_is_audited(
    client: TestClient[Litestar], notice_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    notice = appointment(client, notice_staff)
    reference = file_objection(client, notice["id"], reason="请核实学历。").json()["reference"]
    [listed] = client.get(f"/api/v1/notices/{notice['id']}/objections", headers=notice_staff).json()
    assert listed["reference"] == reference and listed["reason"] == "请核实学历。"
    oid = listed["id"]

    assert answer(client, notice_staff, notice["id"], oid, status="under_review").status_code == 200
    assert client.get(f"/api/v1/objections/{reference}").json()["status"] == "under_review"
    no_reply = answer(client, notice_staff, notice["id"], oid, status="rejected")
    assert no_reply.status_code == 400 and no_reply.json()["field"] == "reply"
    done = answer(client, notice_staff, notice["id"], oid, status="rejected", reply="经核实，学历真实。")
    assert done.status_code == 200, done.text
    assert done.json()["period"]["objections"]["rejected"] == 1
    public = client.get(f"/api/v1/objections/{reference}").json()
    assert public["status"] == "rejected" and public["reply"] == "经核实，学历真实。"
    one = client.get(f"/api/v1/notices/{notice['id']}/objections/{oid}", headers=notice_staff).json()
    assert one["answered_by"].startswith("organizer:")
    entries = audit(db, "objection.answer")
    assert [e.details["status"] for e in entries] == ["under_review", "rejected"]
    assert all(set(e.details) <= {"reference", "status", "action", "days"} for e in entries)

    auditor = {"Authorization": f"Bearer {token_for(settings, 'audit@district.gov.cn', 'auditor')}"}
    assert client.get(f"/api/v1/notices/{notice['id']}/objections", headers=auditor).status_code == 200
    assert answer(client, auditor, notice["id"], oid, status="upheld", reply="x").status_code == 403
    assert client.get(f"/api/v1/notices/{notice['id']}/objections").status_code == 401
    assert (
        client.get(f"/api/v1/notices/{notice['id']}/objections/{oid + 1}", headers=notice_staff).status_code
        == 404
    )


def test_a_named_objector_is_texted_once_when_the_objection_is_decided(
    client: TestClient[Litestar], notice_staff: dict[str, str], settings: Settings
) -> None:
    notice = appointment(client, notice_staff)
    client.post(f"/api/v1/notices/{notice['id']}/objections/code", json={"phone": OBJECTOR_PHONE})
    code = texted_code(settings, "+86" + OBJECTOR_PHONE)
    reference = file_objection(client, notice["id"], name="张伟", phone=OBJECTOR_PHONE, code=code).json()[
        "reference"
    ]
    [listed] = client.get(f"/api/v1/notices/{notice['id']}/objections", headers=notice_staff).json()
    assert listed["phone"] == "+86138****8000" and listed["name"] == "张伟"

    def answers() -> list[str]:
        run_jobs(settings)
        texts = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
        return [
            t["body"]
            for t in texts
            if t["to"] == "+86" + OBJECTOR_PHONE and f"/objections/{reference}" in t["body"]
        ]

    answer(client, notice_staff, notice["id"], listed["id"], status="under_review")
    assert answers() == []  # under review is not a decision
    answer(
        client, notice_staff, notice["id"], listed["id"], status="rejected", reply="经核实，情况属实无误。"
    )
    answer(
        client,
        notice_staff,
        notice["id"],
        listed["id"],
        status="rejected",
        reply="经核实，情况属实无误（更正错字）。",
    )
    [text] = answers()  # a corrected reply does not text again
    assert text.startswith(settings.sms_signature) and reference in text


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"status": "maybe"}, "status", 422),  # names no status: the answer lists the valid ones
        ({"status": "rejected", "reply": "no", "action": "extend", "days": 2}, "action", 400),
        ({"status": "upheld", "reply": "yes", "action": "extend"}, "days", 400),
        ({"status": "upheld", "reply": "yes", "action": "extend", "days": 0}, "days", 400),
        ({"status": "upheld", "reply": "yes", "action": "delete"}, "action", 422),
        ({"status": "rejected"}, "reply", 400),  # a decision comes with its reasons
        ({"status": "upheld", "reply": " \n "}, "reply", 400),
    ],
)
def test_bad_answers_are_refused_naming_the_field(
    client: TestClient[Litestar],
    notice_staff: dict[str, str],
    db: Session,
    body: dict[str, Any],
    field: str,
    status: int,
) -> None:
    notice = appointment(client, notice_staff)
    file_objection(client, notice["id"])
    [listed] = client.get(f"/api/v1/notices/{notice['id']}/objections", headers=notice_staff).json()
    refused = answer(client, notice_staff, notice["id"], listed["id"], **body)
    assert refused.status_code == status and refused.json()["field"] == field
    assert audit(db, "objection.answer") == []


@pytest.mark.slow
def test_an_upheld_objection_extends_the_period_and_moves_the_closing_job(
    client: TestClient[Litestar],
    notice_staff: dict[str, str],
    settings: Settings,
    db: Session,
    clock: list[Any],
) -> None:
    notice = appointment(client, notice_staff)
    first_close = closes_at(notice)
    file_objection(client, notice["id"])
    [listed] = client.get(f"/api/v1/notices/{notice['id']}/objections", headers=notice_staff).json()
    done = answer(
        client,
        notice_staff,
        notice["id"],
        listed["id"],
        status="upheld",
        reply="补充公示3个工作日。",
        action="extend",
        days=3,
    )
    assert done.status_code == 200, done.text
    period = done.json()["period"]
    new_close = periods.calendar_for(settings).add_working_days(first_close, 3)
    assert period["state"] == "extended" and period["extended_days"] == 3
    assert datetime.fromisoformat(period["closes_at"]) == new_close
    assert scheduled_close(settings, notice["id"]) == new_close
    [extended] = audit(db, "notice.period_extend")
    assert extended.details["days"] == 3
    twice = answer(
        client, notice_staff, notice["id"], listed["id"], status="upheld", reply="x", action="extend", days=1
    )
    assert twice.status_code == 409 and twice.json()["field"] == "action"

    clock[0] = first_close + timedelta(minutes=1)  # the old closing moment passes: still open
    assert scheduler_tick(settings, clock[0]) == []
    assert notice_jobs.close_period(notice["id"]) is False
    assert file_objection(client, notice["id"]).status_code == 201

    clock[0] = new_close
    assert scheduler_tick(settings, new_close) == [jobs.close_period_job_id(notice["id"])]
    run_jobs(settings)
    assert client.get(f"/api/v1/notices/{notice['id']}", headers=notice_staff).json()["status"] == "closed"
    late = answer(
        client, notice_staff, notice["id"], listed["id"] + 1, status="upheld", reply="x", action="suspend"
    )
    assert late.status_code == 409 and "closed" in late.json()["detail"]


def test_an_upheld_objection_suspends_the_notice_until_resumed(
    client: TestClient[Litestar],
    notice_staff: dict[str, str],
    settings: Settings,
    db: Session,
    clock: list[Any],
) -> None:
    notice = appointment(client, notice_staff)
    reference = file_objection(client, notice["id"]).json()["reference"]
    [listed] = client.get(f"/api/v1/notices/{notice['id']}/objections", headers=notice_staff).json()
    done = answer(
        client,
        notice_staff,
        notice["id"],
        listed["id"],
        status="upheld",
        reply="暂停公示，调查核实。",
        action="suspend",
    )
    assert done.status_code == 200 and done.json()["period"]["state"] == "suspended"
    assert client.get(f"/api/v1/objections/{reference}").json()["action"] == "suspend"
    assert len(audit(db, "notice.period_suspend")) == 1
    refused = file_objection(client, notice["id"])
    assert refused.status_code == 409 and "suspended" in refused.json()["detail"]

    clock[0] = closes_at(notice) + timedelta(hours=1)  # the closing moment passes while suspended
    scheduler_tick(settings, clock[0])
    run_jobs(settings)
    shown = client.get(f"/api/v1/notices/{notice['id']}", headers=notice_staff).json()
    assert shown["status"] == "published" and shown["period"]["state"] == "suspended"

    resumed = client.post(
        f"/api/v1/notices/{notice['id']}/period/resume", json={"days": 2}, headers=notice_staff
    )
    assert resumed.status_code == 200, resumed.text
    expected = periods.calendar_for(settings).add_working_days(clock[0], 2)
    assert resumed.json()["state"] == "extended"
    assert datetime.fromisoformat(resumed.json()["closes_at"]) == expected
    assert scheduled_close(settings, notice["id"]) == expected
    assert file_objection(client, notice["id"]).status_code == 201
    again = client.post(
        f"/api/v1/notices/{notice['id']}/period/resume", json={"days": 2}, headers=notice_staff
    )
    assert again.status_code == 409
    assert (
        client.post(
            f"/api/v1/notices/{notice['id']}/period/resume", json={"days": 0}, headers=notice_staff
        ).status_code
        == 400
    )


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_objection_texts_fit_the_segment_limit(settings: Settings, locale: str) -> None:
    from engage.sms.segments import count_segments
    from engage.sms.texts import render

    reference = "OBJ-2026-K7QM2T"
    link = f"{settings.public_base_url}/objections/{reference}"
    filed = render("objection_filed", locale, settings.sms_signature, reference=reference)
    answered = render("objection_answered", locale, settings.sms_signature, reference=reference, link=link)
    for text in (filed, answered):
        assert reference in text and text.startswith(settings.sms_signature)
        assert count_segments(text).segments <= settings.sms_max_segments
    assert ("受理编号" in filed) is (locale == "zh_CN")
