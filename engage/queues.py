"""rq queues. Jobs carry plain ids (JSON serializer) and reload their state when they run."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Any

import redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from rq import Queue
from rq.serializers import JSONSerializer


class QueueName(StrEnum):
    HIGH = "high"  # sign-up codes: a resident is waiting for them
    DEFAULT = "default"
    BULK = "bulk"  # notice fan-out


WORKER_QUEUES = (QueueName.HIGH, QueueName.DEFAULT, QueueName.BULK)


def connection_options(*, asynchronous: bool = False) -> dict[str, Any]:
    """For every Redis client, sync and async. After a Redis restart the pooled connections are dead:
    one retry on a fresh connection makes the first command after it succeed instead of failing. A
    Redis that is down is known within a second rather than hanging the caller."""
    retry = AsyncRetry(NoBackoff(), 1) if asynchronous else Retry(NoBackoff(), 1)
    return {
        "retry": retry,
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "socket_connect_timeout": 1.0,
    }


@cache
def redis_connection(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **connection_options())


@cache
def queue(url: str, name: QueueName = QueueName.DEFAULT) -> Queue:
    # One Queue per (server, name) and process: a new one asks the server for its version (INFO) before
    # its first enqueue, a round trip that would otherwise come with every job.
    return Queue(name.value, connection=redis_connection(url), serializer=JSONSerializer)
