"""Gateway webhooks. Twilio posts every text sent to our number to /webhooks/twilio/inbound.

CSRF does not apply here (see create_app): the request proves itself with X-Twilio-Signature, an HMAC
of our public URL and the posted parameters under the account's auth token. The OpenAPI document lists
it under "webhooks" (engage.sms.webhook_docs): its form fields, the signature rule and its answers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from engage import jobs
from engage.db import utcnow
from engage.errors import InvalidInput
from engage.keys import Purpose
from engage.queues import QueueName
from engage.settings import GatewayKind, Settings
from engage.sms import inbound, webhook_docs
from engage.sms.delivery import STATUS_CALLBACK_PATH, delivery_status, moves_forward
from engage.sms.models import DeliveryStatus, SmsMessage
from engage.web.deps import DB, Problem

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _signed_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    # Twilio signs the URL it was configured with, i.e. our public address, not the one behind the proxy.
    query = request.scope.get("query_string", b"").decode("latin-1")
    return settings.public_base_url + request.url.path + (f"?{query}" if query else "")


def signing_key(settings: Settings) -> str:
    """The key inbound texts are signed with: Twilio's auth token. On the embedded default (dev, console
    gateway) there is none, so /dev/outbox signs the replies it posts with a key derived from
    SECRET_KEY: they pass the same check as Twilio's, and nothing outside this server can forge one."""
    if settings.twilio_auth_token:
        return settings.twilio_auth_token
    if settings.is_dev and settings.sms_gateway is GatewayKind.CONSOLE:
        return hmac.new(
            settings.key(Purpose.DEV_OUTBOX).encode(), b"dev-outbox-replies", hashlib.sha256
        ).hexdigest()
    raise PermissionDeniedException("no Twilio credentials are configured")


def check_signature(url: str, params: dict[str, str], signature: str | None, settings: Settings) -> None:
    key = signing_key(settings)
    if not signature:
        raise PermissionDeniedException("missing X-Twilio-Signature")
    if not RequestValidator(key).validate(url, params, signature):
        raise PermissionDeniedException("invalid X-Twilio-Signature")


async def _verified_form(request: Request[Any, Any, Any], settings: Settings) -> dict[str, str]:
    signing_key(settings)  # refuse before reading the body when nothing could verify it
    form = await request.form()
    if not all(isinstance(value, str) for _, value in form.multi_items()):
        raise PermissionDeniedException("unexpected file upload")
    params = {key: str(value) for key, value in form.items()}
    check_signature(
        _signed_url(request, settings), params, request.headers.get("X-Twilio-Signature"), settings
    )
    return params


async def receive_signed(db: DB, state: State, params: dict[str, str]) -> None:
    """A verified incoming SMS: handled once per MessageSid; replies go out through our own queue."""
    message_sid = params.get("MessageSid", "").strip()
    if not message_sid or len(message_sid) > 64:
        raise InvalidInput("MessageSid", "missing or too long")
    reply_ids = await inbound.receive(
        db,
        state.redis,
        state.settings,
        state.dispatcher,
        message_sid=message_sid,
        sender=params.get("From", ""),
        body=params.get("Body", ""),
    )
    # Someone is waiting for the answer: the high queue.
    await jobs.after_commit(state.redis_url, jobs.After(texts=list(reply_ids), priority=QueueName.HIGH))


@post(
    "/webhooks/twilio/inbound",
    status_code=200,
    media_type="text/xml",
    tags=["webhooks"],
    summary="Twilio: a text sent to our number (signed with X-Twilio-Signature)",
    description=(
        "Handled once per MessageSid (a redelivery changes nothing); the reply, if any, is queued and sent "
        "as a separate message, so the answer is always an empty TwiML document. "
        + webhook_docs.SIGNATURE_RULE
    ),
    response_description='an empty TwiML document: <?xml version="1.0" encoding="UTF-8"?><Response/>',
    operation_class=webhook_docs.signed_form(webhook_docs.INBOUND_FIELDS, ["MessageSid", "From"]),
    responses={
        400: ResponseSpec(
            Problem, generate_examples=False, description="MessageSid missing or longer than 64 characters"
        ),
        403: webhook_docs.FORBIDDEN,
    },
)
async def twilio_inbound(request: Request[Any, Any, Any], db: DB, state: State) -> Response[str]:
    """An incoming SMS, signed by the gateway (or, in dev, by /dev/outbox)."""
    params = await _verified_form(request, state.settings)
    await receive_signed(db, state, params)
    return Response(EMPTY_TWIML, media_type="text/xml", status_code=200)


# Delivery reports. POST /webhooks/twilio/status: the gateway's delivery reports for the texts we sent.
#
# Signed like the inbound webhook (the same check, from engage.sms.web.public_api) and listed with it under
# "webhooks" in the OpenAPI document. Idempotent: a report repeats or arrives late without moving a message backwards. A MessageSid
# we never sent is answered 200 and ignored, so Twilio stops retrying it.


log = logging.getLogger(__name__)


@post(
    STATUS_CALLBACK_PATH,
    status_code=200,
    media_type="text/plain",
    tags=["webhooks"],
    summary="Twilio: a delivery report for a text we sent (signed with X-Twilio-Signature)",
    description=(
        "A report never moves a message backwards; one for a text we never sent, or with a status we do "
        "not know, is answered 200 and ignored, so Twilio stops retrying it. " + webhook_docs.SIGNATURE_RULE
    ),
    response_description="an empty body",
    operation_class=webhook_docs.signed_form(webhook_docs.STATUS_FIELDS, ["MessageSid", "MessageStatus"]),
    responses={403: webhook_docs.FORBIDDEN},
)
async def twilio_status(request: Request[Any, Any, Any], db: DB, state: State) -> Response[str]:
    params = await _verified_form(request, state.settings)
    sid = params.get("MessageSid", "").strip()
    status = delivery_status(params.get("MessageStatus", ""))
    if not sid or status is None:
        return Response("", status_code=200)
    message = (await db.execute(select(SmsMessage).where(SmsMessage.gateway_id == sid))).scalar_one_or_none()
    if message is None:
        log.info("status report for unknown message %s: ignored", sid)
        return Response("", status_code=200)
    if moves_forward(message.delivery_status, status):
        message.delivery_status = status.value
        if status is DeliveryStatus.DELIVERED and message.delivered_at is None:
            message.delivered_at = utcnow()
        code = params.get("ErrorCode", "").strip()
        if code.isdigit() and len(code) < 9:
            message.error_code = int(code)
        await db.commit()
    return Response("", status_code=200)
