from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from engage.app import create_app
from tests.support import make_settings


@pytest.mark.slow
def test_healthz_answers_ok_when_database_and_redis_answer(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_names_redis_when_it_is_down(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, "redis://127.0.0.1:1/0", tmp_path)
    with TestClient(app=create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"].startswith("down")
    assert body["status"] == "degraded"


@pytest.mark.slow
def test_healthz_names_the_database_when_it_is_down(redis_url: str, tmp_path: Path) -> None:
    settings = make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none", redis_url, tmp_path)
    with TestClient(app=create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")
    assert response.json()["redis"] == "ok"


@pytest.mark.slow
def test_openapi_document_and_browsable_docs_are_served(client: TestClient) -> None:  # type: ignore[type-arg]
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/healthz", "/api/v1/me", "/api/v1/audit", "/api/v1/messages"} <= set(paths)
    page = client.get("/schema")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
