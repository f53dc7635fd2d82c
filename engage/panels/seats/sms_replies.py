"""Answers to panel invitations by text: "1" confirms, "2" declines.

The handler takes a 1 or 2 only from a resident holding an invitation to a panel that is still drawn
(their latest one); anyone else's 1 or 2 goes on to the other handlers and, at the end, the help text.
The answer itself is `engage.panels.seats.answers.answer`, the same code as the link page's buttons.
Answering twice changes nothing the second time and repeats the same answer.
"""

from __future__ import annotations

from sqlalchemy import select

from engage import jobs
from engage.panels.models import MemberStatus, Panel, PanelMember, PanelStatus
from engage.panels.seats import schedule
from engage.panels.seats.answers import Answer, answer
from engage.sms.inbound import Dispatcher, InboundContext

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
    given = Answer.CONFIRM if context.word == CONFIRM else Answer.DECLINE
    outcome = await answer(
        context.db,
        context.settings,
        found.panel_id,
        found.id,
        given,
        actor=f"resident:{resident.pseudonym}",
        via="sms",
    )
    panel, member = outcome.panel, outcome.member
    params = {"title": panel.title, "date": panel.event_date, "place": panel.place}
    if given == Answer.CONFIRM and member.status in (MemberStatus.CONFIRMED, MemberStatus.ATTENDED):
        context.reply("panel_confirmed", resident.locale, code=member.reply_code, **params)
    elif given == Answer.CONFIRM or member.status == MemberStatus.ATTENDED:
        context.reply("panel_closed", resident.locale, **params)
    else:
        context.reply("panel_declined", resident.locale, **params)
    if outcome.messages or outcome.reminders:
        redis_url = context.settings.redis_url or ""
        message_ids = [m.id for m in outcome.messages]
        panel_id, reminders = panel.id, outcome.reminders

        async def after_commit() -> None:
            await jobs.after_commit(redis_url, jobs.After(texts=message_ids))
            await jobs.run_in_thread(schedule.schedule_member_reminders, redis_url, panel_id, reminders)

        context.after_commit.append(after_commit)
    return True


def register(dispatcher: Dispatcher) -> None:
    """1 / 2 from a resident invited to a panel."""
    dispatcher.conversation("panel-reply", answer_invitation)
