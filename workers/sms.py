from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update

from engage import jobs
from engage.audit.services import SYSTEM, record
from engage.db import autocommit, sync_session, utcnow
from engage.sms.delivery import status_callback_url
from engage.sms.gateway import GatewayError
from engage.sms.models import MessageStatus, SmsMessage
from workers import context

log = logging.getLogger(__name__)


def send_message(message_id: int) -> str:
    """Send one queued message. Safe to run twice: only a worker that claims the row sends it."""
    # Claiming and marking sent are one statement each, committed on their own.
    with autocommit(context.engine()) as connection:
        claimed = connection.execute(
            update(SmsMessage)
            .where(SmsMessage.id == message_id, SmsMessage.status == MessageStatus.QUEUED)
            .values(status=MessageStatus.SENDING, claimed_at=utcnow(), attempts=SmsMessage.attempts + 1)
            .returning(SmsMessage.to, SmsMessage.body, SmsMessage.attempts)
        ).first()
    if claimed is None:
        log.info("sms %s: not queued any more, nothing to do", message_id)
        return "skipped"
    to, body, attempts = claimed
    # No transaction is open across the gateway call: a slow gateway must not hold database locks.
    try:
        result = context.gateway().send(to, body, status_callback=status_callback_url(context.settings()))
    except GatewayError as error:
        if error.maybe_sent:
            # The gateway may have it: left `sending` for workers.reconcile to look up, never re-sent.
            log.warning("sms %s: no answer from the gateway; left for reconciliation", message_id)
            return "unknown"
        _record_failure(message_id, error, attempts)
        if error.transient:
            raise  # rq's Retry brings the job back later
        return "failed"
    with autocommit(context.engine()) as connection:
        connection.execute(
            update(SmsMessage)
            .where(SmsMessage.id == message_id)
            .values(status=MessageStatus.SENT, gateway_id=result.gateway_id, sent_at=utcnow())
        )
    log.info("sms %s: sent as %s", message_id, result.gateway_id)
    return "sent"


def _record_failure(message_id: int, error: GatewayError, attempts: int) -> None:
    status = MessageStatus.QUEUED if error.transient else MessageStatus.FAILED
    # rq's Retry brings the job back after this pause; retry_at keeps it where Redis cannot lose it.
    pause = timedelta(seconds=jobs.retry_pause(jobs.TEXT_RETRY_INTERVALS, attempts))
    with sync_session(context.engine()) as session:
        session.execute(
            update(SmsMessage)
            .where(SmsMessage.id == message_id)
            .values(
                status=status,
                error_code=error.code,
                error_message=str(error)[:500],
                retry_at=utcnow() + pause if error.transient else None,
            )
        )
        if not error.transient:
            record(session, SYSTEM, "sms.failed", "sms_message", message_id, {"code": error.code})
