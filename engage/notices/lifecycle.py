"""A notice's life as pure transitions: a draft is published now or scheduled, a scheduled notice is
published when due, a published one is closed, and a public notice period opens at publication.

Each transition takes the notice and the moment, checks the state, and returns a `Change`: the fields to
set and the audit entry to write. The callers apply it in their own session: the web's async services
(`engage.notices.services`), the selections' sync services (their own notices) and the fan-out job (a
scheduled notice falling due). Publishing a notice is decided here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engage import sandbox
from engage.calendar import CalendarError, WorkingCalendar
from engage.errors import Conflict
from engage.notices import fanout
from engage.notices.models import Notice, NoticeStatus
from engage.settings import Settings


@dataclass(frozen=True)
class Change:
    """What a transition sets on its notice, and the audit entry that records it."""

    fields: dict[str, Any]
    action: str
    details: dict[str, Any] = field(default_factory=dict)

    def apply(self, target: Any) -> None:
        for name, value in self.fields.items():
            setattr(target, name, value)


def publish(
    notice: Notice, now: datetime, settings: Settings, publish_at: datetime | None = None, **facts: Any
) -> Change:
    """draft -> published at `now`, or -> scheduled when `publish_at` is later. Non-urgent texts due now
    wait out the quiet hours (`texts_held_until`). `facts` join the audit details (e.g. the kind)."""
    if notice.status != NoticeStatus.DRAFT:
        raise Conflict("status", f"only a draft can be published; this notice is {notice.status}")
    fields: dict[str, Any] = {"publish_at": publish_at or now}
    if sandbox.active():
        # Published by a sandbox token: whoever drafted it, its texts are recorded, never sent.
        fields["sandbox"] = True
    if publish_at is not None and publish_at > now:
        fields["status"] = NoticeStatus.SCHEDULED
    else:
        held = fanout.texts_held_until(notice, now, settings)
        fields.update(status=NoticeStatus.PUBLISHED, published_at=now, texts_held_until=held)
    details: dict[str, Any] = {
        **facts,
        "status": fields["status"],
        "publish_at": fields["publish_at"].isoformat(),
    }
    if notice.urgent:
        details["urgent"] = True
    if fields.get("texts_held_until") is not None:
        details["texts_held_until"] = fields["texts_held_until"].isoformat()
    return Change(fields, "notice.publish", details)


def publish_due(notice: Notice, now: datetime) -> Change | None:
    """scheduled -> published once its time has come; None while it is not due (or not scheduled)."""
    if notice.status != NoticeStatus.SCHEDULED or (notice.publish_at is not None and notice.publish_at > now):
        return None
    return Change(
        {"status": NoticeStatus.PUBLISHED, "published_at": now}, "notice.publish", {"scheduled": True}
    )


def close(notice: Notice, now: datetime) -> Change:
    """published -> closed: still public, marked as over."""
    if notice.status != NoticeStatus.PUBLISHED:
        raise Conflict("status", f"only a published notice can be closed; this notice is {notice.status}")
    return Change({"status": NoticeStatus.CLOSED, "closed_at": now}, "notice.close")


def open_period(days: int, opens_at: datetime, calendar: WorkingCalendar) -> Change:
    """A public notice period opening at publication: it closes after `days` working days on the
    district's calendar. The fields are the period's (opens_at, closes_at)."""
    try:
        closes_at = calendar.add_working_days(opens_at, days)
    except CalendarError as error:
        raise Conflict("period_days", str(error)) from None
    details = {"days": days, "opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()}
    return Change({"opens_at": opens_at, "closes_at": closes_at}, "notice.period_open", details)
