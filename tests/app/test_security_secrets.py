"""The secret key (docs/security.md): production refuses guessable keys, a real deployment must name its
environment, every purpose signs with its own derived key, and old keys verify during a rotation."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.keys import Purpose
from engage.residents import tokens
from engage.residents.models import Community
from engage.settings import ConfigError, load_settings
from tests.support import make_settings

REGISTRATION = {
    "name": "Li Ming",
    "community": "wulihe",
    "age_band": "30-44",
    "gender": "male",
    "occupation": "employed",
    "participant_type": "expert",
    "expertise": "law",
    "roles": ["judge"],
    "consents": ["judge"],
}
STRONG = secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    "key",
    [
        "change-me-to-a-long-random-string",  # the .env.example placeholder
        "dev-insecure-secret-key-change-me",
        "aaaaaaaaaaaaaaaa",
        "x" * 40,
        "abcdefgh" * 5,
        # Random but short; named, so every xdist worker collects the same test id.
        pytest.param(secrets.token_urlsafe(16)[:20], id="random-but-short"),
    ],
)
def test_production_refuses_a_known_short_or_guessable_secret_key(key: str) -> None:
    """S1: ENGAGE_ENV=prod accepted the example placeholder and any 16 characters."""
    with pytest.raises(ConfigError) as raised:
        load_settings({"ENGAGE_ENV": "prod", "SECRET_KEY": key})
    assert raised.value.variable == "SECRET_KEY"
    assert load_settings({"ENGAGE_ENV": "prod", "SECRET_KEY": STRONG}).secret_key == STRONG
    # 32 random hex digits (openssl rand -hex 16) are enough
    assert load_settings({"ENGAGE_ENV": "prod", "SECRET_KEY": secrets.token_hex(16)})


def test_production_refuses_a_guessable_fallback_key() -> None:
    """S1: the keys kept for rotation are held to the same standard as the current one."""
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {
                "ENGAGE_ENV": "prod",
                "SECRET_KEY": STRONG,
                "SECRET_KEY_FALLBACKS": "change-me-to-a-long-random-string",
            }
        )
    assert raised.value.variable == "SECRET_KEY_FALLBACKS"


@pytest.mark.parametrize(
    "environ",
    [
        {
            "SMS_GATEWAY": "twilio",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM": "+15005550006",
        },
        {"PUBLIC_BASE_URL": "https://engage.example.gov.cn"},
    ],
)
def test_a_real_gateway_or_an_https_address_needs_engage_env_set(environ: dict[str, str]) -> None:
    """S1: with ENGAGE_ENV unset such a server ran as dev, with the public dev key and /dev/outbox."""
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    assert raised.value.variable == "ENGAGE_ENV"
    assert load_settings({**environ, "ENGAGE_ENV": "prod", "SECRET_KEY": STRONG}).engage_env.value == "prod"


def test_each_purpose_signs_with_its_own_key_never_the_bare_secret() -> None:
    """S1: one key signed sign-up tokens, links, CSRF tokens and phone digests alike."""
    settings = load_settings({"ENGAGE_ENV": "prod", "SECRET_KEY": STRONG})
    derived = {settings.key(purpose) for purpose in Purpose}
    assert len(derived) == len(Purpose)
    assert STRONG not in derived


@pytest.fixture
def wulihe_community(db: Session) -> None:
    db.add(Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"))
    db.commit()


def _complete(database_url: str, redis_url: str, var_dir: Path, token: str, **keys: str) -> int:
    app = create_app(make_settings(database_url, redis_url, var_dir, **keys))
    with TestClient(app=app, base_url="http://testserver.local") as client:
        return client.post("/api/v1/signup/complete", json=dict(REGISTRATION, token=token)).status_code


@pytest.mark.slow
def test_a_token_signed_with_the_bare_key_is_refused(
    wulihe_community: None, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """S1: whoever knew SECRET_KEY could sign a sign-up token for a number that never got a code."""
    forged = tokens.sign(STRONG, "signup", {"phone": "+8613780000009"}, 600)
    assert _complete(database_url, redis_url, tmp_path, forged, SECRET_KEY=STRONG) == 404


@pytest.mark.slow
def test_rotation_keeps_tokens_of_a_fallback_key_valid_until_it_is_dropped(
    wulihe_community: None, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """S1: SECRET_KEY_FALLBACKS lets a key be replaced without breaking what it signed."""
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    signed_before = load_settings({"ENGAGE_ENV": "test", "SECRET_KEY": old}).key(Purpose.SIGNUP_TOKEN)
    token = tokens.sign(signed_before, "signup", {"phone": "+8613780000009"}, 600)
    assert _complete(database_url, redis_url, tmp_path, token, SECRET_KEY=new) == 404
    assert (
        _complete(database_url, redis_url, tmp_path, token, SECRET_KEY=new, SECRET_KEY_FALLBACKS=old) == 201
    )
