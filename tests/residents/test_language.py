"""Each resident is addressed in the language they signed up in: every text (sign-in code, panel
invitation, reminder and confirmation, evaluation invitation, notice) and every personal page (the
panel and rating links, their own /me), whatever language the browser asks for. The page's language
switch still wins for the visitor who uses it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage import i18n
from engage.panels.models import MemberStatus, PanelMember
from engage.residents.models import Resident, ResidentRole
from engage.residents.notice_kinds import NoticeKind
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import (
    csrf_token,
    invited_panel,
    panel_link_token,
    panel_members,
    press_panel_link,
)
from tests.support import run_jobs
from workers import panels as panel_jobs

BROWSER = {"en": "zh-CN,zh;q=0.9", "zh_CN": "en-GB,en;q=0.9"}  # each browser asks for the other language
HTML_LANG = {"en": '<html lang="en"', "zh_CN": '<html lang="zh-Hans-CN"'}
LINK = re.compile(r"/e/([A-Za-z0-9_-]{22})")


def reads(text: str, locale: str, msgid: str, plural: str | None = None, n: int = 1) -> bool:
    """Whether `text` is the message `msgid` in `locale`: every fixed part of its translation is there."""
    with i18n.use_locale(locale):
        translated = i18n.ngettext(msgid, plural, n) if plural else i18n.gettext(msgid)
    parts = [part for part in re.split(r"%\(\w+\)s", translated) if part.strip()]
    assert parts and (locale == "en" or translated != msgid), f"no {locale} text for {msgid!r}"
    return all(part in text for part in parts)


def texts_to(db: Session, resident: Resident) -> list[str]:
    db.expire_all()
    rows = db.execute(select(SmsMessage.body).where(SmsMessage.to == resident.phone).order_by(SmsMessage.id))
    return list(rows.scalars())


def one_each(db: Session, panel_id: int) -> dict[str, tuple[PanelMember, Resident]]:
    """An invited member who reads English and one who reads Chinese."""
    chosen: dict[str, tuple[PanelMember, Resident]] = {}
    for member in panel_members(db, panel_id):
        resident = db.get(Resident, member.resident_id)
        if member.status == MemberStatus.INVITED and resident is not None:
            chosen.setdefault(resident.locale, (member, resident))
    assert set(chosen) == {"en", "zh_CN"}
    return chosen


INVITE = (
    'You are drawn by lot for the grand jury "%(title)s": %(date)s, %(place)s. Reply 1 to confirm, '
    "2 to decline, or answer at %(link)s"
)
REMINDER = (
    'Reminder: you are drawn by lot for the grand jury "%(title)s": %(date)s, %(place)s. Please reply by '
    "%(deadline)s: 1 to confirm, 2 to decline, or answer at %(link)s"
)
CONFIRMED = 'Thank you, you are confirmed for "%(title)s": %(date)s, %(place)s. Your check-in code: %(code)s'
CODE = "Your Engage code is %(code)s. It expires in %(minutes)s minutes. Do not share it."
RATE = (
    "%(office)s served you %(date)s (%(matter)s). Rate it: %(link)s or reply %(num)s digit 1-5 "
    "(5 very satisfied): %(questions)s",
    "%(office)s served you %(date)s (%(matter)s). Rate it: %(link)s or reply %(num)s digits 1-5 "
    "(5 very satisfied): %(questions)s",
)
NOTICE = "%(title)s: %(body)s Details: %(link)s"


@pytest.mark.slow
def test_every_text_and_every_personal_page_speaks_the_residents_own_language(
    client: TestClient[Litestar], panel_staff: dict[str, str], settings: Settings, db: Session
) -> None:
    panel_id, _base = invited_panel(client, panel_staff)
    chosen = one_each(db, panel_id)

    # The panel: invitation, reminder, the link page and the confirmation it texts.
    assert panel_jobs.send_reminders(panel_id) >= 2
    for locale, (member, resident) in chosen.items():
        invitation, reminder = texts_to(db, resident)
        assert reads(invitation, locale, INVITE) and reads(reminder, locale, REMINDER), (invitation, reminder)
        token = panel_link_token(db, member)
        page = client.get(f"/j/{token}", headers={"Accept-Language": BROWSER[locale]})
        assert HTML_LANG[locale] in page.text
        client.headers["Accept-Language"] = BROWSER[locale]
        assert HTML_LANG[locale] in press_panel_link(client, token, "confirm").text
        assert reads(texts_to(db, resident)[-1], locale, CONFIRMED)

    # A rating invitation and its link page.
    campaign = client.post(
        "/api/v1/evaluations",
        headers=panel_staff,
        json={
            "title_zh": "便民服务测评",
            "title_en": "Service windows",
            "mode": "reverse",
            "opens_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "questions": [{"zh": "办事效率", "en": "Speed"}, {"zh": "服务态度", "en": "Courtesy"}],
            "subjects": [{"name": "便民服务窗口", "unit": "五里河社区"}],
        },
    ).json()
    for _member, resident in chosen.values():
        contact = {
            "subject_id": campaign["subjects"][0]["id"],
            "phone": resident.phone,
            "served_on": "2026-11-20",
            "matter": "户籍证明",
        }
        assert (
            client.post(
                f"/api/v1/evaluations/{campaign['id']}/contacts", json=contact, headers=panel_staff
            ).status_code
            == 201
        )
    assert client.post(f"/api/v1/evaluations/{campaign['id']}/invite", headers=panel_staff).json() == {
        "texts": 2
    }
    for locale, (_member, resident) in chosen.items():
        invitation = texts_to(db, resident)[-1]
        assert reads(invitation, locale, *RATE, n=2), invitation
        found = LINK.search(invitation)
        assert found
        page = client.get(found.group(0), headers={"Accept-Language": BROWSER[locale]})
        assert HTML_LANG[locale] in page.text
        assert ("Speed" if locale == "en" else "办事效率") in page.text

    # A notice to subscribers.
    for _member, resident in chosen.values():
        db.add(ResidentRole(resident_id=resident.id, role="subscriber"))
    db.commit()
    notice = client.post(
        "/api/v1/notices",
        headers=panel_staff,
        json={
            "kind": NoticeKind.PROCESS.value,
            "title_zh": "评审团名单",
            "title_en": "The jury list",
            "body_zh": "评审团名单已公示。",
            "body_en": "The jury list is public.",
        },
    ).json()
    assert (
        client.post(f"/api/v1/notices/{notice['id']}/publish", json={}, headers=panel_staff).status_code
        == 200
    )
    run_jobs(settings)
    for locale, (_member, resident) in chosen.items():
        text = texts_to(db, resident)[-1]
        assert reads(text, locale, NOTICE) and ("The jury list" in text) == (locale == "en"), text


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_sign_in_code_and_the_residents_own_pages_speak_their_language(
    client: TestClient[Litestar], panel_staff: dict[str, str], db: Session, locale: str
) -> None:
    resident = db.execute(select(Resident).where(Resident.locale == locale).limit(1)).scalar_one()
    client.headers["Accept-Language"] = BROWSER[locale]
    asked = client.post("/join", data={"phone": resident.phone, "_csrf_token": csrf_token(client, "/join")})
    assert asked.status_code == 200
    code_text = texts_to(db, resident)[-1]
    assert reads(code_text, locale, CODE), code_text
    code = re.search(r"\d{6}", code_text)
    assert code
    me = client.post(
        "/join/code", data={"code": code.group(0), "_csrf_token": csrf_token(client, "/join/code")}
    )
    assert me.status_code == 200 and "/me" in str(me.url)
    assert HTML_LANG[locale] in me.text
    # The page's switch still changes the language, for the visitor who asks.
    other = "zh_CN" if locale == "en" else "en"
    switched = client.get("/me", headers={"Cookie": f"lang={other}"})
    assert HTML_LANG[other] in switched.text
