"""Queueing a text: the row is committed first, then its id is enqueued (a job never sees a message
that might still roll back)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis as AsyncRedis
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.audit.services import record, record_async
from engage.errors import InvalidInput
from engage.phones import normalise
from engage.queues import QueueName, queue, redis_connection
from engage.sms.models import SmsMessage

MAX_BODY = 1600  # Twilio's limit for one message body


def build_message(to: str, body: str, region: str) -> SmsMessage:
    """A validated, unsaved message row. Callers add it, commit, then `enqueue_send` its id."""
    body = body.strip()
    if not body:
        raise InvalidInput("body", "must not be empty")
    if len(body) > MAX_BODY:
        raise InvalidInput("body", f"is {len(body)} characters; at most {MAX_BODY}")
    return SmsMessage(to=normalise(to, region, "to"), body=body)


def _enqueue(redis_url: str, message_id: int, priority: QueueName, pipeline: Any = None) -> None:
    from rq import Retry

    queue(redis_url, priority).enqueue(
        "workers.sms.send_message",
        message_id,
        job_id=f"sms-{message_id}",  # enqueuing the same message twice makes one job
        retry=Retry(max=5, interval=[5, 30, 120, 600, 1800]),
        pipeline=pipeline,
    )


def enqueue_send(redis_url: str, message_id: int, priority: QueueName = QueueName.DEFAULT) -> None:
    pipeline = redis_connection(redis_url).pipeline()
    _enqueue(redis_url, message_id, priority, pipeline)
    pipeline.execute()  # one round trip (rq alone would take two)


async def enqueue_send_async(
    redis: AsyncRedis, redis_url: str, message_id: int, priority: QueueName = QueueName.DEFAULT
) -> None:
    """enqueue_send for handlers: the same rq job, sent in one round trip on the app's async Redis, with no
    thread. rq builds its commands into a sync pipeline that is never executed; they are replayed here.
    (A queue's first use in a process asks the server for its version, once, on rq's sync connection.)"""
    recorder = redis_connection(redis_url).pipeline()
    _enqueue(redis_url, message_id, priority, recorder)
    async with redis.pipeline(transaction=True) as pipeline:
        for args, options in recorder.command_stack:
            pipeline.execute_command(*args, **options)
        await pipeline.execute()


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
