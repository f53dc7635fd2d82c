"""The selection wizard: each step checks its own fields and names the field in the page's language,
keeps what was typed across Back and Next, offers a timetable on working days, and ends in a private
draft whose publishing waits behind a confirmation page."""

from __future__ import annotations

import re
from datetime import date

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage import i18n
from engage.notices import period as periods
from engage.selections.models import Selection
from engage.selections.wizard.forms import clean_timetable, suggest_timetable
from engage.settings import Settings
from tests.factories import organizer, sign_in

BASICS = {
    "title_zh": "街道副主任公开选拔",
    "title_en": "Street deputy director: open selection",
    "unit": "五里河街道",
    "unit_category": "street",
    "eligibility_zh": "年满25周岁，大学本科以上学历。",
    "eligibility_en": "Aged 25 or over, with a university degree.",
}
POSTS = {
    "posts-0-title_zh": "党建办副主任",
    "posts-0-title_en": "Party office deputy",
    "posts-0-seats": "1",
    "posts-1-title_zh": "社区服务副主任",
    "posts-1-title_en": "Community services deputy",
    "posts-1-seats": "2",
}


def _post(client: TestClient[Litestar], step: str, data: dict[str, str]) -> object:
    page = client.get(f"/organizer/selections/new/{step}")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    return client.post(
        f"/organizer/selections/new/{step}",
        data=data | {"_csrf_token": token.group(1)},
        follow_redirects=False,
    )


def _prefilled(client: TestClient[Litestar], step: str) -> dict[str, str]:
    html = client.get(f"/organizer/selections/new/{step}").text
    return {
        name: value
        for name, value in re.findall(
            r'<input id="[^"]+" name="([^"]+)" type="[^"]+"[^>]*value="([^"]*)"', html
        )
    }


def test_a_wizard_walk_makes_a_draft_and_asks_before_publishing(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    bad = _post(client, "basics", BASICS | {"title_en": ""})
    assert bad.status_code == 400 and "Title (English): required." in bad.text  # type: ignore[attr-defined]
    assert _post(client, "basics", BASICS).headers["location"].endswith("/posts")  # type: ignore[attr-defined]
    bad = _post(client, "posts", POSTS | {"posts-1-seats": "0"})
    assert "Post 2, seats: a whole number from 1 to 1000." in bad.text  # type: ignore[attr-defined]
    assert _post(client, "posts", POSTS).status_code == 303  # type: ignore[attr-defined]
    timetable = _prefilled(client, "timetable")  # suggested: working days, each stage its minimum
    assert len(timetable) == 12
    html = client.get("/organizer/selections/new/timetable").text
    assert "Working days" in html and 'class="work"' in html and 'class="off"' in html
    bad = _post(client, "timetable", timetable | {"assessment-closes": timetable["assessment-opens"]})
    assert "Democratic assessment, closes: this stage needs at least 3 working days" in bad.text  # type: ignore[attr-defined]
    assert _post(client, "timetable", timetable).status_code == 303  # type: ignore[attr-defined]
    rubric = _prefilled(client, "rubric")
    assert rubric["rubric-0-max_points"] == "40"
    assert _post(client, "rubric", rubric).status_code == 303  # type: ignore[attr-defined]
    bad = _post(client, "evaluators", {"threshold": "80"})
    assert "Evaluator groups: choose at least one group." in bad.text  # type: ignore[attr-defined]
    evaluators = {"group-leadership": "on", "group-staff": "on", "threshold": "80", "basically_counts": "on"}
    assert _post(client, "evaluators", evaluators).headers["location"].endswith("/review")  # type: ignore[attr-defined]
    review = client.get("/organizer/selections/new/review").text
    assert "Community services deputy" in review and "Approval line: 80%" in review
    assert db.execute(select(func.count()).select_from(Selection)).scalar_one() == 0  # nothing saved yet
    made = _post(client, "review", {})
    assert made.headers["location"].endswith("/publish")  # type: ignore[attr-defined]
    db.expire_all()
    selection = db.execute(select(Selection)).scalar_one()
    assert selection.status == "draft" and [p.seats for p in selection.posts] == [1, 2]
    assert selection.rules["evaluator_groups"] == ["leadership", "staff"]
    assert selection.stages[1].opens_at.date().isoformat() == timetable["assessment-opens"]
    assert "The draft is saved" in client.get(made.headers["location"]).text  # type: ignore[attr-defined]


def test_a_wizard_problem_is_named_in_chinese_on_a_chinese_page(
    settings: Settings, client: TestClient[Litestar]
) -> None:
    client.headers["Accept-Language"] = "zh-CN"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    bad = _post(client, "basics", BASICS | {"unit": ""})
    assert bad.status_code == 400 and "单位：必填。" in bad.text  # type: ignore[attr-defined]


def test_the_timetable_refuses_holidays_and_overlaps(settings: Settings) -> None:
    with i18n.use_locale("en"):
        _timetable_refusals(settings)


def _timetable_refusals(settings: Settings) -> None:
    calendar = periods.calendar_for(settings)
    today = date(2026, 9, 1)
    good = suggest_timetable(calendar, today, 5)
    assert clean_timetable(good, calendar, today, 5)[1] == {}
    holiday = good | {"nomination-opens": "2026-10-01"}  # National Day
    assert "is not a working day" in clean_timetable(holiday, calendar, today, 5)[1]["nomination-opens"]
    overlap = good | {"assessment-opens": good["nomination-closes"]}
    assert (
        "after the previous stage closes"
        in clean_timetable(overlap, calendar, today, 5)[1]["assessment-opens"]
    )
    past = good | {"nomination-opens": "2026-08-31"}
    assert "passed" in clean_timetable(past, calendar, today, 5)[1]["nomination-opens"]
