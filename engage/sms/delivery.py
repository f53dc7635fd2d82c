"""Delivery reports: where the gateway posts them, and how its statuses map onto ours (pure)."""

from __future__ import annotations

from engage.settings import Settings
from engage.sms.models import DeliveryStatus

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"

# Twilio's MessageStatus values; "read" and "canceled" say nothing about delivery and are ignored.
_TWILIO_STATUSES = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}
# Callbacks may arrive out of order; a report never moves a message back to an earlier state.
_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.UNDELIVERED: 2,
    DeliveryStatus.FAILED: 2,
}


def status_callback_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH


def delivery_status(twilio_status: str) -> DeliveryStatus | None:
    return _TWILIO_STATUSES.get(twilio_status.strip().lower())


def moves_forward(current: str | None, new: DeliveryStatus) -> bool:
    if current is None:
        return True
    try:
        old = DeliveryStatus(current)
    except ValueError:
        return True
    return new == old or _RANK[new] > _RANK[old]  # a final report stays final
