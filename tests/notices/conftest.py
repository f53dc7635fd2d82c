"""Fixtures of the notices tests. From tests/conftest.py they also use `notice_staff` (an organizer's
headers, pages in English) and the harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.residents.models import Community
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import NoticeDistrict, token_for
from tests.support import LiveServer, listening_socket, make_settings, twilio_environment, url_of


@pytest.fixture
def notice_district(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Session
) -> Iterator[NoticeDistrict]:
    """A live server that knows its public address (Twilio signs it and posts reports there), two
    communities, and an organizer's API client."""
    sock = listening_socket()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=url_of(sock),
        **twilio_environment(fake_twilio),
    )
    db.add_all(
        [
            Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"),
            Community(code="dongxing", name_zh="东兴社区", name_en="Dongxing"),
        ]
    )
    db.commit()
    token = token_for(settings, "lin@district.gov.cn", "organizer")
    with LiveServer(create_app(settings), sock) as server:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
            yield NoticeDistrict(settings, server.url, api, fake_twilio)
