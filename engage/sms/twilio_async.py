"""The fan-out's way to Twilio: the SDK's asyncio client (aiohttp), many sends at once in one thread.
Used through TwilioGateway.async_sender; kept apart so that only processes that fan out import aiohttp."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from engage.sms.gateway import GatewayError, SendResult
from engage.sms.twilio_errors import gateway_errors, rewrite_twilio_url, send_result


class AsyncBaseUrlHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's asyncio client (aiohttp), with the same rewriting."""

    def __init__(self, base_url: str | None, *, timeout: float, connections: int) -> None:
        super().__init__(pool_connections=False, timeout=timeout)
        self.base_url = base_url
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if self.base_url:
            url = rewrite_twilio_url(url, self.base_url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout  # None would mean no timeout at all to aiohttp
        headers = dict(kwargs.get("headers") or {})
        auth = kwargs.pop("auth", None)
        if auth is not None:  # as a header: aiohttp deprecates its auth parameter
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        data = kwargs.get("data")
        if isinstance(data, dict):
            # Encoded here: given a dict, aiohttp builds a multipart writer (and a random boundary)
            # for every request before settling on a urlencoded body.
            kwargs["data"] = urlencode(data, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        kwargs["headers"] = headers
        return await super().request(method, url, *args, **kwargs)


class TwilioAsyncSender:
    def __init__(self, client: Client, sender: dict[str, str]) -> None:
        self._client = client
        self._sender = sender

    async def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        with _connection_errors(), gateway_errors():
            message = await self._client.messages.create_async(
                to=to, body=body, status_callback=status_callback, **self._sender
            )
        return send_result(message)


@contextmanager
def _connection_errors() -> Iterator[None]:
    """aiohttp's own exceptions; Twilio's refusals and timeouts are gateway_errors'."""
    try:
        yield
    except aiohttp.ClientConnectorError as error:
        raise GatewayError("could not connect to Twilio", transient=True) from error
    except aiohttp.ClientError as error:
        # Connected, then lost: the request may have reached Twilio.
        raise GatewayError(
            "connection to Twilio lost; it may have been sent", transient=True, maybe_sent=True
        ) from error
