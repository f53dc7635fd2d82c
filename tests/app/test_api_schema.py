"""A bounded schemathesis run over every operation in /schema/openapi.json, against a live server:
no 5xx, no response outside the documented schema. New endpoints join the run automatically.

Schema-valid data may still be refused with a documented 400 (a well-formed string that is not a real
phone number), so the "valid data must be accepted" check is left out; every other check runs."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
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


def _example_path(template: str) -> str:
    """A concrete path for a route template: numbers for int parameters, a word for the rest."""
    path = re.sub(r"\{[^}:]+:int\}", "1", template)
    path = re.sub(r"\{[^}:]+:path\}", "x/y", path)
    return re.sub(r"\{[^}]+\}", "abc", path)


def test_options_lists_every_method_of_its_path_over_the_whole_route_table(
    app: Litestar, client: TestClient[Litestar]
) -> None:
    """S16 (allow_header_conformance): OPTIONS on a path served by two controllers listed only the first
    one's methods (`Allow: GET, OPTIONS` on /api/v1/ballots/{token}, which also takes POST), and sat
    behind that controller's guards. Every path in the route table, without a token, must answer 204
    with exactly the methods its handlers take."""
    expected: dict[str, set[str]] = defaultdict(lambda: {"OPTIONS"})
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                expected[route.path] |= set(handler.http_methods)
    assert "POST" in expected["/api/v1/ballots/{token:str}"]
    wrong = []
    for template, methods in sorted(expected.items()):
        answer = client.options(_example_path(template))
        allow = {part.strip() for part in answer.headers.get("allow", "").split(",") if part.strip()}
        if answer.status_code != 204 or allow != methods:
            wrong.append(f"{template}: {answer.status_code} {sorted(allow)}, expected {sorted(methods)}")
        assert answer.headers["x-content-type-options"] == "nosniff"  # the security headers hold here too
    assert not wrong, "\n".join(wrong)
