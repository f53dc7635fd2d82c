"""Send SMS through Twilio's REST API with the official SDK, or through anything that speaks that API.

Error messages carry the HTTP status and Twilio's error code but never Twilio's own text: for an
invalid number that text contains the phone number, and these messages end up in logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from engage.sms.gateway import AsyncSender, GatewayError, SendResult
from engage.sms.twilio_errors import gateway_errors, rewrite_twilio_url, send_result


# The SDK ships without type information, so its classes are Any to mypy.
class _BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's own HTTP client, sending everything meant for Twilio to another server.

    Rewriting here rather than in the SDK's domain objects keeps every SDK feature working:
    paging, for one, follows absolute next-page URLs built from api.twilio.com.
    """

    def __init__(self, base_url: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, rewrite_twilio_url(url, self.base_url), *args, **kwargs)


class TwilioGateway:
    """An SmsGateway over Twilio's Messages API.

    With both messaging_service_sid and from_number set, both are sent: Twilio then uses that
    number from the service's sender pool.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        api_base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not (messaging_service_sid or from_number):
            raise ValueError("TwilioGateway needs a messaging_service_sid or a from_number")
        http_client = (
            _BaseUrlHttpClient(api_base_url, timeout=timeout)
            if api_base_url
            else TwilioHttpClient(timeout=timeout)
        )
        self._client = Client(account_sid, auth_token, http_client=http_client)
        self._credentials = (account_sid, auth_token)
        self._api_base_url = api_base_url
        self._timeout = timeout
        self._sender: dict[str, str] = {}
        if messaging_service_sid:
            self._sender["messaging_service_sid"] = messaging_service_sid
        if from_number:
            self._sender["from_"] = from_number

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        with gateway_errors():
            message = self._client.messages.create(
                to=to, body=body, status_callback=status_callback, **self._sender
            )
        return send_result(message)

    @asynccontextmanager
    async def async_sender(self, connections: int = 64) -> AsyncIterator[AsyncSender]:
        """The same sends over the SDK's asyncio client, for many at once in one thread (the fan-out):
        a third of the CPU per text of the threaded client. Open it inside the running event loop."""
        # Imported here: aiohttp costs a third of a second to import, which a process that never
        # fans out (the web server, the CLI, a forked job) should not pay.
        from engage.sms.twilio_async import AsyncBaseUrlHttpClient, TwilioAsyncSender

        http_client = AsyncBaseUrlHttpClient(
            self._api_base_url, timeout=self._timeout, connections=connections
        )
        try:
            yield TwilioAsyncSender(Client(*self._credentials, http_client=http_client), self._sender)
        finally:
            await http_client.session.close()

    def fetch(self, gateway_id: str) -> SendResult | None:
        """The message's current state, or None when Twilio does not know the id."""
        try:
            with gateway_errors():
                message = self._client.messages(gateway_id).fetch()
        except GatewayError as error:
            if error.http_status == 404:
                return None
            raise
        return send_result(message)

    def find_sent(self, to: str, since: datetime) -> list[SendResult]:
        """Messages to `to` created at or after `since`, for reconciling sends whose answer was lost.

        Twilio documents its DateSent filter by calendar date, so the list is narrowed here to the
        second as well; otherwise an earlier text to the same number that day would match.
        """
        cutoff = _utc(since).replace(microsecond=0)  # Twilio's timestamps have whole seconds
        with gateway_errors():
            messages = self._client.messages.list(to=to, date_sent_after=cutoff)
        return [
            SendResult(str(m.sid), str(m.status), body=m.body) for m in messages if _created_since(m, cutoff)
        ]


def _created_since(message: Any, cutoff: datetime) -> bool:
    created: datetime | None = message.date_created or message.date_sent
    return created is None or created >= cutoff


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    return moment.astimezone(UTC)
