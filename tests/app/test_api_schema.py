"""A bounded schemathesis run over every operation in /schema/openapi.json, against a live server:
no 5xx, no response outside the documented schema. New endpoints join the run automatically.

Schema-valid data may still be refused with a documented 400 (a well-formed string that is not a real
phone number), so the "valid data must be accepted" check is left out; every other check runs."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from engage.settings import Settings
from tests.factories import token_for
from tests.support import LiveServer

EXAMPLES_PER_OPERATION = 30


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    run()


@pytest.mark.slow
def test_every_api_operation_answers_within_its_schema(live_server: LiveServer, settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {token_for(settings, 'admin@fuzz.cn', 'admin')}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    failures = []
    for operation in operations:
        try:
            _fuzz(operation, headers)
        except Exception as failure:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
