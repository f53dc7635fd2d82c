"""Small helpers shared by tests: making organizers and tokens the way the CLI does, and the environment
of a real `engage` process pointed at the test's database, Redis and Twilio fake."""

from __future__ import annotations

import os
import re

from litestar.testing import TestClient

from engage.accounts.services import create_organizer, create_token
from engage.db import make_sync_engine, sync_session
from engage.settings import Settings


def organizer(settings: Settings, email: str, role: str) -> str:
    """Create an organizer; returns the generated password."""
    with sync_session(make_sync_engine(settings.database_url)) as session:
        return create_organizer(session, email, role)[1]


def token_for(settings: Settings, email: str, role: str) -> str:
    organizer(settings, email, role)
    with sync_session(make_sync_engine(settings.database_url)) as session:
        return create_token(session, email)


def csrf_token(client: TestClient, path: str = "/login") -> str:  # type: ignore[type-arg]
    page = client.get(path)
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, "form without a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str) -> None:  # type: ignore[type-arg]
    response = client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": csrf_token(client), "next": "/organizer"},
        follow_redirects=False,
    )
    assert response.status_code in (301, 302, 303), response.text


def process_environment(settings: Settings, secret: str, **extra: str) -> dict[str, str]:
    """What a real `engage worker` or `engage serve` started by a test runs with: the test's database,
    Redis and Twilio fake, quick stall and gateway timeouts, no quiet hours."""
    assert settings.redis_url and settings.twilio_api_base_url
    return {
        **os.environ,
        "ENGAGE_ENV": "test",
        "SECRET_KEY": secret,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "SMS_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid or "",
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token or "",
        "TWILIO_MESSAGING_SERVICE_SID": settings.twilio_messaging_service_sid or "",
        "TWILIO_API_BASE_URL": settings.twilio_api_base_url,
        "SMS_QUIET_HOURS": "",
        "SMS_STALL_SECONDS": "2",
        "SMS_GATEWAY_TIMEOUT": "2",
        **extra,
    }
