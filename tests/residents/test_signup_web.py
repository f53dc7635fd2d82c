"""Signing up from a phone, step by step, and every bad input on the way."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.audit.services import verify
from engage.residents.models import Resident, ResidentRole, Subscription, VerificationCode
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import (
    SIGNUP_E164,
    SIGNUP_PHONE,
    SIGNUP_PROFILE,
    count,
    forget_code_limits,
    last_code,
    post,
    request_code,
    sign_up,
)
from tests.support import make_settings

pytestmark = pytest.mark.usefixtures("english")  # pages answer in English here


def test_resident_signs_up_with_phone_code_profile_roles_and_consent(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    done = sign_up(client, settings)
    assert done.headers["location"] == "/join/done"
    resident = db.execute(select(Resident)).scalar_one()
    assert (resident.phone, resident.name, resident.age_band, resident.source) == (
        SIGNUP_E164,
        "王秀英",
        "60-74",
        "web",
    )
    assert resident.verified_at is not None
    roles = db.execute(select(ResidentRole.role, ResidentRole.consent_version)).all()
    assert sorted(r.role for r in roles) == ["judge", "subscriber"]
    assert all(r.consent_version for r in roles)
    subs = {(s.kind, s.value) for s in db.execute(select(Subscription)).scalars()}
    assert subs == {("notice", "appointment"), ("notice", "final_result"), ("community", "wulihe")}
    page = client.get("/join/done")
    assert "王秀英" in page.text


def test_code_is_stored_only_as_a_keyed_hash(
    signup_district: None, settings: Settings, client: TestClient, db: Session
) -> None:  # type: ignore[type-arg]
    request_code(client)
    code = last_code(settings)
    stored = db.execute(select(VerificationCode.code_hash)).scalar_one()
    assert code not in stored and len(stored) == 64


@pytest.mark.parametrize(
    ("phone", "words"),
    [
        ("12345", "not a valid mobile number"),
        ("hello", "not a phone number"),
        ("7911 123456", "country code"),  # a UK mobile typed without +44
        ("024 2345 6789", "landline"),  # a Shenyang landline
        ("", "Enter your mobile number"),
    ],
)
def test_bad_numbers_get_a_clear_message_and_send_nothing(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    db: Session,
    phone: str,
    words: str,  # type: ignore[type-arg]
) -> None:
    response = post(client, "/join", {"phone": phone})
    assert response.status_code == 400
    assert words in response.text
    assert 'aria-invalid="true"' in response.text and "error-summary" in response.text
    assert count(db, VerificationCode) == 0 and count(db, SmsMessage) == 0


def test_bad_number_message_is_in_the_pages_language(signup_district: None, client: TestClient) -> None:  # type: ignore[type-arg]
    client.headers["Accept-Language"] = "zh-CN"
    response = post(client, "/join", {"phone": "024 2345 6789"})
    assert "固定电话" in response.text


@pytest.mark.slow
def test_foreign_number_is_refused_unless_its_region_is_allowed(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:  # type: ignore[type-arg]
    """S5: codes went to UK, US and Nigerian mobiles (SMS pumping)."""
    client.headers["Accept-Language"] = "en"
    refused = request_code(client, "+44 7400 123456")
    assert refused.status_code == 400 and "only to mobile numbers of: CN" in refused.text
    wider = make_settings(database_url, redis_url, tmp_path, SMS_ALLOWED_REGIONS="CN,GB")
    with TestClient(app=create_app(wider), base_url="http://testserver.local") as other:
        assert request_code(other, "+44 7400 123456").status_code in (302, 303)


def test_known_and_unknown_numbers_get_the_same_answer(
    signup_district: None, settings: Settings, client: TestClient
) -> None:  # type: ignore[type-arg]
    sign_up(client, settings)
    client.cookies.clear()
    forget_code_limits(settings)
    known = request_code(client, SIGNUP_PHONE)
    client.cookies.clear()
    unknown = request_code(client, "139 1234 5678")
    assert (known.status_code, known.headers["location"]) == (
        unknown.status_code,
        unknown.headers["location"],
    )
    assert client.get("/join/code").text.count("****") == 1


def test_duplicate_number_signs_in_to_my_page_instead_of_registering_twice(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    sign_up(client, settings)
    client.cookies.clear()
    forget_code_limits(settings)
    request_code(client)
    response = post(client, "/join/code", {"code": last_code(settings)})
    assert response.headers["location"] == "/me?welcome=back"
    page = client.get("/me?welcome=back", headers={"Accept-Language": "en"})
    assert "already registered" in page.text
    assert count(db, Resident) == 1


def test_five_wrong_codes_burn_it_and_the_sixth_try_finds_it_burned(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    request_code(client)
    right = last_code(settings)
    wrong = "000000" if right != "000000" else "111111"
    messages = [post(client, "/join/code", {"code": wrong}).text for _ in range(5)]
    # the same words each time: a count of tries left would tell that a code is pending (S3)
    assert all("wrong or no longer valid" in message for message in messages)
    sixth = post(client, "/join/code", {"code": right})
    assert sixth.status_code == 400 and "wrong or no longer valid" in sixth.text
    assert count(db, Resident) == 0


def test_expired_code_is_refused(
    signup_district: None, settings: Settings, client: TestClient, db: Session
) -> None:  # type: ignore[type-arg]
    request_code(client)
    code = last_code(settings)
    expires = db.execute(select(VerificationCode.expires_at)).scalar_one()
    db.execute(update(VerificationCode).values(expires_at=expires - timedelta(minutes=11)))
    db.commit()
    response = post(client, "/join/code", {"code": code})
    assert response.status_code == 400 and "no longer valid" in response.text


def test_used_code_cannot_be_used_again(
    signup_district: None, settings: Settings, client: TestClient
) -> None:  # type: ignore[type-arg]
    request_code(client)
    code = last_code(settings)
    assert post(client, "/join/code", {"code": code}).headers["location"] == "/join/profile"
    client.cookies.clear()
    forget_code_limits(settings)
    request_code(client)  # someone else starts again with the same number and replays the old code
    replay = post(client, "/join/code", {"code": code})
    assert replay.status_code == 400


@pytest.mark.slow
def test_per_number_limit_answers_429_with_retry_after(
    signup_district: None, settings: Settings, client: TestClient
) -> None:  # type: ignore[type-arg]
    assert request_code(client).status_code in (302, 303)
    second = request_code(client)
    assert second.status_code == 429
    assert 0 < int(second.headers["Retry-After"]) <= 60
    assert "Too many codes" in second.text


def test_per_ip_limit_answers_429_with_retry_after(
    signup_district: None, database_url: str, redis_url: str, tmp_path: Any
) -> None:
    from engage.app import create_app

    limited = make_settings(database_url, redis_url, tmp_path / "var", CODE_REQUESTS_PER_IP_PER_HOUR="3")
    with TestClient(app=create_app(limited), base_url="http://testserver.local") as client:
        statuses = [request_code(client, f"139 0000 {n:04d}").status_code for n in range(4)]
        blocked = request_code(client, "139 0000 9999")
    assert statuses[:3] == [302, 302, 302] and statuses[3] == 429
    assert int(blocked.headers["Retry-After"]) > 0


def test_missing_consent_names_the_role_and_stores_nothing(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    request_code(client)
    post(client, "/join/code", {"code": last_code(settings)})
    post(client, "/join/profile", SIGNUP_PROFILE)
    response = post(client, "/join/roles", {"roles": ["judge", "evaluator"], "consent_judge": "yes"})
    assert response.status_code == 400
    assert 'id="consent_evaluator-error"' in response.text
    assert count(db, Resident) == 0 and count(db, ResidentRole) == 0


def test_unknown_community_is_refused_and_nothing_is_stored(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    request_code(client)
    post(client, "/join/code", {"code": last_code(settings)})
    response = post(client, "/join/profile", dict(SIGNUP_PROFILE, community="atlantis"))
    assert response.status_code == 400 and "Unknown community" in response.text
    assert count(db, Resident) == 0


def test_expert_must_name_a_field(signup_district: None, settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    request_code(client)
    post(client, "/join/code", {"code": last_code(settings)})
    response = post(client, "/join/profile", dict(SIGNUP_PROFILE, participant_type="expert"))
    assert response.status_code == 400 and 'id="expertise-error"' in response.text


def test_profile_steps_need_a_verified_phone(signup_district: None, client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/join/profile", follow_redirects=False).headers["location"] == "/join"
    assert client.get("/me", follow_redirects=False).headers["location"] == "/signin"


def test_resident_withdraws_from_a_role_and_changes_subscriptions(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    sign_up(client, settings)
    data = {
        "roles": ["subscriber"],
        "consent_subscriber": "yes",
        "notice_kinds": ["appointment"],
        "communities": ["nanta"],
    }
    saved = post(client, "/me/roles", data, form_page="/me/roles")
    assert (saved.status_code, saved.headers["location"]) == (303, "/me?saved=roles")
    db.expire_all()
    judge = db.execute(select(ResidentRole).where(ResidentRole.role == "judge")).scalar_one()
    assert judge.withdrawn_at is not None
    subs = {(s.kind, s.value) for s in db.execute(select(Subscription)).scalars()}
    assert subs == {("notice", "appointment"), ("community", "nanta")}


def test_resident_changes_their_profile(
    signup_district: None, settings: Settings, client: TestClient, db: Session
) -> None:  # type: ignore[type-arg]
    sign_up(client, settings)
    saved = post(
        client, "/me/profile", dict(SIGNUP_PROFILE, name="王秀兰", community="nanta"), form_page="/me/profile"
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/me?saved=profile")
    db.expire_all()
    assert db.execute(select(Resident.name)).scalar_one() == "王秀兰"


def test_deleting_ones_data_removes_it_everywhere_and_the_audit_chain_verifies(
    signup_district: None,
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    sign_up(client, settings)
    pseudonym = db.execute(select(Resident.pseudonym)).scalar_one()
    response = post(client, "/me/delete", {}, form_page="/me/delete")
    assert response.status_code == 200
    db.expire_all()
    assert count(db, Resident) == 0 and count(db, ResidentRole) == 0 and count(db, Subscription) == 0
    assert count(db, VerificationCode) == 0
    assert db.execute(select(SmsMessage).where(SmsMessage.to == SIGNUP_E164)).first() is None
    from engage.audit.models import AuditEntry

    for entry in db.execute(select(AuditEntry)).scalars():
        text = json.dumps([entry.actor, entry.subject_id, entry.details], ensure_ascii=False)
        assert "王秀英" not in text and "13800138000" not in text
    actions = [
        e.action for e in db.execute(select(AuditEntry).where(AuditEntry.subject_id == pseudonym)).scalars()
    ]
    assert actions == ["resident.register", "resident.delete"]
    assert verify(db)[1] is None
