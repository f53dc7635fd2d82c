"""Taking access away (docs/security.md): disabling an organizer, revoking a token, a new password,
token expiry and scope, all effective on the next request, in every web process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engage.accounts.models import ApiToken
from engage.db import make_sync_engine, sync_session, utcnow
from engage.settings import Settings
from tests.factories import csrf_token, organizer, token_for
from tests.support import ROOT, SECRET

EMAIL = "leaver@district.gov.cn"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(settings: Settings) -> dict[str, str]:
    assert settings.redis_url
    return {
        **os.environ,
        "ENGAGE_ENV": "test",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "SMS_GATEWAY": "console",
        "VAR_DIR": str(settings.var_dir),
    }


def _engage(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engage", *arguments],
        cwd=ROOT,
        env=_environment(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def two_web_processes(settings: Settings, tmp_path: Path) -> Iterator[list[str]]:
    ports = [_free_port(), _free_port()]
    started = []
    for port in ports:
        with (tmp_path / f"web-{port}.log").open("ab") as log:
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "engage", "serve", "--port", str(port)],
                    cwd=ROOT,
                    env=_environment(settings),
                    stdout=log,
                    stderr=log,
                )
            )
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the web processes did not start"
                time.sleep(0.2)
        yield urls
    finally:
        for process in started:
            process.terminate()
            process.wait(15)


def _desk(url: str, cookies: httpx.Cookies) -> int:
    return httpx.get(f"{url}/organizer", cookies=cookies, follow_redirects=False, timeout=10).status_code


def _me(url: str, token: str) -> int:
    return httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def _signed_in(url: str, password: str) -> httpx.Cookies:
    with httpx.Client(base_url=url, timeout=10) as client:
        sign_in = client.post(
            "/login",
            data={
                "email": EMAIL,
                "password": password,
                "_csrf_token": csrf_token(client),
                "next": "/organizer",
            },  # type: ignore[arg-type]
            follow_redirects=False,
        )
        assert sign_in.status_code in (302, 303), sign_in.text
        return client.cookies


@pytest.mark.slow
def test_disable_revoke_and_a_new_password_end_access_on_the_next_request_in_both_processes(
    settings: Settings, two_web_processes: list[str]
) -> None:
    """S2: no command disabled an organizer or revoked a token, and `engage organizer password` left the
    old sessions valid for up to 8 hours."""
    a, b = two_web_processes
    password = organizer(settings, EMAIL, "organizer")
    token = _engage(settings, "token", "create", EMAIL).stdout.strip()
    cookies = _signed_in(a, password)
    assert [_desk(a, cookies), _desk(b, cookies), _me(a, token), _me(b, token)] == [200, 200, 200, 200]

    done = _engage(settings, "organizer", "disable", EMAIL)
    assert done.returncode == 0, done.stderr
    assert [_desk(a, cookies), _desk(b, cookies)] == [401, 401]  # as for anyone not signed in
    assert [_me(a, token), _me(b, token)] == [401, 401]
    assert _engage(settings, "organizer", "enable", EMAIL).returncode == 0
    # enabled again, what the disable ended stays ended
    assert [_desk(a, cookies), _me(b, token)] == [401, 401]

    fresh = _engage(settings, "token", "create", EMAIL).stdout.strip()
    assert [_me(a, fresh), _me(b, fresh)] == [200, 200]
    listing = _engage(settings, "token", "list", EMAIL).stdout.splitlines()
    live = [line.split("\t")[0] for line in listing if "\tactive\t" in line]
    assert len(live) == 1 and fresh not in "\n".join(listing)  # the list never shows a token
    assert _engage(settings, "token", "revoke", live[0]).returncode == 0
    assert [_me(a, fresh), _me(b, fresh)] == [401, 401]

    cookies = _signed_in(b, password)
    assert _desk(a, cookies) == 200
    new_password = _engage(settings, "organizer", "password", EMAIL)
    assert new_password.returncode == 0
    assert [_desk(a, cookies), _desk(b, cookies)] == [401, 401]


@pytest.mark.slow
def test_bad_token_commands_exit_2_naming_the_field(settings: Settings) -> None:
    """S2: the new commands refuse bad input like the others."""
    organizer(settings, EMAIL, "organizer")
    for arguments, field in [
        (("token", "revoke", "999999"), "token"),
        (("token", "create", EMAIL, "--scope", "admin"), "scope"),
        (("token", "create", EMAIL, "--days", "0"), "days"),
        (("organizer", "disable", "nobody@district.gov.cn"), "email"),
    ]:
        result = _engage(settings, *arguments)
        assert result.returncode == 2 and field in result.stderr, (arguments, result.stderr)


@pytest.mark.slow
def test_tokens_expire_and_a_read_token_cannot_write(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """S2: tokens never expired and carried the organizer's full role."""
    token = token_for(settings, EMAIL, "admin")
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    with sync_session(make_sync_engine(settings.database_url)) as session:
        expiry = session.execute(select(ApiToken.expires_at)).scalar_one()
        assert expiry is not None and timedelta(days=89) < expiry - utcnow() <= timedelta(days=90)
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/v1/me", headers=auth).status_code == 401

    from engage.accounts.services import create_token

    with sync_session(make_sync_engine(settings.database_url)) as session:
        reader = create_token(session, EMAIL, scope="read")
    read_auth = {"Authorization": f"Bearer {reader}"}
    assert client.get("/api/v1/residents", headers=read_auth).status_code == 200
    refused = client.post(
        "/api/v1/communities", json={"code": "x1", "name_zh": "新", "name_en": "New"}, headers=read_auth
    )
    assert refused.status_code == 403 and "read" in refused.json()["detail"]


@pytest.mark.slow
def test_tokens_made_before_expiries_expire_90_days_after_they_were_made(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    """S2: a token from before this change has no expiry of its own."""
    token = token_for(settings, EMAIL, "organizer")
    auth = {"Authorization": f"Bearer {token}"}
    db.execute(update(ApiToken).values(expires_at=None, created_at=utcnow() - timedelta(days=89)))
    db.commit()
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    db.execute(update(ApiToken).values(created_at=utcnow() - timedelta(days=91)))
    db.commit()
    assert client.get("/api/v1/me", headers=auth).status_code == 401
