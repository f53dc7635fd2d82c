"""A real local HTTP server speaking the slice of Twilio's REST API that sending SMS uses.

Point the twilio SDK at it (TwilioGateway(api_base_url=fake.base_url)) and every request travels
over real HTTP, through the real SDK, so tests see what production would see.

    with FakeTwilio(account_sid, auth_token) as fake:    # or fake.start() ... fake.stop()
        fake.base_url                                     # http://127.0.0.1:PORT

Served (HTTP Basic auth with the SID and token; anything else answers 401, code 20003):
    POST /2010-04-01/Accounts/{AC}/Messages.json          create: 201 + message resource
    GET  /2010-04-01/Accounts/{AC}/Messages/{SM}.json     fetch, or 404 (code 20404)
    GET  /2010-04-01/Accounts/{AC}/Messages.json          list: To, From, DateSent, DateSent<, DateSent>
                                                          (compared by GMT calendar date, as Twilio
                                                          documents), PageSize, Page, PageToken
Errors use Twilio's shape: {"code", "message", "more_info", "status"}.

What happened:
    fake.requests                 every request (RecordedRequest: method, path, params, headers, at);
                                  FakeTwilio(..., record_requests=False) keeps none (benchmarks)
    fake.messages                 every accepted message (FakeMessage), oldest first
    fake.messages_to(number)      the accepted messages to one number
    fake.count_by_recipient()     {number: accepted messages}, for counting duplicates and losses
    fake.reset()                  forget requests, messages and every fault (latency back to 0)

Faults (thread-safe; the queued ones apply to the next message POSTs, first queued first):
    fake.latency = 0.05                         seconds added before every answer
    fake.fail_next(n, status=500, code=None)    answer 429/500/503...; nothing is stored
    fake.fail_next_with_code(n, code, status=400)  permanent refusal (21211, 21614, 21610...)
    fake.hang_next(n, seconds, store=True)      answer only after `seconds`; with store=True the message
                                                is accepted first, so only the answer is lost
    fake.fail_for(number, code)                 always refuse that recipient with that code

Webhooks, signed with X-Twilio-Signature exactly as Twilio signs them:
    fake.deliver(sid, status="delivered", error_code=None)   POST the message's StatusCallback
    fake.deliver_all(status="delivered")                      ... for every message still in flight
    fake.send_inbound(url, from_, to, body)                   POST an incoming SMS
Each returns WebhookResponse(status, body): what the app answered.

The handset side (not Twilio's API; for load tests, where polling the list would cost more than the
system under test): GET /_phone/messages.json?To=+86...&wait=10 answers {"messages": [...]}, the texts
to that number, oldest first, as soon as there is one (or empty after `wait` seconds). In process:
fake.wait_for_text(number, timeout). Neither is recorded in fake.requests.

The server speaks HTTP/1.1 with keep-alive, as Twilio's does, so the SDK reuses its connections.

For developers: python -m engage.testing.fake_twilio --port 8089 --account-sid AC... --auth-token ...
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hmac
import json
import math
import re
import secrets
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter, deque
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
IN_FLIGHT = frozenset({"accepted", "queued", "sending", "sent"})

_MESSAGES_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/]+))?\.json$"
)
_DATE_FILTERS = ("DateSent", "DateSent<", "DateSent>")
_LIST_FILTERS = ("To", "From", *_DATE_FILTERS)

_ERROR_MESSAGES = {
    20001: "Invalid parameter",
    20003: "Authentication Error - invalid username",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
_DEFAULT_CODE_FOR_STATUS = {400: 20001, 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}

# GSM 03.38: texts made only of these fit 160 characters a segment; anything else is sent as UCS-2.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = "^{}\\[~]|€\f"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: datetime


@dataclass(frozen=True)
class FakeMessage:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status: str
    status_callback: str | None
    num_segments: int
    date_created: datetime
    date_updated: datetime
    date_sent: datetime
    error_code: int | None = None
    error_message: str | None = None

    @property
    def uri(self) -> str:
        return _message_uri(self.account_sid, self.sid)

    def resource(self) -> dict[str, Any]:
        """The message as Twilio's API returns it (numbers as strings, dates in RFC 2822)."""
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": format_datetime(self.date_created),
            "date_sent": format_datetime(self.date_sent),
            "date_updated": format_datetime(self.date_updated),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": self.uri.removesuffix(".json") + "/Media.json"},
            "to": self.to,
            "uri": self.uri,
        }


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: str


@dataclass(frozen=True)
class _Refusal:
    status: int
    code: int


