"""Checking a code tells nothing about the number (docs/security.md): the same answer for a number
never sent a code, a used code, an expired code and a wrong one; and tries are limited."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.residents.models import Community, Resident, VerificationCode
from engage.settings import Settings
from tests.support import make_settings, run_jobs


def _code(settings: Settings, phone: str) -> str:
    run_jobs(settings)
    bodies = [
        json.loads(line)["body"] for line in settings.outbox_path.read_text().splitlines() if phone in line
    ]
    return re.search(r"(?<!\d)(\d{6})(?!\d)", bodies[-1]).group(1)  # type: ignore[union-attr]


def _verify(client: TestClient, phone: str, code: str) -> tuple[int, str]:  # type: ignore[type-arg]
    answer = client.post("/api/v1/signup/verify", json={"phone": phone, "code": code})
    return answer.status_code, answer.text


def test_verify_answers_unknown_used_expired_and_wrong_alike(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    """S3: /verify told a number that had signed up ("already used") from a fresh one ("no code sent")."""
    client.headers["Accept-Language"] = "en"
    used, expired, pending = "+8613780000001", "+8613780000002", "+8613780000003"
    for phone in (used, expired, pending):
        assert client.post("/api/v1/signup/code", json={"phone": phone}).status_code == 202
    right_used = _code(settings, used)
    assert _verify(client, used, right_used)[0] == 200
    right_expired = _code(settings, expired)
    db.execute(
        update(VerificationCode)
        .where(VerificationCode.phone == expired)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.commit()
    answers = {
        "never sent a code": _verify(client, "+8613780000009", "123456"),
        "used": _verify(client, used, right_used),
        "expired": _verify(client, expired, right_expired),
        "pending, wrong code": _verify(
            client, pending, "000000" if _code(settings, pending) != "000000" else "111111"
        ),
    }
    assert {status for status, _ in answers.values()} == {403}
    assert len({text for _, text in answers.values()}) == 1, answers


def test_verify_is_limited_per_number_and_per_address(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    redis_url: str,
) -> None:
    """S3: 200 calls to /verify in 2 s were all answered."""
    per_number = settings.code_checks_per_number_per_hour
    answers = [_verify(client, "+8613780000011", "123456")[0] for _ in range(per_number + 1)]
    assert answers[:per_number] == [403] * per_number and answers[-1] == 429
    # no key names the number itself
    assert not [key for key in redis.Redis.from_url(redis_url).keys("engage:rl:*") if b"13780000011" in key]
    # other numbers from the same address, until the address's own limit
    left = settings.code_checks_per_ip_per_hour - per_number - 1
    others = [_verify(client, f"+86137800{n:05d}", "123456")[0] for n in range(100, 100 + left)]
    assert set(others) == {403}
    limited = client.post("/api/v1/signup/verify", json={"phone": "+8613780099999", "code": "123456"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_no_redis_key_names_a_phone_number(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    redis_url: str,
) -> None:
    """S10: rate-limit keys were named with the full number (engage:rl:code:phone:+86…) for up to 24 h."""
    assert client.post("/api/v1/signup/code", json={"phone": "+8613798000001"}).status_code == 202
    _verify(client, "+8613798000001", _code(settings, "+8613798000001"))
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
    assert any(key.startswith("engage:rl:code:phone:") for key in keys)
    assert not [key for key in keys if "98000001" in key]


def test_a_global_hourly_cap_on_codes_answers_429_and_is_audited_once(
    database_url: str, redis_url: str, tmp_path: Path, db: Session
) -> None:
    """S5: codes had no overall cap; many addresses could run up the district's SMS bill."""
    capped = make_settings(database_url, redis_url, tmp_path, CODES_PER_HOUR="2")
    with TestClient(app=create_app(capped), base_url="http://testserver.local") as client:
        client.headers["Accept-Language"] = "en"
        answers = [
            client.post("/api/v1/signup/code", json={"phone": f"+86137800000{n:02d}"}) for n in range(4)
        ]
    assert [a.status_code for a in answers] == [202, 202, 429, 429]
    assert "right now" in answers[2].json()["detail"] and int(answers[2].headers["Retry-After"]) > 0
    trips = db.execute(select(AuditEntry).where(AuditEntry.action == "signup.code_cap")).scalars().all()
    assert len(trips) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "a\x00b"),  # a 500 on PostgreSQL that logged the number
        ("name", "a\x07b"),
        ("name", "\u200b"),  # a name of one zero-width space
        ("work_unit", "单位\u202e"),  # a right-to-left override
        ("expertise", "law\ufeff"),
    ],
)
@pytest.mark.slow
def test_resident_free_text_refuses_control_and_hidden_characters(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
    field: str,
    value: str,
) -> None:
    """S11: resident name, work unit and expertise took NUL, BEL, zero-width and RTL characters."""
    db.add(Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"))
    db.commit()
    client.headers["Accept-Language"] = "en"
    assert client.post("/api/v1/signup/code", json={"phone": "+8613793000000"}).status_code == 202
    status, text = _verify(client, "+8613793000000", _code(settings, "+8613793000000"))
    assert status == 200
    registration = {
        "name": "Li Ming",
        "community": "wulihe",
        "age_band": "30-44",
        "gender": "male",
        "occupation": "employed",
        "participant_type": "expert",
        "expertise": "law",
        "work_unit": "五里河街道",
        "roles": ["judge"],
        "consents": ["judge"],
        "token": json.loads(text)["token"],
        field: value,
    }
    done = client.post("/api/v1/signup/complete", json=registration)
    assert done.status_code in (400, 422) and done.json()["field"] == field, done.text
    assert db.execute(select(Resident)).first() is None
