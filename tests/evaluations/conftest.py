"""Fixtures of the evaluations tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import EvaluationDistrict, add_raters, token_for
from tests.support import LiveServer, listening_socket, make_settings, twilio_environment, url_of


@pytest.fixture
def evaluation_district(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Session
) -> Iterator[EvaluationDistrict]:
    """A live server that knows its public address (Twilio signs it), 1,000 residents who may rate and
    an organizer's headers."""
    sock = listening_socket()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=url_of(sock),
        **twilio_environment(fake_twilio),
    )
    add_raters(db)
    headers = {"Authorization": f"Bearer {token_for(settings, 'zhao@district.gov.cn', 'organizer')}"}
    with LiveServer(create_app(settings), sock) as server:
        yield EvaluationDistrict(fake_twilio, settings, server.url, headers, db)


@pytest.fixture
def thirty_raters(db: Session) -> None:
    """30 verified residents over three communities (add_raters), every fourth one reading English."""
    add_raters(db, 30)
