"""TwilioGateway through the real twilio SDK, over real HTTP, against the local fake Twilio."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from engage.sms.gateway import GatewayError
from engage.sms.twilio_errors import rewrite_twilio_url
from engage.sms.twilio_gateway import TwilioGateway
from engage.testing.fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
SERVICE_SID = "MG" + "2" * 32
RESIDENT = "+8613800000001"
OTHER_RESIDENT = "+8613800000002"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as running:
        yield running


@pytest.fixture
def gateway(fake: FakeTwilio) -> TwilioGateway:
    return TwilioGateway(
        ACCOUNT_SID, AUTH_TOKEN, messaging_service_sid=SERVICE_SID, api_base_url=fake.base_url, timeout=2.0
    )


@dataclass(frozen=True)
class Received:
    path: str
    params: dict[str, str]
    signature: str


class WebhookReceiver:
    """Stands in for the app's webhook endpoint: keeps what arrives, answers empty TwiML."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = self.rfile.read(int(self.headers["Content-Length"])).decode()
                params = {key: values[0] for key, values in parse_qs(form).items()}
                receiver.received.append(Received(self.path, params, self.headers["X-Twilio-Signature"]))
                answer = b"<Response></Response>"
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiving = WebhookReceiver()
    receiving.thread.start()
    yield receiving
    receiving.server.shutdown()
    receiving.server.server_close()


def raised(gateway: TwilioGateway, to: str = RESIDENT) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        gateway.send(to, "您的抽选结果已公布")
    return caught.value


def test_sent_message_is_recorded_with_recipient_body_service_and_callback(
    fake: FakeTwilio, gateway: TwilioGateway
) -> None:
    result = gateway.send(RESIDENT, "您已入选，请回复1确认", status_callback="https://engage.test/sms/status")

    [message] = fake.messages
    assert result.gateway_id == message.sid
    assert result.gateway_id.startswith("SM") and len(result.gateway_id) == 34
    assert result.status == "accepted"  # a Messaging Service picks the sender later
    assert (message.to, message.body) == (RESIDENT, "您已入选，请回复1确认")
    assert message.messaging_service_sid == SERVICE_SID
    assert message.status_callback == "https://engage.test/sms/status"
    [request] = fake.requests
    assert request.params["MessagingServiceSid"] == SERVICE_SID and "From" not in request.params


def test_from_number_mode_sends_from_the_number(fake: FakeTwilio) -> None:
    gateway = TwilioGateway(ACCOUNT_SID, AUTH_TOKEN, from_number="+15005550006", api_base_url=fake.base_url)

    result = gateway.send(RESIDENT, "hello")

    assert result.status == "queued"
    [message] = fake.messages
    assert (message.from_, message.messaging_service_sid) == ("+15005550006", None)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limit_and_server_errors_are_transient_and_store_nothing(
    fake: FakeTwilio, gateway: TwilioGateway, status: int
) -> None:
    fake.fail_next(1, status=status)

    error = raised(gateway)

    assert error.transient and error.http_status == status
    assert fake.messages == []
    assert gateway.send(RESIDENT, "retry").status == "accepted"  # the fault was used up


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_twilio_refusals_are_permanent_and_carry_the_code(
    fake: FakeTwilio, gateway: TwilioGateway, code: int
) -> None:
    fake.fail_next_with_code(1, code=code)

    error = raised(gateway)

    assert not error.transient
    assert (error.http_status, error.code) == (400, code)


def test_error_messages_never_contain_the_phone_number(fake: FakeTwilio, gateway: TwilioGateway) -> None:
    fake.fail_for(RESIDENT, 21211)

    assert RESIDENT not in str(raised(gateway))


def test_a_refused_recipient_is_refused_every_time_and_others_still_get_through(
    fake: FakeTwilio, gateway: TwilioGateway
) -> None:
    fake.fail_for(RESIDENT, 21610)

    assert raised(gateway).code == 21610
    assert raised(gateway).code == 21610
    gateway.send(OTHER_RESIDENT, "hello")
    assert fake.count_by_recipient() == {OTHER_RESIDENT: 1}


