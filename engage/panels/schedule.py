"""The jobs a reply deadline sets off (rq `enqueue_at`; the worker runs with the scheduler): a
reminder to everyone still silent some hours before the deadline, and the lapse at the deadline.

The panel's jobs are scheduled when the invitations go out (ids per panel, so inviting again
reschedules, never duplicates). A replacement invited later has their own reminder, at the same
distance from the deadline counted from their own invitation (`replacement_reminders`, id per member):
a seat given after the panel's reminder went out is still reminded once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from engage.panels.models import MemberStatus, Panel
from engage.queues import QueueName, queue

REMIND_BEFORE = timedelta(hours=24)  # or half the time left, when less than twice this is left
REMINDERS_JOB = "workers.panels.send_reminders"


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
    jobs = queue(redis_url, QueueName.DEFAULT)
    jobs.enqueue_at(remind, REMINDERS_JOB, panel_id, job_id=f"panel-{panel_id}-reminders")
    jobs.enqueue_at(deadline, "workers.panels.lapse", panel_id, job_id=f"panel-{panel_id}-lapse")
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
    jobs = queue(redis_url, QueueName.DEFAULT)
    for member_id, when in reminders:
        jobs.enqueue_at(when, REMINDERS_JOB, panel_id, job_id=f"panel-{panel_id}-reminders-{member_id}")
