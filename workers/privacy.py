"""The daily retention purge (engage.privacy.purge), enqueued by the workers' ticker.

A Redis key taken with SET NX for a day makes one purge a day however many workers tick. If Redis
forgets the key, the purge runs again sooner: it removes nothing twice, so that costs only a query.
"""

from __future__ import annotations

import logging
import time

from engage import jobs
from engage.db import sync_session
from engage.privacy import purge as purge_expired
from engage.queues import redis_connection
from workers import context

log = logging.getLogger(__name__)

DAY_KEY = "engage:privacy:purge:day"
EVERY = 24 * 3600


def purge() -> dict[str, int]:
    with sync_session(context.engine()) as session:
        counts = purge_expired(session, context.settings())
    if any(counts.values()):
        log.info("retention purge: %s", counts)
    return counts


def enqueue_daily(redis_url: str) -> bool:
    """Enqueue the purge unless one was enqueued in the last day."""
    if not redis_connection(redis_url).set(DAY_KEY, str(time.time()), nx=True, ex=EVERY):
        return False
    return jobs.enqueue(redis_url, jobs.PURGE, job_id=f"privacy-purge-{int(time.time())}", result_ttl=3600)
