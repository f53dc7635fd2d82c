"""POST /webhooks/twilio/status: the gateway's delivery reports for the texts we sent.

Signed like the inbound webhook (the same check, from engage.sms.web.public_api) and listed with it under
"webhooks" in the OpenAPI document. Idempotent: a report repeats or arrives late without moving a message backwards. A MessageSid
we never sent is answered 200 and ignored, so Twilio stops retrying it.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import State
from sqlalchemy import select

from engage.db import utcnow
from engage.sms.delivery import STATUS_CALLBACK_PATH, delivery_status, moves_forward
from engage.sms.models import DeliveryStatus, SmsMessage
from engage.sms.web import webhook_docs
from engage.sms.web.public_api import _verified_form
from engage.web.deps import DB

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
