"""Pages in headless Chromium at a phone's viewport (390x844), in both languages, with screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engage.settings import Settings
from tests.conftest import LiveServer
from tests.support import organizer

pytestmark = pytest.mark.browser


def _no_horizontal_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _tap_targets_are_large(page: Any) -> None:
    small = page.evaluate(
        """() => [...document.querySelectorAll('a, button, input, select, textarea')]
            .filter(el => el.offsetParent !== null && el.type !== 'hidden')
            .map(el => [el.outerHTML.slice(0, 60), el.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == []


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
    _no_horizontal_scroll(page)
    _tap_targets_are_large(page)
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
    _no_horizontal_scroll(page)
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
