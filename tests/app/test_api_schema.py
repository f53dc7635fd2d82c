"""A bounded schemathesis run over every operation in /schema/openapi.json, against a live server, with
every check: no 5xx, no response outside the documented schema, schema-violating data refused, and
schema-valid data accepted. New endpoints join the run automatically.

What the schema can state, it states, and the server refuses exactly that with a 400. Schema-valid data
may still break a rule no JSON Schema can state (two dates out of order, one key twice in a list, a
text too long once composed with what is stored): the answer is then a 422 naming the field. Those
rules are listed one by one below (operation and field), in docs/api.md, and, by operation, in
schemathesis.toml, which tells the schemathesis CLI to expect their 422. Any other refusal of
schema-valid data fails the run: every 400, and a 422 for a field not listed."""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from engage.settings import Settings
from tests.factories import token_for
from tests.support import LiveServer

EXAMPLES_PER_OPERATION = 30

RESCHEDULE = "PUT /api/v1/selections/{selection_id}/stages/{kind}"
# (operation, the field its refusal names) -> the rule no JSON Schema here can state.
BEYOND_THE_SCHEMA = {
    ("POST /api/v1/evaluations", "closes_at"): "after opens_at",
    ("PUT /api/v1/evaluations/{campaign_id}", "closes_at"): "after opens_at",
    ("POST /api/v1/evaluations/{campaign_id}/schedule", "closes_at"): "in the future; after opens_at",
    ("POST /api/v1/evaluations/{campaign_id}/schedule", "opens_at"): "not in the past",
    ("PUT /api/v1/evaluations/{campaign_id}", "opens_at"): "not in the past",
    ("POST /api/v1/evaluations", "community_codes"): "known communities (unknown_value)",
    ("PUT /api/v1/evaluations/{campaign_id}", "community_codes"): "known communities (unknown_value)",
    # the invitation composed with the stored campaign's subject and questions fits 3 SMS segments
    ("POST /api/v1/evaluations/{campaign_id}/contacts", "matter"): "its invitation fits 3 SMS segments",
    ("POST /api/v1/evaluations/{campaign_id}/contacts/import", "file"): "the columns and rows (a CSV body)",
    # the text publication composes from the stored campaign (title, link, signature) fits 3 segments
    ("POST /api/v1/evaluations/{campaign_id}/publish", "body_zh"): "its text fits 3 SMS segments",
    ("POST /api/v1/evaluations/{campaign_id}/publish", "body_en"): "its text fits 3 SMS segments",
    ("POST /api/v1/evaluations/{campaign_id}/publish", "title_zh"): "its title fits 200 characters",
    ("POST /api/v1/evaluations/{campaign_id}/publish", "title_en"): "its title fits 200 characters",
    # each subject (name and unit) once; the invitation naming it fits 3 SMS segments (reverse)
    ("POST /api/v1/evaluations", "subjects"): "each name and unit once; invitation fits 3 SMS",
    ("PUT /api/v1/evaluations/{campaign_id}", "subjects"): "each name and unit once; invitation fits 3 SMS",
    ("POST /api/v1/selections", "stages[].closes_at"): "after the stage opens",
    ("POST /api/v1/selections", "stages[].opens_at"): "not before the previous stage closes",
    ("POST /api/v1/selections", "posts[].advance"): "at least as many as the post's seats",
    ("POST /api/v1/selections", "rubric[].code"): "each criterion code once",
    ("POST /api/v1/selections", "rules.threshold"): "a share from 0 to 1, written 4/5, 0.8 or 80%",
    ("POST /api/v1/selections", "rules.quorum"): "a share from 0 to 1, written 4/5, 0.8 or 80%",
    ("POST /api/v1/selections", "rules.margin"): "a share from 1 to 10, written 3/2, 1.5 or 150%",
    ("POST /api/v1/selections", "rules.trim_large_share"): "a share from 0 to 1/3, written 1/10, 0.1 or 10%",
    ("POST /api/v1/selections", "rules.jury_weights"): "the weights add up to 1",
    ("POST /api/v1/selections", "rules.jury_weights.expert"): "a positive share up to 1",
    ("POST /api/v1/selections", "rules.jury_weights.deputy"): "a positive share up to 1",
    ("POST /api/v1/selections", "rules.jury_weights.resident"): "a positive share up to 1",
    ("POST /api/v1/selections", "rules.speech_weights"): "the weights add up to 1",
    ("POST /api/v1/selections", "rules.speech_weights.staff"): "a positive share up to 1",
    ("POST /api/v1/selections", "rules.speech_weights.resident"): "a positive share up to 1",
    (RESCHEDULE, "opens_at"): "not before the previous stage closes",
    (RESCHEDULE, "closes_at"): "after opens_at, and no later than the next stage opens",
    ("POST /api/v1/selections/{selection_id}/invitations", "invitees[].resident_id"): "each invitee once",
    ("PUT /api/v1/panels/{panel_id}/quotas", "quotas"): "each category and value once; a min at most its max",
    ("PUT /api/v1/panels/{panel_id}/exclusions", "candidates"): "each candidate key once",
    ("PUT /api/v1/panels/{panel_id}/quotas", "quotas[].feature"): "the values depend on the category",
    ("POST /api/v1/residents/import", "*"): "the roster's columns and rows (a CSV body)",
    # the text as sent (signature, title, body, link) fits SMS_MAX_SEGMENTS; publishing counts again
    ("POST /api/v1/notices", "body_zh"): "its text as sent fits the segment limit",
    ("POST /api/v1/notices", "body_en"): "its text as sent fits the segment limit",
    ("PUT /api/v1/notices/{notice_id}", "body_zh"): "its text as sent fits the segment limit",
    ("PUT /api/v1/notices/{notice_id}", "body_en"): "its text as sent fits the segment limit",
    ("POST /api/v1/notices/{notice_id}/publish", "body_zh"): "its text as sent fits the segment limit",
    ("POST /api/v1/notices/{notice_id}/publish", "body_en"): "its text as sent fits the segment limit",
}


