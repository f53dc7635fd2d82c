"""The SMS gateway interface: every outgoing text goes through one of these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    gateway_id: str
    status: str


class GatewayError(Exception):
    """A send that the gateway refused or that never got an answer.

    `transient` says whether trying again later may succeed (429, 5xx, connection errors);
    permanent errors (an invalid number, an unsubscribed recipient) must not be retried.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        http_status: int | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.http_status = http_status
        self.code = code


class SmsGateway(Protocol):
    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        """Hand one message to the gateway; raise GatewayError when it is not accepted."""
        ...
