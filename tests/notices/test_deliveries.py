"""The organizer's view of a notice's texts: live counts by state, failures by error code, retrying the
failures a second try may deliver (audited), and the CSV export with masked numbers."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.sms.models import SmsMessage
from tests.factories import (
    NoticeDistrict,
    Plan,
    add_subscribers,
    csrf_token,
    organizer,
    phone,
    token_for,
)
from tests.support import run_jobs

# phone(1) invalid number, phone(2) unsubscribed at the carrier, phone(3) unreachable for now,
# phone(4) a landline, phone(5) delivered, phone(6) no report yet, phone(7) opted out before.


def sent_and_reported(notice_district: NoticeDistrict, db: Session) -> int:
    add_subscribers(db, [Plan(phone(n)) for n in range(1, 7)] + [Plan(phone(7), opted_out=True)])
    notice_district.fake.fail_for(phone(1), 21211)
    notice_district.fake.fail_for(phone(2), 21610)
    notice = notice_district.notice()
    notice_district.publish(notice["id"])
    run_jobs(notice_district.settings)
    fake = notice_district.fake
    assert fake.deliver(fake.messages_to(phone(3))[0].sid, "undelivered", error_code=30003).status == 200
    assert fake.deliver(fake.messages_to(phone(4))[0].sid, "undelivered", error_code=30006).status == 200
    assert fake.deliver(fake.messages_to(phone(5))[0].sid, "delivered").status == 200
    return int(notice["id"])


@pytest.mark.slow
def test_counts_and_failures_by_code_show_where_each_text_stands(
    notice_district: NoticeDistrict, db: Session
) -> None:
    notice_id = sent_and_reported(notice_district, db)
    answer = notice_district.api.get(f"/api/v1/notices/{notice_id}/deliveries")
    assert answer.status_code == 200
    view = answer.json()
    counts = {key: view[key] for key in ("queued", "sending", "sent", "delivered", "failed", "opted_out")}
    assert counts == {"queued": 0, "sending": 0, "sent": 1, "delivered": 1, "failed": 3, "opted_out": 1}
    assert view["total"] == 6 and view["in_progress"] is False
    failures = {f["error_code"]: (f["texts"], f["retryable"]) for f in view["failures"]}
    assert failures == {21211: (1, False), 30003: (1, True), 30006: (1, False)}
    assert view["retryable"] == 1
    assert notice_district.api.get("/api/v1/notices/999/deliveries").status_code == 404


@pytest.mark.slow
def test_retry_queues_only_failures_worth_retrying_sends_them_once_and_is_audited(
    notice_district: NoticeDistrict, db: Session
) -> None:
    notice_id = sent_and_reported(notice_district, db)
    auditor = token_for(notice_district.settings, "audit@district.gov.cn", "auditor")
    refused = notice_district.api.post(
        f"/api/v1/notices/{notice_id}/deliveries/retry", headers={"Authorization": f"Bearer {auditor}"}
    )
    assert refused.status_code == 403

    answer = notice_district.api.post(f"/api/v1/notices/{notice_id}/deliveries/retry")
    assert answer.status_code == 200 and answer.json()["queued_again"] == 1
    run_jobs(notice_district.settings)
    sent = notice_district.fake.count_by_recipient()
    assert sent[phone(3)] == 2  # the unreachable one, once more
    assert (sent[phone(4)], sent[phone(5)], sent[phone(6)]) == (1, 1, 1)
    assert phone(1) not in sent and phone(2) not in sent  # refused for good: never sent again
    view = notice_district.api.get(f"/api/v1/notices/{notice_id}/deliveries").json()
    assert (view["sent"], view["failed"], view["retryable"]) == (2, 2, 0)

    entries = db.execute(select(AuditEntry).where(AuditEntry.action == "notice.retry_failed")).scalars().all()
    assert [(e.subject_id, e.details) for e in entries] == [(str(notice_id), {"texts": 1})]
    again = notice_district.api.post(f"/api/v1/notices/{notice_id}/deliveries/retry")
    assert again.json()["queued_again"] == 0


def read_csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.mark.slow
def test_the_export_masks_numbers_unless_an_organizer_reveals_them_and_that_is_audited(
    notice_district: NoticeDistrict, db: Session
) -> None:
    notice_id = sent_and_reported(notice_district, db)
    masked = notice_district.api.get(f"/api/v1/notices/{notice_id}/deliveries/export.csv")
    assert masked.status_code == 200 and masked.headers["content-type"].startswith("text/csv")
    rows = read_csv(masked.content)
    assert len(rows) == 6
    assert {r["phone"] for r in rows} == {phone(n)[:-8] + "****" + phone(n)[-4:] for n in range(1, 7)}
    by_state = sorted(r["state"] for r in rows)
    assert by_state == ["delivered", "failed", "failed", "failed", "opted_out", "sent"]
    assert all(r["resident"].startswith("r-") for r in rows)

    revealed = notice_district.api.get(f"/api/v1/notices/{notice_id}/deliveries/export.csv?reveal=true")
    assert {r["phone"] for r in read_csv(revealed.content)} == {phone(n) for n in range(1, 7)}
    entries = db.execute(select(AuditEntry).where(AuditEntry.action == "notice.deliveries_export")).scalars()
    assert [e.details for e in entries] == [{"phones": 6}]

    auditor = token_for(notice_district.settings, "audit@district.gov.cn", "auditor")
    headers = {"Authorization": f"Bearer {auditor}"}
    path = f"/api/v1/notices/{notice_id}/deliveries/export.csv"
    assert notice_district.api.get(path + "?reveal=true", headers=headers).status_code == 403
    assert notice_district.api.get(path, headers=headers).status_code == 200
    assert notice_district.api.get(path + "?reveal=maybe").status_code == 400


@pytest.mark.slow
def test_the_organizer_page_shows_counts_and_retries_through_a_form(
    notice_district: NoticeDistrict, db: Session
) -> None:
    notice_id = sent_and_reported(notice_district, db)
    password = organizer(notice_district.settings, "wang@district.gov.cn", "organizer")
    with httpx.Client(
        base_url=notice_district.url, headers={"Accept-Language": "zh-CN"}, timeout=30
    ) as browser:
        login = {"email": "wang@district.gov.cn", "password": password, "_csrf_token": csrf_token(browser)}
        assert browser.post("/login", data={**login, "next": "/organizer"}).status_code in (302, 303)
        page = browser.get(f"/organizer/notices/{notice_id}/deliveries")
        assert page.status_code == 200
        assert "已送达" in page.text and "按错误码统计的失败" in page.text and "30003" in page.text
        assert "Refresh" not in page.headers  # nothing left to send: no reloading
        # The button leads to a confirmation page first: nothing is queued by following it.
        confirm = browser.get(f"/organizer/notices/{notice_id}/deliveries/retry")
        assert confirm.status_code == 200 and "¥" in confirm.text
        db.expire_all()
        assert db.execute(select(SmsMessage).where(SmsMessage.status == "queued")).first() is None
        token = re.search(r'name="_csrf_token" value="([^"]+)"', confirm.text)
        assert token, "the confirmation form carries the CSRF token"
        assert browser.post(f"/organizer/notices/{notice_id}/deliveries/retry").status_code == 403
        retried = browser.post(
            f"/organizer/notices/{notice_id}/deliveries/retry", data={"_csrf_token": token.group(1)}
        )
        assert retried.status_code == 303
        after = browser.get(retried.headers["location"])
        assert "已将1条失败短信重新排队" in after.text
        assert after.headers.get("Refresh") == "5"  # the retried text is queued: the page reloads itself
        export = browser.get(f"/organizer/notices/{notice_id}/deliveries/export.csv")
        assert export.status_code == 200 and phone(3) not in export.text
        # The page's export is for a spreadsheet: labelled columns, states in words, local times.
        rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert {"化名", "电话", "状态", "发送时间"} <= set(rows[0])
        assert {row["状态"] for row in rows} <= {
            "排队中",
            "发送中",
            "已发出，尚无回执",
            "已送达",
            "失败",
            "已退订",
        }
        assert not re.search(r"\d{4}-\d\d-\d\dT", export.text)
    run_jobs(notice_district.settings)
    assert notice_district.fake.count_by_recipient()[phone(3)] == 2
