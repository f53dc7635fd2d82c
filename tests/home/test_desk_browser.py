"""An organizer on a laptop (1280x800), in Chinese and in English, clicking from the sign-in page only:
the desk, the audit log, writing a notice while its cost is counted live, publishing it through the
confirmation page, and watching the delivery funnel fill as the texts go out and their delivery reports
arrive (each change on screen within 5 s, by htmx polling under the real Content Security Policy).
Every page is checked by axe (0 serious or critical) and, in Chinese, by the page scan."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.notices.models import Notice
from engage.sms.models import SmsMessage
from tests.factories import NoticeDistrict, Plan, add_subscribers, axe_problems, organizer, phone
from tests.support import SECRET, process_environment
from tests.zh_scan import problems as zh_problems

pytestmark = pytest.mark.browser
LAPTOP = {"width": 1280, "height": 800}

WORDS = {
    "zh-CN": {
        "notices": "公告",
        "audit": "审计日志",
        "desk": "工作台",
        "save": "保存草稿",
        "publish": "发布并通知订阅者……",
        "confirm": "发布并发送短信",
        "published": "公告已发布",
        "finished": "已完成",
        "delivered": "已送达",
        "failed": "失败",
        "reason": "手机关机或不在服务区",
        "texts": "短信",
        "currency": "¥",
        "total": "合计",
    },
    "en": {
        "notices": "Notices",
        "audit": "Audit log",
        "desk": "Desk",
        "save": "Save the draft",
        "publish": "Publish and text the subscribers…",
        "confirm": "Publish and send the texts",
        "published": "Notice published",
        "finished": "Finished",
        "delivered": "Delivered",
        "failed": "Failed",
        "reason": "Phone off or out of coverage",
        "texts": "Texts",
        "currency": "CN¥",
        "total": "In total",
    },
}


def _sign_in(page: Any, url: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#email", "wang@district.gov.cn")
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")


def _nav(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.locator("nav.organizer-nav").get_by_role("link", name=name, exact=True).click()


def _cell(page: Any, table: str, row: str, column: int) -> str:
    """A cell of a chart's table: the row whose header is `row`, the `column`th number cell."""
    return str(
        page.locator(f"{table} tr", has=page.locator("th", has_text=row))
        .locator("td")
        .nth(column)
        .inner_text()
    )


