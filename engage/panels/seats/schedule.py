"""The jobs a reply deadline sets off: a reminder to everyone still silent some hours before the
deadline, and the lapse at the deadline. rq's scheduler runs them on time; the deadline and the
members' invitation times are the record, so the sweeper (`workers.sweep`) runs any that Redis lost.

The panel's jobs are scheduled when the invitations go out (ids per panel, so inviting again
reschedules, never duplicates). A replacement invited later has their own reminder, at the same
distance from the deadline counted from their own invitation (`replacement_reminders`, id per member):
a seat given after the panel's reminder went out is still reminded once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from engage import jobs
from engage.panels.models import MemberStatus, Panel

REMIND_BEFORE = timedelta(hours=24)  # or half the time left, when less than twice this is left


def reminder_at(deadline: datetime, now: datetime) -> datetime | None:
    """When to remind: REMIND_BEFORE ahead of the deadline, or halfway there if it is closer."""
    if deadline <= now:
        return None
    return deadline - min(REMIND_BEFORE, (deadline - now) / 2)


def schedule_deadline_jobs(redis_url: str, panel_id: int, deadline: datetime | None, now: datetime) -> bool:
    """Schedule the reminder and the lapse of a panel whose invitations just went out."""
    remind = reminder_at(deadline, now) if deadline is not None else None
    if deadline is None or remind is None:
        return False
    jobs.enqueue(redis_url, jobs.PANEL_REMINDERS, panel_id, job_id=f"panel-{panel_id}-reminders", at=remind)
    jobs.enqueue(redis_url, jobs.PANEL_LAPSE, panel_id, job_id=f"panel-{panel_id}-lapse", at=deadline)
    return True


def replacement_reminders(panel: Panel, now: datetime) -> list[tuple[int, datetime]]:
    """(member id, when) for each replacement still invited and not reminded, while the deadline is
    ahead: their reminder is `reminder_at(deadline, invited_at)`, or now when that has passed."""
    deadline = panel.reply_deadline
    if deadline is None or now >= deadline:
        return []
    found = []
    for member in panel.members:
        if (
            member.replacement_for_id is None
            or member.status != MemberStatus.INVITED
            or member.reminded_at is not None
            or member.invited_at is None
        ):
            continue
        when = reminder_at(deadline, member.invited_at)
        if when is not None:
            found.append((member.id, max(when, now)))
    return sorted(found)


def schedule_member_reminders(
    redis_url: str, panel_id: int, reminders: Sequence[tuple[int, datetime]]
) -> None:
    """Schedule the reminders of `replacement_reminders` (after the commit). The job reminds every
    member of the panel still waiting for one, so two such jobs never text anyone twice."""
    if not reminders:
        return
    for member_id, when in reminders:
        job_id = f"panel-{panel_id}-reminders-{member_id}"
        jobs.enqueue(redis_url, jobs.PANEL_REMINDERS, panel_id, job_id=job_id, at=when)
