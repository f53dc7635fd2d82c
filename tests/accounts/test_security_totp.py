"""The organizers' second factor (S19: "No MFA"): enrolment from the console, the code after the
password, admins in production enrol before anything else, and `engage organizer totp-reset`."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.accounts.models import Organizer
from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.db import utcnow
from engage.settings import Settings
from tests.factories import csrf_token, organizer, sign_in
from tests.support import ROOT, SECRET, make_settings

HTML = {"Accept": "text/html"}


def _new_client(app: Litestar) -> TestClient[Litestar]:
    return TestClient(app=app, base_url="http://testserver.local")


# One TestClient per app (each runs its own event loop, and the app's pools belong to the first): a
# second browser is the same client with another cookie jar.
def _jar(client: TestClient[Litestar]) -> dict[str, str]:
    return {name: value for name, value in client.cookies.items()}


def _use(client: TestClient[Litestar], jar: dict[str, str]) -> None:
    client.cookies.clear()
    for name, value in jar.items():
        client.cookies.set(name, value, domain="testserver.local")


def _password_step(client: TestClient[Litestar], email: str, password: str) -> Any:
    data = {"email": email, "password": password, "_csrf_token": csrf_token(client), "next": "/organizer"}
    return client.post("/login", data=data, follow_redirects=False)


def _desk(client: TestClient[Litestar]) -> int:
    return client.get("/organizer", headers=HTML, follow_redirects=False).status_code


def _enrol_from_console(client: TestClient[Litestar]) -> str:
    page = client.get("/organizer/totp", headers=HTML)
    assert page.status_code == 200
    uri = re.search(r'href="(otpauth://totp/[^"]+)"', page.text)
    assert uri, "no otpauth URI on the enrolment page"
    secret = pyotp.parse_uri(uri.group(1).replace("&amp;", "&")).secret
    shown = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', page.text)
    assert shown and shown.group(1).replace(" ", "") == secret  # the key to type in, the same secret
    token = csrf_token(client, "/organizer/totp")
    wrong = client.post("/organizer/totp", data={"code": "000000", "_csrf_token": token})
    assert wrong.status_code == 400
    right = client.post(
        "/organizer/totp",
        data={"code": pyotp.TOTP(secret).now(), "_csrf_token": token},
        follow_redirects=False,
    )
    assert right.status_code in (302, 303)
    return secret


def _next_code(secret: str) -> str:
    """The code of the next 30 s step: the step of enrolment was spent by enrolling, and a phone a step
    ahead is accepted."""
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))


def _code_step(client: TestClient[Litestar], code: str) -> Any:
    token = csrf_token(client, "/login/code")
    return client.post("/login/code", data={"code": code, "_csrf_token": token}, follow_redirects=False)


def test_an_organizer_enrols_from_the_console_and_then_signs_in_with_a_code(
    settings: Settings, app: Litestar, db: Session
) -> None:
    """S19: no second factor existed. After enrolment the password alone no longer signs in."""
    password = organizer(settings, "o@x.cn", "organizer")
    with _new_client(app) as client:
        sign_in(client, "o@x.cn", password)
        elsewhere = _jar(client)
        _use(client, {})
        sign_in(client, "o@x.cn", password)
        secret = _enrol_from_console(client)
        assert _desk(client) == 200  # the session that enrolled goes on
        _use(client, elsewhere)
        assert _desk(client) == 302  # a session signed in without the code ends
        assert "organizer.totp_enrol" in db.execute(select(AuditEntry.action)).scalars().all()

        _use(client, {})
        answer = _password_step(client, "o@x.cn", password)
        assert answer.headers["location"] == "/login/code"
        assert _desk(client) == 302  # the password alone is not signed in
        assert _code_step(client, "12345x").status_code == 400
        assert _desk(client) == 302
        signed_in = _code_step(client, _next_code(secret))
        assert signed_in.headers["location"] == "/organizer"
        assert _desk(client) == 200


def test_a_code_once_used_does_not_sign_in_again(settings: Settings, app: Litestar, db: Session) -> None:
    """A code seen over a shoulder, or replayed from a proxy log, is spent."""
    password = organizer(settings, "o@x.cn", "organizer")
    with _new_client(app) as client:
        sign_in(client, "o@x.cn", password)
        secret = _enrol_from_console(client)
        db.execute(select(Organizer)).scalar_one().totp_last_step = None  # so "now" is not already spent
        db.commit()
        code = pyotp.TOTP(secret).now()
        _use(client, {})
        _password_step(client, "o@x.cn", password)
        first = _jar(client)
        _use(client, {})
        _password_step(client, "o@x.cn", password)
        second = _jar(client)
        _use(client, first)
        assert _code_step(client, code).status_code in (302, 303)
        _use(client, second)
        assert _code_step(client, code).status_code == 400
        assert _desk(client) == 302


def test_wrong_codes_back_off_and_the_password_step_expires(
    settings: Settings, app: Litestar, db: Session
) -> None:
    """Guessing the 6 digits after a leaked password: five tries, then a growing wait."""
    password = organizer(settings, "o@x.cn", "organizer")
    with _new_client(app) as client:
        sign_in(client, "o@x.cn", password)
        secret = _enrol_from_console(client)
        _use(client, {})
        _password_step(client, "o@x.cn", password)
        answers = [_code_step(client, "000000").status_code for _ in range(6)]
        assert answers == [400, 400, 400, 400, 400, 429]
        refused = _code_step(client, _next_code(secret))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_the_code_step_without_a_password_step_goes_back_to_sign_in(client: TestClient[Litestar]) -> None:
    assert client.get("/login/code", headers=HTML, follow_redirects=False).headers["location"] == "/login"
    assert client.get("/login/enrol", headers=HTML, follow_redirects=False).headers["location"] == "/login"


@pytest.fixture
def prod_app(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Litestar]]:
    settings = make_settings(
        database_url, redis_url, tmp_path / "var", ENGAGE_ENV="prod", SECRET_KEY=secrets.token_urlsafe(32)
    )
    yield settings, create_app(settings)


def test_an_admin_in_production_enrols_before_anything_else(
    prod_app: tuple[Settings, Litestar], db: Session
) -> None:
    """S19: with ENGAGE_ENV=prod an admin without a second factor gets no page but the enrolment."""
    settings, app = prod_app
    password = organizer(settings, "admin@x.cn", "admin")
    staff_password = organizer(settings, "o@x.cn", "organizer")
    with _new_client(app) as client:
        answer = _password_step(client, "admin@x.cn", password)
        assert answer.headers["location"] == "/login/enrol"
        assert _desk(client) == 302
        assert client.get("/organizer/residents", headers=HTML, follow_redirects=False).status_code == 302
        page = client.get("/login/enrol", headers=HTML)
        uri = re.search(r'href="(otpauth://totp/[^"]+)"', page.text)
        assert uri
        secret = pyotp.parse_uri(uri.group(1).replace("&amp;", "&")).secret
        token = csrf_token(client, "/login/enrol")
        assert client.post("/login/enrol", data={"code": "999999", "_csrf_token": token}).status_code == 400
        done = client.post(
            "/login/enrol",
            data={"code": pyotp.TOTP(secret).now(), "_csrf_token": token},
            follow_redirects=False,
        )
        assert done.headers["location"] == "/organizer"
        assert _desk(client) == 200
        assert (
            db.execute(select(Organizer.totp_secret).where(Organizer.email == "admin@x.cn")).scalar_one()
            == secret
        )
        # An organizer who is not an admin may go without one.
        _use(client, {})
        assert _password_step(client, "o@x.cn", staff_password).headers["location"] == "/organizer"
        assert _desk(client) == 200


def test_an_admin_session_from_before_the_rule_ends_in_production(
    settings: Settings, prod_app: tuple[Settings, Litestar]
) -> None:
    """A session signed in while the admin had no second factor does not open pages in production."""
    password = organizer(settings, "admin@x.cn", "admin")
    with _new_client(create_app(settings)) as client:
        sign_in(client, "admin@x.cn", password)
        assert _desk(client) == 200
        cookie = client.cookies.get("session")
    with _new_client(prod_app[1]) as client:
        client.cookies.set("session", cookie or "", domain="testserver.local")
        assert _desk(client) == 302


def test_totp_reset_removes_the_factor_ends_sessions_and_is_audited(
    settings: Settings, app: Litestar, db: Session
) -> None:
    """A lost phone: `engage organizer totp-reset EMAIL`, then the password signs in (outside
    production) and the organizer can enrol again."""
    password = organizer(settings, "o@x.cn", "organizer")
    with _new_client(app) as console:
        sign_in(console, "o@x.cn", password)
        _enrol_from_console(console)
        signed_in = _jar(console)
        environment = {
            "PATH": "/usr/bin:/bin",
            "ENGAGE_ENV": "test",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": settings.database_url,
        }
        done = subprocess.run(
            [sys.executable, "-m", "engage", "organizer", "totp-reset", "o@x.cn"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert _desk(console) == 302  # the session ended
        db.expire_all()
        row = db.execute(select(Organizer)).scalar_one()
        assert row.totp_secret is None
        entry = db.execute(select(AuditEntry).where(AuditEntry.action == "organizer.totp_reset")).scalar_one()
        assert entry.subject_id == str(row.id)
        _use(console, {})
        assert _password_step(console, "o@x.cn", password).headers["location"] == "/organizer"
        assert "otpauth://" in console.get("/organizer/totp", headers=HTML).text
        _use(console, signed_in)
        assert _desk(console) == 302


def test_a_code_from_a_phone_a_step_off_is_accepted_but_not_two() -> None:
    from engage.accounts import totp

    secret = totp.new_secret()
    now = utcnow()
    app_code = pyotp.TOTP(secret)
    assert totp.matching_step(secret, app_code.at(now - timedelta(seconds=30)), now) is not None
    assert totp.matching_step(secret, app_code.at(now + timedelta(seconds=30)), now) is not None
    assert totp.matching_step(secret, app_code.at(now - timedelta(seconds=90)), now) is None
    step = totp.matching_step(secret, app_code.at(now), now)
    assert step is not None and totp.matching_step(secret, app_code.at(now), now, after=step) is None
    assert totp.matching_step(secret, "１２３４５６", now) is None  # full-width digits are not digits here


def test_the_second_factor_pages_read_as_chinese(settings: Settings, client: TestClient[Litestar]) -> None:
    from tests.zh_scan import problems

    password = organizer(settings, "o@x.cn", "organizer")
    sign_in(client, "o@x.cn", password)
    headers = {**HTML, "Accept-Language": "zh-CN"}
    desk = client.get("/organizer", headers=headers)
    assert 'href="/organizer/totp"' in desk.text
    enrol = client.get("/organizer/totp", headers=headers)
    assert "两步验证" in enrol.text
    assert problems(enrol.text) == []
    token = csrf_token(client, "/organizer/totp")
    wrong = client.post("/organizer/totp", data={"code": "1", "_csrf_token": token}, headers=headers)
    assert wrong.status_code == 400 and problems(wrong.text) == []
    secret = _enrol_from_console(client)
    _use(client, {})
    _password_step(client, "o@x.cn", password)
    code_page = client.get("/login/code", headers=headers)
    assert "登录验证码" in code_page.text and problems(code_page.text) == []
    refused = _code_step(client, "000000")
    assert refused.status_code == 400 and problems(refused.text) == []
    assert secret
