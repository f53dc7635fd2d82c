"""After a commit: send the texts, fan the notices out, and schedule each stage's opening and closing
(rq `enqueue_at`; job ids per selection, stage and edge, so publishing twice never doubles a job)."""

from __future__ import annotations

from engage.notices.fanout import enqueue_fan_out
from engage.notices.period import schedule_close
from engage.queues import QueueName, queue
from engage.selections.services import After
from engage.sms.services import enqueue_send


def dispatch(redis_url: str, after: After) -> None:
    for message_id in after.texts:
        enqueue_send(redis_url, message_id, QueueName.DEFAULT)
    for notice_id in after.notices:
        enqueue_fan_out(redis_url, notice_id)
    for notice_id, closes_at in after.periods:
        schedule_close(redis_url, notice_id, closes_at)
    if after.schedule:
        jobs = queue(redis_url, QueueName.DEFAULT)
        for when, selection_id, kind in after.schedule:
            edge = when.strftime("%Y%m%dT%H%M%S")
            jobs.enqueue_at(
                when,
                "workers.selections.tick",
                selection_id,
                kind,
                job_id=f"selection-{selection_id}-{kind}-{edge}",
            )
