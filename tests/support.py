"""Small helpers shared by tests: making organizers and tokens the way the CLI does."""

from __future__ import annotations

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
