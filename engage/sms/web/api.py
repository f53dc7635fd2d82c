from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct

from engage import jobs
from engage.accounts.guards import admin_only, staff
from engage.audit.services import organizer_actor
from engage.db import utcnow
from engage.errors import NotFound
from engage.phones import mask
from engage.sms.models import SmsMessage
from engage.sms.services import MAX_BODY, queue_typed_message_async
from engage.web.deps import DB, MAX_ID, problems


class NewMessage(Struct):
    to: Annotated[str, Meta(min_length=1, max_length=32, description="phone number, any common format")]
    body: Annotated[str, Meta(min_length=1, max_length=MAX_BODY)]


@dataclass
class MessageOut:
    id: int
    to: str  # masked: the API does not hand out full numbers
    status: str
    created_at: datetime
    sent_at: datetime | None
    error_code: int | None


def _out(message: SmsMessage) -> MessageOut:
    return MessageOut(
        id=message.id,
        to=mask(message.to),
        status=message.status,
        created_at=message.created_at,
        sent_at=message.sent_at,
        error_code=message.error_code,
    )


class MessageController(Controller):
    path = "/api/v1/messages"
    tags = ["sms"]
    security = [{"BearerToken": []}]
    guards = [staff]

    @post(
        summary="Queue one SMS (e.g. to test the gateway); admins only, allowed regions only, never to a "
        "number that opted out or in quiet hours",
        guards=[admin_only],
        responses=problems(400, 401, 403, 409),
    )
    async def send(
        self, data: JSONBody[NewMessage], db: DB, state: State, request: Request[Any, Any, Any]
    ) -> MessageOut:
        actor = organizer_actor(request.user.id)
        message = await queue_typed_message_async(db, state.settings, actor, data.to, data.body, utcnow())
        await db.commit()
        await jobs.after_commit(state.redis_url, jobs.After(texts=[message.id]))
        return _out(message)

    @get("/{message_id:int}", summary="One message's delivery state", responses=problems(400, 401, 403, 404))
    async def show(self, db: DB, message_id: Annotated[int, Parameter(ge=1, le=MAX_ID)]) -> MessageOut:
        message = await db.get(SmsMessage, message_id)
        if message is None:
            raise NotFound("message_id", f"no message {message_id}")
        return _out(message)
