"""The panel console (issue 14): an organizer creates and edits a panel and sets its quotas on the pages,
sees an infeasible set explained with the smallest change that would work, and every irreversible step
(freeze, draw, invite, call a reserve) first shows what it will do; only the confirmed POST acts and
reports its result. The charts' tables hold the stored counts."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.panels.models import SEATED, MemberStatus, Panel
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import csrf_token, organizer, sign_in
from tests.panels.console_support import add_volunteers, members_of, panel_of, post_form, table_rows

SEED = "district office: 7f3a91c2\nnotary: 20261126-0815"
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def staff(client: TestClient[Litestar], settings: Settings, db: Session) -> TestClient[Litestar]:
    add_volunteers(db)
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    client.headers["Accept-Language"] = "en"  # results are worded when the step is done, in its language
    return client


def _new_panel(client: TestClient[Litestar], **fields: str) -> int:
    given = {
        "title": "五里河改造评审团",
        "size": "12",
        "event_date": "12月10日上午9点",
        "place": "区政务中心",
    }
    made = post_form(client, "/organizer/panels/new", "/organizer/panels/new", **(given | fields))
    assert made.status_code == 303, made.text
    return int(made.headers["location"].split("/")[3])


def _quotas(client: TestClient[Litestar], panel_id: int, **boxes: str) -> Any:
    page = f"/organizer/panels/{panel_id}/quotas"
    return post_form(client, page, page, **boxes)


def _drawn(client: TestClient[Litestar], db: Session) -> int:
    panel_id = _new_panel(client, reply_deadline="2199-12-01T12:00")
    assert (
        _quotas(client, panel_id, **{"q-gender-female-min": "5", "q-gender-female-max": "7"}).status_code
        == 303
    )
    page = f"/organizer/panels/{panel_id}"
    assert post_form(client, f"{page}/freeze", f"{page}/freeze").status_code == 303
    assert post_form(client, f"{page}/draw", f"{page}/draw", seed_parts=SEED).status_code == 303
    return panel_id


def test_a_panel_is_created_and_edited_on_the_pages_and_errors_name_the_field(
    staff: TestClient[Litestar], db: Session
) -> None:
    page = "/organizer/panels/new"
    assert 'href="/organizer/panels/new"' in staff.get("/organizer/panels").text
    bad = {"title": "", "size": "0", "reply_deadline": "2001-01-01T09:00", "max_prior_service": "x"}
    refused = staff.post(page, data=bad | {"_csrf_token": csrf_token(staff, page)}, headers=EN)
    assert refused.status_code == 400
    for sentence in (
        "Title: enter it.",
        "Number of seats: enter a whole number from 1 to 1000.",
        "Reply deadline: it must be in the future.",
        "Cap on repeat service: enter a whole number from 1 to 100.",
    ):
        assert sentence in refused.text
    chinese = staff.post(page, data=bad | {"_csrf_token": csrf_token(staff, page)}, headers=ZH).text
    assert "席位数：请输入1到1000之间的整数。" in chinese and "标题：请填写。" in chinese
    assert db.execute(select(func.count(Panel.id))).scalar_one() == 0

    panel_id = _new_panel(staff, reply_deadline="2199-12-01T12:00", max_prior_service="2")
    panel = panel_of(db, panel_id)
    assert (panel.title, panel.size, panel.max_prior_service, panel.status) == (
        "五里河改造评审团",
        12,
        2,
        "draft",
    )
    assert panel.reply_deadline is not None and panel.reply_deadline.hour == 4  # 12:00 in Shenyang
    edit = f"/organizer/panels/{panel_id}/edit"
    assert 'value="五里河改造评审团"' in staff.get(edit).text
    saved = post_form(staff, edit, edit, title="五里河评审团", size="14", place="三楼", reply_deadline="")
    assert saved.status_code == 303
    panel = panel_of(db, panel_id)
    assert (panel.title, panel.size, panel.place, panel.reply_deadline) == ("五里河评审团", 14, "三楼", None)
    assert "The panel&#39;s details are saved." in staff.get(f"/organizer/panels/{panel_id}", headers=EN).text


def test_the_quota_editor_shows_the_pool_and_explains_an_infeasible_set(
    staff: TestClient[Litestar], db: Session
) -> None:
    panel_id = _new_panel(staff)
    page = f"/organizer/panels/{panel_id}/quotas"
    editor = staff.get(page, headers=EN).text
    assert f'hx-post="/organizer/panels/{panel_id}/quotas/check"' in editor
    # 42 volunteers: 6 experts, 22 women; the pool's count stands beside each value's boxes.
    assert re.search(r"Experts</th>\s*<td class=\"number\">6</td>", editor)
    assert re.search(r"Female</th>\s*<td class=\"number\">22</td>", editor)

    check = f"{page}/check"
    infeasible = post_form(staff, page, check, **{"q-participant_type-expert-min": "9"})
    assert infeasible.status_code == 200 and "<html" not in infeasible.text  # the verdict alone
    en = staff.post(
        check, data={"q-participant_type-expert-min": "9", "_csrf_token": csrf_token(staff, page)}, headers=EN
    )
    assert "These quotas cannot be met by the pool as it is now." in en.text
    assert "Experts needs at least 9, but the pool has 6." in en.text
    assert "lower the minimum of Experts from 9 to 6" in en.text
    zh = staff.post(
        check, data={"q-participant_type-expert-min": "9", "_csrf_token": csrf_token(staff, page)}, headers=ZH
    )
    assert "把专家的最少人数从9降到6" in zh.text
    fixed = staff.post(
        check, data={"q-participant_type-expert-min": "2", "_csrf_token": csrf_token(staff, page)}, headers=EN
    )
    assert "These quotas can be met:" in fixed.text
    wrong = staff.post(
        check,
        data={"q-gender-female-min": "8", "q-gender-female-max": "3", "_csrf_token": csrf_token(staff, page)},
        headers=EN,
    )
    assert "Female: the minimum 8 is more than the maximum 3." in wrong.text
    assert panel_of(db, panel_id).quotas == []  # checking saves nothing

    refused = _quotas(staff, panel_id, **{"q-gender-female-min": "x"})
    assert refused.status_code == 400 and panel_of(db, panel_id).quotas == []
    assert (
        _quotas(
            staff, panel_id, **{"q-participant_type-expert-min": "2", "q-gender-female-max": "7"}
        ).status_code
        == 303
    )
    assert panel_of(db, panel_id).quotas == [
        {"category": "participant_type", "feature": "expert", "min": 2, "max": 12},
        {"category": "gender", "feature": "female", "min": 0, "max": 7},
    ]


def test_freezing_asks_first_and_then_reports_the_commitment(
    staff: TestClient[Litestar], db: Session
) -> None:
    panel_id = _new_panel(staff)
    page = f"/organizer/panels/{panel_id}"
    detail = staff.get(page, headers=EN).text
    assert f'href="{page}/freeze"' in detail and f'action="{page}/freeze"' not in detail  # a link, not a form
    asked = staff.get(f"{page}/freeze", headers=EN)
    assert asked.status_code == 200
    assert "42 volunteers, of whom 0 are excluded" in asked.text and "commitment" in asked.text
    assert "This cannot be undone" in asked.text and f'action="{page}/freeze"' in asked.text
    assert panel_of(db, panel_id).status == "draft"  # the click only asked

    done = post_form(staff, f"{page}/freeze", f"{page}/freeze")
    assert done.status_code == 303 and done.headers["location"] == page
    panel = panel_of(db, panel_id)
    assert panel.status == "frozen" and panel.commitment
    assert f"The pool is frozen. Commitment: {panel.commitment}" in staff.get(page, headers=EN).text
    assert "The pool is frozen." not in staff.get(page, headers=EN).text  # shown once


def test_drawing_explains_the_seed_parts_and_then_reports_the_seats(
    staff: TestClient[Litestar], db: Session
) -> None:
    panel_id = _new_panel(staff)
    page = f"/organizer/panels/{panel_id}"
    post_form(staff, f"{page}/freeze", f"{page}/freeze")
    asked = staff.get(f"{page}/draw", headers=EN)
    assert asked.status_code == 200 and "notary" in asked.text and "in secret before the freeze" in asked.text
    assert panel_of(db, panel_id).status == "frozen"
    empty = post_form(staff, f"{page}/draw", f"{page}/draw", seed_parts=" \n ")
    assert empty.status_code == 400 and 'id="seed_parts"' in empty.text
    assert panel_of(db, panel_id).status == "frozen"
    done = post_form(staff, f"{page}/draw", f"{page}/draw", seed_parts=SEED)
    assert done.status_code == 303
    assert panel_of(db, panel_id).status == "drawn"
    assert "The panel is drawn: 12 seated, 30 on the reserve list" in staff.get(page, headers=EN).text


def test_inviting_states_the_texts_and_their_cost_then_sends(
    staff: TestClient[Litestar], db: Session
) -> None:
    panel_id = _drawn(staff, db)
    page = f"/organizer/panels/{panel_id}"
    asked = staff.get(f"{page}/invite", headers=EN)
    assert asked.status_code == 200
    assert "Send 12 invitations" in asked.text and "CN¥" in asked.text
    assert db.execute(select(func.count(SmsMessage.id))).scalar_one() == 0  # nothing sent by the click
    assert {m.status for m in members_of(db, panel_id) if m.status in SEATED} == {"drawn"}
    zh = staff.get(f"{page}/invite", headers=ZH).text
    assert "¥" in zh and "发送12条邀请" in zh

    done = post_form(staff, f"{page}/invite", f"{page}/invite")
    assert done.status_code == 303
    assert db.execute(select(func.count(SmsMessage.id))).scalar_one() == 12
    assert "12 invitations are being sent." in staff.get(page, headers=EN).text


def test_calling_a_reserve_asks_first_then_invites_the_reserve(
    staff: TestClient[Litestar], db: Session
) -> None:
    panel_id = _drawn(staff, db)
    page = f"/organizer/panels/{panel_id}"
    post_form(staff, f"{page}/invite", f"{page}/invite")
    silent = next(
        m for m in sorted(members_of(db, panel_id), key=lambda m: m.ticket) if m.status == "invited"
    )
    action = f"{page}/members/{silent.id}/no-answer"
    assert f'href="{action}"' in staff.get(page).text
    asked = staff.get(action, headers=EN)
    assert asked.status_code == 200 and silent.pseudonym in asked.text
    assert re.search(
        r"reserve number \d+\), is texted an invitation at once, for about CN¥0\.\d\d", asked.text
    )
    assert next(m for m in members_of(db, panel_id) if m.id == silent.id).status == "invited"

    done = post_form(staff, action, action)
    assert done.status_code == 303
    members = members_of(db, panel_id)
    called = next(m for m in members if m.replacement_for_id == silent.id)
    assert next(m for m in members if m.id == silent.id).status == "replaced" and called.status == "invited"
    shown = staff.get(page, headers=EN).text
    assert f"{silent.pseudonym} is replaced by the reserve {called.pseudonym}, who is being invited." in shown
    assert post_form(staff, f"{page}/edit", action).status_code == 409  # not twice


def test_auditors_see_no_step_and_cannot_open_one(
    client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    add_volunteers(db)
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    panel_id = _new_panel(client)
    client.cookies.clear()
    sign_in(client, "audit@district.gov.cn", organizer(settings, "audit@district.gov.cn", "auditor"))
    page = f"/organizer/panels/{panel_id}"
    assert (
        f"{page}/freeze" not in client.get(page).text
        and "/organizer/panels/new" not in client.get("/organizer/panels").text
    )
    for path in (f"{page}/freeze", f"{page}/edit", f"{page}/quotas", "/organizer/panels/new"):
        assert client.get(path).status_code == 403


def test_the_composition_chart_holds_the_quotas_the_pool_and_the_seats(
    staff: TestClient[Litestar], db: Session
) -> None:
    panel_id = _drawn(staff, db)
    panel = panel_of(db, panel_id)
    html = staff.get(f"/organizer/panels/{panel_id}", headers=EN).text
    rows = {r[0]: r[1:] for r in table_rows(html, "composition-chart-table")}
    members = members_of(db, panel_id)
    categories = panel.record["pool"]["categories"]  # type: ignore[index]
    at = categories.index("gender")
    pool = Counter(m.values[at] for m in members if m.status != MemberStatus.EXCLUDED)
    seated = Counter(m.values[at] for m in members if m.status in SEATED)
    assert rows["Female"] == ["5", "7", str(pool["female"]), str(seated["female"])]
    assert rows["Male"] == ["0", "12", str(pool["male"]), str(seated["male"])]
    at = categories.index("participant_type")
    experts = Counter(m.values[at] for m in members if m.status in SEATED)["expert"]
    assert rows["Experts"][3] == str(experts)


def test_the_replies_bar_holds_the_stored_answers(staff: TestClient[Litestar], db: Session) -> None:
    panel_id = _drawn(staff, db)
    page = f"/organizer/panels/{panel_id}"
    post_form(staff, f"{page}/invite", f"{page}/invite")
    members = sorted((m for m in members_of(db, panel_id) if m.status == "invited"), key=lambda m: m.ticket)
    members[0].status, members[1].status, members[2].status = "confirmed", "confirmed", "declined"
    db.commit()
    fragment = staff.get(f"{page}/replies", headers=EN)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'hx-trigger="every 2s"' in fragment.text
    stored = Counter(m.status for m in members_of(db, panel_id) if m.invited_at is not None)
    [numbers] = table_rows(fragment.text, "replies-chart-table")
    confirmed, declined, no_answer, waiting, reserve, texted = (int(n) for n in numbers[1:])
    assert (confirmed, declined, no_answer) == (stored["confirmed"], stored["declined"], stored["replaced"])
    assert waiting + reserve == stored["invited"] and texted == sum(stored.values()) == 12


def test_the_form_links_the_panel_to_a_selection_whose_interview_has_not_opened(
    staff: TestClient[Litestar], db: Session
) -> None:
    from datetime import UTC, datetime, timedelta

    from engage.selections import services as selections
    from engage.selections.models import Selection, StageKind

    start = datetime.now(UTC) + timedelta(days=3)
    spec = selections.SelectionSpec(
        title_zh="测试选拔",
        title_en="Test selection",
        unit="区民政局",
        unit_category="district",
        posts=[selections.PostSpec("科员", "Clerk", 2)],
        stages=[
            selections.StageSpec(
                kind.value, start + timedelta(hours=2 * i), start + timedelta(hours=2 * i + 1)
            )
            for i, kind in enumerate(StageKind)
        ],
        rubric=[{"code": "overall", "max_points": 100}],
    )
    selection_id = selections.create_selection(db, "test", spec).id
    db.commit()
    form = staff.get("/organizer/panels/new").text
    assert f'<option value="{selection_id}">Test selection</option>' in form
    panel_id = _new_panel(staff, selection_id=str(selection_id))
    db.expire_all()
    assert db.get(Selection, selection_id).panel_id == panel_id  # type: ignore[union-attr]
    edit = f"/organizer/panels/{panel_id}/edit"
    assert f'<option value="{selection_id}" selected>' in staff.get(edit).text
    wrong = post_form(staff, edit, edit, title="评审团", size="12", selection_id="999")
    assert wrong.status_code == 400 and "Linked selection: choose one of the list." in wrong.text
    assert post_form(staff, edit, edit, title="评审团", size="12", selection_id="").status_code == 303
    db.expire_all()
    assert db.get(Selection, selection_id).panel_id is None  # type: ignore[union-attr]
