from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from engage.audit.models import AuditEntry
from engage.settings import Settings
from tests.factories import csrf_token, organizer, sign_in, token_for


@pytest.mark.slow
def test_organizer_create_prints_a_password_that_signs_in(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    result = subprocess.run(
        [sys.executable, "-m", "engage", "organizer", "create", "Lin@District.gov.cn", "--role", "organizer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    password = re.search(r"password: (\S+)", result.stdout).group(1)  # type: ignore[union-attr]
    sign_in(client, "lin@district.gov.cn", password)
    desk = client.get("/organizer")
    assert desk.status_code == 200
    assert "lin@district.gov.cn" in desk.text


@pytest.mark.slow
def test_token_create_prints_a_bearer_token_for_the_api(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    organizer(settings, "audit@district.gov.cn", "auditor")
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    result = subprocess.run(
        [sys.executable, "-m", "engage", "token", "create", "audit@district.gov.cn"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["role"] == "auditor"


def test_password_is_stored_only_as_an_argon2_hash(settings: Settings, db: object) -> None:
    from engage.accounts.models import Organizer

    password = organizer(settings, "a@b.cn", "admin")
    stored = db.execute(select(Organizer.password_hash)).scalar_one()  # type: ignore[attr-defined]
    assert stored.startswith("$argon2")
    assert password not in stored


def test_unknown_token_and_missing_token_get_401(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/api/v1/me").status_code == 401
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer eng_made_up"})
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.slow
def test_auditor_may_read_the_audit_log_but_not_send_messages(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {token_for(settings, 'aud@x.cn', 'auditor')}"}
    assert client.get("/api/v1/audit", headers=headers).status_code == 200
    refused = client.post("/api/v1/messages", json={"to": "13800138000", "body": "hi"}, headers=headers)
    assert refused.status_code == 403
    assert "admin" in refused.json()["detail"]


def test_wrong_password_shows_the_form_again_with_an_error(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    organizer(settings, "o@x.cn", "organizer")
    response = client.post(
        "/login",
        data={"email": "o@x.cn", "password": "wrong", "_csrf_token": csrf_token(client)},
        headers={"Accept": "text/html", "Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert "Email or password is not right." in response.text
    assert 'aria-invalid="true"' in response.text


def test_form_post_without_csrf_token_is_refused(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    password = organizer(settings, "o@x.cn", "organizer")
    client.get("/login")
    response = client.post("/login", data={"email": "o@x.cn", "password": password})
    assert response.status_code == 403
    assert (
        client.get("/organizer", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 302
    )


@pytest.mark.slow
def test_login_is_rate_limited_per_email(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    password = organizer(settings, "o@x.cn", "organizer")
    token = csrf_token(client)
    statuses = [
        client.post("/login", data={"email": "o@x.cn", "password": "nope", "_csrf_token": token}).status_code
        for _ in range(settings.login_attempts_per_15_minutes + 1)
    ]
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {400}
    blocked = client.post("/login", data={"email": "o@x.cn", "password": password, "_csrf_token": token})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


@pytest.mark.slow
def test_signing_in_and_out_is_audited(settings: Settings, client: TestClient, db: object) -> None:  # type: ignore[type-arg]
    password = organizer(settings, "o@x.cn", "organizer")
    sign_in(client, "o@x.cn", password)
    actions = db.execute(select(AuditEntry.action)).scalars().all()  # type: ignore[attr-defined]
    assert actions == ["organizer.create", "organizer.login"]
    client.post("/logout", data={"_csrf_token": csrf_token(client, "/organizer")})
    actions = db.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()  # type: ignore[attr-defined]
    assert actions[-1] == "organizer.logout"
    assert (
        client.get("/organizer", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 302
    )


def test_organizer_desk_sends_strangers_to_sign_in(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/organizer", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/login?next=/organizer")


def test_sign_in_never_redirects_off_site(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    password = organizer(settings, "o@x.cn", "organizer")
    response = client.post(
        "/login",
        data={
            "email": "o@x.cn",
            "password": password,
            "_csrf_token": csrf_token(client),
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] in ("/", "/organizer")


def test_signing_in_issues_a_new_session_id(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    """A session id planted before sign-in (session fixation) must not become the signed-in session."""
    password = organizer(settings, "o@x.cn", "organizer")
    # An anonymous visit stores no session any more (S14), so the attacker plants an id of their own.
    planted = "planted-session-id-0123456789abcdef"
    client.cookies.set("session", planted, domain="testserver.local")
    sign_in(client, "o@x.cn", password)
    signed_in = client.cookies.get("session")
    assert signed_in and signed_in != planted
    # the old id is gone from the store: presenting it again is not signed in
    client.cookies.set("session", planted, domain="testserver.local")
    response = client.get("/organizer", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 302


def test_audit_filter_with_a_nul_byte_is_a_400_naming_the_field(
    settings: Settings, client: TestClient
) -> None:  # type: ignore[type-arg]
    """Regression: PostgreSQL refuses NUL in text; the filter used to reach it and answer 500."""
    headers = {"Authorization": f"Bearer {token_for(settings, 'aud@x.cn', 'auditor')}"}
    response = client.get("/api/v1/audit", params={"action": "organizer.\x00login"}, headers=headers)
    assert response.status_code == 400
    assert response.json()["field"] == "action"
    assert (
        client.get("/api/v1/audit", params={"action": "organizer.login"}, headers=headers).status_code == 200
    )


@pytest.mark.slow
def test_a_guesser_on_another_address_cannot_lock_the_organizer_out(
    settings: Settings, app: Litestar
) -> None:
    """S12: ten wrong passwords from anywhere locked the real organizer out, renewable for ever."""
    import asyncio
    import re

    import httpx

    password = organizer(settings, "o@x.cn", "organizer")

    async def attempts(address: str, passwords: list[str]) -> list[int]:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            page = await client.get("/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            return [
                (
                    await client.post("/login", data={"email": "o@x.cn", "password": p, "_csrf_token": token})
                ).status_code
                for p in passwords
            ]

    async def both() -> tuple[list[int], list[int]]:  # one event loop: the app's pools belong to it
        guesses = ["nope"] * (settings.login_attempts_per_15_minutes + 2)
        return await attempts("203.0.113.9", guesses), await attempts("198.51.100.7", [password])

    guesser, organizer_answer = asyncio.run(both())
    assert guesser[-1] == 429 and organizer_answer == [302]
