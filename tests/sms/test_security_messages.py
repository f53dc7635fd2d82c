"""POST /api/v1/messages (docs/security.md): admins only, allowed regions only, never to a number that
opted out, never in quiet hours; the audit names the recipient by pseudonym and the body by a hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.settings import Settings
from engage.sms.models import OptOut, SmsMessage
from tests.factories import token_for
from tests.support import make_settings


def _send(client: TestClient, token: str, to: str, body: str = "测试") -> tuple[int, dict[str, object]]:  # type: ignore[type-arg]
    answer = client.post(
        "/api/v1/messages", json={"to": to, "body": body}, headers={"Authorization": f"Bearer {token}"}
    )
    return answer.status_code, answer.json()


@pytest.mark.slow
def test_only_admins_may_text_by_hand(settings: Settings, client: TestClient, db: Session) -> None:  # type: ignore[type-arg]
    """S19: admin_only was defined but used nowhere. S18: any organizer could text any number."""
    status, problem = _send(client, token_for(settings, "o@x.cn", "organizer"), "13800138000")
    assert status == 403 and "admin" in str(problem["detail"])
    assert db.execute(select(SmsMessage)).first() is None


def test_typed_texts_respect_regions_opt_out_and_audit_without_number_or_words(
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    """S18: a UK number was texted, opt-out ignored, and the audit recorded only the length."""
    admin = token_for(settings, "a@x.cn", "admin")
    status, problem = _send(client, admin, "+447911123456")
    assert status == 400 and problem["field"] == "to" and "CN" in str(problem["detail"])
    db.add(OptOut(phone="+8613800138001"))
    db.commit()
    status, problem = _send(client, admin, "13800138001")
    assert status == 409 and problem["field"] == "to"
    assert db.execute(select(SmsMessage)).first() is None

    body = "您好，这是测试短信。"
    assert _send(client, admin, "13800138000", body)[0] == 201
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "sms.queue")).scalar_one()
    details = json.dumps(entry.details, ensure_ascii=False)
    assert "13800138000" not in details and body not in details
    assert entry.details["body_sha256"] == hashlib.sha256(body.encode()).hexdigest()
    assert str(entry.details["recipient"]).startswith("n-")


def test_typed_texts_wait_for_the_end_of_quiet_hours(
    database_url: str, redis_url: str, tmp_path: Path, db: Session
) -> None:
    """S18: quiet hours were ignored by the raw message endpoint."""
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    window = f"{local - timedelta(hours=1):%H:%M}-{local + timedelta(hours=1):%H:%M}"  # quiet now
    always_quiet = make_settings(database_url, redis_url, tmp_path, SMS_QUIET_HOURS=window)
    admin = token_for(always_quiet, "a@x.cn", "admin")
    with TestClient(app=create_app(always_quiet), base_url="http://testserver.local") as client:
        status, problem = _send(client, admin, "13800138000")
    assert status == 409 and "quiet hours" in str(problem["detail"])
    assert db.execute(select(SmsMessage)).first() is None
