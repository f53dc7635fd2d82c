"""The SMS gateway interface: every outgoing text goes through one of these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    gateway_id: str
    status: str
    # Filled by lookups (find_sent), to tell apart two texts to one number; not part of the identity.
    body: str | None = field(default=None, compare=False)


class GatewayError(Exception):
    """A send that the gateway refused or that never got an answer.

    `transient` says whether trying again later may succeed (429, 5xx, connection errors);
    permanent errors (an invalid number, an unsubscribed recipient) must not be retried.
    `maybe_sent` says the request went out but no answer came back (a read timeout, a connection
    dropped mid-answer): the gateway may have accepted it, so it must be looked up, not re-sent.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        http_status: int | None = None,
        code: int | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.maybe_sent = maybe_sent
        self.http_status = http_status
        self.code = code


class SmsGateway(Protocol):
    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        """Hand one message to the gateway; raise GatewayError when it is not accepted."""
        ...


class AsyncSender(Protocol):
    async def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult: ...
