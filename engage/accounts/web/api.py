from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get

from engage.accounts.guards import any_organizer
from engage.web.deps import problems


@dataclass
class Me:
    id: int
    email: str
    role: str


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["organizers"]
    security = [{"BearerToken": []}]
    guards = [any_organizer]

    @get(summary="The organizer this token belongs to", responses=problems(401, 403))
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        """Use it to check a token: the organizer's email and role (admin, organizer, auditor) and the token's
        scope."""
        organizer = request.user
        return Me(id=organizer.id, email=organizer.email, role=organizer.role)
