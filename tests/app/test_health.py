from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from engage.app import create_app
from tests.support import make_settings

UNREACHABLE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/none"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_liveness_answers_ok_even_with_database_and_redis_down(tmp_path: Path) -> None:
    # A supervisor that restarts web processes on a failed liveness check must not restart all of
    # them because PostgreSQL or Redis is away: liveness is only "this process answers".
    settings = make_settings(UNREACHABLE_DATABASE, UNREACHABLE_REDIS, tmp_path)
    with TestClient(app=create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_answers_ready_when_database_redis_and_migrations_are(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "ok", "migrations": "ok"}


def test_readiness_names_redis_when_it_is_down(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, UNREACHABLE_REDIS, tmp_path)
    with TestClient(app=create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["migrations"]) == ("not ready", "ok", "ok")
    assert body["redis"].startswith("down")


def test_readiness_names_the_database_when_it_is_down(redis_url: str, tmp_path: Path) -> None:
    settings = make_settings(UNREACHABLE_DATABASE, redis_url, tmp_path)
    with TestClient(app=create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")
    assert response.json()["redis"] == "ok"


def test_readiness_refuses_a_database_behind_the_code_and_says_to_upgrade(
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    # A web process of a new release started before the release step ran `engage db upgrade`.
    head = db.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    db.execute(text("UPDATE alembic_version SET version_num = '0014'"))
    db.commit()
    try:
        response = client.get("/readyz")
    finally:  # PostgreSQL's test database outlives this test
        db.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.commit()
    assert response.status_code == 503
    migrations = response.json()["migrations"]
    assert "database 0014" in migrations and "engage db upgrade" in migrations
    assert response.json()["database"] == "ok"


def test_readiness_keeps_an_old_process_ready_while_a_newer_release_migrated_ahead(
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    # A rolling deploy: the release step migrated to a revision this (old) code does not know. Taking
    # every old process out at once would leave nothing serving until the new ones are up.
    head = db.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    db.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_next_release'"))
    db.commit()
    try:
        response = client.get("/readyz")
    finally:
        db.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.commit()
    assert response.status_code == 200
    assert response.json()["migrations"] == f"ahead: database 9999_from_the_next_release, code {head}"


def test_openapi_document_and_browsable_docs_are_served(client: TestClient) -> None:  # type: ignore[type-arg]
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/me", "/api/v1/audit", "/api/v1/messages"} <= set(paths)
    # For load balancers, monitors and scrapers, not integrators (docs/operations.md).
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)
    page = client.get("/schema")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
