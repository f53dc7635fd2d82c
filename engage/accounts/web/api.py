from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from engage.accounts.guards import OrganizerApi
from engage.web.routes import read


@dataclass
class Me:
    id: int
    email: str
    role: str


class MeController(OrganizerApi):
    path = "/api/v1/me"
    tags = ["organizers"]

    @read(summary="The organizer this token belongs to", fails=(401, 403))
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        """Use it to check a token: the organizer's email and role (admin, organizer, auditor) and the token's
        scope."""
        organizer = request.user
        return Me(id=organizer.id, email=organizer.email, role=organizer.role)
