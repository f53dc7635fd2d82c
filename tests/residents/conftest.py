"""Fixtures of the residents tests. From tests/conftest.py they also use `signup_district` (the
communities of the sign-up pages), `sms_district` (texting the live server), `notice_staff`,
`panel_staff` and the harness."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient


@pytest.fixture
def english(client: TestClient) -> None:  # type: ignore[type-arg]
    """Pages answer in English (the Chinese pages have their own tests)."""
    client.headers["Accept-Language"] = "en"
