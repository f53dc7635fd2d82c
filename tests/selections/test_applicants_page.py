"""The applicants page of a selection: reached from the selection's page, it lists the applicants by post
and adds them (one, several pasted as lines, or a nominee who agreed) until the democratic assessment
opens. Bad input is refused with the field named and what was typed kept; nothing is added by halves;
every added applicant leaves an audit entry."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.residents.models import ResidentRoleKind
from engage.selections.models import (
    Applicant,
    ConsentStatus,
    Nomination,
    Nominee,
    Selection,
    StageKind,
    StageStatus,
)
from engage.settings import Settings
from tests.factories import organizer, sign_in
from tests.selections.console_world import build, residents


def _signed_in(client: TestClient[Litestar], settings: Settings, language: str = "en") -> None:
    client.headers["Accept-Language"] = language
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))


def _page(client: TestClient[Litestar], selection_id: int) -> str:
    """The applicants page, reached by its link on the selection's page, as a click reaches it."""
    html = client.get(f"/organizer/selections/{selection_id}").text
    found = re.search(r'<a[^>]*href="(/organizer/selections/\d+/applicants)"', html)
    assert found, "no link to the applicants page"
    return client.get(found.group(1)).text


def _submit(client: TestClient[Litestar], html: str, action: str, fields: dict[str, str]) -> object:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert token and f'action="{action}"' in html
    return client.post(action, data=fields | {"_csrf_token": token.group(1)}, follow_redirects=False)


def _names(db: Session, selection_id: int) -> list[tuple[str, str, int]]:
    db.expire_all()
    rows = db.execute(
        select(Applicant).where(Applicant.selection_id == selection_id).order_by(Applicant.id)
    ).scalars()
    return [(a.name, a.work_unit, a.post_id) for a in rows]


def _posts(db: Session, selection_id: int) -> list[int]:
    selection = db.get(Selection, selection_id)
    assert selection is not None
    return [p.id for p in selection.posts]


def _adds(db: Session, selection_id: int) -> int:
    db.expire_all()
    entries = db.execute(
        select(AuditEntry).where(
            AuditEntry.action == "selection.applicant.add", AuditEntry.subject_id == str(selection_id)
        )
    ).scalars()
    return len(list(entries))


def test_an_organizer_adds_one_applicant_and_the_log_records_it(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="published")
    _signed_in(client, settings)
    html = _page(client, world.selection_id)
    assert "Applicants can be added until the democratic assessment opens" in html
    assert html.count('name="_csrf_token"') >= 2
    before, logged = _names(db, world.selection_id), _adds(db, world.selection_id)
    post = _posts(db, world.selection_id)[0]
    action = f"/organizer/selections/{world.selection_id}/applicants/"
    fields = {"post_id": str(post), "name": "  赵  敏 ", "work_unit": "五里河社区居委会"}
    done = _submit(client, html, action, fields)
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == action.rstrip("/")  # type: ignore[attr-defined]
    assert _names(db, world.selection_id) == [*before, ("赵 敏", "五里河社区居委会", post)]
    assert _adds(db, world.selection_id) == logged + 1
    shown = client.get(done.headers["location"]).text  # type: ignore[attr-defined]
    assert "1 applicant added for “Party office deputy”." in shown
    assert "赵 敏" in shown and "五里河社区居委会" in shown


def test_an_organizer_adds_several_for_one_post_from_pasted_lines(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="draft")
    _signed_in(client, settings)
    html = _page(client, world.selection_id)
    before, logged = _names(db, world.selection_id), _adds(db, world.selection_id)
    post = _posts(db, world.selection_id)[1]
    # Either comma, a spreadsheet's tab, no work unit at all, and blank lines between.
    lines = "刘洋, 第一社区\r\n\r\n陈静，五里河街道办事处\n周杰\t文化站\n孙丽\n"
    action = f"/organizer/selections/{world.selection_id}/applicants/several"
    done = _submit(client, html, action, {"several_post_id": str(post), "several": lines})
    assert done.status_code == 303  # type: ignore[attr-defined]
    added = [
        ("刘洋", "第一社区", post),
        ("陈静", "五里河街道办事处", post),
        ("周杰", "文化站", post),
        ("孙丽", "", post),
    ]
    assert _names(db, world.selection_id) == [*before, *added]
    assert _adds(db, world.selection_id) == logged + 4
    assert "4 applicants added for “Community services deputy”." in client.get(action.rsplit("/", 1)[0]).text