@dataclass(frozen=True)
class _Hang:
    seconds: float
    store: bool


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: dict[str, Any]
    delay: float = 0.0


class _ApiError(Exception):
    def __init__(self, status: int, code: int | None = None, message: str | None = None) -> None:
        self.status = status
        self.code = code or _DEFAULT_CODE_FOR_STATUS.get(status, status)
        self.message = message or _ERROR_MESSAGES.get(self.code, f"Twilio error {self.code}")
        super().__init__(self.message)

    def answer(self) -> _Answer:
        payload = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        return _Answer(self.status, payload)


class FakeTwilio:
    """See the module docstring for the whole API."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        record_requests: bool = True,
    ) -> None:
        self.account_sid = account_sid
        # Off for benchmarks: 100,000 recorded requests with their headers weigh hundreds of MB.
        self.record_requests = record_requests
        self.auth_token = auth_token
        self.webhook_timeout = 10.0
        self._address = (host, port)
        self._verbose = verbose
        self._lock = threading.Lock()
        # Set on stop() so that hanging or slow answers wake up instead of holding the server.
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._latency = 0.0
        self._requests: list[RecordedRequest] = []
        self._messages: dict[str, FakeMessage] = {}
        self._texts_to: dict[str, list[str]] = {}  # number -> sids, oldest first
        self._arrivals: dict[str, threading.Event] = {}  # numbers someone waits on -> set on a new text
        self._faults: deque[_Refusal | _Hang] = deque()
        self._refused_recipients: dict[str, int] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        if self._server is not None:
            raise RuntimeError("FakeTwilio is already running")
        self._stopping.clear()
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        with self._lock:  # wake whoever waits for a text
            for arrived in self._arrivals.values():
                arrived.set()
        server.shutdown()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeTwilio is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- what happened -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._messages.values())

    def messages_to(self, number: str) -> list[FakeMessage]:
        return [message for message in self.messages if message.to == number]

    def count_by_recipient(self) -> dict[str, int]:
        return dict(Counter(message.to for message in self.messages))

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._texts_to.clear()
            self._faults.clear()
            self._refused_recipients.clear()
            self._latency = 0.0

    def wait_for_text(self, number: str, timeout: float) -> list[FakeMessage]:
        """The texts to `number`, oldest first, waiting up to `timeout` seconds for the first one."""
        with self._lock:
            if not self._texts_to.get(number):
                arrived = self._arrivals.setdefault(number, threading.Event())
            else:
                arrived = None
        if arrived is not None:
            arrived.wait(timeout)
        with self._lock:
            return [self._messages[sid] for sid in self._texts_to.get(number, ())]

    # -- faults ------------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, seconds)

    def fail_next(self, n: int, status: int = 500, code: int | None = None) -> None:
        """The next n message POSTs answer this HTTP error; nothing is stored."""
        self._queue_faults(n, _Refusal(status, code or _DEFAULT_CODE_FOR_STATUS.get(status, status)))

    def fail_next_with_code(self, n: int, code: int, status: int = 400) -> None:
        """The next n message POSTs are refused with a (permanent) Twilio error code."""
        self._queue_faults(n, _Refusal(status, code))

    def hang_next(self, n: int, seconds: float, *, store: bool = True) -> None:
        """The next n message POSTs answer only after `seconds`, meant to outlast the client's timeout.

        With store=True the message is accepted before the wait: Twilio sent it, the answer got lost.
        """
        self._queue_faults(n, _Hang(seconds, store))

    def fail_for(self, number: str, code: int) -> None:
        """Refuse every message to `number` with this Twilio code (HTTP 400)."""
        with self._lock:
            self._refused_recipients[number] = code

    def _queue_faults(self, n: int, fault: _Refusal | _Hang) -> None:
        with self._lock:
            self._faults.extend([fault] * n)

    # -- webhooks ----------------------------------------------------------------------------

    def deliver(self, sid: str, status: str = "delivered", error_code: int | None = None) -> WebhookResponse:
        """Move a message to `status` and POST its StatusCallback, as Twilio does on a delivery report."""
        with self._lock:
            message = self._messages.get(sid)
            if message is None:
                raise KeyError(f"no message {sid}")
            if not message.status_callback:
                raise ValueError(f"message {sid} was created without a StatusCallback")
            message = replace(
                message,
                status=status,
                error_code=error_code,
                error_message=_ERROR_MESSAGES.get(error_code) if error_code else None,
                date_updated=_now(),
            )
            self._messages[sid] = message
        return self._post_signed(message.status_callback or "", _status_callback_params(message))

    def deliver_all(self, status: str = "delivered") -> list[WebhookResponse]:
        """deliver() every message that has a StatusCallback and is still in flight."""
        pending = [m.sid for m in self.messages if m.status_callback and m.status in IN_FLIGHT]
        return [self.deliver(sid, status) for sid in pending]

    def send_inbound(self, url: str, from_: str, to: str, body: str) -> WebhookResponse:
        """POST an incoming SMS to the app's webhook, as Twilio does when a resident texts us."""
        sid = _new_sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(_num_segments(body)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
        }
        return self._post_signed(url, params)

    def _post_signed(self, url: str, params: dict[str, str]) -> WebhookResponse:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("webhook URLs must be http:// or https://")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, params),
        }
        # S310 guards against file:// and custom schemes, and the scheme was checked above.
        data = urlencode(params).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.webhook_timeout) as response:  # noqa: S310
                return WebhookResponse(response.status, response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            return WebhookResponse(error.code, error.read().decode("utf-8", "replace"))

    # -- the API, called by the request handler ----------------------------------------------

    def _record(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]) -> None:
        if not self.record_requests:
            return
        with self._lock:
            self._requests.append(RecordedRequest(method, path, params, headers, _now()))

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _answer(self, method: str, path: str, params: dict[str, str], authorization: str | None) -> _Answer:
        try:
            match = _MESSAGES_PATH.match(path)
            if not self._authorized(authorization):
                raise _ApiError(401)
            if match is None or match["account"] != self.account_sid:
                raise _ApiError(404)
            if method == "POST" and match["sid"] is None:
                return self._create(params)
            if method == "GET" and match["sid"] is None:
                return self._list(params)
            if method == "GET":
                return self._fetch(match["sid"])
            raise _ApiError(405, 20004)
        except _ApiError as error:
            return error.answer()

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        return hmac.compare_digest(f"{user}:{password}".encode(), expected)

    def _create(self, params: dict[str, str]) -> _Answer:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if isinstance(fault, _Refusal):
            raise _ApiError(fault.status, fault.code)
        _validate_create(params)
        with self._lock:
            refusal_code = self._refused_recipients.get(params["To"])
        if refusal_code is not None:
            raise _ApiError(400, refusal_code)
        message = self._new_message(params)
        if not isinstance(fault, _Hang) or fault.store:
            with self._lock:
                self._messages[message.sid] = message
                self._texts_to.setdefault(message.to, []).append(message.sid)
                arrived = self._arrivals.pop(message.to, None)
            if arrived is not None:
                arrived.set()
        return _Answer(201, message.resource(), delay=fault.seconds if isinstance(fault, _Hang) else 0.0)

    def _new_message(self, params: dict[str, str]) -> FakeMessage:
        now = _now()
        service = params.get("MessagingServiceSid") or None
        from_ = params.get("From") or None
        return FakeMessage(
            sid=_new_sid("SM"),
            account_sid=self.account_sid,
            to=params["To"],
            from_=from_,
            messaging_service_sid=service,
            body=params["Body"],
            # Twilio says "accepted" while a Messaging Service still has to pick the sender.
            status="accepted" if service and not from_ else "queued",
            status_callback=params.get("StatusCallback") or None,
            num_segments=_num_segments(params["Body"]),
            date_created=now,
            date_updated=now,
            date_sent=now,
        )

    def _fetch(self, sid: str) -> _Answer:
        with self._lock:
            message = self._messages.get(sid)
        if message is None:
            uri = _message_uri(self.account_sid, sid)
            raise _ApiError(404, 20404, f"The requested resource {uri} was not found")
        return _Answer(200, message.resource())

    def _list(self, params: dict[str, str]) -> _Answer:
        page_size = _int_param(params, "PageSize", DEFAULT_PAGE_SIZE)
        page = _int_param(params, "Page", 0)
        if not 1 <= page_size <= MAX_PAGE_SIZE or page < 0:
            raise _ApiError(400, 20001, "Invalid paging parameters")
        # Twilio lists newest first.
        matching = [m for m in reversed(self.messages) if _matches(m, params)]
        start = _page_start(matching, params.get("PageToken"), page, page_size)
        records = matching[start : start + page_size]
        has_next = start + page_size < len(matching)
        filters = {key: params[key] for key in _LIST_FILTERS if key in params}
        list_uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

        def page_uri(number: int, token: str | None = None) -> str:
            query = {**filters, "PageSize": page_size, "Page": number}
            return f"{list_uri}?{urlencode({**query, 'PageToken': token} if token else query)}"

        payload = {
            "end": start + max(len(records) - 1, 0),
            "first_page_uri": page_uri(0),
            "messages": [m.resource() for m in records],
            "next_page_uri": page_uri(page + 1, "PA" + records[-1].sid) if has_next else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page, params.get("PageToken")),
        }
        return _Answer(200, payload)


