"""/api/v1/messages (texts Engage sent or recorded) and /api/v1/inbound-messages (texts residents
sent in). Numbers are always masked, except inbound senders an admin or organizer reveals (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct
from sqlalchemy import func, select

from engage import jobs
from engage.accounts.guards import OrganizerApi, admin_only, staff
from engage.accounts.models import Role
from engage.audit.services import organizer_actor, record_async
from engage.db import utcnow
from engage.errors import NotFound
from engage.phones import MobileNumber, api_mobile_number, mask
from engage.sms.models import InboundMessage, MessageStatus, SmsMessage
from engage.sms.services import MAX_BODY, queue_typed_message_async
from engage.web.deps import DB, MAX_ID
from engage.web.routes import LISTING, change, read
from engage.web.text import FilledLines

REVEAL_ROLES = frozenset({Role.ADMIN.value, Role.ORGANIZER.value})  # as for residents' numbers


class NewMessage(Struct):
    to: MobileNumber
    body: Annotated[FilledLines, Meta(min_length=1, max_length=MAX_BODY)]


@dataclass
class MessageOut:
    id: int
    to: str  # masked: the API does not hand out full numbers
    status: MessageStatus
    created_at: datetime
    sent_at: datetime | None
    error_code: int | None
    delivery_status: str | None = None
    # Only for sandbox texts, so an integrator's test can read the link it would have sent; a real
    # text's words (personal links) stay out of the API.
    body: str | None = None


@dataclass
class MessagePage:
    total: int
    limit: int
    offset: int
    messages: list[MessageOut]


def _out(message: SmsMessage) -> MessageOut:
    return MessageOut(
        id=message.id,
        to=mask(message.to) if message.to else "",
        status=MessageStatus(message.status),
        created_at=message.created_at,
        sent_at=message.sent_at,
        error_code=message.error_code,
        delivery_status=message.delivery_status,
        body=message.body if message.status == MessageStatus.SANDBOX else None,
    )


Limit = Annotated[int, Parameter(ge=1, le=200, description="at most this many, newest first")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_ID, description="skip this many")]


class MessageController(OrganizerApi):
    path = "/api/v1/messages"
    tags = ["sms"]
    guards = [staff]

    @change(
        summary="Queue one SMS (e.g. to test the gateway); admins only, allowed regions only, never to a "
        "number that opted out or in quiet hours",
        guards=[admin_only],
        status_code=201,
        fails=(400, 401, 403, 409),
    )
    async def send(
        self, data: JSONBody[NewMessage], db: DB, state: State, request: Request[Any, Any, Any]
    ) -> MessageOut:
        """For admins testing the gateway. Refused (409) for a number that opted out or in quiet hours; texts
        only numbers of SMS_ALLOWED_REGIONS. A sandbox token records the text without sending it (`status`
        sandbox)."""
        actor = organizer_actor(request.user.id)
        to = api_mobile_number(data.to, state.settings, "to")
        message = await queue_typed_message_async(db, state.settings, actor, to, data.body, utcnow())
        await db.commit()
        await jobs.after_commit(state.redis_url, jobs.After(texts=[message.id]))
        return _out(message)

    @read(summary="Texts, newest first (e.g. the sandbox texts of an integration test)", fails=LISTING)
    async def list_messages(
        self,
        db: DB,
        status: Annotated[MessageStatus | None, Parameter(description="only texts in this state")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> MessagePage:
        """Every text the service recorded, numbers masked. `status=sandbox` lists what sandbox tokens
        caused, with the words each would have said."""
        query = select(SmsMessage)
        if status is not None:
            query = query.where(SmsMessage.status == status.value)
        total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await db.execute(query.order_by(SmsMessage.id.desc()).limit(limit).offset(offset))
        return MessagePage(total, limit, offset, [_out(m) for m in rows.scalars()])

    @read("/{message_id:int}", summary="One message's delivery state")
    async def show(self, db: DB, message_id: Annotated[int, Parameter(ge=1, le=MAX_ID)]) -> MessageOut:
        """Queued, sending, sent, failed or sandbox; the delivery report once the gateway sent one; the
        gateway's error code when it failed. Sandbox texts show their words."""
        message = await db.get(SmsMessage, message_id)
        if message is None:
            raise NotFound("message_id", f"no message {message_id}")
        return _out(message)


@dataclass
class InboundOut:
    id: int
    received_at: datetime
    sender: str | None  # masked unless revealed; None when not a phone number, or its resident was deleted
    resident_id: int | None
    body: str | None  # None for texts received before bodies were kept, or whose resident was deleted
    handler: str  # what Engage did with it: stop, help, a panel reply, "unhandled"…


@dataclass
class InboundPage:
    total: int
    limit: int
    offset: int
    senders_revealed: bool
    messages: list[InboundOut]


class InboundMessageController(OrganizerApi):
    path = "/api/v1/inbound-messages"
    tags = ["sms"]

    @read(summary="Texts residents sent in, newest first", fails=LISTING)
    async def list_inbound(
        self,
        db: DB,
        request: Request[Any, Any, Any],
        limit: Limit = 50,
        offset: Offset = 0,
        reveal: Annotated[
            bool,
            Parameter(
                description="show full numbers (admin and organizer only; every number shown is audited)"
            ),
        ] = False,
    ) -> InboundPage:
        """Replies to invitations (1 or 2), STOP and HELP, nominations by text, and anything the
        dialogue did not understand, with what Engage did with each (`handler`). Numbers are masked
        unless `reveal` is asked by an admin or organizer; each number shown is audited."""
        if reveal and request.user.role not in REVEAL_ROLES:
            raise PermissionDeniedException("showing full phone numbers needs the role admin or organizer")
        total = (await db.execute(select(func.count()).select_from(InboundMessage))).scalar_one()
        rows = (
            await db.execute(
                select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit).offset(offset)
            )
        ).scalars()
        messages = [
            InboundOut(
                id=m.id,
                received_at=m.received_at,
                sender=(m.sender if reveal else mask(m.sender)) if m.sender else None,
                resident_id=m.resident_id,
                body=m.body,
                handler=m.handler,
            )
            for m in rows
        ]
        if reveal:
            actor = organizer_actor(request.user.id)
            for shown in messages:
                if shown.sender is not None:
                    await record_async(db, actor, "inbound.phone_view", "inbound_message", shown.id)
            await db.commit()
        return InboundPage(total, limit, offset, reveal, messages)
