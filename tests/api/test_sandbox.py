"""Sandbox tokens (docs/api.md): an integrator's tests drive the real API, and every text their requests
cause is recorded as `sandbox` and readable through the API, while the gateway (here the Twilio fake,
reached by the real SDK through a real worker) receives nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from litestar.testing import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.cli import build_parser, cmd_token_create
from engage.residents.models import Resident, ResidentRole
from engage.settings import Settings
from engage.sms.models import MessageStatus, SmsMessage
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import organizer
from tests.support import run_jobs

SUBSCRIBERS = ["+8613900000001", "+8613900000002"]


def _subscribers(db: Session) -> None:
    now = datetime.now(UTC)
    db.execute(insert(Resident), [{"phone": p, "locale": "zh_CN", "verified_at": now} for p in SUBSCRIBERS])
    ids = db.execute(select(Resident.id)).scalars().all()
    db.execute(insert(ResidentRole), [{"resident_id": i, "role": "subscriber"} for i in ids])
    db.commit()


def _token(settings: Settings, email: str, capsys: pytest.CaptureFixture[str], *flags: str) -> dict[str, str]:
    """A token made the way an operator makes one: `engage token create EMAIL [--sandbox]`."""
    organizer(settings, email, "admin")
    cmd_token_create(settings, build_parser().parse_args(["token", "create", email, *flags]))
    return {"Authorization": f"Bearer {capsys.readouterr().out.strip()}"}


def _notice(client: TestClient, headers: dict[str, str]) -> int:  # type: ignore[type-arg]
    answer = client.post(
        "/api/v1/notices",
        json={
            "kind": "stage_result",
            "title_zh": "沙盒测试公示",
            "title_en": "Sandbox test notice",
            "body_zh": "这是一条测试公示。",
            "body_en": "This is a test notice.",
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_a_sandbox_tokens_texts_are_recorded_and_never_reach_the_gateway(
    twilio_settings: Settings, fake_twilio: FakeTwilio, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    _subscribers(db)
    sandbox = _token(twilio_settings, "integrator@test.cn", capsys, "--sandbox")
    real = _token(twilio_settings, "admin@district.gov.cn", capsys)
    with TestClient(create_app(twilio_settings)) as client:
        sent = client.post(
            "/api/v1/messages", json={"to": "13800138000", "body": "沙盒短信"}, headers=sandbox
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["status"] == "sandbox"
        # A notice the sandbox token drafts and publishes, and a real draft it publishes: both sandbox.
        own = _notice(client, sandbox)
        theirs = _notice(client, real)
        for notice_id in (own, theirs):
            published = client.post(f"/api/v1/notices/{notice_id}/publish", json={}, headers=sandbox)
            assert published.status_code == 200, published.text
        run_jobs(twilio_settings)

        assert fake_twilio.messages == []
        rows = db.execute(select(SmsMessage)).scalars().all()
        assert len(rows) == 1 + 2 * len(SUBSCRIBERS)
        assert {row.status for row in rows} == {MessageStatus.SANDBOX}
        listed = client.get("/api/v1/messages", params={"status": "sandbox"}, headers=real).json()
        assert listed["total"] == len(rows)
        assert "沙盒短信" in [m["body"] for m in listed["messages"]]
        assert all("沙盒测试公示" in m["body"] for m in listed["messages"] if m["body"] != "沙盒短信")
        assert all("****" in m["to"] for m in listed["messages"])
        one = client.get(f"/api/v1/messages/{sent.json()['id']}", headers=real).json()
        assert (one["status"], one["body"]) == ("sandbox", "沙盒短信")

        # The same request with a real token does reach the gateway, and its words stay out of the API.
        real_text = client.post(
            "/api/v1/messages", json={"to": "13800138000", "body": "真实短信"}, headers=real
        )
        run_jobs(twilio_settings)
        assert [m.body for m in fake_twilio.messages] == ["真实短信"]
        shown = client.get(f"/api/v1/messages/{real_text.json()['id']}", headers=real).json()
        assert (shown["status"], shown["body"]) == ("sent", None)