def _message_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"


def _validate_create(params: dict[str, str]) -> None:
    if not params.get("To"):
        raise _ApiError(400, 21604)
    if not (params.get("From") or params.get("MessagingServiceSid")):
        raise _ApiError(400, 21603)
    if not params.get("Body"):
        raise _ApiError(400, 21602)
    if len(params["Body"]) > 1600:
        raise _ApiError(400, 21617)


def _matches(message: FakeMessage, params: dict[str, str]) -> bool:
    if "To" in params and message.to != params["To"]:
        return False
    if "From" in params and message.from_ != params["From"]:
        return False
    sent_on = message.date_sent.astimezone(UTC).date()
    comparisons = {"DateSent": sent_on.__eq__, "DateSent<": sent_on.__le__, "DateSent>": sent_on.__ge__}
    return all(comparisons[key](_filter_date(params[key])) for key in _DATE_FILTERS if key in params)


def _filter_date(value: str) -> date:
    """Twilio documents YYYY-MM-DD; the Python SDK sends YYYY-MM-DDTHH:MM:SSZ. Both compare by date."""
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _ApiError(400, 20001, f"Invalid date value {value!r}") from None


def _page_start(matching: list[FakeMessage], token: str | None, page: int, page_size: int) -> int:
    # A PageToken names the last record of the previous page, so paging stays stable while
    # new messages arrive at the front of the list.
    if token and token.startswith("PA"):
        sids = [m.sid for m in matching]
        if token[2:] in sids:
            return sids.index(token[2:]) + 1
    return page * page_size


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except ValueError:
        raise _ApiError(400, 20001, f"Invalid {name}") from None


