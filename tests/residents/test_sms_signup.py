"""Signing up and answering by SMS, end to end: the fake Twilio posts signed texts to a live server,
a real rq worker sends our replies back through the twilio SDK, and the fake shows what the phone got."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from engage.audit.models import AuditEntry
from engage.keys import Purpose
from engage.residents.models import CONSENT_VERSION, Source
from engage.residents.notice_kinds import NoticeKind
from engage.residents.sms_signup import dialogue_key
from engage.sms.models import InboundMessage, MessageStatus, SmsMessage
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import (
    OTHER_TEXTING_PHONE,
    OUR_NUMBER,
    TEXTING_PHONE,
    Texting,
    add_resident,
    all_residents,
    audit_entries,
    is_help,
)
from tests.support import TWILIO_SID, TWILIO_TOKEN, run_jobs


def count(db: Session, model: Any) -> int:
    return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def assert_no_personal_data_in_the_audit_log(db: Session) -> None:
    for entry in db.execute(select(AuditEntry)).scalars():
        written = json.dumps([entry.actor, entry.subject_id, entry.details], ensure_ascii=False)
        assert "13800138000" not in written, written


# -- the whole dialogue --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_chinese_sign_up_by_text_makes_one_verified_resident_with_consents_and_subscriptions(
    sms_district: Texting, db: Session
) -> None:
    assert "1.五里河社区 2.东兴社区 3.东兴北社区" in sms_district.text("参加")
    assert "您的身份" in sms_district.text("2")
    assert "专业领域" in sms_district.text("5")
    assert "可多选" in sms_district.text("城市规划")
    consent = sms_district.text("13")
    assert "抽签组成评审团" in consent and "发送公告短信" in consent and "测评" not in consent
    done = sms_district.text("是")
    assert done.startswith("【沈河区委组织部】报名成功")
    assert f"{sms_district.base_url}/me" in done

    [resident] = all_residents(db)
    assert resident.phone == TEXTING_PHONE
    assert (resident.locale, resident.source) == ("zh_CN", "sms")
    assert resident.verified_at is not None and resident.invited_at is None
    assert resident.community is not None and resident.community.code == "dongxing"
    assert (resident.participant_type, resident.expertise) == ("expert", "城市规划")
    assert {(r.role, r.consent_version) for r in resident.roles} == {
        ("judge", CONSENT_VERSION),
        ("subscriber", CONSENT_VERSION),
    }
    assert {(s.kind, s.value) for s in resident.subscriptions} == {
        ("notice", k.value) for k in NoticeKind
    } | {("community", "dongxing")}
    [registered] = audit_entries(db, "resident.register")
    assert registered.subject_id == resident.pseudonym
    assert registered.details == {
        "roles": ["judge", "subscriber"],
        "consent_version": CONSENT_VERSION,
        "source": "sms",
    }
    assert_no_personal_data_in_the_audit_log(db)
    # Every reply went through our own pipeline, recorded and sent.
    statuses = db.execute(select(SmsMessage.status)).scalars().all()
    assert statuses == [MessageStatus.SENT] * 6
    assert count(db, InboundMessage) == 6
    assert redis.Redis.from_url(sms_district.settings.redis_url or "").keys("engage:sms-signup:*") == []


@pytest.mark.slow
def test_an_english_sign_up_survives_wrong_answers_and_ends_with_one_resident(
    sms_district: Texting, db: Session
) -> None:
    assert "1.Wulihe 2.Dongxing 3.Dongxing North" in sms_district.text("JOIN")
    assert sms_district.text("9").startswith("【沈河区委组织部】No community matches that.")
    several = sms_district.text("dong")
    assert "Several communities match." in several and "2.Dongxing 3.Dongxing North" in several
    assert "1.resident" in sms_district.text("2")
    assert "Please reply one of the numbers." in sms_district.text("7")
    assert "Take part as" in sms_district.text("2")
    assert "Reply one or more of the numbers" in sms_district.text("4")
    consent = sms_district.text("2 3")
    assert "invite you to evaluations, text you public notices" in consent and "juries" not in consent
    assert "Please reply Y or N." in sms_district.text("maybe")
    assert "Welcome! You are signed up as evaluator, notice subscriber." in sms_district.text("y")

    [resident] = all_residents(db)
    assert (resident.locale, resident.participant_type, resident.expertise) == ("en", "deputy_pc", None)
    assert resident.community is not None and resident.community.code == "dongxing"
    assert resident.active_roles() == {"evaluator", "subscriber"}
    assert len(resident.subscriptions) == len(NoticeKind) + 1


def test_join_from_a_registered_number_points_to_the_web_and_starts_nothing(
    sms_district: Texting, db: Session
) -> None:
    add_resident(db, locale="en")
    assert (
        sms_district.text("join")
        == f"【沈河区委组织部】This number is already signed up. To change anything: {sms_district.base_url}/me"
    )
    assert is_help(sms_district.text("1"))
    assert len(all_residents(db)) == 1


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["参加", "1", "取消"], "已取消报名"),
        (["JOIN", "1", "0"], "Sign-up cancelled"),
        (["JOIN", "1", "1", "1", "CANCEL"], "no more texts"),  # Twilio's opt-out word: it opts out too
        (["JOIN", "1", "1", "1", "N"], "Sign-up cancelled"),
    ],
)
@pytest.mark.slow
def test_cancelling_leaves_no_record_and_closes_the_dialogue(
    sms_district: Texting, db: Session, texts: list[str], expected: str
) -> None:
    for text in texts:
        last = sms_district.text(text)
    assert expected in last
    assert all_residents(db) == []
    assert audit_entries(db, "resident.register") == []
    if expected == "no more texts":  # the number is stopped: "2" is left unanswered
        assert sms_district.text("START").endswith("on again. Text STOP to end them.")
    assert is_help(sms_district.text("2"))  # no open dialogue any more


@pytest.mark.slow
def test_an_answer_after_30_minutes_hears_that_the_sign_up_timed_out(
    sms_district: Texting, db: Session
) -> None:
    sms_district.text("参加")
    connection = redis.Redis.from_url(sms_district.settings.redis_url or "")
    connection.delete(
        dialogue_key(sms_district.settings.key(Purpose.PHONE_HMAC), TEXTING_PHONE)
    )  # as the TTL would
    assert "报名已超时（30分钟）" in sms_district.text("1")
    assert is_help(sms_district.text("1"))  # said once
    assert all_residents(db) == []


# -- the webhook ---------------------------------------------------------------------------------


def test_a_text_with_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(
    sms_district: Texting, db: Session
) -> None:
    with FakeTwilio(TWILIO_SID, "someone-elses-auth-token") as impostor:
        forged = impostor.send_inbound(sms_district.webhook, TEXTING_PHONE, OUR_NUMBER, "JOIN")
    assert forged.status == 403
    assert json.loads(forged.body)["detail"] == "invalid X-Twilio-Signature"
    unsigned = httpx.post(
        sms_district.webhook, data={"MessageSid": "SM" + "1" * 32, "From": TEXTING_PHONE, "Body": "STOP"}
    )
    assert unsigned.status_code == 403
    params = {"MessageSid": "SM" + "2" * 32, "From": TEXTING_PHONE, "Body": "JOIN"}
    tampered = sms_district.post_signed(params)
    assert tampered.status_code == 200  # the genuine one goes through...
    params_changed = {**params, "MessageSid": "SM" + "3" * 32, "Body": "STOP"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(sms_district.webhook, params)
    refused = httpx.post(sms_district.webhook, data=params_changed, headers={"X-Twilio-Signature": signature})
    assert refused.status_code == 403  # ...a body changed under its signature does not
    run_jobs(sms_district.settings)
    assert count(db, InboundMessage) == 1
    assert count(db, SmsMessage) == 1
    assert all_residents(db) == []


def test_without_twilio_credentials_the_webhook_refuses_everything(client: TestClient, db: Session) -> None:  # type: ignore[type-arg]
    answer = client.post(
        "/webhooks/twilio/inbound",
        data={"MessageSid": "SM" + "1" * 32, "From": TEXTING_PHONE, "Body": "JOIN"},
        headers={"X-Twilio-Signature": "anything"},
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == "no Twilio credentials are configured"
    assert count(db, InboundMessage) == 0


def test_a_redelivered_message_sid_acts_once(sms_district: Texting, db: Session) -> None:
    sms_district.text("参加")
    params = {
        "MessageSid": "SM" + "4" * 32,
        "AccountSid": TWILIO_SID,
        "From": TEXTING_PHONE,
        "To": OUR_NUMBER,
        "Body": "1",
    }
    first = sms_district.post_signed(params)
    again = sms_district.post_signed(params)  # Twilio retrying after a timeout
    assert first.status_code == again.status_code == 200
    assert again.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    run_jobs(sms_district.settings)
    assert (
        len(sms_district.fake.messages_to(TEXTING_PHONE)) == 2
    )  # the community list and one participant question
    # Acted once: the dialogue is at the participant question, so "1" now means "resident".
    assert "可多选" in sms_district.text("1")
    assert count(db, InboundMessage) == 3


def test_simultaneous_deliveries_of_one_message_sid_act_once(sms_district: Texting, db: Session) -> None:
    params = {
        "MessageSid": "SM" + "5" * 32,
        "AccountSid": TWILIO_SID,
        "From": TEXTING_PHONE,
        "To": OUR_NUMBER,
        "Body": "参加",
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: sms_district.post_signed(params), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    run_jobs(sms_district.settings)
    assert len(sms_district.fake.messages_to(TEXTING_PHONE)) == 1
    assert count(db, InboundMessage) == 1


# -- keywords ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("word", ["STOP", " stop ", "Ｓｔｏｐ", "TD", "td", "退订", "退 订"])
def test_stop_td_退订_opt_a_resident_out_and_start_opts_back_in(
    sms_district: Texting, db: Session, word: str
) -> None:
    resident = add_resident(db)
    assert sms_district.text(word) == "【沈河区委组织部】您已退订，不会再收到本平台短信。回复START可恢复。"
    db.refresh(resident)
    assert resident.sms_opt_out_at is not None
    [entry] = audit_entries(db, "resident.sms_opt_out")
    assert (entry.actor, entry.subject_id) == (f"resident:{resident.pseudonym}", resident.pseudonym)
    sent = len(sms_district.fake.messages_to(TEXTING_PHONE))
    sms_district.send(word)  # stopping twice records it once, and the stopped number hears nothing more
    run_jobs(sms_district.settings)
    assert len(audit_entries(db, "resident.sms_opt_out")) == 1
    assert len(sms_district.fake.messages_to(TEXTING_PHONE)) == sent
    assert "已恢复接收" in sms_district.text("start")
    db.refresh(resident)
    assert resident.sms_opt_out_at is None
    assert len(audit_entries(db, "resident.sms_opt_in")) == 1
    assert_no_personal_data_in_the_audit_log(db)


def test_stop_in_the_middle_of_a_sign_up_ends_it(sms_district: Texting, db: Session) -> None:
    sms_district.text("JOIN")
    assert "no more texts" in sms_district.text("STOP")
    sent = len(sms_district.fake.messages_to(TEXTING_PHONE))
    sms_district.send("1")  # not the next question, nor any answer: the number is stopped
    run_jobs(sms_district.settings)
    assert len(sms_district.fake.messages_to(TEXTING_PHONE)) == sent
    assert all_residents(db) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HELP", "Text JOIN to sign up, STOP to end texts"),
        ("help", "Text JOIN to sign up"),
        ("帮助", "回复“参加”报名，回复“退订”停止接收短信"),
        ("hello", "Text JOIN to sign up"),
        ("你好", "回复“参加”报名"),
    ],
)
def test_help_and_anything_unexpected_get_the_help_text(
    sms_district: Texting, text: str, expected: str
) -> None:
    assert expected in sms_district.text(text, OTHER_TEXTING_PHONE)


# -- roster confirmation -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_roster_invited_resident_confirms_with_1(sms_district: Texting, db: Session) -> None:
    resident = add_resident(db, source=Source.IMPORT.value, verified_at=None, invited_at=datetime.now(UTC))
    assert "回复1确认报名" in sms_district.text("参加")
    assert (
        sms_district.text("1")
        == f"【沈河区委组织部】谢谢，您的报名已确认。详情请访问{sms_district.base_url}/me"
    )
    db.refresh(resident)
    assert resident.verified_at is not None
    [entry] = audit_entries(db, "resident.confirm")
    assert entry.subject_id == resident.pseudonym
    assert is_help(sms_district.text("1"))  # confirmed once; now "1" is just a text
    assert len(audit_entries(db, "resident.confirm")) == 1


def test_1_from_anyone_else_confirms_nothing(sms_district: Texting, db: Session) -> None:
    add_resident(db)
    assert "回复“参加”报名" in sms_district.text("1")
    assert audit_entries(db, "resident.confirm") == []


def test_a_sender_we_cannot_text_back_is_recorded_and_not_answered(
    sms_district: Texting, db: Session
) -> None:
    response = sms_district.send("JOIN", phone="ENGAGE")
    assert response.status == 200
    run_jobs(sms_district.settings)
    assert count(db, InboundMessage) == 1 and count(db, SmsMessage) == 0
    assert db.execute(select(InboundMessage.handler)).scalar_one() == "unanswerable"
