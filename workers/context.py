"""What a job needs, built lazily inside the process that runs it (after rq forks), never at import."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine

from engage.db import make_sync_engine
from engage.settings import Settings, load_settings
from engage.sms.gateway import SmsGateway
from engage.sms.gateways import make_gateway


@cache
def settings() -> Settings:
    return load_settings()


@cache
def engine() -> Engine:
    return make_sync_engine(settings().database_url)


@cache
def gateway() -> SmsGateway:
    return make_gateway(settings())
