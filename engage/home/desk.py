"""The desk: what needs the organizer now, then the timetable of the coming days.

Each kind of item is one small query over the features' own tables; the desk changes nothing. An item
names what needs doing in words, when it is due, and the page where it is done. Items come overdue
first, then by when they are due."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.db import utcnow
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.notices.deliveries.rules import TextState, retryable
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objections.models import NoticePeriod, Objection, ObjectionStatus
from engage.panels.models import SEATED, MemberStatus, Panel, PanelMember, PanelStatus
from engage.residents.labels import N_
from engage.selections.models import Invitation, Selection, SelectionStatus, Stage, StageStatus
from engage.selections.rules.red_line import Quorum, quorum_report
from engage.selections.services import rules_of
from engage.sms.models import DeliveryStatus, MessageStatus, SmsMessage

SOON = timedelta(days=1)  # a stage edge this close counts as due
TIMETABLE_DAYS = 7

STAGE_NAMES = {
    "nomination": N_("Nomination"),
    "assessment": N_("Democratic assessment"),
    "speech": N_("Speech evaluation"),
    "interview": N_("Interview by the grand jury"),
    "result": N_("Result"),
    "public_notice": N_("Public notice period"),
}
GROUP_NAMES = {
    "expert": N_("Experts"),
    "deputy": N_("Deputies"),
    "resident": N_("Residents"),
    "leadership": N_("Street leadership"),
    "staff": N_("Community staff"),
    "resident_rep": N_("Resident representatives"),
}

# The kinds of desk items, in the order the page explains them.
KINDS = (
    "stage",
    "quorum",
    "objection",
    "replies",
    "reserve",
    "failed_texts",
    "quiet_hours",
)


@dataclass(frozen=True)
class Item:
    kind: str  # one of KINDS
    what: str  # the sentence, in the reader's language
    href: str  # where it is done
    due: datetime | None = None
    overdue: bool = False


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str
    href: str


def _stage_name(kind: str) -> str:
    return _(STAGE_NAMES.get(kind, kind))


async def stage_items(db: AsyncSession, now: datetime) -> list[Item]:
    rows = await db.execute(
        select(Stage, Selection)
        .join(Selection, Selection.id == Stage.selection_id)
        .where(
            Selection.status == SelectionStatus.PUBLISHED,
            or_(
                (Stage.status == StageStatus.PENDING) & (Stage.opens_at <= now + SOON),
                (Stage.status == StageStatus.OPEN) & (Stage.closes_at <= now + SOON),
            ),
        )
        .order_by(Stage.selection_id, Stage.position)
    )
    items = []
    for stage, selection in rows.all():
        opening = stage.status == StageStatus.PENDING
        due = stage.opens_at if opening else stage.closes_at
        words = (
            _("%(selection)s: open the stage “%(stage)s”")
            if opening
            else _("%(selection)s: close the stage “%(stage)s”")
        )
        what = words % {"selection": selection.title(_locale()), "stage": _stage_name(stage.kind)}
        items.append(Item("stage", what, f"/organizer/selections/{selection.id}", due, due <= now))
    return items


async def quorum_items(db: AsyncSession) -> list[Item]:
    """Open assessment or speech stages whose ballots so far fall short of the quorum in some group."""
    rows = await db.execute(
        select(Selection, Stage.kind, Stage.closes_at)
        .join(Stage, Stage.selection_id == Selection.id)
        .where(Stage.status == StageStatus.OPEN, Stage.kind.in_(["assessment", "speech"]))
    )
    items = []
    for selection, kind, closes_at in rows.all():
        counts = await db.execute(
            select(Invitation.group, func.count(), func.count(Invitation.voted_at))
            .where(Invitation.selection_id == selection.id, Invitation.stage == kind)
            .group_by(Invitation.group)
        )
        found = counts.all()
        invited = {str(group): int(n) for group, n, _voted in found}
        cast = {str(group): int(voted) for group, _n, voted in found}
        if not invited:
            continue
        report = quorum_report(invited, cast, Quorum(rules_of(selection).quorum))
        for group in report.groups:
            if group.met:
                continue
            what = _(
                "%(selection)s, %(stage)s: %(group)s have cast %(cast)s of %(required)s ballots needed"
            ) % {
                "selection": selection.title(_locale()),
                "stage": _stage_name(kind),
                "group": _(GROUP_NAMES.get(group.group, group.group)),
                "cast": group.cast,
                "required": group.required,
            }
            items.append(Item("quorum", what, f"/organizer/selections/{selection.id}", closes_at))
    return items


async def objection_items(db: AsyncSession) -> list[Item]:
    rows = await db.execute(
        select(Objection.notice_id, func.count(), func.min(Objection.filed_at))
        .where(Objection.status.in_([ObjectionStatus.RECEIVED, ObjectionStatus.UNDER_REVIEW]))
        .group_by(Objection.notice_id)
    )
    items = []
    for notice_id, waiting, oldest in rows.all():
        notice = await db.get(Notice, notice_id)
        title = notice.title(_locale()) if notice else str(notice_id)
        what = _("%(n)s objections to “%(notice)s” wait for an answer") % {"n": waiting, "notice": title}
        items.append(Item("objection", what, f"/organizer/notices/{notice_id}/objections", oldest))
    return items


async def panel_items(db: AsyncSession, now: datetime) -> list[Item]:
    """Drawn panels: members invited who have not answered, and seats left empty or not yet invited."""
    rows = await db.execute(
        select(Panel, PanelMember.status, func.count())
        .join(PanelMember, PanelMember.panel_id == Panel.id)
        .where(Panel.status == PanelStatus.DRAWN)
        .group_by(Panel.id, PanelMember.status)
    )
    by_panel: dict[int, tuple[Panel, dict[str, int]]] = {}
    for panel, status, count in rows.all():
        by_panel.setdefault(panel.id, (panel, defaultdict(int)))[1][str(status)] += int(count)
    items = []
    for panel, counts in by_panel.values():
        href = f"/organizer/panels/{panel.id}"
        waiting = counts[MemberStatus.INVITED.value]
        if waiting:
            what = _("%(panel)s: %(n)s invited members have not replied") % {
                "panel": panel.title,
                "n": waiting,
            }
            late = panel.reply_deadline is not None and panel.reply_deadline <= now
            items.append(Item("replies", what, href, panel.reply_deadline, late))
        seated = sum(counts[status.value] for status in SEATED)
        to_invite = counts[MemberStatus.DRAWN.value]
        if seated < panel.size:
            what = _("%(panel)s: %(n)s seats are empty; call a reserve") % {
                "panel": panel.title,
                "n": panel.size - seated,
            }
            items.append(Item("reserve", what, href, None, True))
        if to_invite:
            what = _("%(panel)s: %(n)s seated reserves are not invited yet") % {
                "panel": panel.title,
                "n": to_invite,
            }
            items.append(Item("reserve", what, href))
    return items


async def failed_text_items(db: AsyncSession) -> list[Item]:
    failed = or_(
        SmsMessage.status == MessageStatus.FAILED,
        SmsMessage.delivery_status.in_([DeliveryStatus.UNDELIVERED.value, DeliveryStatus.FAILED.value]),
    )
    rows = await db.execute(
        select(
            SmsMessage.notice_id,
            SmsMessage.status,
            SmsMessage.delivery_status,
            SmsMessage.error_code,
            SmsMessage.error_message,
            func.count(),
        )
        .where(SmsMessage.notice_id.is_not(None), failed)
        .group_by(
            SmsMessage.notice_id,
            SmsMessage.status,
            SmsMessage.delivery_status,
            SmsMessage.error_code,
            SmsMessage.error_message,
        )
    )
    worth: dict[int, int] = defaultdict(int)
    for notice_id, status, delivery, code, message, count in rows.all():
        if notice_id is not None and retryable(TextState(status, delivery, code, message)):
            worth[int(notice_id)] += int(count)
    items = []
    for notice_id, count in sorted(worth.items()):
        notice = await db.get(Notice, notice_id)
        title = notice.title(_locale()) if notice else str(notice_id)
        what = _("%(n)s failed texts of “%(notice)s” may go through on a second try") % {
            "n": count,
            "notice": title,
        }
        items.append(Item("failed_texts", what, f"/organizer/notices/{notice_id}/deliveries"))
    return items


async def quiet_hour_items(db: AsyncSession, now: datetime) -> list[Item]:
    rows = await db.execute(
        select(Notice).where(Notice.status == NoticeStatus.PUBLISHED, Notice.texts_held_until > now)
    )
    items = []
    for notice in rows.scalars():
        what = _("The texts of “%(notice)s” are held by the quiet hours") % {
            "notice": notice.title(_locale())
        }
        items.append(Item("quiet_hours", what, f"/organizer/notices/{notice.id}", notice.texts_held_until))
    return items


async def needs(db: AsyncSession, now: datetime | None = None) -> list[Item]:
    now = now or utcnow()
    items = [
        *await stage_items(db, now),
        *await quorum_items(db),
        *await objection_items(db),
        *await panel_items(db, now),
        *await failed_text_items(db),
        *await quiet_hour_items(db, now),
    ]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(items, key=lambda item: (not item.overdue, item.due or far, KINDS.index(item.kind)))


async def timetable(db: AsyncSession, now: datetime | None = None, days: int = TIMETABLE_DAYS) -> list[Event]:
    """Dated steps from now to `days` ahead: stage edges, scheduled notices, notice periods closing,
    reply deadlines."""
    now = now or utcnow()
    end = now + timedelta(days=days)
    events: list[Event] = []
    stages = await db.execute(
        select(Stage, Selection)
        .join(Selection, Selection.id == Stage.selection_id)
        .where(Selection.status != SelectionStatus.FINISHED, Stage.status != StageStatus.CLOSED)
    )
    for stage, selection in stages.all():
        href = f"/organizer/selections/{selection.id}"
        names = {"selection": selection.title(_locale()), "stage": _stage_name(stage.kind)}
        if stage.status == StageStatus.PENDING and now <= stage.opens_at < end:
            events.append(Event(stage.opens_at, _("%(selection)s: “%(stage)s” opens") % names, href))
        if now <= stage.closes_at < end:
            events.append(Event(stage.closes_at, _("%(selection)s: “%(stage)s” closes") % names, href))
    scheduled = await db.execute(
        select(Notice).where(Notice.status == NoticeStatus.SCHEDULED, Notice.publish_at.between(now, end))
    )
    for notice in scheduled.scalars():
        if notice.publish_at is not None:
            what = _("“%(notice)s” is published") % {"notice": notice.title(_locale())}
            events.append(Event(notice.publish_at, what, f"/organizer/notices/{notice.id}"))
    periods = await db.execute(
        select(NoticePeriod, Notice)
        .join(Notice, Notice.id == NoticePeriod.notice_id)
        .where(NoticePeriod.closed_at.is_(None), NoticePeriod.closes_at.between(now, end))
    )
    for period, notice in periods.all():
        if period.closes_at is not None:
            what = _("The notice period of “%(notice)s” ends") % {"notice": notice.title(_locale())}
            events.append(Event(period.closes_at, what, f"/organizer/notices/{notice.id}/objections"))
    panels = await db.execute(
        select(Panel).where(Panel.status == PanelStatus.DRAWN, Panel.reply_deadline.between(now, end))
    )
    for panel in panels.scalars():
        if panel.reply_deadline is not None:
            what = _("%(panel)s: the reply deadline") % {"panel": panel.title}
            events.append(Event(panel.reply_deadline, what, f"/organizer/panels/{panel.id}"))
    return sorted(events, key=lambda event: event.at)


def _locale() -> str:
    return current_locale.get()
