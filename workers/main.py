"""The worker entry point: `engage worker` (Procfile `worker`)."""

from __future__ import annotations

import logging

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from engage.queues import WORKER_QUEUES, redis_connection
from workers import context
from workers.reconcile import start_ticker


def run(redis_url: str, *, burst: bool = False) -> bool:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The twilio SDK logs every request at INFO, a dozen lines each, query parameters included (a list
    # by recipient carries the phone number): personal data in logs, and more work than the send.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    connection = redis_connection(redis_url)
    # Jobs here wait on the network (the SMS gateway, the database), not the CPU. A SimpleWorker runs
    # them in this process, keeping its database pool and gateway client warm between jobs, where a
    # forking worker would build both afresh for every job. Scale out with more worker processes.
    worker = SimpleWorker([q.value for q in WORKER_QUEUES], connection=connection, serializer=JSONSerializer)
    # Reconciliation (workers.reconcile) is enqueued periodically by every long-running worker.
    ticker = None if burst else start_ticker(redis_url, context.settings().sms_stall_seconds)
    try:
        return bool(worker.work(burst=burst, with_scheduler=True))
    finally:
        if ticker is not None:
            ticker.set()
