"""An opt-out is a state of the number: after STOP / TD / 退订, a resident's or a stranger's number gets
no text but the answers to START and HELP / 帮助, counted at the fake gateway."""

from __future__ import annotations

import httpx
import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.sms.models import InboundMessage, OptOut
from tests.factories import (
    OTHER_TEXTING_PHONE,
    TEXTING_PHONE,
    Texting,
    add_resident,
    all_residents,
    audit_entries,
    is_help,
)
from tests.support import run_jobs


def replies_to(sms_district: Texting, body: str, phone: str) -> list[str]:
    """Text us, let a real worker send whatever we queued, and return what reached the phone."""
    before = len(sms_district.fake.messages_to(phone))
    answered = sms_district.send(body, phone)
    assert answered.status == 200
    run_jobs(sms_district.settings)
    return [message.body for message in sms_district.fake.messages_to(phone)[before:]]


def drive_the_stopped_number(sms_district: Texting, phone: str) -> list[str]:
    """Everything an opted-out number might send; returns every text it got back, in order."""
    got: list[str] = []
    for body in ["你好", "5 4 5", "1", "参加", "JOIN", "退订", "STOP"]:
        answer = replies_to(sms_district, body, phone)
        assert answer == [], f"{body!r} was answered: {answer}"
    help_answer = replies_to(sms_district, "HELP", phone)
    assert len(help_answer) == 1 and "Text START" in help_answer[0], help_answer
    got += help_answer
    chinese_help = replies_to(sms_district, "帮助", phone)
    assert len(chinese_help) == 1 and "回复START" in chinese_help[0], chinese_help
    got += chinese_help
    start_answer = replies_to(sms_district, "START", phone)
    assert len(start_answer) == 1, start_answer
    got += start_answer
    return got


def test_an_opted_out_resident_hears_only_the_answers_to_help_and_start(
    sms_district: Texting, db: Session
) -> None:
    resident = add_resident(db)
    assert replies_to(sms_district, "退订", TEXTING_PHONE) == [
        "【沈河区委组织部】您已退订，不会再收到本平台短信。回复START可恢复。"
    ]
    total_before = len(sms_district.fake.messages)
    got = drive_the_stopped_number(sms_district, TEXTING_PHONE)
    assert len(sms_district.fake.messages) - total_before == len(got) == 3  # HELP, 帮助, START: nothing else
    assert "已恢复接收" in got[-1]  # the resident's own language (Chinese), though START is English
    db.refresh(resident)
    assert resident.sms_opt_out_at is None
    assert db.execute(select(OptOut)).scalars().all() == []
    assert (
        len(audit_entries(db, "resident.sms_opt_out")) == 1
        and len(audit_entries(db, "resident.sms_opt_in")) == 1
    )
    assert is_help(sms_district.text("你好"))  # texts are on again


def test_an_opted_out_stranger_is_remembered_and_cannot_sign_up_by_text_until_start(
    sms_district: Texting, db: Session
) -> None:
    assert "1.五里河社区" in sms_district.text("参加", OTHER_TEXTING_PHONE)
    assert "no more texts" in sms_district.text("STOP", OTHER_TEXTING_PHONE)  # the open dialogue ends with it
    assert db.execute(select(OptOut.phone)).scalars().all() == [OTHER_TEXTING_PHONE]
    total_before = len(sms_district.fake.messages)
    got = drive_the_stopped_number(sms_district, OTHER_TEXTING_PHONE)
    assert len(sms_district.fake.messages) - total_before == len(got) == 3
    assert got[-1].endswith("Texts from Engage are on again. Text STOP to end them.")
    assert all_residents(db) == []  # 参加 and JOIN started nothing while the number was stopped
    assert db.execute(select(OptOut)).scalars().all() == []
    handlers = db.execute(select(InboundMessage.handler).order_by(InboundMessage.id)).scalars().all()
    assert handlers.count("opted-out") == 5  # 你好, digits, 1, 参加, JOIN: recorded, not answered
    assert "1.五里河社区" in sms_district.text(
        "参加", OTHER_TEXTING_PHONE
    )  # after START the dialogue runs again


@pytest.mark.slow
@pytest.mark.parametrize(("word", "expected"), [("START", "on again"), ("start", "on again")])
def test_start_from_a_number_that_never_opted_out_is_an_opt_in_confirmation(
    sms_district: Texting, word: str, expected: str
) -> None:
    assert expected in sms_district.text(word, OTHER_TEXTING_PHONE)


def test_a_resident_who_stopped_before_signing_up_on_the_web_stays_stopped(
    sms_district: Texting, db: Session
) -> None:
    assert "您已退订" in sms_district.text("TD", OTHER_TEXTING_PHONE)
    add_resident(db, phone=OTHER_TEXTING_PHONE)  # the number now belongs to a resident
    assert replies_to(sms_district, "你好", OTHER_TEXTING_PHONE) == []
    assert "Text START" in replies_to(sms_district, "HELP", OTHER_TEXTING_PHONE)[0]


@pytest.mark.slow
def test_no_sign_in_code_goes_to_a_stopped_number_until_it_sends_start(
    sms_district: Texting, db: Session
) -> None:
    add_resident(db, locale="en")
    assert "no more texts" in sms_district.text("STOP")  # the resident's own language
    code_request = {"phone": "13800138000"}
    english_browser = {"Accept-Language": "en"}  # refusals speak the page's language
    refused = httpx.post(
        f"{sms_district.base_url}/api/v1/signup/code", json=code_request, headers=english_browser
    )
    assert refused.status_code == 400
    assert refused.json()["field"] == "phone" and "Text START" in refused.json()["detail"]
    run_jobs(sms_district.settings)
    assert [m.body for m in sms_district.fake.messages_to(TEXTING_PHONE)][-1].endswith(
        "Text START to get them again."
    )
    assert "on again" in sms_district.text("START")
    limits = redis.Redis.from_url(sms_district.settings.redis_url or "")
    for key in limits.scan_iter("*code:phone*"):  # the refused request counted against the number's limit
        limits.delete(key)
    chinese_browser = {"Accept-Language": "zh-CN,zh;q=0.9"}
    sent = httpx.post(
        f"{sms_district.base_url}/api/v1/signup/code", json=code_request, headers=chinese_browser
    )
    assert sent.status_code == 202
    run_jobs(sms_district.settings)
    assert (
        "Your Engage code is" in sms_district.fake.messages_to(TEXTING_PHONE)[-1].body
    )  # English, as the resident signed up
