"""One-time messages: a step's result, stored in the session by the POST that performed it and shown once
at the top of the next page (the page the POST redirects to with 303).

Handlers call `flash(request, text)`; the base layout calls the template global `flashes()`, which takes
the messages out of the session so a reload does not show them again."""

from __future__ import annotations

from typing import Any, Literal

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Request

FLASH_KEY = "flash"
Kind = Literal["ok", "error"]


def flash(request: Request[Any, Any, Any], text: str, kind: Kind = "ok") -> None:
    """Keep `text` for the next page this browser loads. The text is already translated."""
    waiting = list(request.session.get(FLASH_KEY) or [])
    waiting.append({"text": text, "kind": kind})
    request.session[FLASH_KEY] = waiting


def pop_flashes(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    # Only a signed-in session can hold messages: an anonymous page view must not create one (S14).
    if not request.scope.get("session"):
        return []
    waiting = request.session.pop(FLASH_KEY, None) or []
    return [dict(item) for item in waiting]


@pass_context
def flashes(context: Context) -> list[dict[str, str]]:
    """The template global: the messages waiting for this page, removed as they are read."""
    request = context.get("request")
    if request is None:
        return []
    return pop_flashes(request)
