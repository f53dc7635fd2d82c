"""Sending a notice reliably: the global send rate shared by workers, quiet hours, and what a dead
worker, a lost answer or a stalled batch leaves behind, reconciled against the gateway (the real HTTP
fake, through the twilio SDK) so that every text goes out exactly once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engage import jobs
from engage import quiet_hours as quiet
from engage.notices import progress
from engage.notices.models import Notice, NoticeStatus
from engage.notices.progress import BatchRef
from engage.settings import Settings
from engage.sms.models import MessageStatus, SmsMessage
from engage.sms.rate import SendRate
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import Plan, add_subscribers, phone, token_for
from tests.support import ROOT, SECRET, make_settings, process_environment, run_jobs, twilio_environment
from workers import context, reconcile
from workers import fanout as fanout_jobs

SHANGHAI = ZoneInfo("Asia/Shanghai")


def notice_row(db: Session, *, urgent: bool = False, status: str = NoticeStatus.PUBLISHED) -> Notice:
    notice = Notice(
        kind="stage_result",
        title_zh="测评结果",
        title_en="Results",
        body_zh="测评结果已公示。",
        body_en="The results are public.",
        audience="all",
        community_codes=[],
        status=status,
        urgent=urgent,
        published_at=datetime.now(UTC),
        created_by="organizer:1",
    )
    db.add(notice)
    db.commit()
    return notice


def texts(db: Session, notice_id: int) -> list[SmsMessage]:
    db.expire_all()
    query = select(SmsMessage).where(SmsMessage.notice_id == notice_id).order_by(SmsMessage.id)
    return list(db.execute(query).scalars())


@pytest.fixture
def gateway_settings(database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio) -> Settings:
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        SMS_STALL_SECONDS="2",
        SMS_GATEWAY_TIMEOUT="1",
        **twilio_environment(fake_twilio),
    )
    context.use(settings)
    return settings


# -- the global send rate --------------------------------------------------------------------------


def test_two_workers_sharing_a_sender_together_keep_to_its_rate(redis_url: str) -> None:
    per_second, burst, each = 200.0, 5, 150
    connection = redis.Redis.from_url(redis_url)
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        rate = SendRate(connection, "MGshared", per_second, burst=burst)
        left = each
        while left:
            granted = rate.acquire(min(8, left))
            with lock:
                taken.extend([time.monotonic()] * granted)
            left -= granted

    threads = [threading.Thread(target=worker) for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started

    assert len(taken) == 2 * each
    # 300 tokens at 200 a second with a burst of 5 cannot take less than (300 - 5) / 200 s.
    assert elapsed >= (2 * each - burst) / per_second * 0.98
    assert elapsed < 5  # and waiting is not failing: everyone got their tokens
    # Over any one-second window, no more than the rate plus the burst.
    taken.sort()
    window = max(sum(1 for t in taken if start <= t < start + 1.0) for start in taken)
    assert window <= per_second + burst + 1


def test_another_sender_has_its_own_budget(redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    first = SendRate(connection, "+861069000001", 1.0, burst=1)
    second = SendRate(connection, "+861069000002", 1.0, burst=1)
    assert first.take(5)[0] == 1
    granted, wait = first.take(5)
    assert granted == 0 and 0 < wait <= 1.0
    assert second.take(5)[0] == 1


# -- quiet hours -----------------------------------------------------------------------------------


def at_shanghai(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2030, 11, day, hour, minute, tzinfo=SHANGHAI)  # after today: rq schedules it


@pytest.mark.parametrize(
    ("local", "held_to"),
    [
        (at_shanghai(20, 59), None),
        (at_shanghai(21, 0), at_shanghai(8, 0, day=11)),
        (at_shanghai(23, 30), at_shanghai(8, 0, day=11)),
        (at_shanghai(0, 10), at_shanghai(8, 0)),
        (at_shanghai(7, 59), at_shanghai(8, 0)),
        (at_shanghai(8, 0), None),
        (at_shanghai(13, 0), None),
    ],
)
def test_quiet_hours_hold_texts_until_eight_in_the_morning(local: datetime, held_to: datetime | None) -> None:
    window = quiet.parse_window("21:00-08:00")
    assert quiet.held_until(local.astimezone(UTC), window, SHANGHAI) == held_to


def test_a_daytime_window_and_no_window_at_all() -> None:
    lunch = quiet.parse_window("12:00-13:30")
    assert quiet.held_until(at_shanghai(12, 45), lunch, SHANGHAI) == at_shanghai(13, 30)
    assert quiet.held_until(at_shanghai(13, 30), lunch, SHANGHAI) is None
    assert quiet.held_until(at_shanghai(23, 0), quiet.parse_window(""), SHANGHAI) is None
    for bad in ("21-08", "25:00-08:00", "21:00-21:00", "evening"):
        with pytest.raises(ValueError, match="quiet hours"):
            quiet.parse_window(bad)


def quiet_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sms_quiet_hours": "21:00-08:00"})


def test_a_notice_published_at_night_holds_its_texts_until_morning(
    gateway_settings: Settings, db: Session, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_subscribers(db, [Plan(phone(1)), Plan(phone(2))])
    notice = notice_row(db)
    context.use(quiet_settings(gateway_settings))
    night = at_shanghai(22, 15).astimezone(UTC)
    monkeypatch.setattr(fanout_jobs, "utcnow", lambda: night)

    assert fanout_jobs.fan_out(notice.id) == 0
    db.expire_all()
    held = db.get(Notice, notice.id)
    assert held is not None and held.texts_held_until == at_shanghai(8, 0, day=11)
    assert texts(db, notice.id) == [] and fake_twilio.messages == []
    scheduled = [job for job in _scheduled_jobs(gateway_settings) if job.startswith(f"notice-{notice.id}-")]
    assert scheduled == [f"notice-{notice.id}-fanout-at-{int(at_shanghai(8, 0, day=11).timestamp())}"]

    morning = at_shanghai(8, 0, day=11).astimezone(UTC)
    monkeypatch.setattr(fanout_jobs, "utcnow", lambda: morning)
    assert fanout_jobs.fan_out(notice.id) == 1
    run_jobs(quiet_settings(gateway_settings))
    assert fake_twilio.count_by_recipient() == {phone(1): 1, phone(2): 1}


def test_an_urgent_notice_is_texted_even_at_night(
    gateway_settings: Settings, db: Session, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_subscribers(db, [Plan(phone(1))])
    notice = notice_row(db, urgent=True)
    context.use(quiet_settings(gateway_settings))
    night = at_shanghai(23, 45).astimezone(UTC)
    monkeypatch.setattr(fanout_jobs, "utcnow", lambda: night)
    assert fanout_jobs.fan_out(notice.id) == 1
    run_jobs(quiet_settings(gateway_settings))
    assert fake_twilio.count_by_recipient() == {phone(1): 1}


def test_a_batch_retried_into_the_night_waits_for_morning(
    gateway_settings: Settings, db: Session, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_subscribers(db, [Plan(phone(1))])
    notice = notice_row(db)
    fanout_jobs.fan_out(notice.id)  # daytime (no quiet hours yet): texts queued, batch enqueued
    context.use(quiet_settings(gateway_settings))
    monkeypatch.setattr(fanout_jobs, "utcnow", lambda: at_shanghai(21, 30).astimezone(UTC))
    first, last = texts(db, notice.id)[0].id, texts(db, notice.id)[-1].id
    assert fanout_jobs.send_batch(notice.id, first, last) == {"held": 1}
    assert fake_twilio.messages == []
    assert [t.status for t in texts(db, notice.id)] == [MessageStatus.QUEUED]


def _scheduled_jobs(settings: Settings) -> list[str]:
    from rq.registry import ScheduledJobRegistry

    from engage.queues import QueueName, queue

    assert settings.redis_url
    return list(ScheduledJobRegistry(queue=queue(settings.redis_url, QueueName.BULK)).get_job_ids())


# -- lost answers and stalled batches --------------------------------------------------------------


def age_claims(db: Session, notice_id: int, seconds: int = 60) -> None:
    """As if the claims were made `seconds` ago (instead of sleeping through the stall time)."""
    past = datetime.now(UTC) - timedelta(seconds=seconds)
    db.execute(
        update(SmsMessage)
        .where(SmsMessage.notice_id == notice_id, SmsMessage.status == MessageStatus.SENDING)
        .values(claimed_at=past)
    )
    db.commit()


def test_a_text_whose_answer_was_lost_is_found_at_the_gateway_not_sent_again(
    gateway_settings: Settings, db: Session, fake_twilio: FakeTwilio
) -> None:
    add_subscribers(db, [Plan(phone(1)), Plan(phone(2))])
    notice = notice_row(db)
    fake_twilio.hang_next(1, seconds=4, store=True)  # accepted, but the answer outlasts the timeout
    fanout_jobs.fan_out(notice.id)
    run_jobs(gateway_settings)

    unknown = [t for t in texts(db, notice.id) if t.status == MessageStatus.SENDING]
    assert len(unknown) == 1 and unknown[0].gateway_id is None  # not re-sent blindly
    assert sum(fake_twilio.count_by_recipient().values()) == 2

    # Too early: the claim is younger than the stall time plus the gateway timeout.
    assert reconcile.reconcile()["found"] == 0
    assert next(t for t in texts(db, notice.id) if t.id == unknown[0].id).status == MessageStatus.SENDING
    age_claims(db, notice.id)
    assert reconcile.reconcile()["found"] == 1
    run_jobs(gateway_settings)

    rows = texts(db, notice.id)
    assert {t.status for t in rows} == {MessageStatus.SENT}
    found = next(t for t in rows if t.id == unknown[0].id)
    assert found.gateway_id == fake_twilio.messages_to(found.to)[0].sid
    assert fake_twilio.count_by_recipient() == {phone(1): 1, phone(2): 1}


def test_a_claimed_text_the_gateway_never_saw_is_sent_once_more(
    gateway_settings: Settings, db: Session, fake_twilio: FakeTwilio
) -> None:
    add_subscribers(db, [Plan(phone(1)), Plan(phone(2))])
    notice = notice_row(db)
    fake_twilio.hang_next(1, seconds=4, store=False)  # the request never took
    fanout_jobs.fan_out(notice.id)
    run_jobs(gateway_settings)
    assert sum(fake_twilio.count_by_recipient().values()) == 1

    age_claims(db, notice.id)
    assert reconcile.reconcile()["requeued"] == 1
    run_jobs(gateway_settings)
    assert fake_twilio.count_by_recipient() == {phone(1): 1, phone(2): 1}
    assert {t.status for t in texts(db, notice.id)} == {MessageStatus.SENT}


def test_a_batch_without_progress_is_queued_again(
    gateway_settings: Settings, db: Session, fake_twilio: FakeTwilio
) -> None:
    add_subscribers(db, [Plan(phone(n)) for n in range(1, 4)])
    notice = notice_row(db)
    fanout_jobs.fan_out(notice.id)
    rows = texts(db, notice.id)
    batch = BatchRef(notice.id, rows[0].id, rows[-1].id)
    assert gateway_settings.redis_url
    connection = redis.Redis.from_url(gateway_settings.redis_url)
    connection.delete("rq:queue:bulk")  # its worker took the job and died before sending anything
    progress.beat(connection, batch, time.time() - 60)

    assert reconcile.reconcile()["resumed"] == 1
    assert reconcile.reconcile()["resumed"] == 0  # the new job gets its chance first
    run_jobs(gateway_settings)
    assert fake_twilio.count_by_recipient() == {phone(n): 1 for n in range(1, 4)}
    assert progress.stalled(connection, 0, now=time.time() + 1) == []


def test_permanent_refusals_are_not_retried(
    gateway_settings: Settings, db: Session, fake_twilio: FakeTwilio
) -> None:
    add_subscribers(db, [Plan(phone(n)) for n in range(1, 5)])
    fake_twilio.fail_for(phone(1), 21211)
    fake_twilio.fail_for(phone(2), 21614)
    notice = notice_row(db)
    fanout_jobs.fan_out(notice.id)
    run_jobs(gateway_settings)

    by_phone = {t.to: t for t in texts(db, notice.id)}
    assert (by_phone[phone(1)].status, by_phone[phone(1)].error_code) == (MessageStatus.FAILED, 21211)
    assert (by_phone[phone(2)].status, by_phone[phone(2)].error_code) == (MessageStatus.FAILED, 21614)
    assert by_phone[phone(1)].attempts == 1 and by_phone[phone(2)].attempts == 1  # never retried
    posts = [r.params["To"] for r in fake_twilio.requests if r.method == "POST"]
    assert sorted(posts) == [phone(n) for n in range(1, 5)]
    assert {by_phone[phone(n)].status for n in (3, 4)} == {MessageStatus.SENT}
    assert fake_twilio.count_by_recipient() == {phone(3): 1, phone(4): 1}


def test_backoff_pauses_are_jittered_within_half_and_whole() -> None:
    pauses = [jobs.jittered(8.0) for _ in range(200)]
    assert all(4.0 <= pause <= 8.0 for pause in pauses)
    assert len({round(pause, 3) for pause in pauses}) > 50  # spread, not one value for everyone


# -- a worker killed in the middle of a fan-out ----------------------------------------------------


@pytest.fixture
def worker_environment(gateway_settings: Settings) -> dict[str, str]:
    return process_environment(gateway_settings, SECRET, SMS_RATE_PER_SECOND="1000")


@pytest.fixture
def workers(worker_environment: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever it left in its group


def start_worker(environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "engage", "worker"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=output,
            # Its own process group: killing the group takes rq's scheduler (a child) with it, so no
            # orphan scheduler outlives the test and moves other tests' scheduled jobs.
            start_new_session=True,
        )


def wait_for(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_worker_killed_mid_fan_out_then_a_fresh_worker_send_every_text_exactly_once(
    gateway_settings: Settings,
    db: Session,
    fake_twilio: FakeTwilio,
    worker_environment: dict[str, str],
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    count = 600
    add_subscribers(db, [Plan(phone(n)) for n in range(count)])
    notice = notice_row(db)
    assert gateway_settings.redis_url
    fake_twilio.latency = 0.3  # a slow gateway: many sends are in flight when the worker dies
    jobs.enqueue_fan_out(gateway_settings.redis_url, notice.id)

    log = tmp_path / "workers.log"
    first = start_worker(worker_environment, log)
    workers.append(first)
    wait_for(lambda: len(fake_twilio.messages) >= 150, 60, "the first worker to be sending")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    at_kill = texts(db, notice.id)
    assert any(t.status == MessageStatus.QUEUED for t in at_kill), "killed too late: nothing left"

    def answered_every_request() -> bool:
        """Every send the fake received has been accepted (it answers after its latency): the sends in
        flight at the kill have landed, their answers lost."""
        sends = [r for r in fake_twilio.requests if r.method == "POST"]
        return len(sends) == len(fake_twilio.messages)

    wait_for(answered_every_request, 30, "the sends in flight at the kill to reach the fake")
    unrecorded = [t for t in texts(db, notice.id) if t.status == MessageStatus.SENDING]

    fresh = start_worker(worker_environment, log)
    workers.append(fresh)

    def all_sent() -> bool:
        return {t.status for t in texts(db, notice.id)} == {MessageStatus.SENT}

    wait_for(all_sent, 90, f"every text sent (worker log: {log})")
    expected = {phone(n): 1 for n in range(count)}
    assert fake_twilio.count_by_recipient() == expected
    rows = texts(db, notice.id)
    assert {t.gateway_id for t in rows} == {m.sid for m in fake_twilio.messages}
    assert unrecorded, "the kill left no claimed text behind: the test proved nothing about reconciling"


@pytest.mark.slow
def test_publishing_at_night_answers_when_the_texts_will_go_and_urgent_ones_go_now(
    database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from litestar.testing import TestClient

    from engage.app import create_app
    from engage.notices import services

    settings = make_settings(database_url, redis_url, tmp_path / "var", SMS_QUIET_HOURS="21:00-08:00")
    night = at_shanghai(22, 15).astimezone(UTC)
    monkeypatch.setattr(services, "utcnow", lambda: night)
    token = token_for(settings, "lin@district.gov.cn", "organizer")
    body = {
        "kind": "stage_result",
        "title_zh": "结果",
        "title_en": "Results",
        "body_zh": "已公示。",
        "body_en": "Out.",
    }
    with TestClient(create_app(settings), base_url="http://testserver.local") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        calm = client.post("/api/v1/notices", json=body).json()
        urgent = client.post("/api/v1/notices", json={**body, "urgent": True}).json()
        held = client.post(f"/api/v1/notices/{calm['id']}/publish", json={}).json()
        now = client.post(f"/api/v1/notices/{urgent['id']}/publish", json={}).json()

    morning = at_shanghai(8, 0, day=11)
    assert held["status"] == "published" and held["urgent"] is False
    assert datetime.fromisoformat(held["texts_held_until"]) == morning
    assert now["urgent"] is True and now["texts_held_until"] is None
    # The clock stands in 2030, so even "now" is in rq's future: the urgent fan-out is due at once,
    # the other one at eight.
    assert sorted(_scheduled_jobs(settings)) == [
        f"notice-{calm['id']}-fanout-at-{int(morning.timestamp())}",
        f"notice-{urgent['id']}-fanout-at-{int(night.timestamp())}",
    ]


def test_a_single_text_whose_answer_was_lost_is_looked_up_not_retried(
    gateway_settings: Settings, db: Session, fake_twilio: FakeTwilio
) -> None:
    from engage.sms.services import queue_message

    message = queue_message(db, "system", phone(1), "您的验证码是 123456", "CN")
    db.commit()
    assert gateway_settings.redis_url
    fake_twilio.hang_next(1, seconds=4, store=True)
    jobs.enqueue_text(gateway_settings.redis_url, message.id)
    run_jobs(gateway_settings)
    db.expire_all()
    assert db.get(SmsMessage, message.id).status == MessageStatus.SENDING  # type: ignore[union-attr]
    assert len(fake_twilio.messages_to(phone(1))) == 1

    past = datetime.now(UTC) - timedelta(seconds=60)
    db.execute(update(SmsMessage).where(SmsMessage.id == message.id).values(claimed_at=past))
    db.commit()
    assert reconcile.reconcile()["found"] == 1
    run_jobs(gateway_settings)
    db.expire_all()
    row = db.get(SmsMessage, message.id)
    assert row is not None and row.status == MessageStatus.SENT
    assert row.gateway_id == fake_twilio.messages_to(phone(1))[0].sid
    assert len(fake_twilio.messages_to(phone(1))) == 1
