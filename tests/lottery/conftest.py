"""Shared fixtures for the lottery tests (and the pytest settings they need, kept here on purpose:
the worktree may not add root-level config files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from engage.lottery import Pool, Quota, read_pool, read_quotas

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = (ROOT / ".." / "shared" / "bench" / "sortition" / "instances").resolve()

settings.register_profile(
    "lottery",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("lottery")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than ~20 s")


def instance(name: str) -> tuple[Pool, list[Quota], int]:
    """A shared benchmark instance (pool, quotas, k); skips when the shared folder is absent."""
    folder = INSTANCES / name
    if not folder.is_dir():
        pytest.skip(f"benchmark instances not found at {INSTANCES} (shared folder absent)")
    quotas = read_quotas(folder / "categories.csv")
    return (
        read_pool(folder / "respondents.csv", quotas),
        quotas,
        int(name.rsplit("_", 1)[1]),
    )
