"""Pages in headless Chromium at a phone's viewport (390x844), in both languages, with screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engage.settings import Settings
from tests.factories import no_horizontal_scroll, organizer, tap_targets_are_large
from tests.support import LiveServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("language", "heading", "error"),
    [
        ("zh-CN", "组织者登录", "邮箱或密码不正确。"),
        ("en", "Organizer sign-in", "Email or password is not right."),
    ],
)
def test_organizer_signs_in_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    phone_page: Any,
    output_dir: Path,
    language: str,
    heading: str,
    error: str,
) -> None:
    password = organizer(settings, "lin@district.gov.cn", "organizer")
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"{live_server.url}/login")
    assert page.locator("h1").inner_text() == heading
    no_horizontal_scroll(page)
    tap_targets_are_large(page)
    page.screenshot(path=str(output_dir / f"login-{language}.png"), full_page=True)

    page.fill("#email", "lin@district.gov.cn")
    page.fill("#password", "not the password")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    assert error in page.locator("#password-error").inner_text()
    page.screenshot(path=str(output_dir / f"login-error-{language}.png"), full_page=True)

    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/organizer")
    assert "lin@district.gov.cn" in page.content()
    no_horizontal_scroll(page)
    page.screenshot(path=str(output_dir / f"desk-{language}.png"), full_page=True)


def test_language_switch_is_remembered(live_server: LiveServer, phone_page: Any, output_dir: Path) -> None:
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": "zh-CN"})
    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans-CN"
    page.click("text=English")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{live_server.url}/login")
    assert page.locator("h1").inner_text() == "Organizer sign-in"
    page.screenshot(path=str(output_dir / "home-switched-en.png"), full_page=True)
