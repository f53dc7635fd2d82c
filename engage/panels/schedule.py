"""The jobs a reply deadline sets off, scheduled when the invitations go out (rq `enqueue_at`; the
worker runs with the scheduler): a reminder to everyone still silent some hours before the deadline,
and the lapse at the deadline. Job ids are per panel, so inviting again reschedules, never duplicates."""

from __future__ import annotations

from datetime import datetime, timedelta

from engage.queues import QueueName, queue

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
    jobs = queue(redis_url, QueueName.DEFAULT)
    jobs.enqueue_at(remind, "workers.panels.send_reminders", panel_id, job_id=f"panel-{panel_id}-reminders")
    jobs.enqueue_at(deadline, "workers.panels.lapse", panel_id, job_id=f"panel-{panel_id}-lapse")
    return True
