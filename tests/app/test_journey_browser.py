"""A resident on a phone (390x844), in Chinese and in English, finds the public record from the home
page without typing an address: notices, a selection, an objection and back; signs up through "check
your answers"; every page is checked by axe-core (0 serious, 0 critical). Organizer pages get the
same axe check at laptop width. Screenshots go to the test output folder."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engage.settings import Settings
from tests.factories import axe_problems, fits_a_phone, organizer, texted_code
from tests.support import PHONE, LiveServer

pytestmark = pytest.mark.browser

WORDS = {
    "zh-CN": {
        "notices": "公示公告",
        "selections": "公开选拔",
        "objections": "查询异议",
        "me": "我的页面",
        "notice": "拟任职公示",
        "object": "提出异议",
        "submit": "提交异议",
        "join": "报名成为志愿者",
        "send": "获取验证码",
        "continue": "继续",
        "check": "核对您的信息",
        "confirm": "确认并报名",
        "done": "登记成功",
        "brand": "公众参与",
    },
    "en": {
        "notices": "Public notices",
        "selections": "Open selections",
        "objections": "Find an objection",
        "me": "My page",
        "notice": "Proposed appointment",
        "object": "File an objection",
        "submit": "Submit the objection",
        "join": "Join as a volunteer",
        "send": "Send me a code",
        "continue": "Continue",
        "check": "Check your answers",
        "confirm": "Confirm and sign up",
        "done": "You are registered",
        "brand": "Engage",
    },
}


@pytest.fixture
def audited_phone_page(browser: Any) -> Iterator[Any]:
    """A phone-sized page into which axe can be injected: axe goes in as an inline script, which the
    pages' policy refuses (the pages' own scripts are files; test_security_headers checks none is inline)."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, bypass_csp=True
    )
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_resident_finds_the_public_record_and_signs_up_on_a_phone(
    live_demo_district: dict[str, Any],
    live_server: LiveServer,
    settings: Settings,
    audited_phone_page: Any,
    output_dir: Path,
    language: str,
) -> None:
    words = WORDS[language]
    page = audited_phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    shots = output_dir / f"journey-{language}"
    shots.mkdir(exist_ok=True)
    taken = Counter[str]()

    def look(name: str) -> None:
        """Check the page as it stands and keep a picture of it."""
        fits_a_phone(page)
        assert axe_problems(page) == [], page.url
        taken["n"] += 1
        page.screenshot(path=str(shots / f"{taken['n']:02d}-{name}.png"), full_page=True)

    def menu(label: str) -> None:
        with page.expect_navigation():
            page.click(f"nav.site a:has-text('{label}')")

    page.goto(live_server.url + "/")
    look("home")
    # The text-size control is named by what it shows, and the focus ring shows on the red bar.
    size = page.locator(".tools a").first
    assert size.get_attribute("aria-label") is None and size.inner_text() in ("大字号", "Large text")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    assert page.evaluate("document.activeElement.className") == "brand" and ring == "rgb(255, 255, 255)"

    menu(words["notices"])
    look("notices")
    with page.expect_navigation():
        page.click(f"main a:has-text('{words['notice']}')")
    assert page.url.endswith(f"/notices/{live_demo_district['id']}")
    look("notice")

    menu(words["selections"])
    look("selections")
    with page.expect_navigation():
        page.locator("main ul a").first.click()
    assert re.search(r"/selections/\d+$", page.url)
    look("selection")
    # On a phone the score tables are cards, and no name breaks one character per line.
    names = page.locator("table.stack td.name")
    if names.count():
        heights = page.evaluate(
            "() => [...document.querySelectorAll('table.stack td.name')].map(td => td.getBoundingClientRect().height)"
        )
        assert max(heights) < 80
        assert page.evaluate("getComputedStyle(document.querySelector('table.stack tr')).display") == "block"

    menu(words["notices"])
    with page.expect_navigation():
        page.click(f"main a:has-text('{words['notice']}')")
    with page.expect_navigation():
        page.click(f"a.button:has-text('{words['object']}')")
    look("objection-form")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['submit']}')")
    # A failed form: the focus is on the error summary; the field names its hint and its error once.
    # The page moves the focus once it has loaded; on a busy machine that can come a moment after.
    page.wait_for_function(
        "document.activeElement && document.activeElement.id === 'error-summary'", timeout=5000
    )
    assert page.locator("#reason").get_attribute("aria-describedby") == "reason-hint reason-error"
    look("objection-error")

    menu(words["objections"])
    look("objection-lookup")
    with page.expect_navigation():
        page.click(f"a.brand:has-text('{words['brand']}')")
    assert page.url == live_server.url + "/"

    # Signing up: one step after another, then check-your-answers before anything is saved.
    phone = "13800138000" if language == "zh-CN" else "13900139000"
    with page.expect_navigation():
        page.click(f"main a:has-text('{words['join']}')")
    page.fill("#phone", phone)
    look("join-phone")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['send']}')")
    assert page.url.endswith("/join/code"), page.locator("main").inner_text()
    assert page.locator("#resend-button").is_disabled()  # "send a new code" waits out the minute
    look("join-code")
    page.fill("#code", texted_code(settings, phone))
    with page.expect_navigation():
        page.click(f"button:has-text('{words['continue']}')")
    page.fill("#name", "王秀英" if language == "zh-CN" else "Wang Xiuying")
    page.select_option("#community", index=1)
    page.check("input[name=age_band][value='60-74']")
    page.check("input[name=gender][value=female]")
    page.select_option("#occupation", "retired")
    page.check("input[name=participant_type][value=resident]")
    look("join-profile")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['continue']}')")
    assert page.locator("input:checked").count() == 0  # nothing ticked for the resident
    page.check("input[name=roles][value=judge]")
    page.check("#consent_judge")
    look("join-roles")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator("h1").inner_text() == words["check"]
    look("join-check")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['confirm']}')")
    assert page.locator("h1").inner_text() == words["done"]
    look("join-done")
    menu(words["me"])
    assert page.url.endswith("/me")
    look("me")


