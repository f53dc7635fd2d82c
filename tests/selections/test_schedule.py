"""Stages open and close on their dates by themselves: publishing schedules a job for each edge, the
job does what is due (and nothing twice), and a rule that blocks it is kept on the stage and shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import TestClient
from rq.registry import ScheduledJobRegistry
from sqlalchemy.orm import Session

from engage.errors import EngageError
from engage.queues import QueueName, queue
from engage.selections import services, stages
from engage.selections.models import StageKind
from engage.settings import Settings
from workers import context
from workers.selections import tick

RUBRIC = [{"code": "overall", "max_points": 100}]


def _selection(db: Session, settings: Settings, start: datetime) -> int:
    spec = services.SelectionSpec(
        title_zh="测试选拔",
        title_en="Test selection",
        unit="区民政局",
        unit_category="district",
        posts=[services.PostSpec("科员", "Clerk", 2)],
        stages=[
            services.StageSpec(kind.value, start + timedelta(hours=2 * i), start + timedelta(hours=2 * i + 1))
            for i, kind in enumerate(StageKind)
        ],
        rubric=RUBRIC,
    )
    selection = services.create_selection(db, "test", spec)
    db.commit()
    return selection.id


def test_publishing_schedules_every_stage_edge(db: Session, settings: Settings) -> None:
    from engage.jobs import dispatch

    assert settings.redis_url
    selection_id = _selection(db, settings, datetime.now(UTC) + timedelta(days=3))
    _, after = services.publish(db, "test", selection_id, settings)
    db.commit()
    dispatch(settings.redis_url, after)
    dispatch(settings.redis_url, after)  # publishing twice never doubles a job
    registry = ScheduledJobRegistry(queue=queue(settings.redis_url, QueueName.DEFAULT))
    ids = [job_id for job_id in registry.get_job_ids() if job_id.startswith(f"selection-{selection_id}-")]
    assert len(ids) == 12


def test_a_due_stage_opens_and_closes_by_itself_and_a_blocked_one_says_why(
    db: Session,
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    context.use(settings)
    selection_id = _selection(db, settings, datetime.now(UTC) - timedelta(minutes=30))
    services.publish(db, "test", selection_id, settings)
    db.commit()
    assert tick(selection_id, "assessment") == "waiting for nomination"
    assert tick(selection_id, "nomination") == "opened"
    assert tick(selection_id, "nomination") == "nothing due"  # closes in an hour
    db.expire_all()
    stages = {s.kind: s.status for s in services.get_selection(db, selection_id).stages}
    assert stages["nomination"] == "open" and stages["assessment"] == "pending"
    selection = services.get_selection(db, selection_id)  # the clock moves on two hours
    selection.stage("nomination").closes_at = datetime.now(UTC) - timedelta(minutes=2)
    selection.stage("assessment").opens_at = datetime.now(UTC) - timedelta(minutes=1)
    db.commit()
    # Closing late, the job also tries the next stage, whose time has come. With no applicant the
    # assessment cannot open: the reason is kept and shown on the public page.
    assert tick(selection_id, "nomination") == "closed"
    assert tick(selection_id, "assessment") == "blocked"  # again, and again only the reason
    db.expire_all()
    stage = services.get_selection(db, selection_id).stage("assessment")
    assert stage.status == "pending" and stage.outcome is not None
    assert stage.outcome["blocked"]["field"] == "applicants"
    page = client.get(f"/selections/{selection_id}", headers={"Accept-Language": "en"})
    assert "Could not proceed" in page.text and "Add the applicants" in page.text


def test_a_stage_is_rescheduled_within_the_timetable_and_its_new_edges_are_scheduled(
    db: Session, settings: Settings
) -> None:
    from engage.jobs import dispatch

    assert settings.redis_url
    start = datetime.now(UTC) + timedelta(days=3)
    selection_id = _selection(db, settings, start)
    services.publish(db, "test", selection_id, settings)
    db.commit()
    later = start + timedelta(minutes=30)
    _, after = stages.reschedule_stage(
        db, "test", selection_id, "nomination", later, later + timedelta(minutes=20)
    )
    db.commit()
    dispatch(settings.redis_url, after)
    registry = ScheduledJobRegistry(queue=queue(settings.redis_url, QueueName.DEFAULT))
    assert (
        sum(job_id.startswith(f"selection-{selection_id}-nomination-") for job_id in registry.get_job_ids())
        == 2
    )
    db.expire_all()
    assert services.get_selection(db, selection_id).stage("nomination").opens_at == later
    # Overlapping the next stage is refused (its closing is too late: 422) and changes nothing.
    try:
        stages.reschedule_stage(db, "test", selection_id, "nomination", later, start + timedelta(hours=3))
    except EngageError as error:
        assert (error.status_code, error.field) == (422, "closes_at")
    else:
        raise AssertionError("an overlap was accepted")
    db.rollback()
    assert services.get_selection(db, selection_id).stage("nomination").closes_at == later + timedelta(
        minutes=20
    )


def test_a_locked_read_sees_a_stage_another_process_moved_meanwhile(
    db: Session, settings: Settings, database_url: str
) -> None:
    """Two ticks for one edge (the scheduled job and one the sweeper enqueued): the second reads the
    selection locked, must see the first one's close, and so has nothing to do."""
    from sqlalchemy import create_engine

    context.use(settings)
    selection_id = _selection(db, settings, datetime.now(UTC) - timedelta(minutes=30))
    services.publish(db, "test", selection_id, settings)
    stages.open_stage(db, "test", selection_id, "nomination", settings)
    db.commit()
    stale = services.get_selection(db, selection_id)  # loaded here while still open ...
    assert stale.stage("nomination").status == "open"
    db.commit()
    other = create_engine(database_url)
    with Session(other) as session:  # ... and closed by another process
        stages.close_stage(session, "test", selection_id, "nomination", settings)
        session.commit()
    other.dispose()
    assert services.get_selection(db, selection_id).stage("nomination").status == "open"  # the stale copy
    assert services.get_selection(db, selection_id, for_update=True).stage("nomination").status == "closed"
    db.rollback()
    assert tick(selection_id, "nomination") == "nothing due"
