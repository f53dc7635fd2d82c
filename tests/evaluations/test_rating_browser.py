"""The rating page in headless Chromium at a phone's viewport (390x844), in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.evaluations.models import Rating
from engage.settings import Settings
from tests.factories import (
    add_raters,
    campaign_body,
    fits_a_phone,
    organizer,
    phone_of,
    token_for,
)
from tests.support import LiveServer, run_jobs

pytestmark = pytest.mark.browser


def _personal_link(live_server: LiveServer, settings: Settings, resident: int) -> str:
    headers = {"Authorization": f"Bearer {token_for(settings, 'wu@district.gov.cn', 'organizer')}"}
    api = f"{live_server.url}/api/v1/evaluations"
    campaign = httpx.post(api, json=campaign_body(), headers=headers).json()
    contact = {
        "subject_id": campaign["subjects"][0]["id"],
        "phone": phone_of(resident),
        "served_on": "2026-11-20",
        "matter": "户籍证明",
    }
    assert httpx.post(f"{api}/{campaign['id']}/contacts", json=contact, headers=headers).status_code == 201
    assert httpx.post(f"{api}/{campaign['id']}/invite", headers=headers).json() == {"texts": 1}
    run_jobs(settings)
    for line in settings.outbox_path.read_text().splitlines():
        text = json.loads(line)
        found = re.search(r"/e/[A-Za-z0-9_-]{22}", text["body"])
        if text["to"] == phone_of(resident) and found:
            return found.group(0)
    raise AssertionError("no invitation in the outbox")


@pytest.mark.parametrize(
    ("language", "heading", "label", "thanks"),
    [
        ("zh-CN", "您对五里河社区便民服务窗口满意吗？", "很满意", "谢谢，您的评价已记录。"),
        (
            "en",
            "How satisfied are you with 五里河社区 便民服务窗口?",
            "Very satisfied",
            "Thank you, your rating is recorded.",
        ),
    ],
)
def test_resident_rates_a_service_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    db: Session,
    phone_page: Any,
    output_dir: Path,
    language: str,
    heading: str,
    label: str,
    thanks: str,
) -> None:
    add_raters(db, 5)
    # Resident 0 reads English, resident 1 Chinese: the page speaks theirs, whatever the browser asks.
    link = _personal_link(live_server, settings, 0 if language == "en" else 1)
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": "zh-CN" if language == "en" else "en"})
    page.goto(f"{live_server.url}{link}")
    assert page.locator("h1").inner_text() == heading
    assert page.locator("fieldset.scale").count() == 3
    assert page.locator("label.choice", has_text=label).count() == 3
    fits_a_phone(page)
    page.screenshot(path=str(output_dir / f"evaluation-rate-{language}.png"), full_page=True)

    # Leaving a question out is named next to it (the browser's own check is bypassed to see ours).
    page.evaluate("document.querySelector('form.rating').noValidate = true")
    page.locator("#q1 label.choice").nth(4).click()
    page.locator("#q2 label.choice").nth(3).click()
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("#q3-error").is_visible()
    page.screenshot(path=str(output_dir / f"evaluation-rate-error-{language}.png"), full_page=True)

    page.locator("#q3 label.choice").nth(4).click()
    page.fill("#comment", "很好 138 0013 8000")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert thanks in page.locator(".notice").inner_text()
    assert page.locator("#comment").input_value() == "很好 [***]"
    fits_a_phone(page)
    page.screenshot(path=str(output_dir / f"evaluation-rated-{language}.png"), full_page=True)
    db.expire_all()
    assert [r.scores for r in db.execute(select(Rating)).scalars()] == [[5, 4, 5]]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_organizer_reads_results_and_moderates_on_a_phone(
    live_server: LiveServer, settings: Settings, db: Session, phone_page: Any, output_dir: Path, language: str
) -> None:
    add_raters(db, 5)
    link = _personal_link(live_server, settings, 2)
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"{live_server.url}{link}")
    for question in ("#q1", "#q2", "#q3"):
        page.locator(f"{question} label.choice").nth(3).click()
    page.fill("#comment", "窗口人员耐心 +86 139-1234-5678")
    with page.expect_navigation():
        page.click("button[type=submit]")

    password = organizer(settings, "feng@district.gov.cn", "organizer")
    page.goto(f"{live_server.url}/login")
    page.fill("#email", "feng@district.gov.cn")
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/organizer")
    page.goto(f"{live_server.url}/organizer/evaluations/1")
    assert "窗口人员耐心 [***]" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    with page.expect_navigation():
        page.locator("#comments ~ ul form button").first.click()
    assert "100.0%" in page.content()
    page.screenshot(path=str(output_dir / f"evaluation-organizer-{language}.png"), full_page=True)
