"""The phone pages of a selection in headless Chromium at 390x844, in Chinese and English: the
democratic-assessment ballot, the juror's scoring sheet, and the public page. Screenshots of each
step go to the test output folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engage.links import token_hash
from engage.panels.models import PanelMember
from engage.residents.models import Resident
from engage.seed import seed_demo
from engage.selections.demo import interview_open, seed_selections
from engage.selections.models import AssessmentCount, InterviewScore, Invitation, Juror
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import fits_a_phone, no_horizontal_scroll
from tests.support import LiveServer

pytestmark = pytest.mark.browser
LANGUAGES = [
    ("zh-CN", "民主测评票", "提交测评票", "评分表", "提交评分"),
    ("en", "Assessment ballot", "Cast my ballot", "Scoring sheet", "Submit my scores"),
]


def _links(db: Session, path: str) -> list[str]:
    db.expire_all()
    bodies = db.execute(select(SmsMessage.body).where(SmsMessage.body.contains(f"/{path}/"))).scalars()
    return [m.group(1) for b in bodies if (m := re.search(rf"/{path}/([A-Za-z0-9_-]+)", b))]


def _speaks(db: Session, resident_id: Any, locale: str) -> None:
    db.execute(update(Resident).where(Resident.id == resident_id.scalar_subquery()).values(locale=locale))
    db.commit()


def _unused_ballot(db: Session) -> str:
    used = {
        i.token_hash for i in db.execute(select(Invitation).where(Invitation.voted_at.is_not(None))).scalars()
    }
    return next(t for t in _links(db, "b") if token_hash(t) not in used)


@pytest.mark.parametrize(("language", "ballot_h1", "cast", "sheet_h1", "submit"), LANGUAGES)
def test_an_evaluator_votes_and_a_juror_scores_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    db: Session,
    phone_page: Any,
    output_dir: Path,
    language: str,
    ballot_h1: str,
    cast: str,
    sheet_h1: str,
    submit: str,
) -> None:
    seed_demo(db)
    db.commit()
    demo = seed_selections(settings)
    assert demo is not None
    page = phone_page
    # A link's page speaks its holder's language, whatever the browser asks for.
    page.set_extra_http_headers({"Accept-Language": "en" if language == "zh-CN" else "zh-CN"})
    locale = "zh_CN" if language == "zh-CN" else "en"

    # The ballot: an incomplete ballot is refused next to the applicant left out; then it is cast.
    token = _unused_ballot(db)
    _speaks(db, select(Invitation.resident_id).where(Invitation.token_hash == token_hash(token)), locale)
    before = sum(c.count for c in db.execute(select(AssessmentCount)).scalars())
    page.goto(f"{live_server.url}/b/{token}")
    assert page.locator("h1").inner_text() == ballot_h1
    fits_a_phone(page)
    page.screenshot(path=str(output_dir / f"ballot-{language}.png"), full_page=True)
    fieldsets = page.locator("fieldset.rate")
    count = fieldsets.count()
    assert count == 7
    for index in range(count - 1):
        fieldsets.nth(index).locator("input[type=radio]").first.check()
    with page.expect_navigation():
        page.click(f"text={cast}")
    assert page.locator(".error-summary").is_visible()
    assert page.locator("fieldset.rate.has-error").count() == 1
    page.screenshot(path=str(output_dir / f"ballot-error-{language}.png"), full_page=True)
    db.expire_all()
    assert sum(c.count for c in db.execute(select(AssessmentCount)).scalars()) == before
    page.locator("fieldset.rate.has-error input[type=radio]").nth(1).check()
    for index in range(count):
        if not fieldsets.nth(index).locator("input:checked").count():
            fieldsets.nth(index).locator("input[type=radio]").first.check()
    with page.expect_navigation():
        page.click(f"text={cast}")
    assert page.locator("[role=status]").is_visible()
    page.screenshot(path=str(output_dir / f"ballot-cast-{language}.png"), full_page=True)
    db.expire_all()
    assert sum(c.count for c in db.execute(select(AssessmentCount)).scalars()) == before + count

    # The scoring sheet of a juror, in a selection whose interview is open.
    selection_id = interview_open(settings)
    db.expire_all()
    sheets = _links(db, "s")
    juror = (
        db.execute(select(Juror).where(Juror.selection_id == selection_id).order_by(Juror.id))
        .scalars()
        .first()
    )
    assert juror is not None
    member = select(PanelMember.resident_id).where(PanelMember.id == juror.member_id)
    _speaks(db, member, locale)
    token = next(t for t in sheets if token_hash(t) == juror.token_hash)
    page.goto(f"{live_server.url}/s/{token}")
    assert page.locator("h1").inner_text() == sheet_h1
    fits_a_phone(page)
    page.screenshot(path=str(output_dir / f"scoring-{language}.png"), full_page=True)
    inputs = page.locator("form input[type=number]")
    total = inputs.count()
    assert total > 0 and total % 3 == 0
    for index in range(total):
        inputs.nth(index).fill("25")
    inputs.first.fill("99")  # above the criterion's maximum
    with page.expect_navigation():
        page.click(f"text={submit}")
    assert page.locator(".error-summary").is_visible()
    page.screenshot(path=str(output_dir / f"scoring-error-{language}.png"), full_page=True)
    db.expire_all()
    assert db.execute(select(InterviewScore).where(InterviewScore.juror_id == juror.id)).first() is None
    inputs = page.locator("form input[type=number]")
    for index in range(inputs.count()):
        inputs.nth(index).fill("25")
    with page.expect_navigation():
        page.click(f"text={submit}")
    assert page.locator("[role=status]").is_visible()
    page.screenshot(path=str(output_dir / f"scoring-done-{language}.png"), full_page=True)
    db.expire_all()
    assert (
        len(db.execute(select(InterviewScore).where(InterviewScore.juror_id == juror.id)).all()) == total // 3
    )

    # The public page of the finished selection, every stage filled in.
    page.goto(f"{live_server.url}/selections/{demo.finished_id}")
    no_horizontal_scroll(page)
    page.screenshot(path=str(output_dir / f"selection-page-{language}.png"), full_page=True)
    assert page.locator("section").count() >= 7