def test_empty_body_is_refused_permanently_with_21602(gateway: TwilioGateway) -> None:
    with pytest.raises(GatewayError) as caught:
        gateway.send(RESIDENT, "")

    assert (caught.value.transient, caught.value.code) == (False, 21602)


def test_wrong_credentials_are_a_permanent_error(fake: FakeTwilio) -> None:
    gateway = TwilioGateway(
        ACCOUNT_SID, "wrong-token", messaging_service_sid=SERVICE_SID, api_base_url=fake.base_url
    )

    error = raised(gateway)

    assert not error.transient
    assert (error.http_status, error.code) == (401, 20003)


def test_hang_past_the_timeout_is_transient_and_find_sent_finds_the_stored_message(fake: FakeTwilio) -> None:
    gateway = TwilioGateway(
        ACCOUNT_SID, AUTH_TOKEN, messaging_service_sid=SERVICE_SID, api_base_url=fake.base_url, timeout=0.5
    )
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake.hang_next(1, seconds=3.0, store=True)

    error = raised(gateway)

    assert error.transient and error.http_status is None
    # Reconciliation runs later; on a loaded machine the fake may store the message only after our
    # client has given up, so wait for it the way a later reconciliation pass would find it.
    deadline = time.monotonic() + 10
    while not fake.messages_to(RESIDENT) and time.monotonic() < deadline:
        time.sleep(0.05)
    [found] = gateway.find_sent(RESIDENT, since)
    assert found.gateway_id == fake.messages_to(RESIDENT)[0].sid


def test_hang_that_stores_nothing_leaves_nothing_to_find(fake: FakeTwilio) -> None:
    gateway = TwilioGateway(
        ACCOUNT_SID, AUTH_TOKEN, messaging_service_sid=SERVICE_SID, api_base_url=fake.base_url, timeout=0.5
    )
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake.hang_next(1, seconds=3.0, store=False)

    assert raised(gateway).transient
    assert gateway.find_sent(RESIDENT, since) == []


def test_unreachable_api_is_a_transient_error() -> None:
    with socket.socket() as closed:  # bind, then close: nothing listens on that port afterwards
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    gateway = TwilioGateway(
        ACCOUNT_SID, AUTH_TOKEN, messaging_service_sid=SERVICE_SID, api_base_url=f"http://127.0.0.1:{port}"
    )

    assert raised(gateway).transient


