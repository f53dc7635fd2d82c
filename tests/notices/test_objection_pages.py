"""The pages of notice periods and objections, without JavaScript: the notice page shows the period's
state, closing moment and countdown and the public counts; objections are filed from a form (anonymous
at once, named after a code); the status page shows the reference; organizers answer from their page."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.notices import period as periods
from engage.notices.objections.models import Objection
from engage.settings import ROOT, Settings
from tests.factories import (
    OBJECTOR_PHONE,
    appointment,
    closes_at,
    csrf_token,
    organizer,
    sign_in,
    texted_code,
)

REFERENCE = re.compile(r"OBJ-20\d\d-[A-Z2-9]{6}")


def count(db: Session) -> int:
    db.expire_all()
    return int(db.execute(select(func.count()).select_from(Objection)).scalar_one())


def post_form(client: TestClient[Litestar], path: str, form_path: str, **fields: str) -> Any:
    data = {"_csrf_token": csrf_token(client, form_path), **fields}
    return client.post(path, data=data, follow_redirects=False)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Public notice period", "Open for objections", "File an objection", "Objections", "Upheld"]),
        ("zh-CN", ["公示期", "公示中，接受异议", "提出异议", "异议", "成立"]),
    ],
)
@pytest.mark.slow
def test_the_notice_page_shows_the_closing_moment_and_the_countdown(
    client: TestClient[Litestar],
    notice_staff: dict[str, str],
    settings: Settings,
    language: str,
    words: list[str],
) -> None:
    notice = appointment(client, notice_staff)
    page = client.get(f"/notices/{notice['id']}", headers={"Accept-Language": language}).text
    for word in words:
        assert word in page
    local_close = closes_at(notice).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    assert local_close in page and local_close.endswith("17:30")
    left = notice["period"]["working_days_left"]
    assert (f"{left} working days left" if language == "en" else f"还有{left}个工作日") in page
    assert f'href="/notices/{notice["id"]}/object"' in page


@pytest.mark.slow
def test_a_notice_without_a_period_shows_no_objection_box(
    client: TestClient[Litestar], notice_staff: dict[str, str]
) -> None:
    notice = appointment(client, notice_staff, kind="process")
    page = client.get(f"/notices/{notice['id']}", headers={"Accept-Language": "en"}).text
    assert "Public notice period" not in page and '/object"' not in page


def test_an_anonymous_objection_from_the_page_shows_its_reference(
    client: TestClient[Litestar], notice_staff: dict[str, str], db: Session
) -> None:
    notice = appointment(client, notice_staff)
    form = f"/notices/{notice['id']}/object"
    blank = post_form(client, form, form, reason="  ", name="", phone="")
    assert blank.status_code == 400 and "Write the reason" in blank.text
    assert count(db) == 0
    filed = post_form(client, form, form, reason="该同志存在违规兼职问题。", name="", phone="")
    assert filed.status_code == 303
    location = filed.headers["location"]
    reference = REFERENCE.search(location)
    assert reference and location.endswith("?filed=1")
    status = client.get(location, headers={"Accept-Language": "en"}).text
    assert reference.group(0) in status and "Objection received" in status and "Received" in status
    assert "该同志存在违规兼职问题" not in status  # the reason is for the organizers, not the status page
    counts = client.get(f"/notices/{notice['id']}", headers={"Accept-Language": "en"}).text
    assert re.search(r"Objections filed</th><td class=\"n\">1<", counts)


@pytest.mark.slow
def test_a_named_objection_from_the_page_is_filed_after_the_code(
    client: TestClient[Litestar], notice_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    notice = appointment(client, notice_staff)
    form = f"/notices/{notice['id']}/object"
    nameless = post_form(client, form, form, reason="理由", name="", phone=OBJECTOR_PHONE)
    assert nameless.status_code == 400 and count(db) == 0
    phoneless = post_form(client, form, form, reason="理由", name="张伟", phone="")
    assert phoneless.status_code == 400 and "Enter your mobile number" in phoneless.text and count(db) == 0
    asked = post_form(client, form, form, reason="理由充分", name="张伟", phone=OBJECTOR_PHONE)
    assert asked.status_code == 303 and asked.headers["location"] == f"{form}/code"
    code_page = client.get(f"{form}/code", headers={"Accept-Language": "en"}).text
    assert "+86138****8000" in code_page and 'autocomplete="one-time-code"' in code_page
    wrong = post_form(client, f"{form}/code", f"{form}/code", code="99999")
    assert wrong.status_code == 400 and count(db) == 0
    filed = post_form(
        client, f"{form}/code", f"{form}/code", code=texted_code(settings, "+86" + OBJECTOR_PHONE)
    )
    assert filed.status_code == 303 and REFERENCE.search(filed.headers["location"])
    assert count(db) == 1
    status = client.get(filed.headers["location"]).text
    assert "张伟" not in status and "8000" not in status


def test_a_closed_period_shows_closed_and_takes_no_objection(
    client: TestClient[Litestar], notice_staff: dict[str, str], db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    notice = appointment(client, notice_staff)
    moment = closes_at(notice)
    monkeypatch.setattr(periods, "clock", lambda: moment)
    page = client.get(f"/notices/{notice['id']}", headers={"Accept-Language": "en"}).text
    assert "Closed" in page and f"/notices/{notice['id']}/object" not in page
    form = f"/notices/{notice['id']}/object"
    refused = post_form(client, form, form, reason="迟到的异议", name="", phone="")
    assert refused.status_code == 409 and "closed" in refused.text
    assert count(db) == 0


def test_the_status_lookup_form_finds_a_reference_as_typed(
    client: TestClient[Litestar], notice_staff: dict[str, str]
) -> None:
    notice = appointment(client, notice_staff)
    reference = client.post(f"/api/v1/notices/{notice['id']}/objections", json={"reason": "x"}).json()[
        "reference"
    ]
    typed = client.get("/objections", params={"reference": f" {reference.lower()} "}, follow_redirects=False)
    assert typed.status_code in (302, 303) and typed.headers["location"] == f"/objections/{reference}"
    odd = client.get("/objections", params={"reference": "//x.example/a?b"}, follow_redirects=False)
    assert odd.headers["location"] == "/objections/%2F%2FX.EXAMPLE%2FA%3FB"  # stays a path on this site
    unknown = client.get("/objections/OBJ-2026-AAAAAA", headers={"Accept-Language": "en"})
    assert unknown.status_code == 404 and "No objection has this reference number." in unknown.text


@pytest.mark.slow
def test_staff_answer_from_the_organizer_page_and_auditors_only_read(
    client: TestClient[Litestar], notice_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    notice = appointment(client, notice_staff)
    client.post(f"/api/v1/notices/{notice['id']}/objections/code", json={"phone": OBJECTOR_PHONE})
    code = texted_code(settings, "+86" + OBJECTOR_PHONE)
    body = {"reason": "学历存疑", "name": "张伟", "phone": OBJECTOR_PHONE, "code": code}
    assert client.post(f"/api/v1/notices/{notice['id']}/objections", json=body).status_code == 201
    [objection] = client.get(f"/api/v1/notices/{notice['id']}/objections", headers=notice_staff).json()

    sign_in(client, "wu@district.gov.cn", organizer(settings, "wu@district.gov.cn", "organizer"))
    path = f"/organizer/notices/{notice['id']}/objections"
    page = client.get(path, headers={"Accept-Language": "en"}).text
    assert "学历存疑" in page and "张伟" in page and "+86138****8000" in page and OBJECTOR_PHONE not in page
    answered = post_form(
        client,
        f"{path}/{objection['id']}",
        path,
        status="upheld",
        reply="延长公示2个工作日。",
        action="extend",
        days="2",
    )
    assert answered.status_code == 303, answered.text
    period = client.get(f"/api/v1/notices/{notice['id']}/period").json()
    assert period["state"] == "extended" and period["extended_days"] == 2
    expected = periods.calendar_for(settings).add_working_days(closes_at(notice), 2)
    assert datetime.fromisoformat(period["closes_at"]) == expected
    bad = post_form(
        client, f"{path}/{objection['id']}", path, status="upheld", reply="", action="none", days=""
    )
    assert bad.status_code == 400 and "reply" in bad.text

    client.cookies.clear()
    sign_in(client, "audit@district.gov.cn", organizer(settings, "audit@district.gov.cn", "auditor"))
    read_only = client.get(path)
    assert (
        read_only.status_code == 200
        and "Save the answer" not in read_only.text
        and "保存答复" not in read_only.text
    )


def test_every_objection_text_has_a_chinese_translation() -> None:
    sources = [
        *(ROOT / "templates" / "pages" / "objections").glob("*.html"),
        *(ROOT / "templates" / "pages" / "organizer" / "notices").glob("*.html"),
        ROOT / "templates" / "pages" / "notices" / "_period.html",
        ROOT / "templates" / "sms" / "objection_filed.txt",
        ROOT / "templates" / "sms" / "objection_answered.txt",
        ROOT / "engage" / "notices" / "objections" / "services.py",
        ROOT / "engage" / "notices" / "objections" / "web" / "public.py",
    ]
    call = re.compile(r"""\bN?_\(\s*(?:"([^"]+)"|'([^']+)')""")
    wanted = {a or b for path in sources for a, b in call.findall(path.read_text())}
    translated: dict[str, str] = {}
    for po in sorted((ROOT / "engage" / "locale" / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with Path(po).open("rb") as handle:
            translated.update({str(m.id): str(m.string) for m in read_po(handle) if m.id and m.string})
    assert len(wanted) > 60
    assert sorted(m for m in wanted if m not in translated) == []
