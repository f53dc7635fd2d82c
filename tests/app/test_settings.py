from __future__ import annotations

import os
import subprocess
import sys

import pytest

from engage.settings import ConfigError, load_settings


def _engage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SMS_GATEWAY"}}
    return subprocess.run(
        [sys.executable, "-m", "engage", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SMS_GATEWAY": "twilio"}, "TWILIO_ACCOUNT_SID"),
        (
            {"SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"},
            "TWILIO_MESSAGING_SERVICE_SID",
        ),
        ({"DATABASE_URL": "not a url at all"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://root@localhost/db"}, "DATABASE_URL"),
        ({"ENGAGE_ENV": "prod"}, "SECRET_KEY"),
        ({"ENGAGE_ENV": "staging"}, "ENGAGE_ENV"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
        ({"DEFAULT_REGION": "XX"}, "DEFAULT_REGION"),
        ({"PUBLIC_BASE_URL": "example.org"}, "PUBLIC_BASE_URL"),
    ],
)
@pytest.mark.slow
def test_misconfiguration_stops_start_up_with_one_line_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    result = _engage(env, "db", "upgrade")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_secret_values_are_not_echoed_in_configuration_errors() -> None:
    result = _engage({"DATABASE_URL": "postgresql://user:hunter2@"}, "db", "upgrade")
    assert "hunter2" not in result.stderr


def test_defaults_give_a_sqlite_file_under_var_and_the_console_gateway(tmp_path: object) -> None:
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("var/engage.db")
    assert settings.sms_gateway.value == "console"
    assert settings.redis_url is None
    assert settings.default_region == "CN"
    assert settings.timezone == "Asia/Shanghai"


def test_twilio_gateway_accepts_a_from_number_instead_of_a_messaging_service() -> None:
    settings = load_settings(
        {
            "ENGAGE_ENV": "dev",  # a real gateway needs the environment named
            "SMS_GATEWAY": "twilio",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM": "+15005550006",
        }
    )
    assert settings.twilio_from == "+15005550006"


def test_production_needs_a_real_secret_key() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"ENGAGE_ENV": "prod"})
    assert raised.value.variable == "SECRET_KEY"
    assert (
        load_settings(
            {"ENGAGE_ENV": "prod", "SECRET_KEY": "Vq3-p9Zk_TwXr81LmYc0aNfUe4HdGs7Bj2oKi6"}
        ).engage_env.value
        == "prod"
    )


@pytest.mark.slow
def test_help_lists_every_command_with_a_one_line_description() -> None:
    from engage.cli import COMMANDS

    result = _engage({}, "--help")
    assert result.returncode == 0
    for words, summary, *_ in COMMANDS:
        line = next(line for line in result.stdout.splitlines() if f"engage {' '.join(words)} " in line)
        assert summary in line
    expected = {"run", "serve", "worker", "db upgrade", "organizer create", "token create", "audit verify"}
    assert expected <= {" ".join(words) for words, *_ in COMMANDS}
