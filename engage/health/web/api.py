from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text


@dataclass
class Health:
    status: str
    database: str
    redis: str


async def _check(probe: Any, seconds: float = 2.0) -> str:
    try:
        async with asyncio.timeout(seconds):
            await probe
    except Exception as error:  # any failure means "down"; the reason is reported, not raised
        return f"down: {type(error).__name__}"
    return "ok"


async def _database(request: Request[Any, Any, Any]) -> None:
    async with request.app.state.db_sessions() as session:
        await session.execute(text("SELECT 1"))


@get(
    "/healthz",
    tags=["health"],
    summary="Is the service up (database and Redis answering)?",
    responses={503: ResponseSpec(Health, description="database or Redis is down")},
)
async def healthz(request: Request[Any, Any, Any]) -> Response[Health]:
    database = await _check(_database(request))
    redis = await _check(request.app.state.redis.ping())
    ok = database == "ok" and redis == "ok"
    body = Health(status="ok" if ok else "degraded", database=database, redis=redis)
    return Response(body, status_code=200 if ok else 503)