def _status_callback_params(message: FakeMessage) -> dict[str, str]:
    params = {
        "AccountSid": message.account_sid,
        "ApiVersion": API_VERSION,
        "MessageSid": message.sid,
        "MessageStatus": message.status,
        "SmsSid": message.sid,
        "SmsStatus": message.status,
        "To": message.to,
    }
    if message.from_:
        params["From"] = message.from_
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.error_code is not None:
        params["ErrorCode"] = str(message.error_code)
    return params


def _num_segments(body: str) -> int:
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in body):
        units, single, multipart = sum(2 if c in _GSM7_EXTENDED else 1 for c in body), 160, 153
    else:
        units, single, multipart = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / multipart)


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _now() -> datetime:
    return datetime.now(UTC)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging answer must never keep the process alive
    request_queue_size = 1024  # a fan-out opens many connections at once; the default backlog is 5

    def __init__(self, address: tuple[str, int], fake: FakeTwilio) -> None:
        super().__init__(address, _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as Twilio's API does, and no Nagle delay: headers and body leave in two writes, and
    # with Nagle the body would wait for the client's delayed ACK (~40 ms) on every answer.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        if method == "GET" and url.path == "/_phone/messages.json":
            self._phone(_first_values(url.query))
            return
        params = _first_values(self._read_body() if method == "POST" else url.query)
        fake._record(method, url.path, params, dict(self.headers.items()))
        fake._wait(fake.latency)
        answer = fake._answer(method, url.path, params, self.headers.get("Authorization"))
        fake._wait(answer.delay)
        self._send_json(answer.status, answer.payload)

    def _phone(self, params: dict[str, str]) -> None:
        try:
            wait = min(max(float(params.get("wait", "0")), 0.0), 60.0)
        except ValueError:
            wait = 0.0
        texts = self.server.fake.wait_for_text(params.get("To", ""), wait)
        self._send_json(200, {"messages": [message.resource() for message in texts]})

    def _read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8")

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Twilio-Request-Id", _new_sid("RQ"))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a hang outlasted its timeout): that is the point of a hang

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake._verbose:
            super().log_message(format, *args)


def _first_values(query: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Twilio Messages API until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--account-sid", default="AC" + "0" * 32)
    parser.add_argument("--auth-token", default="fake-twilio-auth-token")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    args = parser.parse_args(argv)
    fake = FakeTwilio(
        args.account_sid, args.auth_token, host=args.host, port=args.port, verbose=not args.quiet
    )
    fake.latency = args.latency
    with fake:
        print(f"Fake Twilio at {fake.base_url}, account {fake.account_sid}; Ctrl-C stops it", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
