"""A new resident signs up end to end in headless Chromium at 390x844, in Chinese and in English,
with a screenshot of every step under the test run's output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.residents.models import Community, Resident
from engage.settings import Settings
from tests.factories import fits_a_phone, texted_code
from tests.support import LiveServer

pytestmark = pytest.mark.browser

TEXTS = {
    "zh-CN": {
        "join": "报名成为志愿者",
        "send": "获取验证码",
        "continue": "继续",
        "confirm": "确认并报名",
        "done": "登记成功",
    },
    "en": {
        "join": "Join as a volunteer",
        "send": "Send me a code",
        "continue": "Continue",
        "confirm": "Confirm and sign up",
        "done": "You are registered",
    },
}


@pytest.mark.parametrize(("language", "phone"), [("zh-CN", "13800138000"), ("en", "13900139000")])
def test_new_resident_signs_up_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    db: Session,
    phone_page: Any,
    output_dir: Path,
    language: str,
    phone: str,
) -> None:
    db.add_all(
        [
            Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"),
            Community(code="nanta", name_zh="南塔社区", name_en="Nanta"),
        ]
    )
    db.commit()
    words = TEXTS[language]
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    shots = output_dir / f"signup-{language}"
    shots.mkdir(exist_ok=True)

    def shot(name: str) -> None:
        fits_a_phone(page)
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(live_server.url + "/")
    shot("0-home")
    page.click(f"text={words['join']}")
    assert page.locator("#phone").get_attribute("autocomplete") == "tel"
    page.fill("#phone", f"{phone[:3]} {phone[3:7]} {phone[7:]}")
    shot("1-phone")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['send']}')")

    assert page.locator("#code").get_attribute("autocomplete") == "one-time-code"
    assert page.locator("#code").get_attribute("inputmode") == "numeric"
    page.fill("#code", texted_code(settings, phone))
    shot("2-code")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['continue']}')")

    page.fill("#name", "王秀英" if language == "zh-CN" else "Wang Xiuying")
    page.select_option("#community", "wulihe")
    page.check("input[name=age_band][value='60-74']")
    page.check("input[name=gender][value=female]")
    page.select_option("#occupation", "retired")
    page.check("input[name=participant_type][value=resident]")
    shot("3-profile")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['continue']}')")

    page.check("input[name=roles][value=judge]")
    page.check("#consent_judge")
    page.check("input[name=roles][value=subscriber]")
    page.check("#consent_subscriber")
    page.check("input[name=notice_kinds][value=appointment]")  # nothing is ticked in advance
    shot("4-roles")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['continue']}')")
    shot("5-check")
    with page.expect_navigation():
        page.click(f"button:has-text('{words['confirm']}')")

    assert page.locator("h1").inner_text() == words["done"]
    shot("6-done")
    resident = db.execute(select(Resident)).scalar_one()
    assert resident.phone == "+86" + phone
    assert resident.active_roles() == {"judge", "subscriber"}
    assert resident.locale == ("zh_CN" if language == "zh-CN" else "en")

    page.goto(live_server.url + "/me")
    shot("7-me")


def test_pages_are_usable_at_320_px_and_in_large_text(
    live_server: LiveServer, browser: Any, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_extra_http_headers({"Accept-Language": "zh-CN"})
    page.goto(live_server.url + "/join")
    fits_a_phone(page)
    page.click("text=大字号")
    assert page.locator("html").get_attribute("class") == "large"
    fits_a_phone(page)
    page.screenshot(path=str(output_dir / "join-320-large-zh-CN.png"), full_page=True)
    context.close()
