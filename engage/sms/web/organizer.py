"""Development only (ENGAGE_ENV=dev): the console gateway's outbox as a page, the developer's phone as it
were, and a reply box under each text that answers it through the same signed inbound path as Twilio's
webhook, so SMS replies (1/2, 参加, TD, ratings) work on the embedded default."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from twilio.request_validator import RequestValidator

from engage.errors import InvalidInput
from engage.phones import mask
from engage.sms.console import read_outbox
from engage.sms.web import public_api as webhooks
from engage.web.deps import DB

MAX_REPLY = 500


@get("/dev/outbox", include_in_schema=False)
async def outbox(state: State, reveal: FromQuery[bool] = False) -> Template:
    """What the console gateway "sent". Served in dev only."""
    messages = read_outbox(state.settings.outbox_path)
    for message in messages:
        message["shown_to"] = message["to"] if reveal else mask(message["to"])
    return Template("pages/dev/outbox.html", context={"messages": messages, "reveal": reveal})


@post("/dev/outbox/reply", include_in_schema=False, status_code=303)
async def reply(request: Request[Any, Any, Any], db: DB, state: State) -> Redirect:
    """Answer a text as its recipient: the reply is signed and checked like one Twilio posts."""
    form = await request.form()
    sender, body = str(form.get("from") or "").strip(), str(form.get("body") or "")
    if not sender or not body.strip() or len(body) > MAX_REPLY:
        raise InvalidInput("body", f"write a reply of 1 to {MAX_REPLY} characters")
    params = {"MessageSid": f"SMdev{secrets.token_hex(14)}", "From": sender, "To": "console", "Body": body}
    url = state.settings.public_base_url + "/webhooks/twilio/inbound"
    signature = RequestValidator(webhooks.signing_key(state.settings)).compute_signature(url, params)
    webhooks.check_signature(url, params, signature, state.settings)
    await webhooks.receive_signed(db, state, params)
    return Redirect("/dev/outbox?replied=1" + ("&reveal=true" if form.get("reveal") else ""), status_code=303)
