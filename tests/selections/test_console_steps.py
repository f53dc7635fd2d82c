"""Every irreversible step of a selection asks first: the button on the selection's page leads to a
confirmation page that changes nothing, says who is affected and how many texts at what cost, and only
the confirmed POST does the step and reports its result on the selection's page."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.selections.models import Applicant, Invitation, Selection
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import organizer, sign_in
from tests.selections.console_world import build


def _signed_in(client: TestClient[Litestar], settings: Settings) -> None:
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))


def _snapshot(db: Session) -> tuple[int, int, int, int]:
    db.expire_all()
    return (
        db.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
        db.execute(select(func.count()).select_from(SmsMessage)).scalar_one(),
        db.execute(select(func.count()).select_from(Invitation)).scalar_one(),
        db.execute(
            select(func.count()).select_from(Applicant).where(Applicant.status == "active")
        ).scalar_one(),
    )


def _click(client: TestClient[Litestar], page: str, label: str) -> tuple[str, str]:
    """Follow the link (or GET form) whose text is `label` on `page`: what a click does."""
    html = client.get(page).text
    found = re.search(rf'<a[^>]*href="([^"]+)"[^>]*>{re.escape(label)}</a>', html)
    assert found, f"no link {label!r} on {page}"
    target = found.group(1)
    return target, client.get(target).text


def _confirm(client: TestClient[Litestar], html: str, path: str) -> object:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert token
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    fields["_csrf_token"] = token.group(1)
    return client.post(path, data=fields, follow_redirects=False)


def test_publishing_asks_first_with_the_texts_and_their_cost_then_reports(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="draft")
    _signed_in(client, settings)
    page = f"/organizer/selections/{world.selection_id}"
    before = _snapshot(db)
    path, html = _click(client, page, "Publish (page and posts notice)…")
    assert _snapshot(db) == before
    assert db.get(Selection, world.selection_id).status == "draft"  # type: ignore[union-attr]
    # Four subscribers (three read Chinese, one English): one notice text each, priced in yuan.
    assert "texted to 4 subscribers" in html and "In all 4 texts" in html and "CN¥" in html
    assert "cannot return to draft" in html
    done = _confirm(client, html, path)
    assert done.status_code == 303 and done.headers["location"] == page  # type: ignore[attr-defined]
    shown = client.get(page).text
    assert "Published. The public page is up. 4 texts queued." in shown
    db.expire_all()
    assert db.get(Selection, world.selection_id).status == "published"  # type: ignore[union-attr]
    assert "Published." not in client.get(page).text  # the message is shown once


def test_opening_a_stage_asks_first_and_reports(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="published")
    _signed_in(client, settings)
    page = f"/organizer/selections/{world.selection_id}"
    before = _snapshot(db)
    path, html = _click(client, page, "Open now…")
    assert path.endswith("/stages/nomination/open") and "Open the Nomination stage now?" in html
    assert _snapshot(db) == before
    assert _confirm(client, html, path).status_code == 303  # type: ignore[attr-defined]
    assert "The Nomination stage is open." in client.get(page).text
    db.expire_all()
    assert db.get(Selection, world.selection_id).stage("nomination").status == "open"  # type: ignore[union-attr]


def test_closing_the_assessment_shows_who_falls_below_the_line_before_it_happens(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    from tests.selections.console_world import cast_ballots

    world = build(db, settings, until="invited")
    cast_ballots(db, world)
    _signed_in(client, settings)
    page = f"/organizer/selections/{world.selection_id}"
    before = _snapshot(db)
    path, html = _click(client, page, "Close now…")
    assert path.endswith("/stages/assessment/close")
    assert _snapshot(db) == before
    # 李华 has 3 approvals of 6 ballots: 50.00 %, out; the others continue.
    assert re.search(
        r"李华</td><td class=\"number\">3</td><td class=\"number\">6</td><td class=\"number\">50.00%", html
    )
    assert "out: below the line" in html and "texted to 4 subscribers" in html
    assert _confirm(client, html, path).status_code == 303  # type: ignore[attr-defined]
    shown = client.get(page).text
    assert "The Democratic assessment stage is closed. Out below the approval line: 李华." in shown
    db.expire_all()
    statuses = {a.name: a.status for a in db.execute(select(Applicant)).scalars()}
    assert statuses == {"王明": "active", "李华": "disqualified", "张伟": "active"}


def test_withdrawing_asks_first_and_can_be_undone_within_the_window(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="published")
    _signed_in(client, settings)
    page = f"/organizer/selections/{world.selection_id}"
    before = _snapshot(db)
    path, html = _click(client, page, "Withdraw…")
    assert _snapshot(db) == before  # one click withdrew nobody
    assert "Withdraw 王明?" in html and "for 10 minutes, as long as no stage opens or closes" in html
    assert _confirm(client, html, path).status_code == 303  # type: ignore[attr-defined]
    shown = client.get(page).text
    assert "王明 is withdrawn." in shown and "Undo the withdrawal" in shown
    db.expire_all()
    assert db.get(Applicant, world.applicant_ids[0]).status == "withdrawn"  # type: ignore[union-attr]
    undo = re.search(r'action="([^"]+/restore)"', shown)
    assert undo
    token = re.search(r'name="_csrf_token" value="([^"]+)"', shown)
    assert token
    assert (
        client.post(undo.group(1), data={"_csrf_token": token.group(1)}, follow_redirects=False).status_code
        == 303
    )
    assert "Undone: 王明 is back in the running." in client.get(page).text
    db.expire_all()
    assert db.get(Applicant, world.applicant_ids[0]).status == "active"  # type: ignore[union-attr]


def test_a_withdrawal_cannot_be_undone_once_a_stage_has_moved(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    from engage.selections import services, stages

    world = build(db, settings, until="published")
    services.withdraw_applicant(db, "organizer:1", world.selection_id, world.applicant_ids[0])
    db.commit()
    applicant = db.get(Applicant, world.applicant_ids[0])
    assert services.undo_deadline(db, world.selection_id, applicant) is not None  # type: ignore[arg-type]
    stages.open_stage(db, "organizer:1", world.selection_id, "nomination", settings)
    db.commit()
    assert services.undo_deadline(db, world.selection_id, applicant) is None  # type: ignore[arg-type]
    _signed_in(client, settings)
    page = client.get(f"/organizer/selections/{world.selection_id}").text
    assert "Undo the withdrawal" not in page


def test_inviting_evaluators_previews_each_language_and_the_cost_then_sends(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="assessment")
    _signed_in(client, settings)
    page = f"/organizer/selections/{world.selection_id}"
    path, html = _click(client, page, "Invite evaluators or raters…")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert token
    form = {"_csrf_token": token.group(1), "stage": "assessment"}
    # A roster line naming nobody known is refused, naming the field and the line; nothing is kept.
    bad = client.post(path, data=form | {"roster": "13900000000, staff"}, follow_redirects=False)
    assert bad.status_code == 400 and "Roster: line 1" in bad.text
    picks = {
        f"group-{rid}": g
        for rid, g in zip(
            world.evaluator_ids[:4], ["leadership", "staff", "staff", "resident_rep"], strict=True
        )
    }
    roster = "139 1000 0005, Resident representatives"  # the English reader, by roster
    review = client.post(path, data=form | picks | {"roster": roster}, follow_redirects=False)
    assert review.status_code == 303
    confirm_path = review.headers["location"]
    before = _snapshot(db)
    html = client.get(confirm_path).text
    assert _snapshot(db) == before
    assert "5 people are invited" in html and "5 personal texts are sent at once." in html
    assert 'lang="en" class="sms-preview">' in html and 'lang="zh-CN" class="sms-preview">' in html
    assert re.search(r"Chinese: 4 recipients, 1 segment each|Chinese: 4 recipients, \d segments each", html)
    assert "CN¥" in html
    assert _confirm(client, html, confirm_path).status_code == 303  # type: ignore[attr-defined]
    assert "5 people invited. 5 texts queued." in client.get(page).text
    db.expire_all()
    assert db.execute(select(func.count()).select_from(Invitation)).scalar_one() == 5


def test_an_auditor_gets_no_confirmation_page(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="draft")
    sign_in(client, "audit@district.gov.cn", organizer(settings, "audit@district.gov.cn", "auditor"))
    assert client.get(f"/organizer/selections/{world.selection_id}/publish").status_code == 403


def test_a_refused_close_names_the_groups_short_of_quorum_in_words(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    from tests.selections.console_world import cast_ballots

    world = build(db, settings, until="invited")
    cast_ballots(db, world, count=3)  # the street leaders and one of the staff
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    page = f"/organizer/selections/{world.selection_id}/stages/assessment/close"
    refused = client.get(page, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 409
    assert "社区工作人员 1/2（至少2）" in refused.text and "居民代表 0/2" in refused.text
    assert "resident_rep" not in refused.text
    db.expire_all()
    assert db.get(Selection, world.selection_id).stage("assessment").status == "open"  # type: ignore[union-attr]
