"""Issue 14, the panels part, in a browser at a laptop's size (1280x800), in Chinese and in English: an
organizer signs in and from then on only clicks and types into forms (no API, no typed address). They
add a community, create a panel, set quotas (an infeasible set is explained with the smallest change,
then fixed), freeze, draw, invite, watch replies arrive on the live bar (one by text through the signed
inbound webhook, one on a member's personal link) and call a reserve. Every panel page passes axe
(no serious or critical violation) and, in Chinese, the page scan; screenshots of every step go to
test-output/console-panels-<lang>/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.keys import Purpose
from engage.panels.models import PanelMember
from engage.panels.seats import links
from engage.residents.models import Resident
from engage.settings import Settings
from engage.testing.fake_twilio import FakeTwilio
from tests import zh_scan
from tests.factories import axe_problems, organizer
from tests.panels.console_support import add_volunteers, members_of
from tests.support import LiveServer, listening_socket, make_settings, twilio_environment, url_of

pytestmark = pytest.mark.browser

OUR_NUMBER = "+8610690000"
WORDS = {
    "zh-CN": {
        "infeasible": "这些配额无法满足",
        "relax": "把专家的最少人数从7降到6",
        "feasible": "这些配额可以满足",
        "saved": "已保存：西塔社区。",
        "frozen": "报名池已冻结",
        "drawn": "抽签完成",
        "sending": "正在发送8条邀请",
        "cost": "¥",
        "replaced": "已由候补人员",
    },
    "en": {
        "infeasible": "These quotas cannot be met",
        "relax": "lower the minimum of Experts from 7 to 6",
        "feasible": "These quotas can be met",
        "saved": "Saved: Xita.",
        "frozen": "The pool is frozen",
        "drawn": "The panel is drawn",
        "sending": "8 invitations are being sent",
        "cost": "CN¥",
        "replaced": "is replaced by the reserve",
    },
}


@dataclass
class Town:
    url: str
    settings: Settings
    fake: FakeTwilio
    db: Session


@pytest.fixture
def town(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Session
) -> Iterator[Town]:
    """A live server that knows its own address (Twilio signs it, the links carry it) and 42 volunteers."""
    sock = listening_socket()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=url_of(sock),
        **twilio_environment(fake_twilio),
    )
    add_volunteers(db)
    with LiveServer(create_app(settings), sock) as server:
        yield Town(server.url, settings, fake_twilio, db)


def _replies(page: Any) -> list[int]:
    """The numbers of the replies bar's table: confirmed, declined, no answer, waiting, reserve, texted."""
    cells = page.locator("#replies-chart-table tbody tr td").all_inner_texts()
    return [int(c) for c in cells]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_an_organizer_runs_a_panel_from_the_console(
    town: Town, browser: Any, output_dir: Path, language: str
) -> None:
    words = WORDS[language]
    shots = output_dir / f"console-panels-{language}"
    shutil.rmtree(shots, ignore_errors=True)  # only this run's pictures
    shots.mkdir(parents=True)
    # bypass_csp: axe goes in as an inline script, which the pages' own policy refuses.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=language, bypass_csp=True)
    page = context.new_page()
    page.set_extra_http_headers({"Accept-Language": language})
    step = iter(range(1, 100))

    def look(name: str) -> None:
        """Check the page as it stands (axe; the Chinese scan) and keep a picture of it."""
        assert axe_problems(page) == [], page.url
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url
        if language == "zh-CN":
            assert zh_scan.problems(page.content()) == [], page.url
        page.screenshot(path=str(shots / f"{next(step):02d}-{name}.png"), full_page=True)

    password = organizer(town.settings, "lin@district.gov.cn", "organizer")
    page.goto(town.url + "/login")
    page.fill("#email", "lin@district.gov.cn")
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")

    # A community, by its names only.
    page.click('nav.organizer-nav a[href="/organizer/communities"]')
    page.fill("#name_zh", "西塔社区")
    page.fill("#name_en", "Xita")
    with page.expect_navigation():
        page.click('form[action="/organizer/communities"] button[type=submit]')
    assert words["saved"] in page.inner_text("main")
    look("community")

    # A panel.
    page.click('nav.organizer-nav a[href="/organizer/panels"]')
    look("panels")
    page.click('a[href="/organizer/panels/new"]')
    look("new-panel")
    page.fill("#title", "五里河改造评审团")
    page.fill("#size", "8")
    page.fill("#event_date", "12月10日上午9点")
    page.fill("#place", "区政务中心三楼")
    page.fill("#reply_deadline", "2199-12-01T12:00")
    page.fill("#max_prior_service", "3")
    with page.expect_navigation():
        page.click("main form button[type=submit]")

    # Quotas: 6 experts in the pool, so a minimum of 7 cannot be met; the editor says so as one types.
    assert page.url.endswith("/quotas")
    page.fill("#q-participant_type-expert-min", "7")
    page.wait_for_selector(f"#feasibility :text('{words['infeasible']}')", timeout=5000)
    assert words["relax"] in page.inner_text("#feasibility")
    look("quotas-infeasible")
    page.fill("#q-participant_type-expert-min", "2")
    page.fill("#q-gender-female-min", "3")
    page.fill("#q-gender-female-max", "5")
    page.wait_for_selector(f"#feasibility :text('{words['feasible']}')", timeout=5000)
    look("quotas-feasible")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    panel_path = page.url.replace(town.url, "")
    panel_id = int(panel_path.rsplit("/", 1)[1])
    look("draft")

    # Freeze, behind its page.
    page.click(f'a[href="{panel_path}/freeze"]')
    look("freeze-confirm")
    assert members_of(town.db, panel_id) == []  # nothing fixed by the click
    with page.expect_navigation():
        page.click("form.confirm-form button[type=submit]")
    assert words["frozen"] in page.inner_text(".flash")
    look("frozen")

    # Draw, with the revealed seed parts.
    page.click(f'a[href="{panel_path}/draw"]')
    look("draw-confirm")
    page.fill("#seed_parts", "district office: 7f3a91c2\nnotary: 20261126-0815")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert words["drawn"] in page.inner_text(".flash")
    look("drawn")

    # Invite: the page states the texts and their cost first.
    page.click(f'a[href="{panel_path}/invite"]')
    assert words["cost"] in page.inner_text("main")
    assert town.fake.messages_to(_phone(town.db, _seated(town.db, panel_id)[0])) == []
    look("invite-confirm")
    with page.expect_navigation():
        page.click("form.confirm-form button[type=submit]")
    assert words["sending"] in page.inner_text(".flash")
    assert _replies(page) == [0, 0, 0, 8, 0, 8]
    look("invited")

    # Replies arrive: the bar moves within 5 s, without reloading the page.
    first, second, silent = _seated(town.db, panel_id)[:3]
    answered = town.fake.send_inbound(
        f"{town.url}/webhooks/twilio/inbound", _phone(town.db, first), OUR_NUMBER, "1"
    )
    assert answered.status == 200
    page.wait_for_function(
        "() => document.querySelector('#replies-chart-table tbody td')?.textContent.trim() === '1'",
        timeout=5000,
    )
    assert _replies(page) == [1, 0, 0, 7, 0, 8]
    resident = browser.new_context(viewport={"width": 390, "height": 844}, locale=language)
    phone = resident.new_page()
    phone.set_extra_http_headers({"Accept-Language": language})
    phone.goto(links.link(town.settings.public_base_url, town.settings.key(Purpose.PERSONAL_LINK), second.id))
    with phone.expect_navigation():
        phone.click("form button.secondary")  # decline
    resident.close()
    page.wait_for_function(
        "() => document.querySelectorAll('#replies-chart-table tbody td')[1]?.textContent.trim() === '1'",
        timeout=5000,
    )
    # The decline hands the seat to a reserve, invited at once: still 7 waiting, one of them a reserve.
    assert _replies(page) == [1, 1, 0, 6, 1, 9]
    look("replies")

    # A member who does not answer: call a reserve, behind its page.
    page.click(f'a[href="{panel_path}/members/{silent.id}/no-answer"]')
    look("reserve-confirm")
    assert next(m for m in members_of(town.db, panel_id) if m.id == silent.id).status == "invited"
    with page.expect_navigation():
        page.click("form.confirm-form button[type=submit]")
    assert words["replaced"] in page.inner_text(".flash")
    page.wait_for_function(
        "() => document.querySelectorAll('#replies-chart-table tbody td')[2]?.textContent.trim() === '1'",
        timeout=5000,
    )
    assert _replies(page) == [1, 1, 1, 5, 2, 10]
    look("reserve-called")

    # The details can still change once drawn, but not the seats.
    page.click(f'a[href="{panel_path}/edit"]')
    assert page.locator("#size").count() == 0
    look("edit")
    page.fill("#place", "区政务中心四楼")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "区政务中心四楼" in page.inner_text("main")
    context.close()


def _seated(db: Session, panel_id: int) -> list[PanelMember]:
    return sorted(
        (m for m in members_of(db, panel_id) if m.status in ("drawn", "invited")), key=lambda m: m.ticket
    )


def _phone(db: Session, member: PanelMember) -> str:
    phone = db.execute(select(Resident.phone).where(Resident.id == member.resident_id)).scalar_one()
    assert phone
    return str(phone)
