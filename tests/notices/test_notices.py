"""Public notices end to end: organizers write and publish through the API, a real rq worker fans the
texts out through the twilio SDK to the HTTP fake, the fake posts signed delivery reports back to a
live server, and the pages show what was published."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.notices.kinds import NoticeKind
from engage.notices.models import Notice
from engage.residents.models import Community, Resident, ResidentRole, Subscription
from engage.settings import Settings
from engage.sms.models import MessageStatus, SmsMessage
from engage.sms.segments import Encoding, count_segments
from engage.testing.fake_twilio import FakeTwilio
from tests.conftest import TWILIO_TOKEN, LiveServer, _free_port, make_settings, run_jobs, twilio_environment
from tests.support import token_for
from workers import context
from workers import fanout as fanout_jobs

OUR_NUMBER = "+8610690000"
SIGNATURE = "【沈河区委组织部】"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class District:
    settings: Settings
    url: str
    api: httpx.Client
    fake: FakeTwilio

    def notice(self, **fields: Any) -> dict[str, Any]:
        body = {
            "kind": NoticeKind.STAGE_RESULT.value,
            "title_zh": "民主测评结果",
            "title_en": "Assessment results",
            "body_zh": "五里河社区主任候选人民主测评结果已公示，欢迎监督。",
            "body_en": "The assessment results for the Wulihe director are public.",
            **fields,
        }
        answer = self.api.post("/api/v1/notices", json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def publish(self, notice_id: int) -> dict[str, Any]:
        answer = self.api.post(f"/api/v1/notices/{notice_id}/publish", json={})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def text_us(self, phone: str, body: str) -> None:
        answer = self.fake.send_inbound(f"{self.url}/webhooks/twilio/inbound", phone, OUR_NUMBER, body)
        assert answer.status == 200, answer.body


@pytest.fixture
def district(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Session
) -> Iterator[District]:
    """A live server that knows its public address (Twilio signs it and posts reports there)."""
    port = _free_port()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        **twilio_environment(fake_twilio),
    )
    db.add_all(
        [
            Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"),
            Community(code="dongxing", name_zh="东兴社区", name_en="Dongxing"),
        ]
    )
    db.commit()
    token = token_for(settings, "lin@district.gov.cn", "organizer")
    with LiveServer(create_app(settings), port=port) as server:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
            yield District(settings, server.url, api, fake_twilio)


@dataclass(frozen=True)
class Plan:
    """One resident to insert: who they are and what they asked for."""

    phone: str
    locale: str = "zh_CN"
    subscriber: bool = True
    withdrawn: bool = False
    opted_out: bool = False
    kinds: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()


def add_residents(db: Session, plans: list[Plan]) -> dict[str, int]:
    """Insert residents, roles and subscriptions in bulk (executemany); returns {phone: id}."""
    db.execute(
        insert(Resident),
        [
            {
                "phone": p.phone,
                "locale": p.locale,
                "verified_at": NOW,
                "sms_opt_out_at": NOW if p.opted_out else None,
            }
            for p in plans
        ],
    )
    ids: dict[str, int] = {
        str(number): id_ for number, id_ in db.execute(select(Resident.phone, Resident.id))
    }
    roles = [
        {"resident_id": ids[p.phone], "role": "subscriber", "withdrawn_at": NOW if p.withdrawn else None}
        for p in plans
        if p.subscriber
    ]
    if roles:
        db.execute(insert(ResidentRole), roles)
    subscriptions = [
        {"resident_id": ids[p.phone], "kind": kind, "value": value}
        for p in plans
        for kind, values in (("notice", p.kinds), ("community", p.communities))
        for value in values
    ]
    if subscriptions:
        db.execute(insert(Subscription), subscriptions)
    db.commit()
    return {p.phone: ids[p.phone] for p in plans}


def phone(n: int) -> str:
    return f"+86138{n:08d}"


def messages(db: Session, notice_id: int) -> list[SmsMessage]:
    db.expire_all()
    return list(db.execute(select(SmsMessage).where(SmsMessage.notice_id == notice_id)).scalars())


def resident(db: Session, number: str) -> Resident:
    db.expire_all()
    return db.execute(select(Resident).where(Resident.phone == number)).scalar_one()


# -- the fan-out at scale --------------------------------------------------------------------------


def two_thousand(n: int) -> Plan:
    """Half of them subscribed to the stage results of Wulihe, the rest to something else or not at all."""
    stage, final = NoticeKind.STAGE_RESULT.value, NoticeKind.FINAL_RESULT.value
    shapes = [
        {"kinds": (stage,), "communities": ("wulihe",)},  # asked for exactly this
        {"kinds": (final,)},  # another kind only
        {"communities": ("dongxing",)},  # another community only
        {},  # nothing chosen: every kind, every community
    ]
    return Plan(
        phone=phone(n),
        locale="en" if n % 3 == 0 else "zh_CN",
        subscriber=n % 10 != 9,  # jurors and evaluators only
        withdrawn=n % 50 == 7,
        opted_out=n % 20 == 3,
        **shapes[n % 4],
    )


def should_receive(plan: Plan) -> bool:
    wants_kind = not plan.kinds or NoticeKind.STAGE_RESULT.value in plan.kinds
    wants_community = not plan.communities or "wulihe" in plan.communities
    active = plan.subscriber and not plan.withdrawn and not plan.opted_out
    return active and wants_kind and wants_community


def test_a_notice_to_2000_residents_reaches_each_opted_in_subscriber_once_and_is_delivered(
    district: District, db: Session
) -> None:
    plans = [two_thousand(n) for n in range(2000)]
    add_residents(db, plans)
    expected = {p.phone for p in plans if should_receive(p)}
    assert 400 < len(expected) < 1000

    notice = district.notice(audience="communities", community_codes=["wulihe"])
    assert notice["preview"]["recipients"] == len(expected)
    district.publish(notice["id"])
    run_jobs(district.settings)

    assert district.fake.count_by_recipient() == dict.fromkeys(expected, 1)
    english = {p.phone for p in plans if p.locale == "en"}
    for sent in district.fake.messages:
        assert sent.body.startswith(SIGNATURE)
        title = "Assessment results" if sent.to in english else "民主测评结果"
        assert title in sent.body and f"/notices/{notice['id']}" in sent.body
    rows = messages(db, notice["id"])
    assert {m.status for m in rows} == {MessageStatus.SENT}
    assert len(rows) == len(expected)

    reports = district.fake.deliver_all()
    assert {r.status for r in reports} == {200}
    rows = messages(db, notice["id"])
    assert {m.delivery_status for m in rows} == {"delivered"}
    assert all(m.delivered_at is not None for m in rows)

    # Everything again: the fan-out and every batch find nothing left to send.
    context.use(district.settings)
    assert fanout_jobs.fan_out(notice["id"]) == 0
    first, last = min(m.id for m in rows), max(m.id for m in rows)
    assert fanout_jobs.send_batch(notice["id"], first, last) == {}
    run_jobs(district.settings)
    assert sum(district.fake.count_by_recipient().values()) == len(expected)


# -- delivery reports ------------------------------------------------------------------------------


def test_delivery_reports_are_signed_idempotent_and_ignore_unknown_messages(
    district: District, db: Session
) -> None:
    add_residents(db, [Plan(phone(1)), Plan(phone(2))])
    notice = district.notice()
    district.publish(notice["id"])
    run_jobs(district.settings)
    sid = district.fake.messages_to(phone(1))[0].sid
    report = f"{district.url}/webhooks/twilio/status"

    forged = httpx.post(
        report, data={"MessageSid": sid, "MessageStatus": "delivered"}, headers={"X-Twilio-Signature": "bad"}
    )
    assert forged.status_code == 403
    unsigned = httpx.post(report, data={"MessageSid": sid, "MessageStatus": "delivered"})
    assert unsigned.status_code == 403
    assert {m.delivery_status for m in messages(db, notice["id"])} == {None}

    assert district.fake.deliver(sid, "undelivered", error_code=30003).status == 200
    assert district.fake.deliver(sid, "undelivered", error_code=30003).status == 200  # a redelivery
    assert district.fake.deliver(sid, "sent").status == 200  # late and out of order: ignored
    by_phone = {m.to: m for m in messages(db, notice["id"])}
    assert (by_phone[phone(1)].delivery_status, by_phone[phone(1)].error_code) == ("undelivered", 30003)
    assert by_phone[phone(2)].delivery_status is None

    # A message the app never sent: answered 200 (so Twilio stops retrying), nothing changes.
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered", "To": phone(9)}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(report, params)
    stranger = httpx.post(report, data=params, headers={"X-Twilio-Signature": signature})
    assert stranger.status_code == 200
    assert [m.delivery_status for m in messages(db, notice["id"]) if m.to == phone(2)] == [None]


# -- opting out ------------------------------------------------------------------------------------


def test_stop_from_a_subscriber_keeps_the_next_notice_from_them(district: District, db: Session) -> None:
    add_residents(db, [Plan(phone(1)), Plan(phone(2))])
    first = district.notice()
    district.publish(first["id"])
    run_jobs(district.settings)
    assert district.fake.count_by_recipient() == {phone(1): 1, phone(2): 1}

    district.text_us(phone(1), "退订")
    run_jobs(district.settings)  # the STOP reply
    second = district.notice(title_zh="最终结果", title_en="Final results")
    assert second["preview"]["recipients"] == 1
    district.publish(second["id"])
    run_jobs(district.settings)

    texts_to_1 = [m.body for m in district.fake.messages_to(phone(1))]
    assert not any("最终结果" in body for body in texts_to_1)
    assert ["最终结果" in m.body for m in district.fake.messages_to(phone(2))] == [False, True]


def test_an_opt_out_after_the_fan_out_is_honoured_by_the_send(district: District, db: Session) -> None:
    ids = add_residents(db, [Plan(phone(1)), Plan(phone(2))])
    notice = district.notice()
    district.publish(notice["id"])
    context.use(district.settings)
    fanout_jobs.fan_out(notice["id"])  # texts queued, batches enqueued, nothing sent yet
    district.text_us(phone(1), "STOP")
    run_jobs(district.settings)

    assert [m.body for m in district.fake.messages_to(phone(2)) if "/notices/" in m.body]
    assert not [m.body for m in district.fake.messages_to(phone(1)) if "/notices/" in m.body]
    skipped = next(m for m in messages(db, notice["id"]) if m.resident_id == ids[phone(1)])
    assert skipped.status == MessageStatus.FAILED and skipped.gateway_id is None


def test_a_21610_answer_opts_the_resident_out_and_is_audited(district: District, db: Session) -> None:
    add_residents(db, [Plan(phone(1)), Plan(phone(2))])
    district.fake.fail_for(phone(1), 21610)
    notice = district.notice()
    district.publish(notice["id"])
    run_jobs(district.settings)

    refused = next(m for m in messages(db, notice["id"]) if m.to == phone(1))
    assert (refused.status, refused.error_code) == (MessageStatus.FAILED, 21610)
    who = resident(db, phone(1))
    assert who.sms_opt_out_at is not None
    assert resident(db, phone(2)).sms_opt_out_at is None
    entries = db.execute(
        select(AuditEntry).where(
            AuditEntry.action == "resident.sms_opt_out", AuditEntry.subject_id == who.pseudonym
        )
    ).scalars()
    assert [e.details["via"] for e in entries] == ["gateway"]


def test_429_and_500_answers_are_retried_and_each_text_goes_out_once(district: District, db: Session) -> None:
    add_residents(db, [Plan(phone(n)) for n in range(1, 6)])
    district.fake.fail_next(2, status=429)
    district.fake.fail_next(2, status=500)
    notice = district.notice()
    district.publish(notice["id"])
    run_jobs(district.settings)

    assert district.fake.count_by_recipient() == {phone(n): 1 for n in range(1, 6)}
    assert {m.status for m in messages(db, notice["id"])} == {MessageStatus.SENT}


# -- the preview and the limits --------------------------------------------------------------------


def expected_text(settings: Settings, locale: str, title: str, body: str, notice_id: int) -> str:
    link = f"{settings.public_base_url}/notices/{notice_id}"
    if locale == "en":
        return f"{SIGNATURE}{title}: {body} Details: {link}"
    return f"{SIGNATURE}{title}：{body}详情：{link}"  # no space after the body's 。


def test_the_preview_counts_segments_and_cost_for_each_language(district: District, db: Session) -> None:
    add_residents(db, [Plan(phone(1)), Plan(phone(2)), Plan(phone(3), locale="en")])
    body_zh = "五里河社区主任候选人民主测评结果已公示，公示期为七天，欢迎居民监督。"
    body_en = "The assessment results for the Wulihe director are public for seven days."
    notice = district.notice(body_zh=body_zh, body_en=body_en)
    preview = notice["preview"]
    languages = {language["locale"]: language for language in preview["languages"]}

    zh = count_segments(expected_text(district.settings, "zh_CN", "民主测评结果", body_zh, notice["id"]))
    en = count_segments(expected_text(district.settings, "en", "Assessment results", body_en, notice["id"]))
    assert (languages["zh_CN"]["segments"], languages["zh_CN"]["units"]) == (zh.segments, zh.units)
    assert (languages["en"]["segments"], languages["en"]["units"]) == (en.segments, en.units)
    assert zh.segments == 2 and languages["zh_CN"]["encoding"] == Encoding.UCS2.value
    # The signature is Chinese, so even the English text is UCS-2; the preview says which characters.
    assert languages["en"]["encoding"] == Encoding.UCS2.value and "【" in languages["en"]["ucs2_characters"]
    assert (languages["zh_CN"]["recipients"], languages["en"]["recipients"]) == (2, 1)
    assert preview["segments"] == 2 * zh.segments + en.segments
    assert Decimal(preview["cost"]) == Decimal(preview["price_per_segment"]) * preview["segments"]


def test_a_body_longer_than_the_segment_limit_is_refused_naming_field_and_count(
    district: District, db: Session
) -> None:
    answer = district.api.post(  # a client asking in English gets the English text
        "/api/v1/notices",
        json={
            "kind": NoticeKind.PROCESS.value,
            "title_zh": "流程",
            "title_en": "Process",
            "body_zh": "测" * 300,
            "body_en": "ok",
        },
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["field"] == "body_zh"
    # The notice never got an id, so the link in the text was numbered 1 when it was counted.
    too_long = count_segments(expected_text(district.settings, "zh_CN", "流程", "测" * 300, 1))
    assert f"{too_long.segments} SMS segments" in problem["detail"] and "at most 3" in problem["detail"]
    assert db.execute(select(func.count()).select_from(SmsMessage)).scalar_one() == 0


# -- states and pages ------------------------------------------------------------------------------


def test_only_published_notices_are_public_pages_and_a_notice_is_published_once(district: District) -> None:
    draft = district.notice(title_zh="草稿公告", title_en="A draft")
    published = district.notice(title_zh="已发布公告", title_en="Out now")
    district.publish(published["id"])
    assert district.api.post(f"/api/v1/notices/{published['id']}/publish", json={}).status_code == 409
    assert district.api.put(
        f"/api/v1/notices/{published['id']}", json={**draft, "kind": "process"}
    ).status_code in (
        400,
        409,
    )

    page = httpx.get(f"{district.url}/notices", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "已发布公告" in page.text and "草稿公告" not in page.text
    shown = httpx.get(f"{district.url}/notices/{published['id']}", headers={"Accept-Language": "en"})
    assert shown.status_code == 200 and "Out now" in shown.text
    hidden = httpx.get(f"{district.url}/notices/{draft['id']}", headers={"Accept": "text/html"})
    assert hidden.status_code == 404

    closed = district.api.post(f"/api/v1/notices/{published['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert httpx.get(f"{district.url}/notices/{published['id']}").status_code == 200


def test_a_scheduled_notice_waits_for_its_time_then_goes_out(district: District, db: Session) -> None:
    add_residents(db, [Plan(phone(1))])
    notice = district.notice()
    later = datetime(2100, 1, 1, tzinfo=UTC).isoformat()
    answer = district.api.post(f"/api/v1/notices/{notice['id']}/publish", json={"publish_at": later})
    assert answer.status_code == 200 and answer.json()["status"] == "scheduled"
    run_jobs(district.settings)
    assert district.fake.messages == []
    assert httpx.get(f"{district.url}/notices/{notice['id']}").status_code == 404

    context.use(district.settings)
    assert fanout_jobs.fan_out(notice["id"]) == 0  # too early: the job rq's scheduler runs does nothing
    scheduled = db.get(Notice, notice["id"])
    assert scheduled is not None
    scheduled.publish_at = datetime(2020, 1, 1, tzinfo=UTC)  # as if the time had come
    db.commit()
    assert fanout_jobs.fan_out(notice["id"]) == 1
    run_jobs(district.settings)
    assert district.fake.count_by_recipient() == {phone(1): 1}
    assert httpx.get(f"{district.url}/notices/{notice['id']}").status_code == 200
