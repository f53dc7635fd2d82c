from __future__ import annotations

from engage.settings import GatewayKind, Settings
from engage.sms.console import ConsoleGateway
from engage.sms.gateway import SmsGateway


def sender_of(settings: Settings) -> str:
    """Who the texts come from, as Twilio limits it: the Messaging Service, else the number."""
    if settings.sms_gateway is GatewayKind.CONSOLE:
        return "console"
    return settings.twilio_messaging_service_sid or settings.twilio_from or "twilio"


def make_gateway(settings: Settings) -> SmsGateway:
    if settings.sms_gateway is GatewayKind.CONSOLE:
        return ConsoleGateway(settings.outbox_path)
    from engage.sms.twilio_gateway import TwilioGateway

    assert settings.twilio_account_sid and settings.twilio_auth_token  # checked by Settings
    return TwilioGateway(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        from_number=settings.twilio_from,
        api_base_url=settings.twilio_api_base_url,
        timeout=settings.sms_gateway_timeout,
    )
