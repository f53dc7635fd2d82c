"""Where a notice's texts stand, pure: each text's state as organizers count it, which failures may be
tried again, and the rows of the deliveries export. Data in, data out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from engage.phones import mask
from engage.sms.models import DeliveryStatus, MessageStatus

OPTED_OUT_MESSAGE = "resident opted out before sending"  # what the batch job writes (workers.fanout)
UNSUBSCRIBED = 21610

# Refusals that will not change by trying again: a bad or non-mobile number, an unsubscribed
# recipient, a destination or content the carrier blocks. Anything else (a carrier that could not
# reach the phone, an unknown error) may go through on a second try.
PERMANENT_CODES = frozenset({21211, 21212, 21408, 21610, 21612, 21614, 30004, 30005, 30006, 30007})

STATES = ("queued", "sending", "sent", "delivered", "failed", "opted_out")


@dataclass(frozen=True)
class TextState:
    """What one text's row says, as loaded for counting."""

    status: str
    delivery_status: str | None
    error_code: int | None
    error_message: str | None


def state(text: TextState) -> str:
    """One of STATES. A text the network reported undelivered or failed counts as failed."""
    if text.status == MessageStatus.QUEUED:
        return "queued"
    if text.status == MessageStatus.SENDING:
        return "sending"
    if text.status == MessageStatus.FAILED:
        opted_out = text.error_code == UNSUBSCRIBED or text.error_message == OPTED_OUT_MESSAGE
        return "opted_out" if opted_out else "failed"
    if text.delivery_status == DeliveryStatus.DELIVERED:
        return "delivered"
    if text.delivery_status in (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED):
        return "failed"
    return "sent"


def retryable(text: TextState) -> bool:
    """A failed text that a second try may deliver (never an opted-out resident)."""
    return state(text) == "failed" and text.error_code not in PERMANENT_CODES


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]  # every one of STATES, zeros included
    failures: list[tuple[int | None, int, bool]]  # (error code, texts, retryable), most first
    retryable: int
    total: int

    @property
    def in_progress(self) -> bool:
        return bool(self.counts["queued"] or self.counts["sending"])


def summarize(rows: Iterable[tuple[TextState, int]]) -> Summary:
    """(text state, how many texts share it) pairs -> the counts an organizer sees."""
    counts: Counter[str] = Counter(dict.fromkeys(STATES, 0))
    failures: Counter[int | None] = Counter()
    retry = 0
    for text, number in rows:
        counts[state(text)] += number
        if state(text) == "failed":
            failures[text.error_code] += number
            retry += number if retryable(text) else 0
    ordered = sorted(failures.items(), key=lambda item: (-item[1], item[0] or 0))
    return Summary(
        counts=dict(counts),
        failures=[(code, number, code not in PERMANENT_CODES) for code, number in ordered],
        retryable=retry,
        total=sum(counts.values()),
    )


EXPORT_COLUMNS = (
    "message_id", "resident", "phone", "state", "status", "delivery_status", "error_code", "attempts",
    "gateway_id", "sent_at", "delivered_at",
)  # fmt: skip
EXPORT_SAFE_COLUMNS = ("message_id", "resident", "phone", "attempts", "gateway_id", "sent_at", "delivered_at")


@dataclass(frozen=True)
class ExportText:
    id: int
    pseudonym: str | None
    to: str
    text: TextState
    attempts: int
    gateway_id: str | None
    sent_at: datetime | None
    delivered_at: datetime | None


def export_row(row: ExportText, reveal: bool) -> list[str]:
    def when(moment: datetime | None) -> str:
        return moment.isoformat() if moment is not None else ""

    return [
        str(row.id),
        row.pseudonym or "",
        row.to if reveal else mask(row.to),
        state(row.text),
        row.text.status,
        row.text.delivery_status or "",
        "" if row.text.error_code is None else str(row.text.error_code),
        str(row.attempts),
        row.gateway_id or "",
        when(row.sent_at),
        when(row.delivered_at),
    ]
