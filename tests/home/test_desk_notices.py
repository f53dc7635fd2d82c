"""Notices on the console: the composer's live count per language (with the currency), the English
signature that keeps English texts GSM-7, publish and close behind a confirmation page that changes
nothing, the result reported once, and the delivery funnel whose tables are the stored counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from litestar.testing import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.notices.deliveries.rules import TextState, state
from engage.notices.models import Notice
from engage.residents.models import Resident, ResidentRole
from engage.settings import Settings
from engage.sms.models import SmsMessage
from engage.sms.segments import count_segments
from tests.factories import csrf_token, organizer, sign_in

FORM = {
    "kind": "process",
    "title_zh": "推荐工作开始",
    "title_en": "Nominations open",
    "body_zh": "街道副主任选拔推荐即日开始。",
    "body_en": "Nominations for the street deputy directors open today.",
    "audience": "all",
    "community_codes": "",
    "period_days": "",
}


def _subscribers(db: Session, chinese: int, english: int) -> None:
    now = datetime.now(UTC)
    for n in range(chinese + english):
        locale = "zh_CN" if n < chinese else "en"
        resident = Resident(phone=f"+8613900000{n:03d}", name=f"居民{n}", verified_at=now, locale=locale)
        resident.roles = [ResidentRole(role="subscriber", consented_at=now)]
        db.add(resident)
    db.commit()


def _signed_in(client: TestClient, settings: Settings, language: str = "en") -> str:  # type: ignore[type-arg]
    client.headers["Accept-Language"] = language
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    return csrf_token(client, "/organizer")


def _draft(client: TestClient, token: str) -> str:  # type: ignore[type-arg]
    made = client.post("/organizer/notices/", data={**FORM, "_csrf_token": token}, follow_redirects=False)
    assert made.status_code == 303
    return str(made.headers["location"])


def _cells(html: str) -> dict[str, list[str]]:
    """Rows of the page's tables by their header cell: {row label: [cells]}."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def test_the_composer_counts_each_language_as_the_organizer_types(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    _subscribers(db, chinese=2, english=1)
    token = _signed_in(client, settings)
    meter = client.post("/organizer/notices/meter", data={**FORM, "_csrf_token": token})
    assert meter.status_code == 200 and "<html" not in meter.text  # a fragment for htmx
    rows = _cells(meter.text)
    # The English text carries the English signature: GSM-7, one segment; Chinese is UCS-2.
    assert rows["English"][:1] == ["GSM-7"] and rows["中文"][:1] == ["UCS-2"]
    english = f"{settings.sms_signature_en}Nominations open: {FORM['body_en']} Details: "
    assert rows["English"][2] == "1" and english.startswith(settings.signature("en"))
    assert rows["English"][3] == "1" and rows["中文"][3] == "2"  # recipients per language
    zh_segments = int(rows["中文"][2])
    assert rows["中文"][4] == str(2 * zh_segments) and rows["In total"][4] == str(2 * zh_segments + 1)
    total = (2 * zh_segments + 1) * settings.sms_price_per_segment
    assert rows["In total"][-1] == f"CN¥{total:.2f}"

    # A Chinese character in the English text: the English row turns UCS-2 and names the character.
    typed = client.post(
        "/organizer/notices/meter", data={**FORM, "body_en": "Open today。", "_csrf_token": token}
    ).text
    assert _cells(typed)["English"][0] == "UCS-2" and "<code>。</code>" in typed
    # Nothing was saved by counting.
    assert db.execute(select(func.count()).select_from(Notice)).scalar_one() == 0


def test_the_english_text_is_signed_in_english_and_stays_gsm(settings: Settings) -> None:
    from engage.notices import fanout

    notice = Notice(kind="process", title_zh="标题", title_en="Title", body_zh="正文", body_en="Body text.")
    notice.id = 12
    english = fanout.sms_text(notice, "en", settings)
    assert english.startswith(settings.sms_signature_en) and count_segments(english).encoding == "GSM-7"
    assert fanout.sms_text(notice, "zh_CN", settings).startswith(settings.sms_signature)


