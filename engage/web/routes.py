"""The organizers' API operations by kind: listing, reading one thing, creating one, changing one. Each
kind can fail the same ways in every domain, so its problem responses are declared here once; a handler
names only what differs (its path, summary, guards, and the odd extra problem)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.types import Guard

from engage.web.deps import problems

LISTING = (400, 401, 403)  # a filter or page out of range; no token; the wrong role
ONE = (*LISTING, 404)  # ... and the thing does not exist
CREATE = (*LISTING, 422)  # ... and the new thing names something unknown (a community, a kind)
CHANGE = (*ONE, 409)  # ... and its state refuses the change (a panel already drawn, a notice published)


def read(path: str | None = None, *, summary: str, fails: Sequence[int] = ONE, **options: Any) -> get:
    """A GET of the organizers' API."""
    return get(path, summary=summary, responses=problems(*fails), **options)


def create(
    path: str | None = None,
    *,
    summary: str,
    guards: Sequence[Guard],
    fails: Sequence[int] = CREATE,
    **options: Any,
) -> HTTPRouteHandler:
    """A POST of the organizers' API that makes a new thing and answers 201 with it."""
    return post(path, summary=summary, guards=guards, status_code=201, responses=problems(*fails), **options)


def change(
    path: str | None = None,
    *,
    summary: str,
    guards: Sequence[Guard],
    method: type[post] | type[put] = post,
    status_code: int = 200,
    fails: Sequence[int] = CHANGE,
    **options: Any,
) -> HTTPRouteHandler:
    """A POST (or PUT) of the organizers' API that changes something and answers with its new state."""
    return method(
        path, summary=summary, guards=guards, status_code=status_code, responses=problems(*fails), **options
    )
