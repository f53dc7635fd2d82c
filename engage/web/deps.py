"""Dependencies shared by handlers: a database session per request, and the API's problem responses."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from sqlalchemy.ext.asyncio import AsyncSession


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    async with state.db_sessions() as session:
        yield session


@dataclass
class Problem:
    """An error. Branch on `code` (stable, listed in docs/api.md), never on `detail`, which is written
    for people and follows Accept-Language."""

    status_code: int
    code: str
    detail: str
    field: str | None = None
    extra: dict[str, Any] | None = None


# One real answer per status, as the demo district gives them (`make run`).
_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "status_code": 400,
        "code": "validation_failed",
        "detail": "seats: Expected `int` >= 1",
        "field": "posts[0].seats",
    },
    401: {
        "status_code": 401,
        "code": "not_authenticated",
        "detail": "sign in first (a bearer token on /api/v1)",
        "field": None,
    },
    403: {
        "status_code": 403,
        "code": "forbidden",
        "detail": "needs one of the roles: admin, organizer",
        "field": None,
    },
    404: {"status_code": 404, "code": "not_found", "detail": "no selection 99", "field": "selection_id"},
    409: {
        "status_code": 409,
        "code": "quorum_not_met",
        "detail": "Quorum not reached: staff 6/10 (needs 7); keep the stage open or invite more.",
        "field": "quorum",
    },
    422: {
        "status_code": 422,
        "code": "unknown_value",
        "detail": "community: unknown value “dongxingx”; choose one of: dongxing, wulihe",
        "field": "community",
        "extra": {"allowed": ["dongxing", "wulihe"]},
    },
    429: {
        "status_code": 429,
        "code": "rate_limited",
        "detail": "Too many codes requested. Try again in 57 seconds.",
        "field": "phone",
    },
    500: {
        "status_code": 500,
        "code": "internal_error",
        "detail": "internal error; it has been logged",
        "field": None,
    },
    503: {
        "status_code": 503,
        "code": "unavailable",
        "detail": "This is unavailable for a moment. Please try again in a minute.",
        "field": None,
    },
}


_DESCRIPTIONS = {
    400: "invalid input; `field` names it",
    401: "no valid bearer token",
    403: "the token's organizer lacks the role",
    404: "not found",
    409: "conflicts with existing data",
    422: (
        "a value names nothing known (a community, a quota category or value, an option): `field` names "
        "it and `extra.allowed` lists the valid values; or the request cannot be done as things are "
        "(`detail` says why)"
    ),
    429: "too many requests; see Retry-After",
    500: "something failed on our side; it has been logged (`internal_error`)",
    503: "a part the request needs (Redis) is away for a moment; see Retry-After (`unavailable`)",
}


def problems(*codes: int) -> dict[int, ResponseSpec]:
    return {
        code: ResponseSpec(
            Problem,
            description=_DESCRIPTIONS[code],
            generate_examples=False,
            examples=[Example(summary=_EXAMPLES[code]["code"], value=_EXAMPLES[code])],
        )
        for code in codes
    }


DB = NamedDependency[AsyncSession]
"""A handler parameter `db: DB` gets this request's database session."""

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL; larger ones cannot exist
