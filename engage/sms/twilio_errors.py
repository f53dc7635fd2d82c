"""What the Twilio SDK raises and returns, in our terms, shared by the sync gateway and the async sender:
errors as GatewayError (transient or not), a created message as SendResult, and the URL rewrite that
points the SDK at another server. Error messages carry the HTTP status and Twilio's error code, never
Twilio's own text (for an invalid number it contains the number, and these messages reach logs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException

from engage.sms.gateway import GatewayError, SendResult


def rewrite_twilio_url(url: str, base_url: str) -> str:
    """Move an https://<anything>.twilio.com URL onto base_url, keeping its path and query.

    A path in base_url is kept as a prefix, so a proxy mounted under /twilio works too.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not (host == "twilio.com" or host.endswith(".twilio.com")):
        return url
    base = urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))


@contextmanager
def gateway_errors() -> Iterator[None]:
    """Turn what the SDK and requests raise into GatewayError, transient or not."""
    try:
        yield
    except (TwilioRestException, TwilioServiceException) as error:
        raise _refusal(error.status, error.code) from error
    except TwilioException as error:
        # A failed list page raises the bare base class, with the HTTP response as its second arg.
        response = error.args[1] if len(error.args) > 1 else None
        status = getattr(response, "status_code", None)
        raise _refusal(status, _error_code(getattr(response, "text", ""))) from error
    except requests.ConnectTimeout as error:
        raise GatewayError("could not connect to Twilio", transient=True) from error
    except (requests.Timeout, TimeoutError) as error:
        # The request went out; Twilio may have accepted the message. Reconcile before resending.
        raise GatewayError(
            "no answer from Twilio in time; it may have been sent", transient=True, maybe_sent=True
        ) from error
    except requests.ConnectionError as error:
        raise GatewayError("connection to Twilio failed", transient=True) from error


def _refusal(status: int | None, code: int | None) -> GatewayError:
    transient = status is None or status == 429 or status >= 500
    return GatewayError(
        f"Twilio refused the request: HTTP {status}, error {code}",
        transient=transient,
        http_status=status,
        code=code,
    )


def _error_code(body: str) -> int | None:
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def send_result(message: Any) -> SendResult:
    return SendResult(gateway_id=str(message.sid), status=str(message.status))
