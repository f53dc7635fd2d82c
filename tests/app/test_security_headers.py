"""Security headers on every route of the app's route table (docs/security.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from engage.app import create_app
from engage.settings import Settings
from engage.web.headers import CONTENT_SECURITY_POLICY
from tests.support import ROOT, make_settings

PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


def _example(name: str, kind: str) -> str:
    return "1" if kind == "int" else "abc123" if name != "file_path" else "engage.css"


def _requests(app: Litestar) -> list[tuple[str, str, bool]]:
    """(method, concrete path, is a capability link) for every method of every route."""
    found = []
    for route in app.routes:
        names = dict(PARAMETER.findall(route.path))
        path = PARAMETER.sub(lambda m: _example(m.group(1), m.group(2)), route.path)
        for method in sorted(getattr(route, "methods", {"GET"}) - {"OPTIONS", "HEAD"}):
            found.append((method, path, "token" in names))
    return found


@pytest.mark.slow
def test_every_route_sends_the_security_headers(client: TestClient, app: Litestar) -> None:  # type: ignore[type-arg]
    """S9: no Content-Security-Policy, frame-ancestors, nosniff or Referrer-Policy on any page.
    S15: /b/, /r/, /s/, /e/ pages lacked the no-store and no-referrer that /j/ sends."""
    requests = _requests(app)
    assert len(requests) > 100 and any(capability for *_, capability in requests)
    for method, path, capability in [*requests, ("GET", "/no/such/page", False)]:
        response = client.request(method, path, follow_redirects=False)
        where = f"{method} {path} -> {response.status_code}"
        assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, where
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], where
        assert response.headers.get("x-content-type-options") == "nosniff", where
        assert response.headers.get("x-frame-options") == "DENY", where
        assert response.headers.get("referrer-policy"), where
        assert "strict-transport-security" not in response.headers, where  # http, test: never
        if capability:
            assert response.headers.get("cache-control") == "no-store", where
            assert response.headers.get("referrer-policy") == "no-referrer", where


def test_hsts_only_in_production_over_https(database_url: str, redis_url: str, tmp_path: Path) -> None:
    """S9: no Strict-Transport-Security header."""
    settings: Settings = make_settings(
        database_url,
        redis_url,
        tmp_path,
        ENGAGE_ENV="prod",
        SECRET_KEY="Vq3-p9Zk_TwXr81LmYc0aNfUe4HdGs7Bj2oKi6",
        PUBLIC_BASE_URL="https://engage.example.gov.cn",
    )
    with TestClient(app=create_app(settings), base_url="https://engage.example.gov.cn") as client:
        assert client.get("/login").headers["strict-transport-security"] == "max-age=31536000"


def test_no_template_or_page_carries_an_inline_script_or_style() -> None:
    """S9: the policy allows no inline script, so none may exist; /schema loaded Swagger from a CDN."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if inline.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.slow
def test_the_api_reference_is_served_without_scripts(client: TestClient) -> None:  # type: ignore[type-arg]
    """S9: /schema included swagger-ui-bundle.js from cdn.jsdelivr.net without integrity."""
    page = client.get("/schema")
    assert page.status_code == 200
    assert "<script" not in page.text and "cdn." not in page.text
    assert "/api/v1/signup/verify" in page.text


def test_anonymous_page_views_store_no_session(client: TestClient, redis_url: str) -> None:  # type: ignore[type-arg]
    """S14: every anonymous page view created an 8-hour session in Redis."""
    import redis

    connection = redis.Redis.from_url(redis_url)
    before = set(connection.keys("*"))
    for path in ("/", "/login", "/join", "/notices", "/selections"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "session=" not in response.headers.get("set-cookie", ""), path
    assert {key for key in set(connection.keys("*")) - before if b"session" in key} == set()
