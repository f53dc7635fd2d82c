"""The seats after the draw: invitations, replies, replacements within the quotas, check-in.

A seat left by a decline, a missed deadline or a withdrawal goes to the first reserve, in drawn order,
whose swap keeps every quota met (`engage.lottery.replacement`); that member is invited at once.
Functions that queue texts return the messages; the caller commits, then enqueues their ids.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.audit.services import SYSTEM, record
from engage.db import utcnow
from engage.errors import Conflict, NotFound
from engage.keys import Purpose
from engage.lottery import NoReplacement, replacement
from engage.lottery.record import quotas_from_json
from engage.panels.labels import title_in_invitation
from engage.panels.models import SEATED, MemberStatus, Panel, PanelMember, PanelStatus
from engage.panels.seats import links
from engage.panels.services import attended_counts, audit, frozen_pool, get_panel, require_status
from engage.residents.models import Resident
from engage.settings import Settings
from engage.sms.models import SmsMessage
from engage.sms.services import queue_message
from engage.sms.texts import render


def _audit(session: Session, actor: str, action: str, panel: Panel, /, **details: Any) -> None:
    record(session, actor, action, "panel", panel.id, details)


def member_link(settings: Settings, member: PanelMember) -> str:
    """The member's personal confirm / decline page (`engage.panels.seats.links`)."""
    return links.link(settings.public_base_url, settings.key(Purpose.PERSONAL_LINK), member.id)


def _reachable(session: Session, member: PanelMember) -> Resident | None:
    """The member's resident while we may still text them: not erased, with a number, not opted out."""
    resident = session.get(Resident, member.resident_id) if member.resident_id is not None else None
    if resident is None or resident.phone is None or resident.sms_opt_out_at is not None:
        return None
    return resident


def _member_text(
    template: str, settings: Settings, panel: Panel, member: PanelMember, resident: Resident, **extra: str
) -> str:
    """A text to one member about their panel: its title, day and place, and their personal link."""
    return render(
        template,
        resident.locale,
        settings.sms_signature,
        title=title_in_invitation(panel.title),
        date=panel.event_date,
        place=panel.place,
        link=member_link(settings, member),
        **extra,
    )


def _invite(
    session: Session, settings: Settings, actor: str, panel: Panel, member: PanelMember
) -> list[SmsMessage]:
    """Text one seated member; someone we cannot text any more is replaced instead."""
    resident = _reachable(session, member)
    if resident is None or resident.phone is None:
        return drop(session, settings, actor, panel, member, MemberStatus.WITHDRAWN, reason="unreachable")
    body = _member_text("panel_invite", settings, panel, member, resident)
    message = queue_message(session, actor, resident.phone, body, settings.default_region)
    member.status = MemberStatus.INVITED.value
    member.invited_at = utcnow()
    _audit(session, actor, "panel.invite", panel, member=member.pseudonym)
    return [message]


async def invite(db: AsyncSession, settings: Settings, actor: str, panel_id: int) -> list[SmsMessage]:
    """Invite every seated member not invited yet (running it again invites no one twice)."""
    panel = await get_panel(db, panel_id, for_update=True)
    require_status(panel, PanelStatus.DRAWN)
    messages: list[SmsMessage] = []
    for member in sorted(panel.members, key=lambda m: m.ticket):
        if member.status == MemberStatus.DRAWN:
            messages += await db.run_sync(_invite, settings, actor, panel, member)
    await db.commit()
    return messages


def next_reserve(panel: Panel, dropout: PanelMember) -> PanelMember | None:
    """The first reserve, in drawn order, whose swap for the dropout keeps every quota met."""
    assert panel.record is not None
    seated = [m.pseudonym for m in panel.members if m.status in SEATED]
    reserve = sorted(
        (m for m in panel.members if m.status == MemberStatus.POOL and m.reserve_position is not None),
        key=lambda m: m.reserve_position or 0,
    )
    try:
        chosen = replacement(
            [*seated, dropout.pseudonym],
            frozen_pool(panel),
            quotas_from_json(panel.record["quotas"]),
            dropout.pseudonym,
            [m.pseudonym for m in reserve],
        )
    except NoReplacement:
        return None
    return next(m for m in reserve if m.pseudonym == chosen)


def drop(
    session: Session,
    /,
    settings: Settings,
    actor: str,
    panel: Panel,
    member: PanelMember,
    status: MemberStatus,
    *,
    by: str | None = None,
    **details: Any,
) -> list[SmsMessage]:
    """The member leaves the seat (declined, no answer, withdrawn); the next fitting reserve is invited.

    `by` is who caused the change when that is not `actor` (a resident declining by text: the
    replacement and its invitation are then the system's doing). Written once, sync: the web calls it
    through `AsyncSession.run_sync`, the rq jobs with their own sync session."""
    member.status = status.value
    _audit(session, by or actor, f"panel.{status.value}", panel, member=member.pseudonym, **details)
    alternate = next_reserve(panel, member)
    if alternate is None:
        _audit(session, actor, "panel.no_replacement", panel, member=member.pseudonym)
        return []
    alternate.status = MemberStatus.DRAWN.value
    alternate.replacement_for_id = member.id
    _audit(session, actor, "panel.replace", panel, member=member.pseudonym, replacement=alternate.pseudonym)
    return _invite(session, settings, actor, panel, alternate)


