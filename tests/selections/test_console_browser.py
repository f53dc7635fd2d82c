"""An organizer runs a selection from the console in headless Chromium at 1280x800, in Chinese and in
English, by clicking only (no typed address after the sign-in page, no API call): the wizard from
nothing to a published selection, adding the applicants (one, then a pasted list after a refused line),
inviting evaluators, watching turnout rise as ballots arrive, closing the assessment and seeing who is
out at the 80 % line. Every page is checked by axe (0 serious or critical) and, in Chinese, by the page
scan. Screenshots go to test-output/console-selections-<lang>/.

One thing happens outside the organizer's browser, as it does in life: evaluators cast their ballots
through their own links."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.residents.models import ResidentRoleKind
from engage.selections.stages import assessment as balloting
from engage.settings import Settings
from tests.factories import axe_problems, organizer
from tests.selections.console_world import RATINGS, residents, tokens
from tests.support import LiveServer
from tests.zh_scan import problems as zh_problems

pytestmark = pytest.mark.browser

WORDS = {
    "zh-CN": {
        "selections": "选拔",
        "title": "街道副主任公开选拔",
        "posts": ["党建办副主任", "社区服务副主任"],
        "applicants": "添加人选",
        "by_post": "各岗位人选",
        "add_one": "添加人选",
        "add_all": "全部添加",
        "added_one": "已为“党建办副主任”添加1名人选。",
        "added_two": "已为“社区服务副主任”添加2名人选。",
        "no_name": "第2行：逗号前没有姓名",
        "fixed": "已不能再添加人选",
        "new": "新建选拔（分步填写）",
        "next": "下一页",
        "save": "保存草稿并继续",
        "publish": "立即发布",
        "open": "立即开始…",
        "close": "立即结束…",
        "open_now": "立即开始",
        "close_now": "立即结束",
        "invite": "邀请评议员或评委…",
        "preview": "预览短信和费用",
        "send": "发送邀请",
        "groups": ["街道领导", "街道领导", "社区工作人员", "社区工作人员", "居民代表", "居民代表"],
        "published": "已发布，公开页面已上线。",
        "invited": "已邀请6人。",
        "out": "低于认可线被淘汰：李华。",
        "out_cell": "淘汰：低于认可线",
        "withdraw": "退出…",
        "cancel": "取消",
    },
    "en": {
        "selections": "Selections",
        "title": "Street deputy director: open selection",
        "posts": ["Party office deputy", "Community services deputy"],
        "applicants": "Add applicants",
        "by_post": "Applicants by post",
        "add_one": "Add the applicant",
        "add_all": "Add them all",
        "added_one": "1 applicant added for “Party office deputy”.",
        "added_two": "2 applicants added for “Community services deputy”.",
        "no_name": "line 2: no name before the comma",
        "fixed": "Nobody can be added any more",
        "new": "New selection (step by step)",
        "next": "Next",
        "save": "Save the draft and continue",
        "publish": "Publish now",
        "open": "Open now…",
        "close": "Close now…",
        "open_now": "Open now",
        "close_now": "Close now",
        "invite": "Invite evaluators or raters…",
        "preview": "Preview the texts and cost",
        "send": "Send the invitations",
        "groups": [
            "Street leadership",
            "Street leadership",
            "Community staff",
            "Community staff",
            "Resident representatives",
            "Resident representatives",
        ],
        "published": "Published. The public page is up.",
        "invited": "6 people invited.",
        "out": "Out below the approval line: 李华.",
        "out_cell": "out: below the line",
        "withdraw": "Withdraw…",
        "cancel": "Cancel",
    },
}


class Visit:
    """The organizer's browser: clicks, and after each page a screenshot, axe and the Chinese scan."""

    def __init__(self, page: Any, folder: Path, language: str) -> None:
        self.page, self.folder, self.language = page, folder, language
        self.found: list[str] = []
        self.shots = 0

    def check(self, name: str) -> None:
        self.shots += 1
        self.page.screenshot(path=str(self.folder / f"{self.shots:02d}-{name}.png"), full_page=True)
        where = self.page.url.split("//", 1)[-1].split("/", 1)[-1]
        self.found += [f"{where}: {p}" for p in axe_problems(self.page)]
        if self.language == "zh-CN":
            self.found += [f"{where}: {p}" for p in zh_problems(self.page.content())]

    def click(self, role: str, name: str, *, first: bool = False) -> None:
        target = self.page.get_by_role(role, name=name, exact=True)
        with self.page.expect_navigation():
            (target.first if first else target).click()


def _wizard(visit: Visit, words: dict[str, Any]) -> None:
    page = visit.page
    visit.click("link", words["selections"], first=True)
    visit.check("selections")
    visit.click("link", words["new"])
    page.fill("#title_zh", "街道副主任公开选拔")
    page.fill("#title_en", "Street deputy director: open selection")
    page.fill("#unit", "五里河街道")
    page.fill("#eligibility_zh", "年满25周岁，大学本科以上学历。")
    page.fill("#eligibility_en", "Aged 25 or over, with a university degree.")
    # A first try without a field shows the problem named beside it.
    page.fill("#title_en", "")
    visit.click("button", words["next"])
    assert page.locator("#title_en-error").is_visible()
    visit.check("wizard-basics-problem")
    page.fill("#title_en", "Street deputy director: open selection")
    visit.click("button", words["next"])
    for row, (zh, en, seats) in enumerate(
        [("党建办副主任", "Party office deputy", "1"), ("社区服务副主任", "Community services deputy", "1")]
    ):
        page.fill(f"#posts-{row}-title_zh", zh)
        page.fill(f"#posts-{row}-title_en", en)
        page.fill(f"#posts-{row}-seats", seats)
    visit.check("wizard-posts")
    visit.click("button", words["next"])
    visit.check("wizard-timetable")  # the suggested dates, on working days, beside the calendar
    visit.click("button", words["next"])
    visit.check("wizard-rubric")
    visit.click("button", words["next"])
    visit.check("wizard-evaluators")
    visit.click("button", words["next"])
    visit.check("wizard-review")
    visit.click("button", words["save"])
    visit.check("publish-confirmation")
    visit.click("button", words["publish"])
    assert words["published"] in page.content()
    visit.check("published")


