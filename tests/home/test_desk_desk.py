"""The desk answers "what needs me now": one item for each kind of thing waiting (a stage due, a quorum
short, objections unanswered, replies awaited, a reserve to call, texts worth retrying, texts held by the
quiet hours), then the timetable of the coming days; the audit log is its own page, in words, filtered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import TestClient
from sqlalchemy.orm import Session

from engage.audit.services import record
from engage.notices.models import Notice
from engage.notices.objections.models import NoticePeriod, Objection
from engage.panels.models import Panel, PanelMember
from engage.selections.models import Invitation, Selection, Stage
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import organizer, sign_in


def _notice(db: Session, title: str, **fields: object) -> Notice:
    notice = Notice(
        kind="process",
        title_zh=title,
        title_en=title,
        body_zh="正文",
        body_en="Body",
        created_by="organizer:1",
        **fields,
    )
    db.add(notice)
    db.flush()
    return notice


def _a_district_with_one_of_everything(db: Session) -> None:
    now = datetime.now(UTC)
    selection = Selection(
        title_zh="街道副主任选拔",
        title_en="Deputy director selection",
        unit="Street office",
        unit_category="street",
        status="published",
        rules={},
        created_by="organizer:1",
    )
    db.add(selection)
    db.flush()
    db.add_all(
        [
            # Nomination should have closed an hour ago; assessment is open and closes in two days.
            Stage(selection_id=selection.id, kind="nomination", position=1, status="open",
                  opens_at=now - timedelta(days=5), closes_at=now - timedelta(hours=1)),
            Stage(selection_id=selection.id, kind="assessment", position=2, status="open",
                  opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=2)),
            Stage(selection_id=selection.id, kind="speech", position=3, status="pending",
                  opens_at=now + timedelta(days=3), closes_at=now + timedelta(days=4)),
        ]
    )  # fmt: skip
    # Three experts invited, one ballot cast: two thirds (2) are needed.
    for n in range(3):
        db.add(
            Invitation(
                selection_id=selection.id,
                stage="assessment",
                group="expert",
                token_hash=f"{n:064d}",
                voted_at=now if n == 0 else None,
            )
        )
    appointment = _notice(db, "任前公示", status="published", published_at=now)
    db.add(NoticePeriod(notice_id=appointment.id, days=5, opens_at=now, closes_at=now + timedelta(days=2)))
    db.add(
        Objection(notice_id=appointment.id, reference="OBJ-2026-AAAAAA", reason="有异议", status="received")
    )
    panel = Panel(title="第一评审团", size=3, status="drawn", created_by="organizer:1",
                  reply_deadline=now + timedelta(days=1))  # fmt: skip
    db.add(panel)
    db.flush()
    for ticket, status in enumerate(["invited", "confirmed", "declined"], start=1):
        db.add(
            PanelMember(panel_id=panel.id, pseudonym=f"P{ticket}", ticket=ticket, values=[], status=status)
        )
    sent = _notice(db, "推荐工作开始", status="published", published_at=now)
    db.add(SmsMessage(to="+8613900000001", body="x", status="failed", error_code=30003, notice_id=sent.id))
    db.add(SmsMessage(to="+8613900000002", body="x", status="failed", error_code=21211, notice_id=sent.id))
    _notice(db, "夜间公告", status="published", published_at=now, texts_held_until=now + timedelta(hours=8))
    db.commit()


def test_the_desk_lists_each_kind_of_item_and_the_coming_days(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    _a_district_with_one_of_everything(db)
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    page = client.get("/organizer").text

    needs = page.split('id="needs-title"')[1].split('id="timetable-title"')[0]
    assert "Deputy director selection: close the stage “Nomination”" in needs and "overdue" in needs
    assert "Experts have cast 1 of 2 ballots needed" in needs
    assert "1 objections to “任前公示” wait for an answer" in needs
    assert "第一评审团: 1 invited members have not replied" in needs
    assert "第一评审团: 1 seats are empty; call a reserve" in needs
    # Two failed texts, one to an invalid number: only the other one is worth a second try.
    assert "1 failed texts of “推荐工作开始” may go through on a second try" in needs
    assert "The texts of “夜间公告” are held by the quiet hours" in needs
    # Overdue first.
    assert needs.index("close the stage") < needs.index("invited members")

    coming = page.split('id="timetable-title"')[1]
    assert "“Speech evaluation” opens" in coming and "“Democratic assessment” closes" in coming
    assert "The notice period of “任前公示” ends" in coming and "第一评审团: the reply deadline" in coming


def test_an_empty_desk_says_nothing_needs_the_organizer(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    page = client.get("/organizer").text
    assert "Nothing needs you right now." in page and "Nothing is scheduled in the next seven days." in page


def test_the_audit_log_reads_in_words_and_filters_by_action_actor_and_date(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    record(db, "system", "notice.publish", "notice", 7, {})
    record(db, "resident:R-ab12", "objection.file", "notice", 7, {})
    db.commit()

    page = client.get("/organizer/audit")
    assert page.status_code == 200
    assert "published a notice" in page.text and "filed an objection" in page.text
    assert "signed in" in page.text and "lin@district.gov.cn" in page.text  # the organizer by email
    assert "notice.publish" not in page.text.split("<tbody>")[1]  # no codes in the table

    only = client.get("/organizer/audit", params={"action": "objection.file"}).text.split("<tbody>")[1]
    assert "filed an objection" in only and "published a notice" not in only
    system = client.get("/organizer/audit", params={"actor": "system"}).text.split("<tbody>")[1]
    assert "published a notice" in system and "filed an objection" not in system and "signed in" not in system
    today = datetime.now(settings.tz).date()
    future = client.get("/organizer/audit", params={"from": str(today + timedelta(days=1))}).text
    assert "No entry matches." in future
    assert "published a notice" in client.get("/organizer/audit", params={"to": str(today)}).text

    bad = client.get("/organizer/audit", params={"from": "yesterday"})
    assert bad.status_code == 400 and 'href="#from"' in bad.text
    assert client.get("/organizer/audit", params={"actor": "mallory"}).status_code == 400


def test_the_audit_log_reads_in_chinese_without_codes(
    settings: Settings, client: TestClient, db: Session
) -> None:  # type: ignore[type-arg]
    client.headers["Accept-Language"] = "zh-CN"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    record(db, "system", "panel.draw", "panel", 3, {})
    db.commit()
    table = client.get("/organizer/audit").text.split("<tbody>")[1]
    assert "系统" in table and "panel" not in table and "organizer.login" not in table
