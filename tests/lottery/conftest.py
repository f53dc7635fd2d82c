"""The hypothesis profile of the lottery tests (kept here on purpose: the worktree may not add root-level
config files); the pool builders and the benchmark instances are in lottery_helpers.py."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "lottery",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("lottery")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than ~20 s")
