"""Filing an objection and reading its status in headless Chromium at 390x844, in Chinese (anonymous)
and in English (named, with the texted code), screenshots of each step under the test output folder;
the pages fit 320 px with 44 px targets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from engage.settings import Settings
from tests.factories import (
    OBJECTOR_PHONE,
    appointment,
    fits_a_phone,
    organizer,
    texted_code,
    token_for,
)
from tests.support import LiveServer

pytestmark = pytest.mark.browser

WORDS = {
    "zh-CN": {
        "file": "提出异议",
        "submit": "提交异议",
        "received": "异议已受理",
        "status": "已受理",
        "open": "公示中",
    },
    "en": {
        "file": "File an objection",
        "submit": "Submit the objection",
        "received": "Objection received",
        "status": "Received",
        "open": "Open for objections",
    },
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_an_objection_is_filed_and_followed_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    phone_page: Any,
    output_dir: Path,
    language: str,
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        headers = {"Authorization": f"Bearer {token_for(settings, 'lin@d.gov.cn', 'organizer')}"}
        notice = appointment(api, headers)  # type: ignore[arg-type]
    words = WORDS[language]
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    shots = output_dir / f"objection-{language}"
    shots.mkdir(exist_ok=True)

    def shot(name: str) -> None:
        fits_a_phone(page)
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(f"{live_server.url}/notices/{notice['id']}")
    assert words["open"] in page.locator(".period-state").inner_text()
    assert page.locator(".period time").count() == 2  # opened, closes
    shot("1-notice")
    with page.expect_navigation():
        page.click(f"a.button:has-text('{words['file']}')")
    if language == "zh-CN":  # anonymous: the reason only
        page.fill("#reason", "王芳同志的工作经历与公示内容不符，请核实。")
        shot("2-form")
        with page.expect_navigation():
            page.click(f"button:has-text('{words['submit']}')")
    else:  # named: name and phone, then the code texted to it
        page.fill("#reason", "The stated work history does not match the records I know.")
        page.fill("#name", "Zhang Wei")
        page.fill("#phone", OBJECTOR_PHONE)
        assert page.locator("#phone").get_attribute("type") == "tel"
        shot("2-form")
        with page.expect_navigation():
            page.click(f"button:has-text('{words['submit']}')")
        assert page.locator("#code").get_attribute("autocomplete") == "one-time-code"
        page.fill("#code", texted_code(settings, "+86" + OBJECTOR_PHONE))
        shot("3-code")
        with page.expect_navigation():
            page.click(f"button:has-text('{words['submit']}')")

    assert page.locator("h1").inner_text() == words["received"]
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(r"OBJ-20\d\d-[A-Z2-9]{6}", reference)
    shot("4-filed")

    page.goto(f"{live_server.url}/notices/{notice['id']}")
    page.fill("#reference", reference.lower())
    with page.expect_navigation():
        page.click("form.lookup button")
    assert page.locator(".reference").inner_text() == reference
    assert words["status"] in page.locator("dl.profile").inner_text()
    shot("5-status")

    narrow = page.context.browser.new_context(
        viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True
    )
    small = narrow.new_page()
    small.set_extra_http_headers({"Accept-Language": language})
    for path in (f"/notices/{notice['id']}", f"/notices/{notice['id']}/object", f"/objections/{reference}"):
        small.goto(live_server.url + path)
        fits_a_phone(small)
    small.screenshot(path=str(shots / "6-status-320.png"), full_page=True)
    narrow.close()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_an_organizer_upholds_an_objection_on_a_phone_and_the_reply_is_public(
    live_server: LiveServer, settings: Settings, phone_page: Any, output_dir: Path, language: str
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        headers = {"Authorization": f"Bearer {token_for(settings, 'api@d.gov.cn', 'organizer')}"}
        notice = appointment(api, headers)  # type: ignore[arg-type]
        reason = "公示的学历与本人所知不符。"
        reference = api.post(f"/api/v1/notices/{notice['id']}/objections", json={"reason": reason}).json()[
            "reference"
        ]
    password = organizer(settings, "lin@d.gov.cn", "organizer")
    (output_dir / f"objection-{language}").mkdir(exist_ok=True)
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"{live_server.url}/login")
    page.fill("#email", "lin@d.gov.cn")
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/organizer")
    page.goto(f"{live_server.url}/organizer/notices/{notice['id']}/objections")
    assert reason in page.locator(".objection .reason").inner_text()
    page.select_option("select[name=status]", "upheld")
    reply = (
        "经核实，延长公示2个工作日。"
        if language == "zh-CN"
        else "Checked: the period runs 2 more working days."
    )
    page.fill("textarea[name=reply]", reply)
    page.check("input[name=action][value=extend]")
    page.fill("input[name=days]", "2")
    fits_a_phone(page)
    page.screenshot(path=str(output_dir / f"objection-{language}" / "7-organizer.png"), full_page=True)
    with page.expect_navigation():
        page.click(".objection button[type=submit]")
    assert ("已延长" if language == "zh-CN" else "extended") in page.locator(".objections dl").inner_text()
    page.screenshot(
        path=str(output_dir / f"objection-{language}" / "8-organizer-answered.png"), full_page=True
    )

    page.goto(f"{live_server.url}/objections/{reference}")
    assert reply in page.locator("dd.reply").inner_text()
    fits_a_phone(page)
    page.screenshot(path=str(output_dir / f"objection-{language}" / "9-status-answered.png"), full_page=True)
