"""The resident's journey between the pages: the site menu, codes that forgive slips, a new code from
the code page, a lockout that says what to do, check-your-answers, signing in again and /me."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.residents.models import Resident, VerificationCode
from engage.settings import Settings
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
from tests.support import run_jobs

pytestmark = pytest.mark.usefixtures("signup_district", "english")


def _attempts(db: Session) -> int:
    db.expire_all()
    return int(db.execute(select(VerificationCode.attempts)).scalar_one())


def _texts_to(settings: Settings, phone: str = SIGNUP_E164) -> int:
    run_jobs(settings)
    return settings.outbox_path.read_text().count(phone)


def test_every_page_carries_the_site_menu(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/", "/join", "/signin", "/notices", "/selections", "/objections"):
        page = client.get(path, headers={"Accept-Language": "zh-CN"}).text
        menu = page[page.index('<nav class="site"') : page.index("</nav>", page.index('<nav class="site"'))]
        assert re.findall(r'href="([^"]+)"', menu) == ["/notices", "/selections", "/objections", "/me"], path
        assert ">公示公告<" in menu and ">查询异议<" in menu and ">我的页面<" in menu


@pytest.mark.slow
def test_an_empty_or_malformed_code_costs_no_try(
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    request_code(client)
    right = last_code(settings)
    empty = post(client, "/join/code", {"code": ""})
    assert empty.status_code == 400 and "Enter the code." in empty.text
    letters = post(client, "/join/code", {"code": "12ab"})
    assert letters.status_code == 400 and "Enter the 6-digit code from the text." in letters.text
    assert _attempts(db) == 0
    wrong = post(client, "/join/code", {"code": "000000" if right != "000000" else "111111"})
    # A wrong code costs a try and is answered like every other refusal (nothing tells numbers apart).
    assert "This code is wrong or no longer valid" in wrong.text and _attempts(db) == 1
    assert post(client, "/join/code", {"code": right}).headers["location"] == "/join/profile"


@pytest.mark.slow
def test_a_new_code_is_sent_from_the_code_page_after_a_minute(
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    request_code(client)
    first = last_code(settings)
    page = client.get("/join/code")
    assert 'action="/join/code/new"' in page.text
    assert re.search(r'data-wait="(5\d|60)"', page.text), "the button counts down the minute"
    too_soon = post(client, "/join/code/new", {}, form_page="/join/code")
    assert too_soon.status_code == 429 and "Too many codes" in too_soon.text
    assert _texts_to(settings) == 1
    forget_code_limits(settings)  # as if the minute had passed
    again = post(client, "/join/code/new", {}, form_page="/join/code")
    assert again.status_code == 200 and "A new code is on its way." in again.text
    assert _texts_to(settings) == 2
    second = last_code(settings)
    if second != first:
        assert post(client, "/join/code", {"code": first}).status_code == 400  # the old one is retired
    assert post(client, "/join/code", {"code": second}).headers["location"] == "/join/profile"


@pytest.mark.slow
def test_a_lockout_says_what_to_do_and_offers_a_new_code(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    request_code(client)
    right = last_code(settings)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        locked = post(client, "/join/code", {"code": wrong})
    assert 'id="what-now"' in locked.text and "Send a new code" in locked.text
    assert "You do not need to type your number again." in locked.text


@pytest.mark.slow
def test_nothing_is_ticked_for_the_resident_and_answers_are_checked_before_saving(
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    request_code(client)
    post(client, "/join/code", {"code": last_code(settings)})
    post(client, "/join/profile", SIGNUP_PROFILE)
    roles = client.get("/join/roles").text
    assert " checked" not in roles
    data = {"roles": ["subscriber"], "consent_subscriber": "yes"}
    nothing_chosen = post(client, "/join/roles", data)
    assert nothing_chosen.status_code == 400 and 'id="notice_kinds-error"' in nothing_chosen.text
    data |= {"notice_kinds": ["appointment"], "communities": ["nanta"]}
    assert post(client, "/join/roles", data).headers["location"] == "/join/check"
    check = client.get("/join/check").text
    for shown in (
        "王秀英",
        "Wulihe",
        "60 to 74",
        "Female",
        "Retired",
        "Subscriber",
        "Nanta",
        "138 **** 8000",
    ):
        assert shown in check, shown
    assert 'href="/join/profile#name"' in check and 'href="/join/roles"' in check
    assert count(db, Resident) == 0
    # Changing an answer comes back to the check page, not through every step again.
    assert (
        post(client, "/join/profile", dict(SIGNUP_PROFILE, name="王秀兰")).headers["location"]
        == "/join/check"
    )
    assert "王秀兰" in client.get("/join/check").text
    assert post(client, "/join/check", {}).headers["location"] == "/join/done"
    done = client.get("/join/done").text
    assert "What happens next" in done and "reply STOP or TD" in done
    assert count(db, Resident) == 1


def test_a_returning_resident_signs_in_and_lands_on_a_summary(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    sign_up(client, settings)
    client.cookies.clear()
    forget_code_limits(settings)
    assert client.get("/me", follow_redirects=False).headers["location"] == "/signin"
    assert "Sign in to my page" in client.get("/signin").text
    assert post(client, "/signin", {"phone": SIGNUP_PHONE}).headers["location"] == "/join/code"
    assert "Step" not in client.get("/join/code").text  # signing in is no sign-up step
    assert post(client, "/join/code", {"code": last_code(settings)}).headers["location"] == "/me"
    me = client.get("/me").text
    assert "王秀英" in me and "Volunteer judge" in me
    for link in ("/me/profile#name", "/me/roles", "/me/roles#notice_kinds"):
        assert f'href="{link}"' in me
    assert 'action="/me/profile"' not in me  # a summary, not two long forms


@pytest.mark.slow
def test_signing_in_with_an_unknown_number_continues_as_a_sign_up(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    post(client, "/signin", {"phone": SIGNUP_PHONE})
    assert (
        post(client, "/join/code", {"code": last_code(settings)}).headers["location"] == "/join/profile?new=1"
    )
    assert "This number is not registered yet." in client.get("/join/profile?new=1").text


def test_a_failed_change_on_my_page_keeps_what_was_typed(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    sign_up(client, settings)
    refused = post(
        client, "/me/profile", dict(SIGNUP_PROFILE, name="", work_unit="某街道"), form_page="/me/profile"
    )
    assert refused.status_code == 400
    assert 'id="name-error"' in refused.text and 'value="某街道"' in refused.text
    assert "autofocus" in refused.text  # the error summary takes the focus


@pytest.mark.slow
def test_my_page_asks_only_experts_for_their_field(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    sign_up(client, settings)
    assert "Field of expertise" not in client.get("/me").text  # a resident, not an expert
