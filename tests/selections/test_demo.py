"""The demo district (`make run`) holds one finished selection and one in progress, built through the
real services, so a newcomer sees every stage's public page filled in."""

from __future__ import annotations

from datetime import datetime

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.notices.models import Notice
from engage.notices.objections.models import NoticePeriod
from engage.notices.period import calendar_for
from engage.panels.models import PanelMember
from engage.seed import seed_demo
from engage.selections.demo import seed_selections
from engage.selections.models import Juror
from engage.settings import Settings


@pytest.mark.slow
def test_demo_has_a_finished_and_a_running_selection(
    settings: Settings, db: Session, client: TestClient
) -> None:  # type: ignore[type-arg]
    seed_demo(db)
    db.commit()
    demo = seed_selections(settings)
    assert demo is not None
    assert seed_selections(settings) is None  # once only

    finished = client.get(f"/selections/{demo.finished_id}/open-data.json").json()
    assert finished["status"] == "finished"
    assert [s["status"] for s in finished["stages"]] == ["closed"] * 6
    for section in ("nominations", "assessment", "speech", "interview", "result"):
        assert finished[section], section
    # The demo's weak applicant shows the red line at work.
    assert [v["name"] for v in finished["assessment"]["verdicts"] if not v["passes"]] == ["冯雪"]
    assert sum(a["status"] == "appointed" for a in finished["applicants"]) == 3
    # Its appointment notice ran a real period: it closes after it opens, on the calendar, and the
    # stage, the period and the notice's text give the same moment.
    stage = finished["stages"][5]
    period = db.get(NoticePeriod, stage["notice_id"])
    notice = db.get(Notice, stage["notice_id"])
    assert period is not None and notice is not None
    assert period.opens_at is not None and period.closes_at is not None
    assert period.closes_at > period.opens_at
    assert period.closes_at == calendar_for(settings).add_working_days(period.opens_at, period.days)
    assert datetime.fromisoformat(stage["closes_at"]) == period.closes_at
    assert period.closes_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") in notice.body_zh
    assert stage["appointed_notice_id"] is not None
    # Its panel's record agrees with the interview: every juror who scored attended, the absent did not.
    jurors = db.execute(select(Juror).where(Juror.selection_id == demo.finished_id)).scalars().all()
    statuses = {db.get(PanelMember, j.member_id).status for j in jurors if not j.absent}  # type: ignore[union-attr]
    assert statuses == {"attended"}
    assert {db.get(PanelMember, j.member_id).status for j in jurors if j.absent} == {"confirmed"}  # type: ignore[union-attr]

    running = client.get(f"/selections/{demo.in_progress_id}/open-data.json").json()
    assert [s["status"] for s in running["stages"]][:3] == ["closed", "open", "pending"]
    assert running["nominations"]["nominations"] > 0

    for selection_id in (demo.finished_id, demo.in_progress_id):
        page = client.get(f"/selections/{selection_id}", headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200 and "民主测评" in page.text
    assert "五里河街道副主任公开选拔" in client.get("/selections", headers={"Accept-Language": "zh-CN"}).text