def _beyond_the_schema(operation: str, response: Any) -> bool:
    if response.status_code != 422:
        return False
    try:
        problem = response.json()
    except ValueError:
        return False
    field = re.sub(r"\[\d+\]", "[]", str(problem.get("field")))
    wildcard = (operation, "*") in BEYOND_THE_SCHEMA and problem.get("code") == "roster_rejected"
    return (operation, field) in BEYOND_THE_SCHEMA or wildcard


def positive_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """positive_data_acceptance, less the refusals listed in BEYOND_THE_SCHEMA."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _beyond_the_schema(case.operation.label, response):
            return None
        raise


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        # The same cases on every run, so a red CI is a change's doing and can be replayed; a new case
        # set comes with every change to the schema (the cases are drawn from it).
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            headers=headers,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_accepted],
        )

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
        # collect every operation's failure, then report them all (several at once come as a FailureGroup)
        except (Exception, FailureGroup) as failure:
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)


def test_schemathesis_toml_expects_a_422_exactly_where_a_rule_is_beyond_the_schema() -> None:
    config = tomllib.loads((Path(__file__).parents[2] / "schemathesis.toml").read_text())
    expecting = {
        entry["include-name"]
        for entry in config.get("operations", [])
        if "422" in entry["checks"]["positive_data_acceptance"]["expected-statuses"]
    }
    assert expecting == {operation for operation, _ in BEYOND_THE_SCHEMA}


def test_docs_list_every_rule_beyond_the_schema() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    table = docs.split("<!-- rules beyond the schema -->", 1)[1].split("\n\n", 1)[0]
    missing = sorted({operation for operation, _ in BEYOND_THE_SCHEMA if f"`{operation}`" not in table})
    assert not missing, f"docs/api.md lists no rule beyond the schema for {missing}"


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
