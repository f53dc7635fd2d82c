"""A notice's delivery funnel as charts (pure): where its texts stand, queued → sending → sent →
delivered or failed, and the failures by reason in words. Built from the same `Summary` the deliveries
page counts, so the charts' tables are the stored counts."""

from __future__ import annotations

from engage.i18n import gettext as _
from engage.notices.deliveries.rules import STATES, Summary
from engage.residents.labels import N_
from engage.web.charts import Chart, Part, bar_chart, stacked_bars

STATE_PARTS = {
    "queued": (N_("Queued"), "wait"),
    "sending": (N_("Sending"), "warn"),
    "sent": (N_("Sent, no report yet"), "info"),
    "delivered": (N_("Delivered"), "ok"),
    "failed": (N_("Failed"), "bad"),
    "opted_out": (N_("Opted out"), "neutral"),
}
# The gateway's error codes in words (Twilio's numbering), for the failures chart and its table.
REASONS = {
    21211: N_("Not a valid phone number"),
    21408: N_("Texts to this region are not allowed"),
    21610: N_("The recipient unsubscribed"),
    21612: N_("The network cannot reach this number"),
    21614: N_("Not a mobile number"),
    30003: N_("Phone off or out of coverage"),
    30004: N_("Blocked by the recipient"),
    30005: N_("Unknown or inactive number"),
    30006: N_("Landline or unreachable carrier"),
    30007: N_("Filtered by the carrier"),
    30008: N_("Unknown error at the carrier"),
}


def reason(code: int | None) -> str:
    if code is None:
        return _("No reason given")
    words = REASONS.get(code)
    return _(words) if words else _("Gateway error %(code)s") % {"code": code}


def progress_chart(summary: Summary) -> Chart:
    """One bar: every text of the notice in its state, in the funnel's order."""
    parts = [Part(_(STATE_PARTS[key][0]), summary.counts[key], STATE_PARTS[key][1]) for key in STATES]
    return stacked_bars(
        _("Where the texts stand"),
        [(_("Texts"), parts)],
        label_head=_("State"),
        total_head=_("All texts"),
        scale_to=summary.total,
    )


def failures_chart(summary: Summary) -> Chart:
    items = [(reason(code), float(texts)) for code, texts, _retry in summary.failures]
    return bar_chart(
        _("Failed texts by reason"), items, label_head=_("Reason"), value_head=_("Texts"), tone="bad"
    )


def finished_share(summary: Summary) -> int:
    """Per cent of the texts no longer queued or sending."""
    if not summary.total:
        return 0
    return round(100 * (summary.total - summary.counts["queued"] - summary.counts["sending"]) / summary.total)
