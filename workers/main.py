"""The worker entry point: `engage worker` (Procfile `worker`)."""

from __future__ import annotations

import logging
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from engage import logs
from engage.queues import WORKER_QUEUES, redis_connection
from workers import context
from workers.reconcile import start_ticker

log = logging.getLogger(__name__)

# rq's scheduler process dies when Redis drops and is restarted only at the worker's maintenance run
# (every 10 minutes by default): this brings it back within half a minute.
MAINTENANCE_SECONDS = 30
RECONNECT_PAUSES = (1, 2, 4, 8, 15)  # seconds, the last repeated, while Redis stays away


def run(redis_url: str, *, burst: bool = False) -> bool:
    logs.configure()
    # Reconciliation and the sweeper (workers.reconcile) are enqueued periodically by every
    # long-running worker.
    ticker = None if burst else start_ticker(redis_url, context.settings().sms_stall_seconds)
    failures = 0
    try:
        while True:
            try:
                return _work(redis_url, burst=burst)
            except (RedisConnectionError, RedisTimeoutError) as error:
                # rq cannot record a job's end while Redis is away and gives up the whole loop; the
                # work itself is safe in the database (the sweeper re-enqueues it), so start again.
                pause = RECONNECT_PAUSES[min(failures, len(RECONNECT_PAUSES) - 1)]
                failures += 1
                log.warning("Redis unreachable (%s); worker restarts in %d s", type(error).__name__, pause)
                time.sleep(pause)
    finally:
        if ticker is not None:
            ticker.set()


def _work(redis_url: str, *, burst: bool) -> bool:
    connection = redis_connection(redis_url)
    # Jobs here wait on the network (the SMS gateway, the database), not the CPU. A SimpleWorker runs
    # them in this process, keeping its database pool and gateway client warm between jobs, where a
    # forking worker would build both afresh for every job. Scale out with more worker processes.
    worker = SimpleWorker(
        [q.value for q in WORKER_QUEUES],
        connection=connection,
        serializer=JSONSerializer,
        maintenance_interval=MAINTENANCE_SECONDS,
    )
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level="WARNING"))
