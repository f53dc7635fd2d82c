"""Scaled out: two web processes (as on two machines) and two workers share one database and one Redis.
Each piece of work happens once, whichever process took the request or the job; rate limits and
sign-ins hold across web processes; /metrics from either process tells the same story."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage import jobs
from engage.audit.models import AuditEntry
from engage.residents.models import Community, Resident
from engage.selections import services as selections
from engage.selections import stages
from engage.selections.models import StageKind, StageStatus
from engage.settings import Settings
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import Plan, add_subscribers, organizer, phone, token_for, value
from tests.support import (
    ROOT,
    SECRET,
    free_port,
    make_settings,
    process_environment,
    twilio_environment,
    wait_for,
)

pytestmark = pytest.mark.slow

METRICS_TOKEN = "scale-out-metrics-token-0123"
SUBSCRIBERS = 40


@pytest.fixture
def scale_out_processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def start(arguments: list[str], environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "engage", *arguments],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=output,
        )


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def metrics(url: str) -> str:
    answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.text


def sign_up(code_at: str, verify_at: str, complete_at: str, fake: FakeTwilio, number: str) -> None:
    local = number.removeprefix("+86")
    assert httpx.post(f"{code_at}/api/v1/signup/code", json={"phone": local}, timeout=30).status_code == 202
    wait_for(lambda: fake.messages_to(number), 60, "the sign-up code")
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", fake.messages_to(number)[-1].body).group(1)  # type: ignore[union-attr]
    verified = httpx.post(
        f"{verify_at}/api/v1/signup/verify", json={"phone": local, "code": code}, timeout=30
    )
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
    done = httpx.post(f"{complete_at}/api/v1/signup/complete", json=registration, timeout=30)
    assert done.status_code == 201, done.text


def test_two_web_processes_and_two_workers_do_each_thing_once_and_both_report_it(
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    fake_twilio: FakeTwilio,
    db: Session,
    scale_out_processes: list[subprocess.Popen[bytes]],
) -> None:
    ports = [free_port(), free_port()]
    web = [f"http://127.0.0.1:{port}" for port in ports]
    settings = make_settings(
        database_url, redis_url, tmp_path / "var", PUBLIC_BASE_URL=web[0], **twilio_environment(fake_twilio)
    )
    add_subscribers(db, [Plan(phone(n)) for n in range(SUBSCRIBERS)])
    db.add(Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"))
    db.commit()
    environment = process_environment(
        settings, SECRET, METRICS_TOKEN=METRICS_TOKEN, SWEEP_AFTER_SECONDS="2", VAR_DIR=str(settings.var_dir)
    )
    for port in ports:
        scale_out_processes.append(
            start(["serve", "--port", str(port)], environment, tmp_path / f"web-{port}.log")
        )
    for n in range(2):
        scale_out_processes.append(start(["worker"], environment, tmp_path / f"worker-{n}.log"))
    for url in web:
        wait_for(lambda url=url: ready(url), 90, f"{url} to be ready")

    # The per-number limit (one code a minute) is kept in Redis: the other process knows of the first code.
    caller = "13999999999"
    assert httpx.post(f"{web[0]}/api/v1/signup/code", json={"phone": caller}, timeout=30).status_code == 202
    again = httpx.post(f"{web[1]}/api/v1/signup/code", json={"phone": caller}, timeout=30)
    assert again.status_code == 429, again.text

    # Sign-ups: each step may land on either process.
    residents = [f"+86139{n:08d}" for n in range(3)]
    routes = [(web[0], web[1], web[0]), (web[1], web[0], web[1]), (web[0], web[0], web[1])]
    for number, (code_at, verify_at, complete_at) in zip(residents, routes, strict=True):
        sign_up(code_at, verify_at, complete_at, fake_twilio, number)

    # A sign-in on one process is a sign-in on the other (sessions live in Redis).
    password = organizer(settings, "wang@district.gov.cn", "organizer")
    with httpx.Client(base_url=web[0], timeout=30) as browser:
        form = browser.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        signed_in = browser.post(
            "/login",
            data={
                "email": "wang@district.gov.cn",
                "password": password,
                "_csrf_token": csrf,
                "next": "/organizer",
            },
        )
        assert signed_in.status_code in (302, 303), signed_in.text
        elsewhere = httpx.get(
            f"{web[1]}/organizer", cookies=browser.cookies, timeout=30, follow_redirects=False
        )
        assert elsewhere.status_code == 200, elsewhere.headers

    # A fan-out, published through the second process, texted once to each subscriber.
    headers = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}
    body = {
        "kind": "stage_result",
        "title_zh": "停水通知",
        "title_en": "Water off",
        "body_zh": "周五停水。",
        "body_en": "No water on Friday.",
    }
    notice = httpx.post(
        f"{web[1]}/api/v1/notices", json={**body, "urgent": True}, headers=headers, timeout=30
    )
    assert notice.status_code == 201, notice.text
    published = httpx.post(
        f"{web[1]}/api/v1/notices/{notice.json()['id']}/publish", json={}, headers=headers, timeout=30
    )
    assert published.status_code == 200, published.text

    # A stage closing on its own clock while both workers run rq's scheduler and the sweeper.
    selection_id = open_nomination(db, settings)
    closes_at = datetime.now(UTC) + timedelta(seconds=4)
    selection = selections.get_selection(db, selection_id)
    stage = selection.stage(StageKind.NOMINATION.value)
    _, after = stages.reschedule_stage(
        db, "test", selection_id, StageKind.NOMINATION.value, stage.opens_at, closes_at
    )
    db.commit()
    assert settings.redis_url
    jobs.dispatch(settings.redis_url, after)

    everyone = [phone(n) for n in range(SUBSCRIBERS)] + residents

    def reached() -> set[str]:
        return {message.to for message in fake_twilio.messages if "周五停水" in message.body}

    wait_for(lambda: reached() >= set(everyone), 120, "the fan-out to reach everyone")

    def closed() -> bool:
        db.expire_all()
        nomination = selections.get_selection(db, selection_id).stage(StageKind.NOMINATION.value)
        return nomination.status == StageStatus.CLOSED

    wait_for(closed, 90, "the nomination stage to close on its clock")
    time.sleep(3)  # time for any second sender, sweep or tick to show itself

    # Besides ours, the selection's own notices go out; no text reaches a phone twice, and ours reached
    # every subscriber once.
    sent = Counter((message.to, message.body) for message in fake_twilio.messages)
    assert [pair for pair, n in sent.items() if n > 1] == []
    ours = Counter(message.to for message in fake_twilio.messages if "周五停水" in message.body)
    assert ours == dict.fromkeys(everyone, 1)
    codes = Counter(message.to for message in fake_twilio.messages if message.to in residents)
    assert all(codes[number] >= 2 for number in residents)  # a code and our notice at least
    assert db.scalar(select(func.count()).select_from(Resident).where(Resident.phone.in_(residents))) == 3
    closes = db.scalars(
        select(AuditEntry.details).where(
            AuditEntry.action == "selection.stage.close", AuditEntry.subject_id == str(selection_id)
        )
    ).all()
    assert closes == [{"stage": StageKind.NOMINATION.value}]

    # Each process reports the same database and Redis; each counted the requests it served.
    texts = len(fake_twilio.messages)

    def agreed() -> bool:
        scraped = [metrics(url) for url in web]
        return all(
            value(body, "engage_texts", status="sent", error_code="") == texts
            and value(body, "engage_signup_codes_issued") == 4
            and value(body, "engage_workers") == 2
            and value(body, "engage_oldest_due_seconds", kind="stage_edge") == 0
            for body in scraped
        )

    wait_for(agreed, 30, "both processes' metrics to show the texts, codes and workers")
    name = "engage_http_request_duration_seconds_count"
    served = [
        value(metrics(url), name, method="POST", route="/api/v1/signup/code", status="202") for url in web
    ]
    assert served == [3, 1]
    refused = value(metrics(web[1]), name, method="POST", route="/api/v1/signup/code", status="429")
    assert refused == 1
    assert all(process.poll() is None for process in scale_out_processes), "a process died"


def open_nomination(db: Session, settings: Settings) -> int:
    """A published selection whose nomination stage is open; its jobs go to the test's real workers."""
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
    return selection.id


def test_serve_with_two_workers_sums_both_processes_in_one_scrape(
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    fake_twilio: FakeTwilio,
    scale_out_processes: list[subprocess.Popen[bytes]],
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(database_url, redis_url, tmp_path / "var", **twilio_environment(fake_twilio))
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "histogram_999999.db").write_bytes(b"left by a run before")  # unreadable unless wiped
    environment = process_environment(
        settings, SECRET, METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(shared)
    )
    log = tmp_path / "web.log"
    scale_out_processes.append(start(["serve", "--port", str(port), "--workers", "2"], environment, log))
    try:
        wait_for(lambda: ready(url), 120, "both web processes to be ready")
    except AssertionError as error:
        raise AssertionError(f"{error}; the log says:\n{log.read_text()[-3000:]}") from None

    def one(_: int) -> int:
        return httpx.get(f"{url}/healthz", timeout=30).status_code  # a new connection each time

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(200)))
    assert answers == [200] * 200
    files = sorted(path.name for path in shared.glob("histogram_*.db"))
    assert len(files) == 2, files  # each process wrote its own, and the stale one is gone
    count = value(
        metrics(url),
        "engage_http_request_duration_seconds_count",
        method="GET",
        route="/healthz",
        status="200",
    )
    assert count == 200
