from __future__ import annotations

from litestar import get
from litestar.datastructures import State
from litestar.params import FromQuery
from litestar.response import Template

from engage.phones import mask
from engage.sms.console import read_outbox


@get("/dev/outbox", include_in_schema=False)
async def outbox(state: State, reveal: FromQuery[bool] = False) -> Template:
    """What the console gateway "sent": the developer's phone, as it were. Served in dev only."""
    messages = read_outbox(state.settings.outbox_path)
    for message in messages:
        message["shown_to"] = message["to"] if reveal else mask(message["to"])
    return Template("pages/dev/outbox.html", context={"messages": messages, "reveal": reveal})
