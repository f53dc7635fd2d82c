"""The sign-up flow as a JSON API: the same rules as the pages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.residents.models import Community, Resident
from engage.settings import Settings
from tests.support import run_jobs

REGISTRATION = {
    "name": "Li Ming",
    "community": "wulihe",
    "age_band": "30-44",
    "gender": "male",
    "occupation": "employed",
    "participant_type": "expert",
    "expertise": "law",
    "roles": ["judge"],
    "consents": ["judge"],
}


@pytest.fixture(autouse=True)
def wulihe_in_english(db: Session, client: TestClient) -> None:  # type: ignore[type-arg]
    db.add(Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"))
    db.commit()
    client.headers["Accept-Language"] = "en"


def _code(settings: Settings, phone: str) -> str:
    run_jobs(settings)
    bodies = [
        json.loads(line)["body"] for line in settings.outbox_path.read_text().splitlines() if phone in line
    ]
    return re.search(r"(?<!\d)(\d{6})(?!\d)", bodies[-1]).group(1)  # type: ignore[union-attr]


def _verified(client: TestClient, settings: Settings, phone: str = "13800138000") -> dict[str, Any]:  # type: ignore[type-arg]
    sent = client.post("/api/v1/signup/code", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"phone": "+86138****8000", "expires_in_seconds": 600}
    verified = client.post(
        "/api/v1/signup/verify", json={"phone": phone, "code": _code(settings, "+86" + phone)}
    )
    assert verified.status_code == 200, verified.text
    return verified.json()  # type: ignore[no-any-return]


def test_api_sign_up_creates_one_verified_resident(
    settings: Settings, client: TestClient, db: Session
) -> None:  # type: ignore[type-arg]
    verified = _verified(client, settings)
    assert verified["registered"] is False
    done = client.post("/api/v1/signup/complete", json=dict(REGISTRATION, token=verified["token"]))
    assert done.status_code == 201, done.text
    resident = db.execute(select(Resident)).scalar_one()
    assert (resident.pseudonym, resident.expertise, resident.phone) == (
        done.json()["pseudonym"],
        "law",
        "+8613800138000",
    )


def test_api_reused_code_is_refused_as_used(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    client.post("/api/v1/signup/code", json={"phone": "13800138000"})
    code = _code(settings, "+8613800138000")
    assert (
        client.post("/api/v1/signup/verify", json={"phone": "13800138000", "code": code}).status_code == 200
    )
    again = client.post("/api/v1/signup/verify", json={"phone": "13800138000", "code": code})
    assert again.status_code == 403
    assert again.json()["field"] == "code" and "no longer valid" in again.json()["detail"]


def test_api_completing_twice_is_a_conflict_and_keeps_one_record(
    settings: Settings, client: TestClient, db: Session
) -> None:  # type: ignore[type-arg]
    token = _verified(client, settings)["token"]
    assert client.post("/api/v1/signup/complete", json=dict(REGISTRATION, token=token)).status_code == 201
    second = client.post("/api/v1/signup/complete", json=dict(REGISTRATION, token=token))
    assert second.status_code == 409 and second.json()["field"] == "phone"
    assert db.execute(select(func.count(Resident.id))).scalar_one() == 1


@pytest.mark.parametrize(
    ("change", "status", "field", "allowed"),
    [
        ({"token": "forged.token"}, 404, "token", None),  # no sign-up behind it: state, not shape
        ({"community": "atlantis"}, 422, "community", ["wulihe"]),
        ({"communities": ["wulihe", "atlantis"]}, 422, "communities[1]", ["wulihe"]),
        ({"consents": []}, 400, "consents", None),
        ({"expertise": None}, 400, "expertise", None),
        ({"roles": []}, 400, "roles", None),
        ({"roles": ["judge", "juror"]}, 422, "roles[1]", ["judge", "evaluator", "subscriber"]),
        ({"age_band": "12-17"}, 422, "age_band", ["18-29", "30-44", "45-59", "60-74", "75+"]),
        ({"gender": "f"}, 422, "gender", ["female", "male", "other"]),
        (
            {"participant_type": "deputy"},
            422,
            "participant_type",
            [t for t in ("resident", "deputy_pc", "deputy_party", "deputy_cppcc", "expert")],
        ),
        ({"notice_kinds": ["results"]}, 422, "notice_kinds[0]", None),
    ],
)
@pytest.mark.slow
def test_api_bad_registration_names_the_field_and_stores_nothing(
    settings: Settings,
    client: TestClient,
    db: Session,
    change: dict[str, Any],
    status: int,
    field: str,
    allowed: list[str] | None,  # type: ignore[type-arg]
) -> None:
    token = _verified(client, settings)["token"]
    response = client.post("/api/v1/signup/complete", json={**REGISTRATION, "token": token, **change})
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    if status == 422:  # a value naming nothing known: the answer lists what it may name
        given = response.json()["extra"]["allowed"]
        assert allowed is None or given == allowed
        assert field in response.json()["detail"] and all(
            option in response.json()["detail"] for option in given
        )
    assert db.execute(select(func.count(Resident.id))).scalar_one() == 0


def test_api_error_messages_follow_accept_language(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post(
        "/api/v1/signup/code", json={"phone": "02423456789"}, headers={"Accept-Language": "zh-CN"}
    )  # a landline: the API's pattern takes mobile numbers only
    assert response.status_code == 400 and "手机号码" in response.json()["detail"]


def test_api_limits_codes_per_number_with_retry_after(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.post("/api/v1/signup/code", json={"phone": "13800138000"}).status_code == 202
    limited = client.post("/api/v1/signup/code", json={"phone": "+8613800138000"})  # the same number
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


@pytest.mark.slow
def test_api_forged_token_with_any_characters_is_a_clear_404(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/api/v1/signup/complete", json=dict(REGISTRATION, token="数据.签名"))
    assert response.status_code == 404 and response.json()["field"] == "token"
