"""The demo district (`make run`) holds one finished selection and one in progress, built through the
real services, so a newcomer sees every stage's public page filled in."""

from __future__ import annotations

from litestar.testing import TestClient
from sqlalchemy.orm import Session

from engage.seed import seed_demo
from engage.selections.demo import seed_selections
from engage.settings import Settings


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

    running = client.get(f"/selections/{demo.in_progress_id}/open-data.json").json()
    assert [s["status"] for s in running["stages"]][:3] == ["closed", "open", "pending"]
    assert running["nominations"]["nominations"] > 0

    for selection_id in (demo.finished_id, demo.in_progress_id):
        page = client.get(f"/selections/{selection_id}", headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200 and "民主测评" in page.text
    assert "五里河街道副主任公开选拔" in client.get("/selections", headers={"Accept-Language": "zh-CN"}).text
