"""Gateway webhooks. Twilio posts every text sent to our number to /webhooks/twilio/inbound.

CSRF does not apply here (see create_app): the request proves itself with X-Twilio-Signature, an HMAC
of our public URL and the posted parameters under the account's auth token. The OpenAPI document lists
it under "webhooks" (engage.sms.web.webhook_docs): its form fields, the signature rule and its answers.
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
from twilio.request_validator import RequestValidator

from engage import jobs
from engage.errors import InvalidInput
from engage.evaluations import sms_replies as evaluation_replies
from engage.keys import Purpose
from engage.panels.seats import sms_replies
from engage.queues import QueueName
from engage.residents import sms_signup
from engage.selections import sms_replies as selection_replies
from engage.settings import GatewayKind, Settings
from engage.sms import inbound
from engage.sms.web import webhook_docs
from engage.web.deps import DB, Problem

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def make_dispatcher() -> inbound.Dispatcher:
    """Every handler of incoming texts, in one place. A feature that waits for replies adds a line."""
    dispatcher = inbound.Dispatcher()
    inbound.register_basics(dispatcher)  # STOP / TD / 退订, START, HELP / 帮助, the help fallback
    sms_signup.register(dispatcher)  # JOIN / 参加, the sign-up dialogue, roster confirmation with "1"
    sms_replies.register(dispatcher)  # 1 / 2 answering a grand-jury panel invitation
    selection_replies.register(dispatcher)  # 推荐 / NOMINATE <post> <name>: a nomination
    evaluation_replies.register(dispatcher)  # digits rating a service (after panel replies)
    return dispatcher


DISPATCHER = make_dispatcher()


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
        DISPATCHER,
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
        400: ResponseSpec(Problem, description="MessageSid missing or longer than 64 characters"),
        403: webhook_docs.FORBIDDEN,
    },
)
async def twilio_inbound(request: Request[Any, Any, Any], db: DB, state: State) -> Response[str]:
    """An incoming SMS, signed by the gateway (or, in dev, by /dev/outbox)."""
    params = await _verified_form(request, state.settings)
    await receive_signed(db, state, params)
    return Response(EMPTY_TWIML, media_type="text/xml", status_code=200)
