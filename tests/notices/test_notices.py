"""Public notices end to end: organizers write and publish through the API, a real rq worker fans the
texts out through the twilio SDK to the HTTP fake, the fake posts signed delivery reports back to a
live server, and the pages show what was published."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from engage.audit.models import AuditEntry
from engage.notices.models import Notice
from engage.residents.models import Resident
from engage.residents.notice_kinds import NoticeKind
from engage.settings import Settings
from engage.sms.models import MessageStatus, SmsMessage
from engage.sms.segments import Encoding, count_segments
from tests.factories import NoticeDistrict, Plan, add_subscribers, phone
from tests.support import TWILIO_TOKEN, run_jobs
from workers import context
from workers import fanout as fanout_jobs

SIGNATURE = "【沈河区委组织部】"
SIGNATURE_EN = "[Shenhe District Organization Dept] "  # GSM-7: an English text stays 160 a segment


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


@pytest.mark.slow
def test_a_notice_to_2000_residents_reaches_each_opted_in_subscriber_once_and_is_delivered(
    notice_district: NoticeDistrict, db: Session
) -> None:
    plans = [two_thousand(n) for n in range(2000)]
    add_subscribers(db, plans)
    expected = {p.phone for p in plans if should_receive(p)}
    assert 400 < len(expected) < 1000

    notice = notice_district.notice(audience="communities", community_codes=["wulihe"])
    assert notice["preview"]["recipients"] == len(expected)
    notice_district.publish(notice["id"])
    run_jobs(notice_district.settings)

    assert notice_district.fake.count_by_recipient() == dict.fromkeys(expected, 1)
    english = {p.phone for p in plans if p.locale == "en"}
    for sent in notice_district.fake.messages:
        assert sent.body.startswith(SIGNATURE_EN if sent.to in english else SIGNATURE)
        title = "Assessment results" if sent.to in english else "民主测评结果"
        assert title in sent.body and f"/notices/{notice['id']}" in sent.body
    rows = messages(db, notice["id"])
    assert {m.status for m in rows} == {MessageStatus.SENT}
    assert len(rows) == len(expected)

    reports = notice_district.fake.deliver_all()
    assert {r.status for r in reports} == {200}
    rows = messages(db, notice["id"])
    assert {m.delivery_status for m in rows} == {"delivered"}
    assert all(m.delivered_at is not None for m in rows)

    # Everything again: the fan-out and every batch find nothing left to send.
    context.use(notice_district.settings)
    assert fanout_jobs.fan_out(notice["id"]) == 0
    first, last = min(m.id for m in rows), max(m.id for m in rows)
    assert fanout_jobs.send_batch(notice["id"], first, last) == {}
    run_jobs(notice_district.settings)
    assert sum(notice_district.fake.count_by_recipient().values()) == len(expected)


# -- delivery reports ------------------------------------------------------------------------------


@pytest.mark.slow
def test_delivery_reports_are_signed_idempotent_and_ignore_unknown_messages(
    notice_district: NoticeDistrict, db: Session
) -> None:
    add_subscribers(db, [Plan(phone(1)), Plan(phone(2))])
    notice = notice_district.notice()
    notice_district.publish(notice["id"])
    run_jobs(notice_district.settings)
    sid = notice_district.fake.messages_to(phone(1))[0].sid
    report = f"{notice_district.url}/webhooks/twilio/status"

    forged = httpx.post(
        report, data={"MessageSid": sid, "MessageStatus": "delivered"}, headers={"X-Twilio-Signature": "bad"}
    )
    assert forged.status_code == 403
    unsigned = httpx.post(report, data={"MessageSid": sid, "MessageStatus": "delivered"})
    assert unsigned.status_code == 403
    assert {m.delivery_status for m in messages(db, notice["id"])} == {None}

    assert notice_district.fake.deliver(sid, "undelivered", error_code=30003).status == 200
    assert notice_district.fake.deliver(sid, "undelivered", error_code=30003).status == 200  # a redelivery
    assert notice_district.fake.deliver(sid, "sent").status == 200  # late and out of order: ignored
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


@pytest.mark.slow
def test_stop_from_a_subscriber_keeps_the_next_notice_from_them(
    notice_district: NoticeDistrict, db: Session
) -> None:
    add_subscribers(db, [Plan(phone(1)), Plan(phone(2))])
    first = notice_district.notice()
    notice_district.publish(first["id"])
    run_jobs(notice_district.settings)
    assert notice_district.fake.count_by_recipient() == {phone(1): 1, phone(2): 1}

    notice_district.text_us(phone(1), "退订")
    run_jobs(notice_district.settings)  # the STOP reply
    second = notice_district.notice(title_zh="最终结果", title_en="Final results")
    assert second["preview"]["recipients"] == 1
    notice_district.publish(second["id"])
    run_jobs(notice_district.settings)

    texts_to_1 = [m.body for m in notice_district.fake.messages_to(phone(1))]
    assert not any("最终结果" in body for body in texts_to_1)
    assert ["最终结果" in m.body for m in notice_district.fake.messages_to(phone(2))] == [False, True]


def test_an_opt_out_after_the_fan_out_is_honoured_by_the_send(
    notice_district: NoticeDistrict, db: Session
) -> None:
    ids = add_subscribers(db, [Plan(phone(1)), Plan(phone(2))])
    notice = notice_district.notice()
    notice_district.publish(notice["id"])
    context.use(notice_district.settings)
    fanout_jobs.fan_out(notice["id"])  # texts queued, batches enqueued, nothing sent yet
    notice_district.text_us(phone(1), "STOP")
    run_jobs(notice_district.settings)

    assert [m.body for m in notice_district.fake.messages_to(phone(2)) if "/notices/" in m.body]
    assert not [m.body for m in notice_district.fake.messages_to(phone(1)) if "/notices/" in m.body]
    skipped = next(m for m in messages(db, notice["id"]) if m.resident_id == ids[phone(1)])
    assert skipped.status == MessageStatus.FAILED and skipped.gateway_id is None


@pytest.mark.slow
def test_a_21610_answer_opts_the_resident_out_and_is_audited(
    notice_district: NoticeDistrict, db: Session
) -> None:
    add_subscribers(db, [Plan(phone(1)), Plan(phone(2))])
    notice_district.fake.fail_for(phone(1), 21610)
    notice = notice_district.notice()
    notice_district.publish(notice["id"])
    run_jobs(notice_district.settings)

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


@pytest.mark.slow
def test_429_and_500_answers_are_retried_and_each_text_goes_out_once(
    notice_district: NoticeDistrict, db: Session
) -> None:
    add_subscribers(db, [Plan(phone(n)) for n in range(1, 6)])
    notice_district.fake.fail_next(2, status=429)
    notice_district.fake.fail_next(2, status=500)
    notice = notice_district.notice()
    notice_district.publish(notice["id"])
    run_jobs(notice_district.settings)

    assert notice_district.fake.count_by_recipient() == {phone(n): 1 for n in range(1, 6)}
    assert {m.status for m in messages(db, notice["id"])} == {MessageStatus.SENT}


# -- the preview and the limits --------------------------------------------------------------------


def expected_text(settings: Settings, locale: str, title: str, body: str, notice_id: int) -> str:
    link = f"{settings.public_base_url}/notices/{notice_id}"
    if locale == "en":
        return f"{SIGNATURE_EN}{title}: {body} Details: {link}"
    return f"{SIGNATURE}{title}：{body}详情：{link}"  # no space after the body's 。


@pytest.mark.slow
def test_the_preview_counts_segments_and_cost_for_each_language(
    notice_district: NoticeDistrict, db: Session
) -> None:
    add_subscribers(db, [Plan(phone(1)), Plan(phone(2)), Plan(phone(3), locale="en")])
    body_zh = "五里河社区主任候选人民主测评结果已公示，公示期为七天，欢迎居民监督。"
    body_en = "The assessment results for the Wulihe director are public for seven days."
    notice = notice_district.notice(body_zh=body_zh, body_en=body_en)
    preview = notice["preview"]
    languages = {language["locale"]: language for language in preview["languages"]}

    zh = count_segments(
        expected_text(notice_district.settings, "zh_CN", "民主测评结果", body_zh, notice["id"])
    )
    en = count_segments(
        expected_text(notice_district.settings, "en", "Assessment results", body_en, notice["id"])
    )
    assert (languages["zh_CN"]["segments"], languages["zh_CN"]["units"]) == (zh.segments, zh.units)
    assert (languages["en"]["segments"], languages["en"]["units"]) == (en.segments, en.units)
    assert zh.segments == 2 and languages["zh_CN"]["encoding"] == Encoding.UCS2.value
    # The English text carries the English signature, so it stays GSM-7 (160 characters a segment).
    assert languages["en"]["encoding"] == Encoding.GSM7.value and languages["en"]["ucs2_characters"] == []
    assert (languages["zh_CN"]["recipients"], languages["en"]["recipients"]) == (2, 1)
    assert preview["segments"] == 2 * zh.segments + en.segments
    assert Decimal(preview["cost"]) == Decimal(preview["price_per_segment"]) * preview["segments"]


@pytest.mark.slow
def test_a_body_longer_than_the_segment_limit_is_refused_naming_field_and_count(
    notice_district: NoticeDistrict, db: Session
) -> None:
    answer = notice_district.api.post(  # a client asking in English gets the English text
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
    assert answer.status_code == 422
    problem = answer.json()
    assert (problem["field"], problem["code"]) == ("body_zh", "rule_broken")
    # The notice never got an id, so the link in the text was numbered 1 when it was counted.
    too_long = count_segments(expected_text(notice_district.settings, "zh_CN", "流程", "测" * 300, 1))
    assert f"{too_long.segments} SMS segments" in problem["detail"] and "at most 3" in problem["detail"]
    assert db.execute(select(func.count()).select_from(SmsMessage)).scalar_one() == 0


# -- states and pages ------------------------------------------------------------------------------


@pytest.mark.slow
def test_only_published_notices_are_public_pages_and_a_notice_is_published_once(
    notice_district: NoticeDistrict,
) -> None:
    draft = notice_district.notice(title_zh="草稿公告", title_en="A draft")
    published = notice_district.notice(title_zh="已发布公告", title_en="Out now")
    notice_district.publish(published["id"])
    assert notice_district.api.post(f"/api/v1/notices/{published['id']}/publish", json={}).status_code == 409
    assert notice_district.api.put(
        f"/api/v1/notices/{published['id']}", json={**draft, "kind": "process"}
    ).status_code in (
        400,
        409,
    )

    page = httpx.get(f"{notice_district.url}/notices", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "已发布公告" in page.text and "草稿公告" not in page.text
    shown = httpx.get(f"{notice_district.url}/notices/{published['id']}", headers={"Accept-Language": "en"})
    assert shown.status_code == 200 and "Out now" in shown.text
    hidden = httpx.get(f"{notice_district.url}/notices/{draft['id']}", headers={"Accept": "text/html"})
    assert hidden.status_code == 404

    closed = notice_district.api.post(f"/api/v1/notices/{published['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert httpx.get(f"{notice_district.url}/notices/{published['id']}").status_code == 200


@pytest.mark.slow
def test_a_scheduled_notice_waits_for_its_time_then_goes_out(
    notice_district: NoticeDistrict, db: Session
) -> None:
    add_subscribers(db, [Plan(phone(1))])
    notice = notice_district.notice()
    later = datetime(2100, 1, 1, tzinfo=UTC).isoformat()
    answer = notice_district.api.post(f"/api/v1/notices/{notice['id']}/publish", json={"publish_at": later})
    assert answer.status_code == 200 and answer.json()["status"] == "scheduled"
    run_jobs(notice_district.settings)
    assert notice_district.fake.messages == []
    assert httpx.get(f"{notice_district.url}/notices/{notice['id']}").status_code == 404

    context.use(notice_district.settings)
    assert fanout_jobs.fan_out(notice["id"]) == 0  # too early: the job rq's scheduler runs does nothing
    scheduled = db.get(Notice, notice["id"])
    assert scheduled is not None
    scheduled.publish_at = datetime(2020, 1, 1, tzinfo=UTC)  # as if the time had come
    db.commit()
    assert fanout_jobs.fan_out(notice["id"]) == 1
    run_jobs(notice_district.settings)
    assert notice_district.fake.count_by_recipient() == {phone(1): 1}
    assert httpx.get(f"{notice_district.url}/notices/{notice['id']}").status_code == 200
