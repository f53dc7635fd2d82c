"""The organizer's view of a notice's texts in headless Chromium at a phone's viewport, both languages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from engage.notices.models import Notice
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import no_horizontal_scroll, organizer, tap_targets_are_large
from tests.support import LiveServer

pytestmark = pytest.mark.browser


def texts_in_every_state(db: Session) -> int:
    now = datetime.now(UTC)
    notice = Notice(
        kind="stage_result", title_zh="民主测评结果", title_en="Assessment results", body_zh="已公示。",
        body_en="Out.", audience="all", community_codes=[], status="published", published_at=now,
        created_by="organizer:1",
    )  # fmt: skip
    db.add(notice)
    db.commit()
    shapes = [
        ("sent", "delivered", None),
        ("sent", "delivered", None),
        ("sent", None, None),
        ("sent", "undelivered", 30003),
        ("failed", None, 21211),
        ("failed", None, 21610),
        ("queued", None, None),
    ]
    db.execute(
        insert(SmsMessage),
        [
            {"to": f"+8613800000{n:03d}", "body": "x", "status": status, "delivery_status": report,
             "error_code": code, "attempts": 1, "notice_id": notice.id, "created_at": now}
            for n, (status, report, code) in enumerate(shapes)
        ],
    )  # fmt: skip
    db.commit()
    return notice.id


@pytest.mark.parametrize(
    ("language", "delivered", "retry", "again"),
    [
        ("zh-CN", "已送达", "重试失败短信", "确认重发"),
        ("en", "Delivered", "Retry failed texts", "Send them again"),
    ],
)
def test_an_organizer_follows_and_retries_a_notices_texts_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    db: Session,
    phone_page: Any,
    output_dir: Path,
    language: str,
    delivered: str,
    retry: str,
    again: str,
) -> None:
    notice_id = texts_in_every_state(db)
    password = organizer(settings, "lin@district.gov.cn", "organizer")
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"{live_server.url}/login")
    page.fill("#email", "lin@district.gov.cn")
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")

    page.goto(f"{live_server.url}/organizer/notices/{notice_id}/deliveries")
    row = page.locator("tr", has_text=delivered)
    assert row.locator("td").inner_text() == "2"
    assert page.locator("text=30003").is_visible() and page.locator("text=21211").is_visible()
    no_horizontal_scroll(page)
    tap_targets_are_large(page)
    page.screenshot(path=str(output_dir / f"notice-deliveries-{language}.png"), full_page=True)

    with page.expect_navigation():
        page.click(f"a:has-text('{retry}')")  # a confirmation page first: sending again is billed
    with page.expect_navigation():
        page.click(f"button:has-text('{again}')")
    assert page.locator("[role=status]").first.is_visible()
    assert page.locator("a", has_text=retry).count() == 0  # nothing left worth retrying
    page.screenshot(path=str(output_dir / f"notice-deliveries-retried-{language}.png"), full_page=True)
