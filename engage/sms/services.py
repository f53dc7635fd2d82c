"""Queueing a text: the row is committed first, then its id is enqueued (a job never sees a message
that might still roll back)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.audit.services import record, record_async
from engage.errors import InvalidInput
from engage.phones import normalise
from engage.sms.models import SmsMessage

MAX_BODY = 1600  # Twilio's limit for one message body


def build_message(to: str, body: str, region: str) -> SmsMessage:
    """A validated, unsaved message row. Callers add it, commit, then `jobs.enqueue_text` its id."""
    body = body.strip()
    if not body:
        raise InvalidInput("body", "must not be empty")
    if len(body) > MAX_BODY:
        raise InvalidInput("body", f"is {len(body)} characters; at most {MAX_BODY}")
    return SmsMessage(to=normalise(to, region, "to"), body=body)


def queue_message(session: Session, actor: str, to: str, body: str, region: str) -> SmsMessage:
    message = build_message(to, body, region)
    session.add(message)
    session.flush()
    record(session, actor, "sms.queue", "sms_message", message.id, {"length": len(message.body)})
    return message


async def queue_message_async(
    session: AsyncSession, actor: str, to: str, body: str, region: str
) -> SmsMessage:
    message = build_message(to, body, region)
    session.add(message)
    await session.flush()
    await record_async(session, actor, "sms.queue", "sms_message", message.id, {"length": len(message.body)})
    return message
