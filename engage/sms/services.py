"""Queueing a text: the row is committed first, then its id is enqueued (a job never sees a message
that might still roll back)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage import quiet_hours as quiet
from engage import sandbox
from engage.audit.services import record, record_async
from engage.errors import Conflict, InvalidInput
from engage.keys import Purpose
from engage.phones import normalise
from engage.residents.models import Resident
from engage.settings import Settings
from engage.sms import opt_outs
from engage.sms.models import MessageStatus, SmsMessage

MAX_BODY = 1600  # Twilio's limit for one message body


def build_message(to: str, body: str, region: str) -> SmsMessage:
    """A validated, unsaved message row. Callers add it, commit, then `jobs.enqueue_text` its id."""
    body = body.strip()
    if not body:
        raise InvalidInput("body", "must not be empty")
    if len(body) > MAX_BODY:
        raise InvalidInput("body", f"is {len(body)} characters; at most {MAX_BODY}")
    # A sandbox token's request records the text and never sends it: no worker claims a sandbox row.
    status = MessageStatus.SANDBOX if sandbox.active() else MessageStatus.QUEUED
    return SmsMessage(to=normalise(to, region, "to"), body=body, status=status)


def queue_message(session: Session, actor: str, to: str, body: str, region: str) -> SmsMessage:
    message = build_message(to, body, region)
    session.add(message)
    session.flush()
    record(session, actor, "sms.queue", "sms_message", message.id, {"length": len(message.body)})
    return message


async def queue_message_async(
    session: AsyncSession, actor: str, to: str, body: str, region: str
) -> SmsMessage:
    return await session.run_sync(lambda sync: queue_message(sync, actor, to, body, region))


def recipient_pseudonym(settings: Settings, phone: str, resident: Resident | None) -> str:
    """How the audit log names a recipient: the resident's pseudonym, else a keyed hash of the number."""
    if resident is not None:
        return resident.pseudonym
    digest = hmac.new(settings.key(Purpose.PHONE_HMAC).encode(), phone.encode(), hashlib.sha256)
    return "n-" + digest.hexdigest()[:12]


async def queue_typed_message_async(
    session: AsyncSession, settings: Settings, actor: str, to: str, body: str, now: datetime
) -> SmsMessage:
    """A text typed by an admin (POST /api/v1/messages): only to allowed regions, never to a number
    that opted out, never in quiet hours. The audit names the recipient by pseudonym and the body by
    its hash, so the log shows who was texted what without holding the number or the words."""
    message = build_message(to, body, settings.default_region)
    region = phonenumbers.region_code_for_number(phonenumbers.parse(message.to))
    if region not in settings.allowed_regions:
        allowed = ", ".join(sorted(settings.allowed_regions))
        raise InvalidInput("to", f"texts go only to numbers of {allowed} (SMS_ALLOWED_REGIONS)")
    resident = (
        await session.execute(select(Resident).where(Resident.phone == message.to))
    ).scalar_one_or_none()
    if await opt_outs.opted_out(session, message.to, resident):
        raise Conflict("to", "this number has stopped our texts (STOP, TD or 退订)")
    held = quiet.held_until(now, quiet.parse_window(settings.sms_quiet_hours), settings.tz)
    if held is not None:
        until = held.astimezone(settings.tz).strftime("%H:%M")
        raise Conflict("to", f"quiet hours (SMS_QUIET_HOURS): texts may go from {until} local time")
    session.add(message)
    await session.flush()
    details = {
        "recipient": recipient_pseudonym(settings, message.to, resident),
        "body_sha256": hashlib.sha256(message.body.encode()).hexdigest(),
        "length": len(message.body),
    }
    await record_async(session, actor, "sms.queue", "sms_message", message.id, details)
    return message
