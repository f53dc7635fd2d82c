"""Liveness and readiness, for a supervisor or load balancer.

- `/healthz` (liveness): the process answers. It touches nothing else, so an outage of the database or
  Redis never makes a supervisor restart every web process at once.
- `/readyz` (readiness): the database and Redis answer and the database schema is at the revision this
  code expects (`engage db upgrade` has run), or at a newer one a release under way migrated to. A proxy or orchestrator sends traffic only to a ready
  process; a 503 names the part that is not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text

AHEAD = "ahead"


@dataclass
class Liveness:
    status: str


@dataclass
class Readiness:
    status: str
    database: str
    redis: str
    migrations: str


async def _check(probe: Any, seconds: float = 2.0) -> str:
    try:
        async with asyncio.timeout(seconds):
            result = await probe
    except Exception as error:  # any failure means "down"; the reason is reported, not raised
        return f"down: {type(error).__name__}"
    return result if isinstance(result, str) else "ok"


@dataclass(frozen=True)
class Migrations:
    head: str | None
    known: frozenset[str]


@cache
def migrations() -> Migrations:
    """The revisions shipped with this code, read from its files once per process."""
    from alembic.script import ScriptDirectory

    from engage.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return Migrations(scripts.get_current_head(), frozenset(r.revision for r in scripts.walk_revisions()))


async def _database_at_head(request: Request[Any, Any, Any]) -> str:
    async with request.app.state.db_sessions() as session:
        found = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    shipped = migrations()
    if found == [shipped.head]:
        return "ok"
    if found and not set(found) & shipped.known:
        # A newer release ran its migrations and this process is about to be replaced: migrations only
        # add, so it keeps serving until then (a rolling deploy must not empty the pool).
        return f"{AHEAD}: database {', '.join(found)}, code {shipped.head}"
    return (
        f"not at head: database {', '.join(found) or 'empty'}, code {shipped.head} (run `engage db upgrade`)"
    )


async def _database(request: Request[Any, Any, Any]) -> None:
    async with request.app.state.db_sessions() as session:
        await session.execute(text("SELECT 1"))


@get("/healthz", tags=["health"], summary="Liveness: is this process answering?")
async def healthz() -> Liveness:
    """Liveness: 200 while this process answers. It touches neither the database nor Redis, so a
    dependency's outage does not get healthy processes restarted; readiness is `/readyz`."""
    return Liveness(status="ok")


@get(
    "/readyz",
    tags=["health"],
    summary="Readiness: database and Redis answering, schema migrated to this code's revision",
    responses={503: ResponseSpec(Readiness, description="database or Redis down, or migrations pending")},
)
async def readyz(request: Request[Any, Any, Any]) -> Response[Readiness]:
    """Readiness: 200 when the database and Redis answer and the schema is at this code's migration
    revision (or ahead of it, during a rolling deploy); 503 naming what is wrong otherwise."""
    database = await _check(_database(request))
    schema = await _check(_database_at_head(request)) if database == "ok" else "unknown"
    redis = await _check(request.app.state.redis.ping())
    ok = database == redis == "ok" and (schema == "ok" or schema.startswith(AHEAD))
    body = Readiness(status="ready" if ok else "not ready", database=database, redis=redis, migrations=schema)
    return Response(body, status_code=200 if ok else 503)
