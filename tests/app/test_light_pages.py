"""Light pages: gzip, static files under hashed names cached for a year, a favicon, HEAD answered."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from engage.web.light import manifest


@pytest.mark.slow
def test_pages_are_gzipped_for_browsers_that_accept_it(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/join", headers={"Accept-Encoding": "gzip", "Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert page.headers["content-encoding"] == "gzip"
    assert "报名" in page.text  # the client unpacks it
    plain = client.get("/join", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


@pytest.mark.slow
def test_the_stylesheet_has_a_hashed_name_and_a_year_long_cache(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/", headers={"Accept-Encoding": "identity"})
    [href] = re.findall(r'href="(/static/engage\.[0-9a-f]{10}\.css)"', page.text)
    assert href == "/static/" + manifest()["engage.css"]
    css = client.get(href, headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "max-age=31536000" in css.headers["cache-control"]
    assert "immutable" in css.headers["cache-control"]
    assert css.headers["content-encoding"] == "gzip"
    plain = client.get("/static/engage.css")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"
    assert client.get("/static/engage.0000000000.css").status_code == 404
    assert client.get("/static/../settings.py").status_code == 404


@pytest.mark.slow
def test_the_favicon_is_served(client: TestClient) -> None:  # type: ignore[type-arg]
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in icon.headers["cache-control"]


@pytest.mark.slow
def test_head_answers_like_get_without_a_body(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/", "/join", "/notices", "/selections", "/healthz", "/favicon.ico"):
        got = client.get(path, headers={"Accept-Encoding": "identity"})
        head = client.head(path, headers={"Accept-Encoding": "identity"})
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
    assert client.head("/no-such-page").status_code == 404
