"""Codes on the fast path: a new code replaces the older ones, and a code is used once even when two
tries read it as usable at the same moment (the write checks again)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import redis
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.residents import codes
from engage.residents import signup_sql as sql
from engage.residents.models import Community, VerificationCode
from engage.settings import Settings
from tests.support import run_jobs

PHONE = "+8613790000001"


@pytest.fixture(autouse=True)
def district(db: Session, client: TestClient) -> None:  # type: ignore[type-arg]
    db.add(Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"))
    db.commit()
    client.headers["Accept-Language"] = "en"


def _codes_sent(settings: Settings) -> list[str]:
    run_jobs(settings)
    lines = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
    return [
        re.search(r"(?<!\d)(\d{6})(?!\d)", line["body"]).group(1) for line in lines if line["to"] == PHONE
    ]  # type: ignore[union-attr]


def test_a_new_code_retires_the_older_one_and_is_texted(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    assert client.post("/api/v1/signup/code", json={"phone": PHONE}).status_code == 202
    # The per-number limit (one a minute) would refuse the second request: lift it for this test.
    assert settings.redis_url
    store = redis.Redis.from_url(settings.redis_url)
    for key in store.scan_iter("engage:rl:code:phone:*"):
        store.delete(key)
    assert client.post("/api/v1/signup/code", json={"phone": PHONE}).status_code == 202
    first, second = _codes_sent(settings)
    rows = db.execute(select(VerificationCode).where(VerificationCode.phone == PHONE)).scalars().all()
    assert [row.used_at is None for row in sorted(rows, key=lambda row: row.id)] == [False, True]
    assert all(row.attempts == 0 and row.expires_at > datetime.now(UTC) for row in rows)
    older = client.post("/api/v1/signup/verify", json={"phone": PHONE, "code": first})
    assert older.status_code == 403, older.text
    latest = client.post("/api/v1/signup/verify", json={"phone": PHONE, "code": second})
    assert latest.status_code == 200, latest.text


def _code_row(db: Session, **changes: object) -> int:
    now = datetime.now(UTC)
    row = VerificationCode(
        phone=PHONE, code_hash="x" * 64, created_at=now, expires_at=now + codes.CODE_LIFETIME, **changes
    )
    db.add(row)
    db.commit()
    return row.id


def _use(db: Session, code_id: int) -> bool:
    used = db.execute(
        sql.USE_CODE, {"code_id": code_id, "now": datetime.now(UTC), "max_attempts": codes.MAX_ATTEMPTS}
    ).first()
    db.commit()
    return used is not None


def test_a_code_read_as_usable_is_used_once(db: Session) -> None:
    """Two tries with the right code both read it unused; only the first write may use it."""
    code_id = _code_row(db)
    assert _use(db, code_id) is True
    assert _use(db, code_id) is False


def test_a_code_burned_or_expired_since_it_was_read_is_not_used(db: Session) -> None:
    burned = _code_row(db, attempts=codes.MAX_ATTEMPTS)
    expired = _code_row(db)
    db.execute(
        VerificationCode.__table__.update()
        .where(VerificationCode.id == expired)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.commit()
    assert _use(db, burned) is False
    assert _use(db, expired) is False
