"""Progress of running send batches, in Redis: one hash field per batch, the time of its last step.

A batch writes its field when it starts and after every chunk it claims, and removes it when it ends
(done, held for the quiet hours, or handed to rq's Retry). A field that stops moving belongs to a
batch whose worker died or hangs: the reconciliation job re-queues it (workers.reconcile).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

PROGRESS_KEY = "engage:fanout:progress"


@dataclass(frozen=True)
class BatchRef:
    notice_id: int
    first_id: int
    last_id: int

    @property
    def field(self) -> str:
        return f"{self.notice_id}:{self.first_id}:{self.last_id}"

    @classmethod
    def parse(cls, field: str) -> BatchRef | None:
        try:
            notice_id, first_id, last_id = (int(part) for part in field.split(":"))
        except ValueError:
            return None
        return cls(notice_id, first_id, last_id)


def beat(redis: Any, batch: BatchRef, at: float | None = None) -> None:
    redis.hset(PROGRESS_KEY, batch.field, at if at is not None else time.time())


def finish(redis: Any, batch: BatchRef) -> None:
    redis.hdel(PROGRESS_KEY, batch.field)


def stalled(redis: Any, older_than: float, now: float | None = None) -> list[BatchRef]:
    """Batches whose last step is more than `older_than` seconds old."""
    now = time.time() if now is None else now
    found = []
    for raw_field, raw_at in redis.hgetall(PROGRESS_KEY).items():
        field = raw_field.decode() if isinstance(raw_field, bytes) else str(raw_field)
        batch = BatchRef.parse(field)
        try:
            at = float(raw_at)
        except ValueError:
            at = 0.0
        if batch is None:
            redis.hdel(PROGRESS_KEY, raw_field)  # not ours
        elif now - at > older_than:
            found.append(batch)
    return found
