"""Answers to panel invitations by text: "1" confirms, "2" declines.

The handler takes a 1 or 2 only from a resident holding an invitation to a panel that is still drawn
(their latest one); anyone else's 1 or 2 goes on to the other handlers and, at the end, the help text.
Answering twice changes nothing the second time and repeats the same answer.
"""

from __future__ import annotations

from sqlalchemy import select

from engage.audit.services import SYSTEM, record_async
from engage.db import utcnow
from engage.panels import seats, services
from engage.panels.models import MemberStatus, Panel, PanelMember, PanelStatus
from engage.queues import QueueName
from engage.sms.inbound import Dispatcher, InboundContext
from engage.sms.services import enqueue_send

CONFIRM, DECLINE = "1", "2"
ANSWERED = (
    MemberStatus.INVITED,
    MemberStatus.CONFIRMED,
    MemberStatus.DECLINED,
    MemberStatus.REPLACED,
    MemberStatus.WITHDRAWN,
    MemberStatus.ATTENDED,
)


async def _invitation(context: InboundContext) -> PanelMember | None:
    assert context.resident is not None
    return (
        await context.db.execute(
            select(PanelMember)
            .join(Panel, Panel.id == PanelMember.panel_id)
            .where(
                PanelMember.resident_id == context.resident.id,
                PanelMember.invited_at.is_not(None),
                PanelMember.status.in_([s.value for s in ANSWERED]),
                Panel.status == PanelStatus.DRAWN,
            )
            .order_by(PanelMember.invited_at.desc(), PanelMember.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def answer_invitation(context: InboundContext) -> bool:
    if context.word not in (CONFIRM, DECLINE) or context.resident is None:
        return False
    found = await _invitation(context)
    if found is None:
        return False
    resident = context.resident
    panel = await services.get_panel(context.db, found.panel_id, for_update=True)
    member = seats.member_of(panel, found.id)
    actor = f"resident:{resident.pseudonym}"
    params = {"title": panel.title, "date": panel.event_date, "place": panel.place}
    if context.word == CONFIRM:
        if member.status == MemberStatus.INVITED:
            member.status = MemberStatus.CONFIRMED.value
            member.replied_at = utcnow()
            member.reply_code = seats.new_reply_code(panel)
            details = {"member": member.pseudonym, "via": "sms"}
            await record_async(context.db, actor, "panel.confirm", "panel", panel.id, details)
        if member.status in (MemberStatus.CONFIRMED, MemberStatus.ATTENDED):
            context.reply("panel_confirmed", resident.locale, code=member.reply_code, **params)
        else:
            context.reply("panel_closed", resident.locale, **params)
        return True
    if member.status in (MemberStatus.INVITED, MemberStatus.CONFIRMED):
        member.replied_at = utcnow()
        messages = await seats.drop(
            context.db, context.settings, SYSTEM, panel, member, MemberStatus.DECLINED, by=actor, via="sms"
        )
        redis_url = context.settings.redis_url or ""

        async def send_invitations() -> None:
            for message in messages:
                enqueue_send(redis_url, message.id, QueueName.DEFAULT)

        context.after_commit.append(send_invitations)
    if member.status == MemberStatus.ATTENDED:
        context.reply("panel_closed", resident.locale, **params)
    else:
        context.reply("panel_declined", resident.locale, **params)
    return True


def register(dispatcher: Dispatcher) -> None:
    """1 / 2 from a resident invited to a panel."""
    dispatcher.conversation("panel-reply", answer_invitation)