def test_find_sent_ignores_other_recipients_and_messages_before_since(
    fake: FakeTwilio, gateway: TwilioGateway
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    sent = gateway.send(RESIDENT, "one")
    gateway.send(OTHER_RESIDENT, "two")

    assert gateway.find_sent(RESIDENT, before) == [sent]
    # Same calendar day, so Twilio's date filter lets it through; find_sent must still drop it.
    assert gateway.find_sent(RESIDENT, datetime.now(UTC) + timedelta(seconds=2)) == []


def test_find_sent_follows_the_pages_of_a_long_list(fake: FakeTwilio, gateway: TwilioGateway) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    sent = [gateway.send(RESIDENT, f"message {n}") for n in range(55)]  # default page size is 50

    found = gateway.find_sent(RESIDENT, since)

    assert {r.gateway_id for r in found} == {r.gateway_id for r in sent}
    pages = [r for r in fake.requests if r.method == "GET"]
    assert len(pages) == 2 and "PageToken" in pages[1].params


def test_find_sent_refuses_a_naive_datetime(gateway: TwilioGateway) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        gateway.find_sent(RESIDENT, datetime.now())  # naive on purpose


def test_fetch_of_an_unknown_sid_is_none(gateway: TwilioGateway) -> None:
    assert gateway.fetch("SM" + "0" * 32) is None


def test_fetch_shows_the_status_after_delivery(
    fake: FakeTwilio, gateway: TwilioGateway, receiver: WebhookReceiver
) -> None:
    sent = gateway.send(RESIDENT, "hello", status_callback=f"{receiver.base_url}/sms/status")

    fake.deliver(sent.gateway_id, status="undelivered", error_code=30003)

    assert gateway.fetch(sent.gateway_id) == type(sent)(sent.gateway_id, "undelivered")
    assert receiver.received[0].params["ErrorCode"] == "30003"


def test_delivery_callback_is_signed_like_twilio_and_tampering_breaks_the_signature(
    fake: FakeTwilio, gateway: TwilioGateway, receiver: WebhookReceiver
) -> None:
    callback_url = f"{receiver.base_url}/sms/status?resident=42"
    sent = gateway.send(RESIDENT, "hello", status_callback=callback_url)

    answer = fake.deliver(sent.gateway_id)

    assert answer.status == 200
    [callback] = receiver.received
    assert callback.params["MessageSid"] == sent.gateway_id
    assert callback.params["MessageStatus"] == callback.params["SmsStatus"] == "delivered"
    assert (callback.params["To"], callback.params["AccountSid"]) == (RESIDENT, ACCOUNT_SID)
    validator = RequestValidator(AUTH_TOKEN)
    assert validator.validate(callback_url, callback.params, callback.signature)
    tampered = {**callback.params, "MessageStatus": "failed"}
    assert not validator.validate(callback_url, tampered, callback.signature)


def test_deliver_all_reports_every_message_in_flight_once(
    fake: FakeTwilio, gateway: TwilioGateway, receiver: WebhookReceiver
) -> None:
    for number in (RESIDENT, OTHER_RESIDENT):
        gateway.send(number, "hello", status_callback=f"{receiver.base_url}/sms/status")

    assert [a.status for a in fake.deliver_all()] == [200, 200]
    assert fake.deliver_all() == []
    assert sorted(r.params["To"] for r in receiver.received) == [RESIDENT, OTHER_RESIDENT]


def test_inbound_sms_is_signed_and_returns_the_apps_answer(
    fake: FakeTwilio, receiver: WebhookReceiver
) -> None:
    url = f"{receiver.base_url}/sms/inbound"

    answer = fake.send_inbound(url, from_=RESIDENT, to="+15005550006", body="1")

    assert (answer.status, answer.body) == (200, "<Response></Response>")
    [inbound] = receiver.received
    assert inbound.params["From"] == RESIDENT
    assert (inbound.params["Body"], inbound.params["NumMedia"]) == ("1", "0")
    assert RequestValidator(AUTH_TOKEN).validate(url, inbound.params, inbound.signature)


def test_latency_is_honoured(fake: FakeTwilio, gateway: TwilioGateway) -> None:
    fake.latency = 0.2
    started = time.monotonic()

    gateway.send(RESIDENT, "hello")

    assert time.monotonic() - started >= 0.2


def test_count_by_recipient_counts_each_accepted_message(fake: FakeTwilio, gateway: TwilioGateway) -> None:
    gateway.send(RESIDENT, "one")
    gateway.send(RESIDENT, "one again")
    gateway.send(OTHER_RESIDENT, "two")
    fake.fail_next(1, status=503)
    raised(gateway, OTHER_RESIDENT)

    assert fake.count_by_recipient() == {RESIDENT: 2, OTHER_RESIDENT: 1}
    fake.reset()
    assert fake.count_by_recipient() == {} and fake.requests == []


def test_twilio_urls_move_to_the_base_url_and_other_urls_stay() -> None:
    path_and_query = "/2010-04-01/Accounts/AC1/Messages.json?To=%2B86&PageSize=50"
    url = "https://api.us1.twilio.com" + path_and_query

    assert rewrite_twilio_url(url, "http://127.0.0.1:8089") == "http://127.0.0.1:8089" + path_and_query
    assert (
        rewrite_twilio_url(url, "https://proxy.test/twilio/") == "https://proxy.test/twilio" + path_and_query
    )
    assert rewrite_twilio_url("https://example.com/x", "http://127.0.0.1:8089") == "https://example.com/x"
