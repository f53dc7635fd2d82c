"""Signing up and answering by SMS, end to end: the fake Twilio posts signed texts to a live server,
a real rq worker sends our replies back through the twilio SDK, and the fake shows what the phone got."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.keys import Purpose
from engage.notices.kinds import NoticeKind
from engage.residents.models import CONSENT_VERSION, Community, Resident, Source
from engage.residents.sms_signup import dialogue_key
from engage.settings import Settings
from engage.sms.models import InboundMessage, MessageStatus, SmsMessage
from engage.testing.fake_twilio import FakeTwilio, WebhookResponse
from tests.conftest import (
    TWILIO_SID,
    TWILIO_TOKEN,
    LiveServer,
    _free_port,
    make_settings,
    run_jobs,
    twilio_environment,
)

OUR_NUMBER = "+8610690000"
PHONE = "+8613800138000"
OTHER_PHONE = "+8613900139000"
COMMUNITIES = [
    ("wulihe", "五里河社区", "Wulihe"),
    ("dongxing", "东兴社区", "Dongxing"),
    ("dongxingbei", "东兴北社区", "Dongxing North"),
]


class Texting:
    """Phones texting our number through the fake Twilio, and what they get back."""

    def __init__(self, fake: FakeTwilio, settings: Settings, base_url: str) -> None:
        self.fake = fake
        self.settings = settings
        self.base_url = base_url
        self.webhook = f"{base_url}/webhooks/twilio/inbound"

    def send(self, body: str, phone: str = PHONE) -> WebhookResponse:
        return self.fake.send_inbound(self.webhook, phone, OUR_NUMBER, body)

    def text(self, body: str, phone: str = PHONE) -> str:
        """Text us and return the one reply that arrives once the worker has run."""
        before = len(self.fake.messages_to(phone))
        answered = self.send(body, phone)
        assert (answered.status, answered.body) == (200, '<?xml version="1.0" encoding="UTF-8"?><Response/>')
        run_jobs(self.settings)
        replies = self.fake.messages_to(phone)[before:]
        assert len(replies) == 1, [r.body for r in replies]
        assert replies[0].num_segments <= 3, replies[0].body
        return replies[0].body

    def post_signed(self, params: dict[str, str]) -> httpx.Response:
        """POST exactly these parameters, signed as Twilio signs them (to redeliver a MessageSid)."""
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(self.webhook, params)
        return httpx.post(self.webhook, data=params, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def sms(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Session
) -> Iterator[Texting]:
    """A live server that knows its own public address (Twilio signs it), with a small district."""
    port = _free_port()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        **twilio_environment(fake_twilio),
    )
    db.add_all([Community(code=code, name_zh=zh, name_en=en) for code, zh, en in COMMUNITIES])
    db.commit()
    with LiveServer(create_app(settings), port=port) as server:
        yield Texting(fake_twilio, settings, server.url)


def residents(db: Session) -> list[Resident]:
    db.expire_all()
    return list(db.execute(select(Resident)).scalars())


def audit(db: Session, action: str) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def count(db: Session, model: Any) -> int:
    return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def add_resident(db: Session, phone: str = PHONE, **fields: Any) -> Resident:
    community = db.execute(select(Community).where(Community.code == "wulihe")).scalar_one()
    values: dict[str, Any] = {
        "locale": "zh_CN",
        "source": Source.WEB.value,
        "verified_at": datetime.now(UTC),
        "community_id": community.id,
    }
    resident = Resident(phone=phone, **{**values, **fields})
    db.add(resident)
    db.commit()
    return resident


def is_help(reply: str) -> bool:
    return "Text JOIN to sign up" in reply or "回复“参加”报名" in reply


def assert_no_personal_data_in_the_audit_log(db: Session) -> None:
    for entry in db.execute(select(AuditEntry)).scalars():
        written = json.dumps([entry.actor, entry.subject_id, entry.details], ensure_ascii=False)
        assert "13800138000" not in written, written


# -- the whole dialogue --------------------------------------------------------------------------


def test_a_chinese_sign_up_by_text_makes_one_verified_resident_with_consents_and_subscriptions(
    sms: Texting, db: Session
) -> None:
    assert "1.五里河社区 2.东兴社区 3.东兴北社区" in sms.text("参加")
    assert "您的身份" in sms.text("2")
    assert "专业领域" in sms.text("5")
    assert "可多选" in sms.text("城市规划")
    consent = sms.text("13")
    assert "抽签组成评审团" in consent and "发送公告短信" in consent and "测评" not in consent
    done = sms.text("是")
    assert done.startswith("【沈河区委组织部】报名成功")
    assert f"{sms.base_url}/me" in done

    [resident] = residents(db)
    assert resident.phone == PHONE
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
    [registered] = audit(db, "resident.register")
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
    assert redis.Redis.from_url(sms.settings.redis_url or "").keys("engage:sms-signup:*") == []


def test_an_english_sign_up_survives_wrong_answers_and_ends_with_one_resident(
    sms: Texting, db: Session
) -> None:
    assert "1.Wulihe 2.Dongxing 3.Dongxing North" in sms.text("JOIN")
    assert sms.text("9").startswith("【沈河区委组织部】No community matches that.")
    several = sms.text("dong")
    assert "Several communities match." in several and "2.Dongxing 3.Dongxing North" in several
    assert "1.resident" in sms.text("2")
    assert "Please reply one of the numbers." in sms.text("7")
    assert "Take part as" in sms.text("2")
    assert "Reply one or more of the numbers" in sms.text("4")
    consent = sms.text("2 3")
    assert "invite you to evaluations, text you public notices" in consent and "juries" not in consent
    assert "Please reply Y or N." in sms.text("maybe")
    assert "Welcome! You are signed up as evaluator, notice subscriber." in sms.text("y")

    [resident] = residents(db)
    assert (resident.locale, resident.participant_type, resident.expertise) == ("en", "deputy_pc", None)
    assert resident.community is not None and resident.community.code == "dongxing"
    assert resident.active_roles() == {"evaluator", "subscriber"}
    assert len(resident.subscriptions) == len(NoticeKind) + 1


def test_join_from_a_registered_number_points_to_the_web_and_starts_nothing(
    sms: Texting, db: Session
) -> None:
    add_resident(db, locale="en")
    assert (
        sms.text("join")
        == f"【沈河区委组织部】This number is already signed up. To change anything: {sms.base_url}/me"
    )
    assert is_help(sms.text("1"))
    assert len(residents(db)) == 1


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["参加", "1", "取消"], "已取消报名"),
        (["JOIN", "1", "0"], "Sign-up cancelled"),
        (["JOIN", "1", "1", "1", "CANCEL"], "no more texts"),  # Twilio's opt-out word: it opts out too
        (["JOIN", "1", "1", "1", "N"], "Sign-up cancelled"),
    ],
)
def test_cancelling_leaves_no_record_and_closes_the_dialogue(
    sms: Texting, db: Session, texts: list[str], expected: str
) -> None:
    for text in texts:
        last = sms.text(text)
    assert expected in last
    assert residents(db) == []
    assert audit(db, "resident.register") == []
    if expected == "no more texts":  # the number is stopped: "2" is left unanswered
        assert sms.text("START").endswith("on again. Text STOP to end them.")
    assert is_help(sms.text("2"))  # no open dialogue any more


def test_an_answer_after_30_minutes_hears_that_the_sign_up_timed_out(sms: Texting, db: Session) -> None:
    sms.text("参加")
    connection = redis.Redis.from_url(sms.settings.redis_url or "")
    connection.delete(dialogue_key(sms.settings.key(Purpose.PHONE_HMAC), PHONE))  # as the TTL would
    assert "报名已超时（30分钟）" in sms.text("1")
    assert is_help(sms.text("1"))  # said once
    assert residents(db) == []


# -- the webhook ---------------------------------------------------------------------------------


def test_a_text_with_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(
    sms: Texting, db: Session
) -> None:
    with FakeTwilio(TWILIO_SID, "someone-elses-auth-token") as impostor:
        forged = impostor.send_inbound(sms.webhook, PHONE, OUR_NUMBER, "JOIN")
    assert forged.status == 403
    assert json.loads(forged.body)["detail"] == "invalid X-Twilio-Signature"
    unsigned = httpx.post(sms.webhook, data={"MessageSid": "SM" + "1" * 32, "From": PHONE, "Body": "STOP"})
    assert unsigned.status_code == 403
    params = {"MessageSid": "SM" + "2" * 32, "From": PHONE, "Body": "JOIN"}
    tampered = sms.post_signed(params)
    assert tampered.status_code == 200  # the genuine one goes through...
    params_changed = {**params, "MessageSid": "SM" + "3" * 32, "Body": "STOP"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(sms.webhook, params)
    refused = httpx.post(sms.webhook, data=params_changed, headers={"X-Twilio-Signature": signature})
    assert refused.status_code == 403  # ...a body changed under its signature does not
    run_jobs(sms.settings)
    assert count(db, InboundMessage) == 1
    assert count(db, SmsMessage) == 1
    assert residents(db) == []


def test_without_twilio_credentials_the_webhook_refuses_everything(client: TestClient, db: Session) -> None:  # type: ignore[type-arg]
    answer = client.post(
        "/webhooks/twilio/inbound",
        data={"MessageSid": "SM" + "1" * 32, "From": PHONE, "Body": "JOIN"},
        headers={"X-Twilio-Signature": "anything"},
    )
    assert answer.status_code == 403
    assert answer.json()["detail"] == "no Twilio credentials are configured"
    assert count(db, InboundMessage) == 0


def test_a_redelivered_message_sid_acts_once(sms: Texting, db: Session) -> None:
    sms.text("参加")
    params = {
        "MessageSid": "SM" + "4" * 32,
        "AccountSid": TWILIO_SID,
        "From": PHONE,
        "To": OUR_NUMBER,
        "Body": "1",
    }
    first = sms.post_signed(params)
    again = sms.post_signed(params)  # Twilio retrying after a timeout
    assert first.status_code == again.status_code == 200
    assert again.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    run_jobs(sms.settings)
    assert len(sms.fake.messages_to(PHONE)) == 2  # the community list and one participant question
    # Acted once: the dialogue is at the participant question, so "1" now means "resident".
    assert "可多选" in sms.text("1")
    assert count(db, InboundMessage) == 3


def test_simultaneous_deliveries_of_one_message_sid_act_once(sms: Texting, db: Session) -> None:
    params = {
        "MessageSid": "SM" + "5" * 32,
        "AccountSid": TWILIO_SID,
        "From": PHONE,
        "To": OUR_NUMBER,
        "Body": "参加",
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: sms.post_signed(params), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    run_jobs(sms.settings)
    assert len(sms.fake.messages_to(PHONE)) == 1
    assert count(db, InboundMessage) == 1


# -- keywords ------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", " stop ", "Ｓｔｏｐ", "TD", "td", "退订", "退 订"])
def test_stop_td_退订_opt_a_resident_out_and_start_opts_back_in(sms: Texting, db: Session, word: str) -> None:
    resident = add_resident(db)
    assert sms.text(word) == "【沈河区委组织部】您已退订，不会再收到本平台短信。回复START可恢复。"
    db.refresh(resident)
    assert resident.sms_opt_out_at is not None
    [entry] = audit(db, "resident.sms_opt_out")
    assert (entry.actor, entry.subject_id) == (f"resident:{resident.pseudonym}", resident.pseudonym)
    sent = len(sms.fake.messages_to(PHONE))
    sms.send(word)  # stopping twice records it once, and the stopped number hears nothing more
    run_jobs(sms.settings)
    assert len(audit(db, "resident.sms_opt_out")) == 1
    assert len(sms.fake.messages_to(PHONE)) == sent
    assert "已恢复接收" in sms.text("start")
    db.refresh(resident)
    assert resident.sms_opt_out_at is None
    assert len(audit(db, "resident.sms_opt_in")) == 1
    assert_no_personal_data_in_the_audit_log(db)


def test_stop_in_the_middle_of_a_sign_up_ends_it(sms: Texting, db: Session) -> None:
    sms.text("JOIN")
    assert "no more texts" in sms.text("STOP")
    sent = len(sms.fake.messages_to(PHONE))
    sms.send("1")  # not the next question, nor any answer: the number is stopped
    run_jobs(sms.settings)
    assert len(sms.fake.messages_to(PHONE)) == sent
    assert residents(db) == []


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
def test_help_and_anything_unexpected_get_the_help_text(sms: Texting, text: str, expected: str) -> None:
    assert expected in sms.text(text, OTHER_PHONE)


# -- roster confirmation -------------------------------------------------------------------------


def test_a_roster_invited_resident_confirms_with_1(sms: Texting, db: Session) -> None:
    resident = add_resident(db, source=Source.IMPORT.value, verified_at=None, invited_at=datetime.now(UTC))
    assert "回复1确认报名" in sms.text("参加")
    assert sms.text("1") == f"【沈河区委组织部】谢谢，您的报名已确认。详情请访问{sms.base_url}/me"
    db.refresh(resident)
    assert resident.verified_at is not None
    [entry] = audit(db, "resident.confirm")
    assert entry.subject_id == resident.pseudonym
    assert is_help(sms.text("1"))  # confirmed once; now "1" is just a text
    assert len(audit(db, "resident.confirm")) == 1


def test_1_from_anyone_else_confirms_nothing(sms: Texting, db: Session) -> None:
    add_resident(db)
    assert "回复“参加”报名" in sms.text("1")
    assert audit(db, "resident.confirm") == []


def test_a_sender_we_cannot_text_back_is_recorded_and_not_answered(sms: Texting, db: Session) -> None:
    response = sms.send("JOIN", phone="ENGAGE")
    assert response.status == 200
    run_jobs(sms.settings)
    assert count(db, InboundMessage) == 1 and count(db, SmsMessage) == 0
    assert db.execute(select(InboundMessage.handler)).scalar_one() == "unanswerable"
