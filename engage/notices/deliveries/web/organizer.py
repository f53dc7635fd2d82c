"""/organizer/notices/{id}/deliveries: the organizer's view of a notice's texts. Live counts (the page
asks the browser to reload itself every few seconds while texts are still going out, with the HTTP
Refresh header: no JavaScript), failures by error code, the retry button (staff) and the masked CSV
export. The section is its own include (pages/organizer/notices/_deliveries.html) so a notice page can
show it too. Thin: the same services as /api/v1/notices/{id}/deliveries."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from engage.accounts.guards import OrganizerPages, staff
from engage.audit.services import organizer_actor
from engage.errors import Conflict
from engage.i18n import gettext as _
from engage.notices.deliveries import rules as deliveries
from engage.notices.deliveries import services as delivery_services
from engage.notices.deliveries.web.api import deliveries_out, enqueue_retries
from engage.notices.services import get_notice
from engage.phones import mask
from engage.residents.labels import N_
from engage.residents.queries import REVEAL_ROLES
from engage.residents.roster import write_csv
from engage.web.confirm import Confirmation, confirmation_page
from engage.web.deps import DB
from engage.web.money import money

REFRESH_SECONDS = 5
STATE_LABELS = {
    "queued": N_("Queued"),
    "sending": N_("Sending"),
    "sent": N_("Sent, no report yet"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    "opted_out": N_("Opted out"),
}

LABELLED_COLUMNS = (
    N_("Message"), N_("Pseudonym"), N_("Phone"), N_("State"), N_("Error code"), N_("Attempts"),
    N_("Gateway id"), N_("Sent at"), N_("Delivered at"),
)  # fmt: skip
LABELLED_SAFE_COLUMNS = (N_("Message"), N_("Pseudonym"), N_("Phone"), N_("Attempts"), N_("Gateway id"))


def _labelled(row: deliveries.ExportText, tz: tzinfo) -> list[str]:
    def when(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""

    text_state = deliveries.state(row.text)
    return [
        str(row.id),
        row.pseudonym or "",
        mask(row.to),
        _(STATE_LABELS.get(text_state, text_state)),
        "" if row.text.error_code is None else str(row.text.error_code),
        str(row.attempts),
        row.gateway_id or "",
        when(row.sent_at),
        when(row.delivered_at),
    ]


async def deliveries_context(request: Request[Any, Any, Any], db: DB, notice_id: int) -> dict[str, Any]:
    """What _deliveries.html needs; a notice page including the section adds this to its context."""
    return {
        "deliveries": await deliveries_out(db, notice_id),
        "state_labels": STATE_LABELS,
        "may_retry": request.user.role in REVEAL_ROLES,
        "retried": _count(request.query_params.get("retried")),
    }


def _count(raw: str | None) -> int | None:
    """The number the retry redirect carries; anything else shows nothing."""
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 10 else None


class NoticeDeliveryPages(OrganizerPages):
    path = "/organizer/notices/{notice_id:int}/deliveries"

    @get("/", name="notices:deliveries", media_type=MediaType.HTML)
    async def show(self, request: Request[Any, Any, Any], db: DB, notice_id: FromPath[int]) -> Template:
        notice = await get_notice(db, notice_id)
        context = {"notice": notice, **await deliveries_context(request, db, notice_id)}
        headers = {"Refresh": str(REFRESH_SECONDS)} if context["deliveries"].in_progress else {}
        return Template("pages/organizer/notices/deliveries.html", context=context, headers=headers)

    @get("/retry", guards=[staff], media_type=MediaType.HTML)
    async def confirm_retry(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Template:
        """Sending again is billed again: the button leads here first, and nothing changes until the
        organizer confirms."""
        await get_notice(db, notice_id)  # 404 for a notice that does not exist
        texts, segments = await delivery_services.retry_estimate(db, notice_id)
        settings = state.settings
        cost = money(segments * settings.sms_price_per_segment, settings.sms_price_currency)
        return confirmation_page(
            Confirmation(
                title=_("Send %(n)s failed texts again?") % {"n": texts},
                button=_("Send them again"),
                back=f"/organizer/notices/{notice_id}/deliveries",
                consequences=[
                    _("%(n)s residents whose text failed get it again: %(s)s segments, about %(cost)s.")
                    % {"n": texts, "s": segments, "cost": cost},
                    _("Invalid numbers, landlines and residents who opted out are not texted."),
                ],
                cannot_undo=_("Texts that have gone cannot be called back, and each try is billed."),
            )
        )

    @post("/retry", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def retry(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Redirect | Template:
        try:
            ids = await delivery_services.retry_failed(db, organizer_actor(request.user.id), notice_id)
        except Conflict as problem:
            await db.rollback()
            notice = await get_notice(db, notice_id)
            context = {
                "notice": notice,
                "problem": problem,
                **await deliveries_context(request, db, notice_id),
            }
            return Template("pages/organizer/notices/deliveries.html", context=context, status_code=409)
        enqueue_retries(state.redis_url, notice_id, ids)
        return Redirect(f"/organizer/notices/{notice_id}/deliveries?retried={len(ids)}", status_code=303)

    @get("/export.csv", name="notices:deliveries-export")
    async def export(self, db: DB, state: State, notice_id: FromPath[int]) -> Response[bytes]:
        """For a spreadsheet: labelled columns, states in words, local times. Phones masked: full
        numbers only through the audited API (reveal=true), which keeps codes and ISO times."""
        rows = await delivery_services.export_rows(db, notice_id)
        header = [_(column) for column in LABELLED_COLUMNS]
        content = write_csv(
            header,
            (_labelled(row, state.settings.tz) for row in rows),
            safe_columns=[_(column) for column in LABELLED_SAFE_COLUMNS],
        )
        disposition = f'attachment; filename="notice-{notice_id}-deliveries.csv"'
        return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})
