"""A member's answer to their invitation: confirm, decline, or withdraw after confirming.

One implementation for every way in: a "1" or "2" by text (`engage.panels.seats.sms_replies`) and the
buttons of the personal link page (`engage.panels.seats.web.public`). It changes the member, audits, and
queues the replacement's invitation; it never commits: the caller commits, then enqueues
`Outcome.messages` and schedules `Outcome.reminders`. Answering twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import SYSTEM, record_async
from engage.db import utcnow
from engage.panels import services
from engage.panels.models import MemberStatus, Panel, PanelMember, PanelStatus
from engage.panels.seats import schedule
from engage.panels.seats import services as seats
from engage.settings import Settings
from engage.sms.models import SmsMessage


class Answer(StrEnum):
    CONFIRM = "confirm"
    DECLINE = "decline"  # from invited or confirmed (a "2" after a "1" still declines)
    WITHDRAW = "withdraw"  # from confirmed only


@dataclass
class Outcome:
    panel: Panel
    member: PanelMember
    changed: bool  # False: the answer was given before, or comes too late
    messages: list[SmsMessage] = field(default_factory=list)  # invitations of replacements
    reminders: list[tuple[int, datetime]] = field(default_factory=list)  # (member id, when)


def open_to_answers(panel: Panel, member: PanelMember) -> bool:
    """Whether the member may still change their answer (the link page shows buttons)."""
    return panel.status == PanelStatus.DRAWN and member.status in (
        MemberStatus.INVITED,
        MemberStatus.CONFIRMED,
    )


async def answer(
    db: AsyncSession,
    settings: Settings,
    panel_id: int,
    member_id: int,
    given: Answer,
    *,
    actor: str,
    via: str,
) -> Outcome:
    """Apply the member's answer (`actor` is `resident:<pseudonym>`, `via` "sms" or "web")."""
    panel = await services.get_panel(db, panel_id, for_update=True)
    member = seats.member_of(panel, member_id)
    outcome = Outcome(panel, member, changed=False)
    if panel.status != PanelStatus.DRAWN:
        return outcome
    status = member.status
    if given == Answer.CONFIRM and status == MemberStatus.INVITED:
        member.status = MemberStatus.CONFIRMED.value
        member.replied_at = utcnow()
        member.reply_code = seats.new_reply_code(panel)
        details = {"member": member.pseudonym, "via": via}
        await record_async(db, actor, "panel.confirm", "panel", panel.id, details)
        outcome.changed = True
    elif (given == Answer.DECLINE and status in (MemberStatus.INVITED, MemberStatus.CONFIRMED)) or (
        given == Answer.WITHDRAW and status == MemberStatus.CONFIRMED
    ):
        leaving = MemberStatus.DECLINED if given == Answer.DECLINE else MemberStatus.WITHDRAWN
        member.replied_at = utcnow()
        outcome.messages = await db.run_sync(
            seats.drop, settings, SYSTEM, panel, member, leaving, by=actor, via=via
        )
        outcome.changed = True
    outcome.reminders = schedule.replacement_reminders(panel, utcnow())
    return outcome