def test_every_page_passes_axe_in_both_languages(
    live_demo_district: dict[str, Any], live_server: LiveServer, settings: Settings, browser: Any
) -> None:
    """One page per route, found by following links in the browser, public and organizer alike."""
    password = organizer(settings, "lin@district.gov.cn", "admin")
    found: list[str] = []
    for language in ("zh-CN", "en"):
        # bypass_csp: axe is injected as an inline script, which the pages' policy refuses (the pages'
        # own scripts are files; tests/test_security_headers.py checks that none is inline).
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, locale=language, bypass_csp=True
        )
        page = context.new_page()
        page.set_extra_http_headers({"Accept-Language": language})
        page.goto(live_server.url + "/login")
        page.fill("#email", "lin@district.gov.cn")
        page.fill("#password", password)
        with page.expect_navigation():
            page.click("form button[type=submit]")
        queue, seen, routes = ["/", "/organizer", "/join", "/signin"], set[str](), set[str]()
        while queue:
            path = queue.pop(0)
            route = re.sub(r"\d+", "N", path)
            if route in routes:
                continue
            routes.add(route)
            response = page.goto(live_server.url + path)
            if response is None or "text/html" not in response.headers.get("content-type", ""):
                continue
            found += [f"{language} {path}: {problem}" for problem in axe_problems(page)]
            for href in page.evaluate(
                "[...document.querySelectorAll('a[href^=\"/\"]')].map(a => a.getAttribute('href'))"
            ):
                href = href.split("#")[0]
                skip = re.search(r"^/(lang|text|logout|schema|api|static|dev)/|\.(csv|json)$|reveal", href)
                if href and href not in seen and not skip:
                    seen.add(href)
                    queue.append(href)
        assert len(routes) >= 25, routes
        context.close()
    assert found == [], "\n".join(found)


def test_axe_reports_what_it_finds(browser: Any) -> None:
    page = browser.new_page()
    page.set_content("<!doctype html><html><body><img src='a.png'><button></button></body></html>")
    found = axe_problems(page)
    assert any("image-alt" in problem for problem in found) and any(
        "button-name" in problem for problem in found
    )
    page.close()