def member_of(panel: Panel, member_id: int) -> PanelMember:
    member = next((m for m in panel.members if m.id == member_id), None)
    if member is None:
        raise NotFound("member_id", f"no member {member_id} in panel {panel.id}")
    return member


DROPS_FROM = {
    MemberStatus.REPLACED: (MemberStatus.INVITED,),  # no answer by the deadline
    MemberStatus.WITHDRAWN: (MemberStatus.DRAWN, MemberStatus.INVITED, MemberStatus.CONFIRMED),
    MemberStatus.DECLINED: (MemberStatus.INVITED, MemberStatus.CONFIRMED),
}


async def mark(
    db: AsyncSession, settings: Settings, actor: str, panel_id: int, member_id: int, status: MemberStatus
) -> tuple[PanelMember, list[SmsMessage]]:
    """An organizer marks a member as not answering (REPLACED) or withdrawn; a reserve is invited."""
    panel = await get_panel(db, panel_id, for_update=True)
    require_status(panel, PanelStatus.DRAWN)
    member = member_of(panel, member_id)
    if member.status not in DROPS_FROM[status]:
        raise Conflict("member_id", f"the member is {member.status}; cannot mark them {status.value}")
    messages = await db.run_sync(drop, settings, actor, panel, member, status)
    await db.commit()
    return member, messages


def lapsing(panel: Panel, now: datetime) -> list[PanelMember]:
    """Who the reply deadline drops: members invited by the deadline who have not answered.

    Conflict before the deadline. Members invited after it (replacements) are not dropped."""
    require_status(panel, PanelStatus.DRAWN)
    deadline = panel.reply_deadline
    if deadline is None or now < deadline:
        raise Conflict("reply_deadline", "the reply deadline has not passed")
    return [
        m
        for m in sorted(panel.members, key=lambda m: m.ticket)
        if m.status == MemberStatus.INVITED and (m.invited_at or now) <= deadline
    ]


def lapse(session: Session, settings: Settings, actor: str, panel: Panel, now: datetime) -> list[SmsMessage]:
    """At the reply deadline: everyone invited who has not answered is replaced (API and rq job)."""
    messages: list[SmsMessage] = []
    for member in lapsing(panel, now):
        messages += drop(session, settings, actor, panel, member, MemberStatus.REPLACED)
    return messages


async def lapse_unanswered(
    db: AsyncSession, settings: Settings, actor: str, panel_id: int, now: datetime
) -> list[SmsMessage]:
    """`lapse` for the organizer's `POST .../lapse` (the job is `workers.panels.lapse`)."""
    panel = await get_panel(db, panel_id, for_update=True)
    messages = await db.run_sync(lapse, settings, actor, panel, now)
    await db.commit()
    return messages


def remind(session: Session, settings: Settings, panel: Panel, now: datetime) -> list[SmsMessage]:
    """Before the reply deadline: one reminder to each member still invited and not reminded yet.

    Members we cannot text any more are left to the deadline (the lapse replaces them)."""
    if panel.status != PanelStatus.DRAWN or panel.reply_deadline is None or now >= panel.reply_deadline:
        return []
    deadline = panel.reply_deadline.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    messages: list[SmsMessage] = []
    for member in sorted(panel.members, key=lambda m: m.ticket):
        if member.status != MemberStatus.INVITED or member.reminded_at is not None:
            continue
        resident = _reachable(session, member)
        if resident is None or resident.phone is None:
            continue
        body = _member_text("panel_reminder", settings, panel, member, resident, deadline=deadline)
        messages.append(queue_message(session, SYSTEM, resident.phone, body, settings.default_region))
        member.reminded_at = now
        _audit(session, SYSTEM, "panel.remind", panel, member=member.pseudonym)
    return messages


def new_reply_code(panel: Panel) -> str:
    taken = {m.reply_code for m in panel.members if m.reply_code}
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if code not in taken:
            return code


async def check_in(db: AsyncSession, actor: str, panel_id: int, code: str) -> PanelMember:
    """On the day: the code from the confirmation text marks the member present (once)."""
    panel = await get_panel(db, panel_id, for_update=True)
    require_status(panel, PanelStatus.DRAWN)
    member = next((m for m in panel.members if m.reply_code is not None and m.reply_code == code), None)
    if member is None:
        raise NotFound("code", "no member of this panel has this code")
    if member.status == MemberStatus.ATTENDED:
        return member
    if member.status != MemberStatus.CONFIRMED:
        raise Conflict("code", f"the member is {member.status}, not confirmed")
    member.status = MemberStatus.ATTENDED.value
    member.checked_in_at = utcnow()
    await audit(db, actor, "panel.check_in", panel, member=member.pseudonym)
    await db.commit()
    return member


async def close(db: AsyncSession, actor: str, panel_id: int) -> Panel:
    """The day is over: no more replies, replacements or check-ins."""
    panel = await get_panel(db, panel_id, for_update=True)
    require_status(panel, PanelStatus.DRAWN)
    panel.status = PanelStatus.CLOSED.value
    attended = sum(1 for m in panel.members if m.status == MemberStatus.ATTENDED)
    await audit(db, actor, "panel.close", panel, attended=attended)
    await db.commit()
    return panel


async def service_counts(db: AsyncSession, resident_ids: Sequence[int]) -> dict[int, int]:
    """How many panels each resident has served on (checked in), over all panels."""
    return await attended_counts(db, resident_ids)
