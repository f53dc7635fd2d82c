"""rq queues. Jobs carry plain ids (JSON serializer) and reload their state when they run."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

import redis
from rq import Queue
from rq.serializers import JSONSerializer


class QueueName(StrEnum):
    HIGH = "high"  # sign-up codes: a resident is waiting for them
    DEFAULT = "default"
    BULK = "bulk"  # notice fan-out


WORKER_QUEUES = (QueueName.HIGH, QueueName.DEFAULT, QueueName.BULK)


@cache
def redis_connection(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@cache
def queue(url: str, name: QueueName = QueueName.DEFAULT) -> Queue:
    # One Queue per (server, name) and process: a new one asks the server for its version (INFO) before
    # its first enqueue, a round trip that would otherwise come with every job.
    return Queue(name.value, connection=redis_connection(url), serializer=JSONSerializer)