def test_publishing_shows_a_confirmation_first_and_reports_its_result_once(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    _subscribers(db, chinese=2, english=1)
    token = _signed_in(client, settings)
    path = _draft(client, token)
    page = client.get(path).text
    # The button is a GET form to the confirmation page: no POST form publishes from here.
    assert (
        f'method="get" action="{path}/publish"' in page
        and f'method="post" action="{path}/publish"' not in page
    )

    confirm = client.get(f"{path}/publish", params={"publish_at": ""})
    assert confirm.status_code == 200
    assert "text 3 residents" in confirm.text and "CN¥" in confirm.text
    assert "This cannot be undone" in confirm.text and "cannot be called back" in confirm.text
    assert 'name="_csrf_token"' in confirm.text
    db.expire_all()
    assert db.execute(select(Notice.status)).scalar_one() == "draft"
    assert db.execute(select(func.count()).select_from(SmsMessage)).scalar_one() == 0
    assert db.execute(select(AuditEntry).where(AuditEntry.action == "notice.publish")).first() is None

    done = client.post(
        f"{path}/publish", data={"publish_at": "", "_csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == path
    shown = client.get(path).text
    assert "Notice published. Its texts are going out now." in shown
    assert "Notice published." not in client.get(path).text  # once
    db.expire_all()
    assert db.execute(select(Notice.status)).scalar_one() == "published"


def test_closing_shows_a_confirmation_first_and_reports_its_result(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    token = _signed_in(client, settings)
    path = _draft(client, token)
    client.post(f"{path}/publish", data={"publish_at": "", "_csrf_token": token})
    assert f'href="{path}/close"' in client.get(path).text

    confirm = client.get(f"{path}/close")
    assert confirm.status_code == 200 and "cannot be published again or reopened" in confirm.text
    db.expire_all()
    assert db.execute(select(Notice.status)).scalar_one() == "published"

    done = client.post(f"{path}/close", data={"_csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert "Notice closed." in client.get(path).text
    db.expire_all()
    assert db.execute(select(Notice.status)).scalar_one() == "closed"


def test_an_auditor_gets_no_confirmation_page(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    token = _signed_in(client, settings)
    path = _draft(client, token)
    client.cookies.clear()
    sign_in(client, "audit@district.gov.cn", organizer(settings, "audit@district.gov.cn", "auditor"))
    assert client.get(f"{path}/publish").status_code == 403
    assert client.get(f"{path}/close").status_code == 403


def test_the_funnel_tables_are_the_stored_counts(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    now = datetime.now(UTC)
    notice = Notice(
        kind="process", title_zh="标题", title_en="Title", body_zh="正文", body_en="Body", audience="all",
        community_codes=[], status="published", published_at=now, created_by="organizer:1",
    )  # fmt: skip
    db.add(notice)
    db.commit()
    shapes = (
        [("sent", "delivered", None)] * 5
        + [("sent", None, None)] * 2
        + [("sent", "undelivered", 30003)] * 3
        + [("failed", None, 21211)]
        + [("failed", None, 21610)]
        + [("queued", None, None)] * 4
        + [("sending", None, None)]
    )
    db.execute(
        insert(SmsMessage),
        [
            {"to": f"+8613800000{n:03d}", "body": "x", "status": status, "delivery_status": report,
             "error_code": code, "attempts": 1, "notice_id": notice.id, "created_at": now}
            for n, (status, report, code) in enumerate(shapes)
        ],
    )  # fmt: skip
    db.commit()
    _signed_in(client, settings)

    fragment = client.get(f"/organizer/notices/{notice.id}/funnel", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'hx-trigger="every 2s"' in fragment.text  # still sending: it polls
    stored = db.execute(
        select(
            SmsMessage.status, SmsMessage.delivery_status, SmsMessage.error_code, SmsMessage.error_message
        ).where(SmsMessage.notice_id == notice.id)
    ).all()
    by_state = {key: 0 for key in ("queued", "sending", "sent", "delivered", "failed", "opted_out")}
    for row in stored:
        by_state[state(TextState(*row))] += 1
    progress = _cells(fragment.text.split('id="funnel-progress-table"')[1].split("</table>")[0])
    labels = ["Queued", "Sending", "Sent, no report yet", "Delivered", "Failed", "Opted out"]
    assert [progress[label] for label in labels] == [[str(v)] for v in by_state.values()]
    assert progress["All texts"] == [str(len(stored))]
    failures = _cells(fragment.text.split('id="funnel-failures-table"')[1].split("</table>")[0])
    failed_by_code = {
        code: count
        for code, count in db.execute(
            select(SmsMessage.error_code, func.count())
            .where(SmsMessage.notice_id == notice.id, SmsMessage.error_code.in_([30003, 21211]))
            .group_by(SmsMessage.error_code)
        ).all()
    }
    assert failures["Phone off or out of coverage"] == [str(failed_by_code[30003])]
    assert failures["Not a valid phone number"] == [str(failed_by_code[21211])]
    assert "The recipient unsubscribed" not in failures  # an opt-out is not a failure

    # Without htmx the address shows the whole notice page instead of a bare fragment.
    plain = client.get(f"/organizer/notices/{notice.id}/funnel", follow_redirects=False)
    assert plain.status_code in (302, 303) and plain.headers["location"] == f"/organizer/notices/{notice.id}"
