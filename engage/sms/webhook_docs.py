"""How the gateway webhooks appear in the OpenAPI document: their form fields, the signature rule and
their answers. They are not part of the bearer-token API; Twilio calls them."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Parameter, RequestBody, Schema

from engage.web.deps import Problem

SIGNATURE_RULE = (
    "Twilio signs each request: X-Twilio-Signature is the Base64 HMAC-SHA1, keyed with the account's auth "
    "token (TWILIO_AUTH_TOKEN), of PUBLIC_BASE_URL followed by the path (and query), then every posted "
    "parameter's name and value, sorted by name. A missing or wrong signature, or a server with no Twilio "
    "credentials, is answered 403."
)

INBOUND_FIELDS = {
    "MessageSid": "the text's id at the gateway (at most 64 characters); each is handled once",
    "From": "the sender's number, E.164; a short code or an alphanumeric sender gets no answer",
    "To": "our number",
    "Body": "the text: a keyword (JOIN/参加, STOP/TD/退订, START, HELP/帮助), a dialogue answer, digits...",
}
STATUS_FIELDS = {
    "MessageSid": "the id the gateway gave a text we sent",
    "MessageStatus": "queued, sending, sent, delivered, undelivered or failed",
    "ErrorCode": "the gateway's error code, when the text failed",
}

FORBIDDEN = ResponseSpec(
    Problem, generate_examples=False, description="missing or wrong X-Twilio-Signature; no Twilio credentials"
)


def signed_form(fields: dict[str, str], required: list[str]) -> type[Operation]:
    """An operation whose body is Twilio's form post, with its signature header."""

    @dataclass
    class SignedForm(Operation):
        def __post_init__(self) -> None:
            properties: dict[str, Schema | object] = {
                name: Schema(type=OpenAPIType.STRING, description=description)
                for name, description in fields.items()
            }
            schema = Schema(type=OpenAPIType.OBJECT, properties=properties, required=required)  # type: ignore[arg-type]
            self.request_body = RequestBody(
                content={"application/x-www-form-urlencoded": OpenAPIMediaType(schema=schema)}, required=True
            )
            signature = Parameter(
                name="X-Twilio-Signature",
                param_in="header",
                required=True,
                schema=Schema(type=OpenAPIType.STRING),
                description=SIGNATURE_RULE,
            )
            self.parameters = [*(self.parameters or []), signature]

    return SignedForm
