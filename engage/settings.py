"""Settings from the environment: the one place that reads it.

A bad or missing value raises ConfigError naming the variable; entry points turn it into one line on
stderr and exit code 2, so a misconfigured deployment stops before serving anything.
"""

from __future__ import annotations

import ipaddress
import os
import zoneinfo
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Self

import phonenumbers
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from engage import keys

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused outside dev, see below


class ConfigError(Exception):
    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class GatewayKind(StrEnum):
    CONSOLE = "console"
    TWILIO = "twilio"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    engage_env: Environment = Environment.DEV
    database_url: str = ""
    redis_url: str | None = None
    sms_gateway: GatewayKind = GatewayKind.CONSOLE
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_from: str | None = None
    twilio_api_base_url: str | None = None
    # The address links in texts point at. Unset, it is this machine on PORT, so that `PORT=9000 make
    # run` texts links that open; production sets it to the public https address.
    public_base_url: str = ""  # filled in by _complete when unset
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str = DEV_SECRET_KEY
    # Previous keys, separated by commas or spaces: they no longer sign anything but still verify what
    # they signed (rotation; see docs/security.md).
    secret_key_fallbacks: str = ""
    default_region: str = "CN"
    timezone: str = "Asia/Shanghai"
    var_dir: Path = Field(default=ROOT / "var")
    sms_signature: str = "【沈河区委组织部】"
    # The signature of English texts: GSM-7 characters only, so an English notice is not made UCS-2
    # (70 characters a segment instead of 160) by the Chinese signature's brackets and characters.
    sms_signature_en: str = "[Shenhe District Organization Dept] "
    # The contracted price of one SMS segment and its currency: the estimate shown before sending.
    sms_price_per_segment: Decimal = Field(default=Decimal("0.05"), ge=0)
    sms_price_currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    login_attempts_per_15_minutes: int = Field(default=10, ge=1)
    # Database connections each web process keeps open (PostgreSQL allows 100 by default in all).
    db_pool_size: int = Field(default=20, ge=1, le=200)
    # Codes a single client address may request in an hour (a household or office shares one address).
    code_requests_per_ip_per_hour: int = Field(default=30, ge=1)
    # Codes tried (right or wrong) for one number, and from one client address, in an hour. A code burns
    # after 5 wrong tries anyway; these stop a client from probing many numbers (docs/security.md).
    code_checks_per_number_per_hour: int = Field(default=20, ge=1)
    # Codes the whole district may be sent in an hour (sign-up and objections): a ceiling on SMS cost.
    codes_per_hour: int = Field(default=500, ge=1)
    code_checks_per_ip_per_hour: int = Field(default=60, ge=1)
    # Longest text a template may render to, in SMS segments (each one is billed); see engage.sms.segments.
    sms_max_segments: int = Field(default=3, ge=1)
    # Public notice periods (engage.calendar): the default length in working days, the end of
    # office hours (HH:MM, local) at which a period closes, and the working-day calendar file (None: the
    # bundled engage/data/workdays-cn.csv). A calendar file that does not parse stops the boot.
    notice_period_days: int = Field(default=5, ge=1, le=60)
    notice_period_closes: str = "17:30"
    workday_calendar: Path | None = None
    # Objections to a notice one client address may file in an hour, one phone number in a day.
    objections_per_ip_per_hour: int = Field(default=10, ge=1)
    objections_per_phone_per_day: int = Field(default=3, ge=1)
    # Texts a second per sender (Messaging Service or number), shared by every worker through Redis.
    # Ask Twilio what the sender is allowed: 1 for a long code, 100 for a short code or a service pool.
    sms_rate_per_second: float = Field(default=100.0, gt=0, le=100_000)
    # Non-urgent notices are not texted in these local hours ("" texts at any hour); see engage.quiet_hours.
    sms_quiet_hours: str = "21:00-08:00"
    # Regions (ISO codes, comma-separated) whose numbers texts typed by hand may go to: a raw message
    # to another country is refused (SMS pumping, docs/security.md).
    sms_allowed_regions: str = "CN"
    # A batch with no progress for this long is re-queued; a text claimed this long ago (beyond the
    # gateway's timeout) without a gateway id is looked up at the gateway. See workers.reconcile.
    sms_stall_seconds: int = Field(default=30, ge=1, le=3600)
    # How long a send waits for the gateway's answer before it counts as "maybe sent".
    sms_gateway_timeout: float = Field(default=10.0, gt=0, le=120)
    # The sweeper (workers.sweep) enqueues work the database says is due but no job covers: texts
    # queued, fan-outs, period closes, stage edges, panel reminders and lapses due this long ago. Until
    # then the job enqueued after the commit (or rq's scheduler) is expected to do it.
    sweep_after_seconds: int = Field(default=30, ge=0, le=3600)
    # Addresses or networks (comma-separated, e.g. "10.0.0.5, 10.1.0.0/16") of the TLS proxies in front
    # of `engage serve`: only a request from one of them has its X-Forwarded-For honoured. Default none:
    # the client is the connecting address, and a header a client sets is ignored (docs/security.md).
    trusted_proxies: str = ""
    # Slow clients (`engage serve`): a request must arrive whole (headers and body) within this many
    # seconds of its first byte or of the connection, and an idle keep-alive connection closes after
    # the second. The TLS proxy in front keeps its own, shorter header and body timeouts.
    http_request_timeout: float = Field(default=20.0, gt=0, le=600)
    http_keep_alive_timeout: int = Field(default=5, ge=1, le=600)
    # Retention (days), enforced by the daily purge (engage.privacy.purge, `engage privacy purge`):
    # sign-up codes, the record of inbound texts, the number and body of sent texts, and the name and
    # number of a named objection once its notice period has closed.
    retain_codes_days: int = Field(default=7, ge=1, le=3650)
    retain_inbound_days: int = Field(default=90, ge=1, le=3650)
    retain_message_numbers_days: int = Field(default=180, ge=1, le=3650)
    retain_objection_contacts_days: int = Field(default=180, ge=1, le=3650)
    # Who may read /metrics: a scraper sending `Authorization: Bearer <METRICS_TOKEN>`; unset, only a
    # client on this machine (docs/operations.md).
    metrics_token: str | None = Field(default=None, min_length=16)

    def signature(self, locale: str) -> str:
        """The sender's signature in the language of the text it starts."""
        return self.sms_signature_en if locale == "en" else self.sms_signature

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, *args, **kwargs):  # type: ignore[no-untyped-def]
        # load_settings() reads the environment itself, so tests can hand in their own.
        return (init_settings,)

    @field_validator("database_url")
    @classmethod
    def _database_url_parses(cls, value: str) -> str:
        if not value:
            return value
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL (e.g. postgresql+psycopg://user@host/db)") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {url.get_backend_name()!r}: use postgresql or sqlite")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @field_validator("public_base_url", "twilio_api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else None

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (a two-letter code such as CN)")
        return value.upper()

    @field_validator("sms_allowed_regions")
    @classmethod
    def _known_regions(cls, value: str) -> str:
        regions = [part.strip().upper() for part in value.replace(" ", ",").split(",") if part.strip()]
        unknown = [region for region in regions if region not in phonenumbers.SUPPORTED_REGIONS]
        if unknown or not regions:
            raise ValueError(
                f"unknown region {unknown[0]!r} (two-letter codes such as CN)"
                if unknown
                else "name at least one region"
            )
        return ",".join(regions)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        networks = [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"not an address or network: {network!r} (e.g. 10.0.0.5 or 10.0.0.0/8)"
                ) from None
        return ",".join(networks)

    @field_validator("sms_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        from engage.quiet_hours import parse_window

        parse_window(value)  # raises ValueError naming the expected form
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("notice_period_closes")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        from engage.calendar import parse_close_time

        parse_close_time(value)
        return value.strip()

    @field_validator("workday_calendar")
    @classmethod
    def _calendar_parses(cls, value: Path | None) -> Path | None:
        from engage.calendar import CalendarError, load_calendar

        if value is not None:
            try:
                load_calendar(value, zoneinfo.ZoneInfo("UTC"))
            except CalendarError as error:
                raise ValueError(str(error)) from None
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.var_dir / 'engage.db'}")
        if not self.public_base_url:  # unset, or set empty (the validator gives None)
            object.__setattr__(self, "public_base_url", f"http://127.0.0.1:{self.port}")
        self._check_keys()
        if self.sms_gateway is GatewayKind.TWILIO:
            for name in ("twilio_account_sid", "twilio_auth_token"):
                if not getattr(self, name):
                    raise ConfigError(name.upper(), "required when SMS_GATEWAY=twilio")
            if not (self.twilio_messaging_service_sid or self.twilio_from):
                raise ConfigError(
                    "TWILIO_MESSAGING_SERVICE_SID", "or TWILIO_FROM is required when SMS_GATEWAY=twilio"
                )
        self._check_environment_is_chosen()
        return self

    def _check_environment_is_chosen(self) -> None:
        # Dev mode serves /dev/outbox, drops the Secure cookie flag and uses a published key: a server
        # that can text real phones or answers on https must not end up in it by omission.
        if "engage_env" in self.model_fields_set:
            return
        if self.sms_gateway is GatewayKind.TWILIO:
            raise ConfigError("ENGAGE_ENV", "must be set (prod, test or dev) when SMS_GATEWAY=twilio")
        if self.public_base_url.startswith("https://"):
            raise ConfigError("ENGAGE_ENV", "must be set (prod, test or dev) when PUBLIC_BASE_URL is https")

    def _check_keys(self) -> None:
        if self.engage_env is not Environment.DEV and self.secret_key == DEV_SECRET_KEY:
            raise ConfigError("SECRET_KEY", f"required when ENGAGE_ENV={self.engage_env.value}")
        if len(self.secret_key) < 16:
            raise ConfigError("SECRET_KEY", "must be at least 16 characters")
        if self.engage_env is Environment.PROD:
            for variable, key in [("SECRET_KEY", self.secret_key)] + [
                ("SECRET_KEY_FALLBACKS", old) for old in self.previous_keys
            ]:
                problem = keys.weakness(key)
                if problem:
                    raise ConfigError(variable, problem)

    @property
    def allowed_regions(self) -> frozenset[str]:
        return frozenset(self.sms_allowed_regions.split(","))

    @property
    def previous_keys(self) -> tuple[str, ...]:
        return tuple(self.secret_key_fallbacks.replace(",", " ").split())

    def key(self, purpose: keys.Purpose) -> str:
        """The key that signs for this purpose now."""
        return keys.derive(self.secret_key, purpose)

    def verifying_keys(self, purpose: keys.Purpose) -> tuple[str, ...]:
        """Every key whose signatures for this purpose are still accepted: the current one first."""
        derived = tuple(keys.derive(secret, purpose) for secret in (self.secret_key, *self.previous_keys))
        if purpose is keys.Purpose.PERSONAL_LINK:
            # Invitation links texted before keys were derived were signed with SECRET_KEY itself and
            # may still be waiting for an answer; nothing else signs with the bare key any more.
            return (*derived, self.secret_key, *self.previous_keys)
        return derived

    @property
    def is_dev(self) -> bool:
        return self.engage_env is Environment.DEV

    @property
    def outbox_path(self) -> Path:
        return self.var_dir / "outbox.jsonl"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Read settings from `environ` (default: the process environment), raising ConfigError."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "settings"
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, ConfigError):
            raise cause from None
        # The input is left out on purpose: URLs and tokens may carry secrets.
        message = str(cause) if cause else first["msg"]
        raise ConfigError(variable, message) from None
