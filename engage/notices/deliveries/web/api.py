"""/api/v1/notices/{id}/deliveries: where a notice's texts stand (live counts, failures by error code),
trying failed texts again (staff; audited), and the CSV export (phones masked unless `reveal=true` by an
admin or organizer; the reveal is audited). Thin: parse, call delivery_services, respond."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response
from litestar.datastructures import State
from litestar.params import Parameter

from engage import jobs
from engage.accounts.guards import OrganizerApi, staff
from engage.audit.services import organizer_actor, record_async
from engage.notices.deliveries import rules as deliveries
from engage.notices.deliveries import services as delivery_services
from engage.notices.services import get_notice
from engage.notices.web.api import NoticeId
from engage.residents import queries
from engage.residents.roster import write_csv
from engage.web.deps import DB
from engage.web.routes import change, read

Reveal = Annotated[
    bool,
    Parameter(description="full phone numbers (admin and organizer only; the export is audited)"),
]


@dataclass
class FailureOut:
    error_code: int | None
    texts: int
    retryable: bool


@dataclass
class DeliveriesOut:
    notice_id: int
    total: int
    queued: int
    sending: int
    sent: int  # accepted by the gateway, no delivery report yet
    delivered: int
    failed: int
    opted_out: int
    retryable: int
    in_progress: bool
    texts_held_until: datetime | None
    failures: list[FailureOut]


@dataclass
class RetryOut:
    notice_id: int
    queued_again: int


async def deliveries_out(db: DB, notice_id: int) -> DeliveriesOut:
    notice = await get_notice(db, notice_id)
    summary = await delivery_services.summary(db, notice_id)
    return DeliveriesOut(
        notice_id=notice_id,
        total=summary.total,
        retryable=summary.retryable,
        in_progress=summary.in_progress,
        texts_held_until=notice.texts_held_until,
        failures=[FailureOut(code, texts, retry) for code, texts, retry in summary.failures],
        **summary.counts,
    )


def enqueue_retries(redis_url: str, notice_id: int, ids: list[int]) -> None:
    again = f"retry-{time.time_ns()}"
    for first_id, last_id in delivery_services.batches_of(ids):
        jobs.enqueue_batch(redis_url, notice_id, first_id, last_id, again=again)


def csv_response(rows: list[deliveries.ExportText], notice_id: int, reveal: bool) -> Response[bytes]:
    content = write_csv(
        deliveries.EXPORT_COLUMNS,
        (deliveries.export_row(row, reveal) for row in rows),
        safe_columns=deliveries.EXPORT_SAFE_COLUMNS,
    )
    disposition = f'attachment; filename="notice-{notice_id}-deliveries.csv"'
    return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})


class DeliveryController(OrganizerApi):
    path = "/api/v1/notices/{notice_id:int}/deliveries"
    tags = ["notices"]

    @read(summary="Where the notice's texts stand: counts by state, failures by error code")
    async def show(self, db: DB, notice_id: NoticeId) -> DeliveriesOut:
        """How many of the notice's texts are queued, sent, delivered, failed, and the gateway error codes of
        the failures."""
        return await deliveries_out(db, notice_id)

    @change(
        "/retry",
        summary="Queue again every failed text a second try may deliver (not permanent refusals)",
        guards=[staff],
    )
    async def retry(
        self, db: DB, state: State, request: Request[Any, Any, Any], notice_id: NoticeId
    ) -> RetryOut:
        """Failures the gateway may deliver on a second try are queued again; permanent refusals (a number
        that does not exist) are not."""
        ids = await delivery_services.retry_failed(db, organizer_actor(request.user.id), notice_id)
        enqueue_retries(state.redis_url, notice_id, ids)  # committed: the batches find them queued
        return RetryOut(notice_id=notice_id, queued_again=len(ids))

    @read(
        "/export.csv",
        summary="Every text of the notice as CSV (phones masked unless revealed)",
        media_type="text/csv",
    )
    async def export(
        self, db: DB, request: Request[Any, Any, Any], notice_id: NoticeId, reveal: Reveal = False
    ) -> Response[bytes]:
        """One row per text: masked number (the full one for organizers who may reveal numbers), status,
        gateway error."""
        if reveal:
            queries.check_reveal(request.user)
        rows = await delivery_services.export_rows(db, notice_id)
        if reveal:
            # One entry for the whole export: who saw how many numbers of which notice (no numbers).
            actor = organizer_actor(request.user.id)
            await record_async(
                db, actor, "notice.deliveries_export", "notice", notice_id, {"phones": len(rows)}
            )
            await db.commit()
        return csv_response(rows, notice_id, reveal)
