from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.settings import Settings
from engage.sms.models import SmsMessage
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import token_for
from tests.support import TWILIO_SERVICE, run_jobs
from workers.sms import send_message


def _queue(client: TestClient, token: str, to: str, body: str) -> dict[str, object]:  # type: ignore[type-arg]
    response = client.post(
        "/api/v1/messages", json={"to": to, "body": body}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_message_queued_through_the_api_reaches_the_console_outbox(
    settings: Settings, client: TestClient
) -> None:  # type: ignore[type-arg]
    token = token_for(settings, "o@x.cn", "admin")
    queued = _queue(client, token, "13800138000", "您好，这是测试短信。")
    assert queued["status"] == "queued"
    assert queued["to"] == "+86138****8000"
    run_jobs(settings)
    lines = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
    assert lines == [{"to": "+8613800138000", "body": "您好，这是测试短信。", "at": lines[0]["at"]}]
    shown = client.get(f"/api/v1/messages/{queued['id']}", headers={"Authorization": f"Bearer {token}"})
    assert shown.json()["status"] == "sent"


def test_message_is_sent_through_twilio_sdk_to_the_gateway(
    twilio_settings: Settings, fake_twilio: FakeTwilio
) -> None:
    token = token_for(twilio_settings, "o@x.cn", "admin")
    with TestClient(app=create_app(twilio_settings)) as client:
        queued = _queue(client, token, "+8613800138000", "Hello from Engage")
        run_jobs(twilio_settings)
        shown = client.get(f"/api/v1/messages/{queued['id']}", headers={"Authorization": f"Bearer {token}"})
    assert shown.json()["status"] == "sent"
    [message] = fake_twilio.messages
    assert message.to == "+8613800138000"
    assert message.body == "Hello from Engage"
    [create] = [r for r in fake_twilio.requests if r.method == "POST"]
    assert create.params["MessagingServiceSid"] == TWILIO_SERVICE


def test_running_the_same_send_job_twice_sends_once(
    twilio_settings: Settings, fake_twilio: FakeTwilio, db: object
) -> None:
    token = token_for(twilio_settings, "o@x.cn", "admin")
    with TestClient(app=create_app(twilio_settings)) as client:
        queued = _queue(client, token, "13800138000", "once")
    run_jobs(twilio_settings)
    assert send_message(int(queued["id"])) == "skipped"  # type: ignore[arg-type]
    assert fake_twilio.count_by_recipient() == {"+8613800138000": 1}


@pytest.mark.slow
def test_transient_gateway_error_leaves_the_message_queued_for_a_retry(
    twilio_settings: Settings, fake_twilio: FakeTwilio, db: object
) -> None:
    token = token_for(twilio_settings, "o@x.cn", "admin")
    with TestClient(app=create_app(twilio_settings)) as client:
        queued = _queue(client, token, "13800138000", "retry me")
    fake_twilio.fail_next(1, status=503)
    run_jobs(twilio_settings)  # the failed attempt is rescheduled by rq's Retry, not run again in this burst
    message = db.get(SmsMessage, queued["id"])  # type: ignore[attr-defined]
    assert message.status == "queued"
    assert message.attempts == 1
    assert send_message(message.id) == "sent"
    assert fake_twilio.count_by_recipient() == {"+8613800138000": 1}


def test_permanent_gateway_error_fails_the_message_and_is_audited(
    twilio_settings: Settings, fake_twilio: FakeTwilio, db: object
) -> None:
    token = token_for(twilio_settings, "o@x.cn", "admin")
    fake_twilio.fail_for("+8613800138000", 21211)
    with TestClient(app=create_app(twilio_settings)) as client:
        queued = _queue(client, token, "13800138000", "never")
    run_jobs(twilio_settings)
    message = db.get(SmsMessage, queued["id"])  # type: ignore[attr-defined]
    assert (message.status, message.error_code) == ("failed", 21211)
    actions = db.execute(select(AuditEntry.action)).scalars().all()  # type: ignore[attr-defined]
    assert "sms.failed" in actions


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to": "12345", "body": "x"}, "to"),
        ({"to": "13800138000", "body": "   "}, "body"),
        ({"to": "13800138000"}, "body"),
        ({"to": 13800138000, "body": "x"}, "to"),
        ({"to": "13800138000", "body": "x" * 1601}, "body"),
    ],
)
@pytest.mark.slow
def test_bad_message_input_names_the_field_and_stores_nothing(
    settings: Settings,
    client: TestClient,
    db: object,
    payload: dict[str, object],
    field: str,  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "admin")
    response = client.post("/api/v1/messages", json=payload, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert db.execute(select(SmsMessage)).first() is None  # type: ignore[attr-defined]
