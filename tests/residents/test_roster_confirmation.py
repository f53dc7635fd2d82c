"""Residents added from a roster (experts, deputies) become verified, and so enter jury pools, by
proving their number: with a code at /join (or the API's verify, the same check), or by replying 1 to
their invitation. On the embedded default (dev, console gateway), /dev/outbox answers a text through
the same signed inbound path Twilio's webhook takes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.residents.models import Community, Resident, ResidentRole
from engage.settings import Settings
from tests.factories import csrf_token, token_for
from tests.support import make_settings, run_jobs

HEADER = "name,phone,community,participant_type,expertise,work_unit,gender,age_band"
ROSTER = f"{HEADER}\n刘洋,13900139001,wulihe,expert,城市规划,,,\n周红,13900139002,wulihe,deputy_pc,,,,\n"


def _import(client: TestClient, settings: Settings, db: Any) -> None:  # type: ignore[type-arg]
    db.add(Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"))
    db.commit()
    token = token_for(settings, "o@x.cn", "organizer")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    imported = client.post("/api/v1/residents/import", content=ROSTER.encode(), headers=headers)
    assert imported.status_code == 201, imported.text
    run_jobs(settings)


def _resident(db: Any, phone: str) -> Resident:
    db.expire_all()
    return db.execute(select(Resident).where(Resident.phone == phone)).scalar_one()  # type: ignore[no-any-return]


def _texts_to(settings: Settings, phone: str) -> list[str]:
    lines = settings.outbox_path.read_text().splitlines()
    return [json.loads(line)["body"] for line in lines if json.loads(line)["to"] == phone]


def _confirmations(db: Any) -> list[dict[str, Any]]:
    entries = db.execute(select(AuditEntry).where(AuditEntry.action == "resident.confirm")).scalars()
    return [e.details for e in entries]


def test_a_rostered_expert_who_signs_in_at_join_with_a_code_is_verified(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _import(client, settings, db)
    assert _resident(db, "+8613900139001").verified_at is None
    csrf = csrf_token(client, "/join")
    sent = client.post("/join", data={"phone": "139 0013 9001", "_csrf_token": csrf}, follow_redirects=False)
    assert sent.status_code in (302, 303)
    run_jobs(settings)
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", _texts_to(settings, "+8613900139001")[-1]).group(1)  # type: ignore[union-attr]
    signed_in = client.post(
        "/join/code",
        data={"code": code, "_csrf_token": csrf_token(client, "/join/code")},
        follow_redirects=False,
    )
    assert signed_in.headers["location"] == "/me?welcome=back"
    assert _resident(db, "+8613900139001").verified_at is not None
    assert _resident(db, "+8613900139002").verified_at is None  # only the one who proved the number
    assert _confirmations(db) == [{"via": "code"}]
    # The judge role's consent is dated by the resident's confirmation, not by the organizer's import.
    confirmed, waiting = _resident(db, "+8613900139001"), _resident(db, "+8613900139002")
    [judge] = db.execute(select(ResidentRole).where(ResidentRole.resident_id == confirmed.id)).scalars()
    [proposed] = db.execute(select(ResidentRole).where(ResidentRole.resident_id == waiting.id)).scalars()
    assert judge.consented_at == confirmed.verified_at and proposed.consented_at < judge.consented_at


@pytest.mark.slow
def test_the_apis_verify_confirms_a_rostered_deputy_too(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _import(client, settings, db)
    assert client.post("/api/v1/signup/code", json={"phone": "13900139002"}).status_code == 202
    run_jobs(settings)
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", _texts_to(settings, "+8613900139002")[-1]).group(1)  # type: ignore[union-attr]
    verified = client.post("/api/v1/signup/verify", json={"phone": "13900139002", "code": code})
    assert verified.json()["registered"] is True
    assert _resident(db, "+8613900139002").verified_at is not None


@pytest.fixture
def dev_client(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:  # type: ignore[type-arg]
    settings = make_settings(database_url, redis_url, tmp_path / "var", ENGAGE_ENV="dev")
    with TestClient(app=create_app(settings)) as client:
        yield client, settings


def test_in_dev_the_outbox_answers_a_text_through_the_signed_inbound_path(
    dev_client: tuple[TestClient, Settings],
    db: Any,  # type: ignore[type-arg]
) -> None:
    client, settings = dev_client
    _import(client, settings, db)
    page = client.get("/dev/outbox", params={"reveal": "true"})
    assert 'action="/dev/outbox/reply"' in page.text and 'value="+8613900139001"' in page.text
    replied = client.post(
        "/dev/outbox/reply",
        data={"from": "+8613900139001", "body": "1", "_csrf_token": csrf_token(client, "/dev/outbox")},
        follow_redirects=False,
    )
    assert replied.status_code == 303, replied.text
    assert _resident(db, "+8613900139001").verified_at is not None  # as if replied from the phone
    assert _confirmations(db) == [{"via": "sms"}]
    run_jobs(settings)
    assert len(_texts_to(settings, "+8613900139001")) == 2  # the invitation, and the answer to "1"
    # The webhook itself still takes only signed posts: a forged one changes nothing.
    forged = client.post(
        "/webhooks/twilio/inbound",
        data={"MessageSid": "SMforged", "From": "+8613900139002", "Body": "1"},
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )
    assert forged.status_code == 403
    assert _resident(db, "+8613900139002").verified_at is None


def test_outside_dev_there_is_no_outbox_and_no_unsigned_way_in(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    assert client.get("/dev/outbox").status_code == 404
    assert client.post("/dev/outbox/reply", data={"from": "+8613900139001", "body": "1"}).status_code in (
        403,
        404,
    )
    refused = client.post(
        "/webhooks/twilio/inbound", data={"MessageSid": "SM1", "From": "+8613900139001", "Body": "1"}
    )
    assert refused.status_code == 403 and "no Twilio credentials" in refused.json()["detail"]
