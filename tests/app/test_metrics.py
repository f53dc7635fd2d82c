"""/metrics: who may read it, request latency by route template, and the gauges read from the database
and Redis at scrape time (the same in every process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.notices.models import Notice, NoticeStatus
from engage.settings import ConfigError, Settings
from engage.sms.models import MessageStatus
from engage.sms.services import queue_message
from tests.factories import value
from tests.support import LiveServer, make_settings

TOKEN = "scraper-token-0123456789"


@pytest.fixture
def scraper(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, redis_url, tmp_path / "var", METRICS_TOKEN=TOKEN)


def scrape(client: TestClient) -> str:  # type: ignore[type-arg]
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def test_metrics_need_the_token_from_another_machine(scraper: Settings) -> None:
    with TestClient(app=create_app(scraper)) as client:
        assert client.get("/metrics").status_code == 403
        assert (
            client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code
            == 403
        )
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_without_a_token_only_this_machine_reads_them(settings: Settings) -> None:
    with TestClient(app=create_app(settings)) as client:  # the test client is "another machine"
        assert client.get("/metrics").status_code == 403
    with LiveServer(create_app(settings)) as server:  # reached over 127.0.0.1
        assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 200


def test_a_short_metrics_token_stops_the_boot(database_url: str, redis_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        make_settings(database_url, redis_url, tmp_path, METRICS_TOKEN="short")
    assert refused.value.variable == "METRICS_TOKEN"


def test_request_latency_is_labelled_by_route_template_never_by_the_raw_path(scraper: Settings) -> None:
    with TestClient(app=create_app(scraper)) as client:
        before = scrape(client)
        assert client.get("/notices/987654", headers={"Accept": "text/html"}).status_code == 404
        assert client.head("/notices").status_code == 200
        assert client.get("/no/such/page/555444").status_code == 404
        after = scrape(client)
    name = "engage_http_request_duration_seconds_count"

    def grew(**labels: str) -> float:
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert grew(method="GET", route="/notices/{notice_id}", status="404") == 1
    assert grew(method="GET", route="/notices", status="200") == 1  # a HEAD is answered as a GET
    assert grew(method="GET", route="unmatched", status="404") == 1
    assert "987654" not in after and "555444" not in after


def test_texts_are_counted_by_status_and_error_code_and_the_oldest_unsent_one_is_aged(
    scraper: Settings, db: Session
) -> None:
    sent = queue_message(db, "test", "+8613800000001", "已发送", "CN")
    sent.status = MessageStatus.SENT
    for n in range(2):
        failed = queue_message(db, "test", f"+861380000001{n}", "失败", "CN")
        failed.status, failed.error_code = MessageStatus.FAILED, 21610
    waiting = queue_message(db, "test", "+8613800000020", "等待", "CN")
    waiting.created_at = datetime.now(UTC) - timedelta(minutes=3)  # the job that should send it was lost
    db.add(
        Notice(
            kind="stage_result",
            title_zh="结果",
            title_en="Results",
            body_zh="公示。",
            body_en="Out.",
            audience="all",
            community_codes=[],
            created_by="organizer:1",
            status=NoticeStatus.PUBLISHED,
            published_at=datetime.now(UTC) - timedelta(minutes=10),  # and its fan-out never ran
        )
    )
    db.commit()
    with TestClient(app=create_app(scraper)) as client:
        body = scrape(client)
    assert value(body, "engage_texts", status="sent", error_code="") == 1
    assert value(body, "engage_texts", status="failed", error_code="21610") == 2
    assert value(body, "engage_texts", status="queued", error_code="") == 1
    assert 180 <= (value(body, "engage_oldest_due_seconds", kind="text") or 0) < 240
    assert 600 <= (value(body, "engage_oldest_due_seconds", kind="fan_out") or 0) < 660
    assert value(body, "engage_oldest_due_seconds", kind="stage_edge") == 0


def test_a_code_request_shows_as_a_code_issued_and_a_job_waiting_in_the_high_queue(scraper: Settings) -> None:
    with TestClient(app=create_app(scraper)) as client:
        assert client.post("/api/v1/signup/code", json={"phone": "13800138000"}).status_code == 202
        body = scrape(client)
    assert value(body, "engage_signup_codes_issued") == 1
    assert value(body, "engage_signup_codes_issued_last_hour") == 1
    assert value(body, "engage_queue_jobs", queue="high", state="queued") == 1
    assert value(body, "engage_queue_jobs", queue="bulk", state="queued") == 0
    assert value(body, "engage_redis_up") == value(body, "engage_database_up") == 1
    assert value(body, "engage_workers") == 0


def test_with_redis_down_the_database_gauges_still_answer(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, "redis://127.0.0.1:1/0", tmp_path, METRICS_TOKEN=TOKEN)
    with TestClient(app=create_app(settings)) as client:
        body = scrape(client)
    assert value(body, "engage_redis_up") == 0
    assert value(body, "engage_signup_codes_issued") == 0
    assert "engage_queue_jobs" not in body


def test_with_the_database_down_the_redis_gauges_still_answer(redis_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", redis_url, tmp_path, METRICS_TOKEN=TOKEN
    )
    with TestClient(app=create_app(settings)) as client:
        body = scrape(client)
    assert value(body, "engage_database_up") == 0
    assert value(body, "engage_redis_up") == 1
    assert value(body, "engage_queue_jobs", queue="high", state="queued") == 0
    assert "engage_texts" not in body