def test_bad_input_is_refused_naming_the_field_and_keeping_what_was_typed(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="published")
    _signed_in(client, settings)
    html = _page(client, world.selection_id)
    before = _names(db, world.selection_id)
    post = str(_posts(db, world.selection_id)[0])
    one = f"/organizer/selections/{world.selection_id}/applicants/"
    several = one + "several"
    cases = [
        (
            one,
            {"post_id": post, "name": "  ", "work_unit": "第一社区"},
            "name",
            "Name: required.",
            "第一社区",
        ),
        (
            one,
            {"post_id": post, "name": "王\x07明", "work_unit": ""},
            "name",
            "Name: Contains a character",
            "",
        ),
        (one, {"post_id": "999999", "name": "赵敏", "work_unit": ""}, "post_id", "Post: choose one", "赵敏"),
        (
            one,
            {"post_id": post, "name": "赵敏", "work_unit": "单" * 201},
            "work_unit",
            "Work unit: at most",
            "",
        ),
        (
            several,
            {"several_post_id": "", "several": "刘洋, 第一社区"},
            "several_post_id",
            "Post: choose",
            "刘洋",
        ),
        (
            several,
            {"several_post_id": post, "several": "刘洋, 第一社区\n, 无名单位\n陈静"},
            "several",
            "Applicants, one a line: line 2: no name before the comma",
            "无名单位",
        ),
        (
            several,
            {"several_post_id": post, "several": "刘洋\x00"},
            "several",
            "Applicants, one a line: Contains",
            "",
        ),
        (several, {"several_post_id": post, "several": "\n \n"}, "several", "write at least one line", ""),
    ]
    for action, fields, field, message, kept in cases:
        refused = _submit(client, html, action, fields)
        text = refused.text  # type: ignore[attr-defined]
        assert refused.status_code == 400, (fields, text)  # type: ignore[attr-defined]
        assert f'id="{field}-error"' in text and message in text, (field, message)
        assert 'aria-invalid="true" aria-describedby' in text.split(f'id="{field}"', 1)[1].split(">", 1)[0]
        assert kept in text
    assert _names(db, world.selection_id) == before  # not one of them, not half of a list


def test_a_consenting_nominee_is_added_in_one_click(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="published")
    post = _posts(db, world.selection_id)[0]
    nominator = residents(db, "30", 1, ResidentRoleKind.SUBSCRIBER)[0]
    agreed = Nominee(
        selection_id=world.selection_id,
        post_id=post,
        key="吴刚|第二社区",
        name="吴刚",
        work_unit="第二社区",
        consent=ConsentStatus.GIVEN,
    )
    db.add(agreed)
    db.flush()
    db.add(
        Nomination(
            selection_id=world.selection_id,
            post_id=post,
            resident_id=nominator,
            nominee_id=agreed.id,
            category="resident",
        )
    )
    db.commit()
    _signed_in(client, settings)
    html = _page(client, world.selection_id)
    assert "Nominees who agreed to stand" in html and "吴刚" in html
    action = f"/organizer/selections/{world.selection_id}/applicants/nominees/{agreed.id}"
    done = _submit(client, html, action, {})
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert _names(db, world.selection_id)[-1] == ("吴刚", "第二社区", post)
    shown = client.get(done.headers["location"]).text  # type: ignore[attr-defined]
    assert action not in shown  # offered once: now an applicant, marked as nominated
    assert '吴刚 <span class="small">(nominated)</span>' in shown
    again = _submit(client, html, action, {})
    assert again.status_code == 409 and "already an applicant" in again.text  # type: ignore[attr-defined]
    chinese = client.get(done.headers["location"], headers={"Accept-Language": "zh-CN"}).text  # type: ignore[attr-defined]
    assert '吴刚<span class="small">（经推荐）</span>' in chinese  # no space before a full-width bracket


def test_once_the_assessment_opened_the_page_says_why_nothing_can_be_added(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="assessment")
    _signed_in(client, settings)
    html = _page(client, world.selection_id)
    assert "Nobody can be added any more: the democratic assessment has begun" in html
    assert 'name="name"' not in html and 'name="several"' not in html
    before = _names(db, world.selection_id)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/organizer/selections").text)
    assert token
    post = str(_posts(db, world.selection_id)[0])
    refused = client.post(
        f"/organizer/selections/{world.selection_id}/applicants/",
        data={"post_id": post, "name": "赵敏", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert refused.status_code == 409
    assert "only before the Democratic assessment stage opens" in refused.text
    assert _names(db, world.selection_id) == before


def test_the_margin_is_shown_until_the_speech_stage_opens(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    """It decides whether the speech stage may open; afterwards a "✗" beside a finished selection would
    read as a fault."""
    world = build(db, settings, until="assessment")
    _signed_in(client, settings)
    assert "in the running, at least" in _page(client, world.selection_id)
    selection = db.get(Selection, world.selection_id)
    assert selection is not None
    selection.stage(StageKind.SPEECH).status = StageStatus.OPEN
    db.commit()
    assert "in the running, at least" not in _page(client, world.selection_id)


def test_the_applicants_page_reads_as_chinese(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    from tests.zh_scan import problems

    world = build(db, settings, until="published")
    _signed_in(client, settings, "zh-CN")
    html = _page(client, world.selection_id)
    assert problems(html) == []
    refused = _submit(
        client,
        html,
        f"/organizer/selections/{world.selection_id}/applicants/several",
        {"several_post_id": "", "several": ", 无名"},
    )
    assert refused.status_code == 400 and problems(refused.text) == []  # type: ignore[attr-defined]
