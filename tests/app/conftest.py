"""Fixtures of the app-wide tests (pages of every domain, the factory, settings, processes)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.orm import Session

from engage.seed import seed_demo
from engage.selections.demo import seed_selections
from engage.settings import Settings
from tests.factories import appointment, token_for
from tests.support import LiveServer


def _seed_demo_district(settings: Settings, db: Session) -> dict[str, str]:
    """The demo district (a finished and a running selection, panels, notices); returns the headers of
    an organizer who may publish."""
    seed_demo(db)
    db.commit()
    assert seed_selections(settings) is not None
    return {"Authorization": f"Bearer {token_for(settings, 'api@district.gov.cn', 'organizer')}"}


@pytest.fixture
def demo_district(settings: Settings, db: Session, client: TestClient[Litestar]) -> None:
    """The demo district and an appointment notice in its objection period, through the test client."""
    appointment(client, _seed_demo_district(settings, db))


@pytest.fixture
def live_demo_district(live_server: LiveServer, settings: Settings, db: Session) -> dict[str, Any]:
    """The demo district and an appointment notice in its objection period (returned), served live."""
    headers = _seed_demo_district(settings, db)
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        return appointment(api, headers)  # type: ignore[arg-type]