def _applicants(visit: Visit, words: dict[str, Any]) -> None:
    """Two posts, three applicants: one typed in, two pasted as lines (after a line without a name is
    refused and kept for correcting)."""
    page = visit.page
    visit.click("link", words["applicants"])
    visit.check("applicants")
    page.select_option("#post_id", label=words["posts"][0])
    page.fill("#name", "王明")
    page.fill("#work_unit", "五里河街道党建办")
    visit.click("button", words["add_one"])
    assert words["added_one"] in page.content()
    page.select_option("#several_post_id", label=words["posts"][1])
    page.fill("#several", "李华，五里河社区居委会\n，第一社区")
    visit.click("button", words["add_all"])
    assert page.locator("#several-error").is_visible() and words["no_name"] in page.content()
    assert page.input_value("#several") == "李华，五里河社区居委会\n，第一社区"
    visit.check("applicants-problem")
    page.fill("#several", "李华，五里河社区居委会\n张伟，第一社区")
    visit.click("button", words["add_all"])
    assert words["added_two"] in page.content()
    visit.check("applicants-added")
    page.set_viewport_size({"width": 390, "height": 844})  # the list checked on a phone: no sideways scroll
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    visit.check("applicants-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    visit.click("link", words["title"])


def _stage(visit: Visit, words: dict[str, Any], move: str, name: str) -> None:
    visit.click("link", words[move], first=True)
    visit.check(name)
    visit.click("button", words[f"{move}_now"])


def _turnout_cell(page: Any, row: int) -> str:
    return str(page.locator("#turnout-table tbody tr").nth(row).locator("td").nth(1).inner_text())


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_an_organizer_runs_a_selection_by_clicking(
    live_server: LiveServer, settings: Settings, db: Session, browser: Any, output_dir: Path, language: str
) -> None:
    words = WORDS[language]
    folder = output_dir / f"console-selections-{language}"
    shutil.rmtree(folder, ignore_errors=True)  # numbered shots: none left over from an earlier run
    folder.mkdir(parents=True)
    evaluators = residents(db, "10", 6, ResidentRoleKind.EVALUATOR, english=5)
    residents(db, "20", 4, ResidentRoleKind.SUBSCRIBER, english=3)
    password = organizer(settings, "lin@district.gov.cn", "organizer")
    # bypass_csp: axe is injected as an inline script, which the pages' policy refuses.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=language, bypass_csp=True)
    page = context.new_page()
    page.set_extra_http_headers({"Accept-Language": language})
    visit = Visit(page, folder, language)
    page.goto(live_server.url + "/login")
    page.fill("#email", "lin@district.gov.cn")
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")

    _wizard(visit, words)
    _applicants(visit, words)
    _stage(visit, words, "open", "nomination-open-confirmation")
    _stage(visit, words, "close", "nomination-close-confirmation")
    _stage(visit, words, "open", "assessment-open-confirmation")
    # From now on the list of applicants is fixed, and their page says so.
    visit.click("link", words["by_post"])
    assert words["fixed"] in page.content() and page.locator("#several").count() == 0
    visit.check("applicants-fixed")
    visit.click("link", words["title"])

    visit.click("link", words["invite"])
    for resident_id, group in zip(evaluators, words["groups"], strict=True):
        page.select_option(f"#group-{resident_id}", label=group)
    visit.check("invite-choose")
    visit.click("button", words["preview"])
    visit.check("invite-confirmation")
    visit.click("button", words["send"])
    assert words["invited"] in page.content()
    visit.check("invited")

    # Ballots arrive through the evaluators' own links; the open page follows without a reload.
    assert _turnout_cell(page, 0) == "0"
    db.expire_all()  # the test's session read the selection before the browser moved its stages
    for token, ratings in zip(tokens(db), RATINGS, strict=True):
        balloting.cast_ballot(db, token, {selection_id_of(db, i): r for i, r in ratings.items()})
        db.commit()
    started = time.monotonic()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#turnout-table tbody tr td:nth-of-type(2)')].map(c => c.textContent).join() === '2,2,2'",
        timeout=5000,
    )
    assert time.monotonic() - started < 5
    visit.check("turnout")

    _stage(visit, words, "close", "assessment-close-confirmation")
    content = page.content()
    assert words["out"] in content and words["out_cell"] in content
    page.locator("#approval-table").scroll_into_view_if_needed()
    visit.check("assessment-closed")
    # Withdrawing asks first too; cancelling leaves everything as it was.
    visit.click("link", words["withdraw"], first=True)
    visit.check("withdraw-confirmation")
    visit.click("link", words["cancel"])
    assert words["withdraw"] in page.content()
    context.close()
    assert visit.found == [], "\n".join(visit.found)


def selection_id_of(db: Session, index: int) -> int:
    from engage.selections.models import Applicant

    return [a.id for a in db.execute(select(Applicant).order_by(Applicant.id)).scalars()][index]
