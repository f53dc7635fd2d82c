"""What a job needs, built lazily inside the process that runs it (after rq forks), never at import."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine

# Every mapped class, so a flush can resolve any foreign key whatever this process imported first.
import engage.models  # noqa: F401
from engage.db import make_sync_engine
from engage.settings import Settings, load_settings
from engage.sms.gateway import SmsGateway
from engage.sms.gateways import make_gateway

_configured: Settings | None = None


def use(chosen: Settings) -> None:
    """Run jobs in this process with these settings instead of the environment's (the worker, tests)."""
    global _configured
    _configured = chosen
    engine.cache_clear()
    gateway.cache_clear()


def settings() -> Settings:
    global _configured
    if _configured is None:
        _configured = load_settings()
    return _configured


@cache
def engine() -> Engine:
    return make_sync_engine(settings().database_url)


@cache
def gateway() -> SmsGateway:
    return make_gateway(settings())
