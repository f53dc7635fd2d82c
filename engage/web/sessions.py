"""Server-side sessions that get a new id whenever someone signs in.

Litestar's backend keeps whatever session id the browser's cookie names. If that id was planted by
someone else (session fixation), signing in would hand them the signed-in session. `rotate_session`
marks the request; the backend then drops the old stored session and issues a fresh id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Message, ScopeSession

ROTATE = "engage.rotate_session"
FRESH_ID = "engage.fresh_session_id"


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.scope[ROTATE] = True  # type: ignore[literal-required]


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        if connection.scope.get(ROTATE):
            fresh = connection.scope.get(FRESH_ID)
            if fresh is None:
                fresh = self.generate_session_id()
                connection.scope[FRESH_ID] = fresh  # type: ignore[literal-required]
            return str(fresh)
        return super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        old = connection.cookies.get(self.config.key)
        if connection.scope.get(ROTATE) and old and old != "null":
            await self.delete(old, store=self.config.get_store_from_app(connection.scope["app"]))
        await super().store_in_message(scope_session, message, connection)


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