def _checked(page: Any, language: str, where: str, found: list[str]) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > LAPTOP["width"]:
        found.append(f"{language} {where}: the page is {wide}px wide on a {LAPTOP['width']}px screen")
    found += [f"{language} {where} axe: {problem}" for problem in axe_problems(page)]
    if language == "zh-CN":
        found += [f"{language} {where} zh: {problem}" for problem in zh_problems(page.content())]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_an_organizer_writes_prices_publishes_and_watches_a_notice_go_out_on_a_laptop(
    notice_district: NoticeDistrict,
    db: Session,
    browser: Any,
    output_dir: Path,
    language: str,
) -> None:
    words = WORDS[language]
    shots = output_dir / f"console-desk-{language}"
    shots.mkdir(parents=True, exist_ok=True)
    add_subscribers(db, [Plan(phone(n)) for n in range(1, 5)] + [Plan(phone(5), locale="en")])
    password = organizer(notice_district.settings, "wang@district.gov.cn", "organizer")

    # The real policy: htmx must work without inline scripts or styles.
    context = browser.new_context(viewport=LAPTOP, locale=language)
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.set_extra_http_headers({"Accept-Language": language})
    _sign_in(page, notice_district.url, password)
    page.screenshot(path=str(shots / "1-desk.png"), full_page=True)

    _nav(page, words["notices"])
    english_chars = page.locator("#sms-meter tbody tr").nth(1).locator("td").nth(1)
    before = int(english_chars.inner_text())
    page.fill("#title_zh", "推荐工作开始")
    page.fill("#title_en", "Nominations open")
    page.fill("#body_zh", "街道副主任选拔推荐即日开始，欢迎居民推荐。")
    page.fill("#body_en", "Nominations for the street deputy directors open today.")
    # The count follows the typing, from the server, before anything is saved.
    page.wait_for_function(
        f"() => Number(document.querySelectorAll('#sms-meter tbody tr')[1].querySelectorAll('td')[1].textContent) > {before + 40}",
        timeout=5000,
    )
    meter = page.locator("#sms-meter")
    assert "GSM-7" in meter.inner_text() and "UCS-2" in meter.inner_text()
    assert words["currency"] in meter.locator("tfoot").inner_text()
    assert meter.locator("tfoot td").nth(3).inner_text() == "5"  # recipients in all
    page.screenshot(path=str(shots / "2-composer-with-cost.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name=words["save"]).click()
    notice_url = page.url
    page.screenshot(path=str(shots / "3-draft.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name=words["publish"]).click()
    assert "5" in page.locator("h1").inner_text() and words["currency"] in page.content()
    page.screenshot(path=str(shots / "4-confirm-publish.png"), full_page=True)
    db.expire_all()
    assert db.execute(select(Notice.status)).scalar_one() == "draft"  # the confirmation changed nothing

    with page.expect_navigation():
        page.get_by_role("button", name=words["confirm"]).click()
    assert page.url == notice_url
    assert words["published"] in page.locator(".flash").inner_text()

    # The fan-out and the send batches, by a real worker process (burst: it stops when the queues are
    # empty); the page polls meanwhile.
    worker = subprocess.run(
        [sys.executable, "-m", "engage", "worker", "--burst"],
        env=process_environment(notice_district.settings, SECRET),
        capture_output=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    page.wait_for_selector(f"#funnel [role=status]:has-text('{words['finished']}')", timeout=5000)
    page.screenshot(path=str(shots / "5-funnel-sent.png"), full_page=True)

    sids = [m.sid for m in notice_district.fake.messages]
    assert len(sids) == 5
    started = time.monotonic()
    for sid in sids[:-1]:
        assert notice_district.fake.deliver(sid, "delivered").status == 200
    assert notice_district.fake.deliver(sids[-1], "undelivered", error_code=30003).status == 200
    # The progress table has a row per state: queued, sending, sent, delivered, failed, opted out, all.
    page.wait_for_function(
        "() => { const t = document.getElementById('funnel-progress-table'); if (!t) return false;"
        " const cells = t.querySelectorAll('tbody td'); return cells[3] && cells[3].textContent.trim() === '4'"
        " && cells[4].textContent.trim() === '1'; }",
        timeout=5000,
    )
    assert _cell(page, "#funnel-progress-table", words["delivered"], 0) == "4"
    assert time.monotonic() - started < 5.5
    assert _cell(page, "#funnel-failures-table", words["reason"], 0) == "1"
    db.expire_all()
    stored = db.execute(select(SmsMessage.delivery_status)).scalars().all()
    assert sorted(s or "" for s in stored) == ["delivered"] * 4 + ["undelivered"]
    page.wait_for_timeout(2500)  # nothing left to report: the polling stops
    assert page.locator("#funnel[hx-trigger]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]  # laptop layout fits
    page.screenshot(path=str(shots / "6-funnel-finished.png"), full_page=True)

    _nav(page, words["audit"])
    page.screenshot(path=str(shots / "7-audit.png"), full_page=True)
    assert refused == [], refused
    context.close()

    # axe is injected as an inline script, which the policy refuses: a second context bypasses it.
    audited = browser.new_context(viewport=LAPTOP, locale=language, bypass_csp=True)
    page = audited.new_page()
    page.set_extra_http_headers({"Accept-Language": language})
    found: list[str] = []
    _sign_in(page, notice_district.url, password)
    _checked(page, language, "desk", found)
    _nav(page, words["audit"])
    _checked(page, language, "audit", found)
    _nav(page, words["notices"])
    _checked(page, language, "notices", found)
    with page.expect_navigation():
        page.get_by_role("link", name="推荐工作开始" if language == "zh-CN" else "Nominations open").click()
    _checked(page, language, "notice", found)
    with page.expect_navigation():
        page.locator("a.button", has_text="…").first.click()  # close the notice: its confirmation page
    _checked(page, language, "confirm", found)
    audited.close()
    assert found == [], "\n".join(found)
