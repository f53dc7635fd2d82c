"""OPTIONS answers with every method its path serves (S16).

Litestar adds an OPTIONS handler to a path when the first handler for it is registered; when a second
controller adds methods to the same path (a ballot's GET on one, its POST on another), the OPTIONS
answer still listed only the first one's, and it sat behind that controller's guards (401 without a
token). Which methods a path takes is public (it is in /schema), so this answers OPTIONS from the
app's route table, before sessions, guards or Redis are involved. The 405 answers already carry the
full Allow header (Litestar's router builds them from the route).
"""

from __future__ import annotations

from collections import defaultdict

from litestar.middleware import ASGIMiddleware
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send


def allowed_methods(routes: list[object]) -> dict[str, str]:
    """The Allow header of each path template (e.g. /api/v1/ballots/{token})."""
    methods: dict[str, set[str]] = defaultdict(lambda: {"OPTIONS"})
    for route in routes:
        if isinstance(route, HTTPRoute):
            methods[route.path_format] |= set(route.methods)
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}


class AnswerOptions(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self) -> None:
        self.allow: dict[str, str] | None = None  # built at the first OPTIONS: the routes are final then

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") != "OPTIONS":
            await next_app(scope, receive, send)
            return
        if self.allow is None:
            self.allow = allowed_methods(list(scope["app"].routes))
        allow = self.allow.get(str(scope.get("path_template", "")), "OPTIONS")
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"allow", allow.encode())],
        }
        body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(start)
        await send(body)
