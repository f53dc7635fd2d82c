"""The closing job of a public notice period (scheduled by `engage.notices.period.schedule_close` at
the closing moment; an extension reschedules it under the same job id).

close_period(notice_id): reloads the notice and its period locked, and closes the notice only if it is
published, the period is not suspended and its closing moment has passed. Running it early (an
extension moved the moment), twice, or on a suspended period changes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from engage.audit.services import SYSTEM, record
from engage.db import sync_session
from engage.notices import period as periods
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objections.models import NoticePeriod
from workers import context

log = logging.getLogger(__name__)


def close_period(notice_id: int) -> bool:
    """Close the notice at the end of its period; True when this run closed it."""
    with sync_session(context.engine()) as session:
        notice = session.execute(
            select(Notice)
            .where(Notice.id == notice_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        period = session.get(NoticePeriod, notice_id, with_for_update=True, populate_existing=True)
        now = periods.clock()
        if notice is None or period is None or notice.status != NoticeStatus.PUBLISHED:
            log.info("notice %s: not published with a period, nothing to close", notice_id)
            return False
        if period.suspended_at is not None or period.closed_at is not None:
            log.info("notice %s: period suspended or closed already", notice_id)
            return False
        if period.closes_at is None or period.closes_at > now:
            log.info("notice %s: the period has not ended (extended?)", notice_id)
            return False
        notice.status = NoticeStatus.CLOSED
        notice.closed_at = period.closed_at = now
        details = {"closes_at": period.closes_at.isoformat(), "extended_days": period.extended_days}
        record(session, SYSTEM, "notice.period_close", "notice", notice_id, details)
    log.info("notice %s: notice period closed", notice_id)
    from workers.selections import notice_closed

    notice_closed(notice_id)  # an appointment notice ends its selection
    return True
