"""Rules between a body's members, and bounds on dates, stated in /schema and enforced by the server with
the same 400 (issue 15: schema-valid data is never refused for a rule the schema could have stated).
Rules no JSON Schema can state answer 422 `rule_broken` (tests/app/test_api_schema.py lists them)."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from engage.errors import InvalidInput
from engage.residents.codes import API_CODE_PATTERN
from engage.settings import Settings
from engage.web.dates import YEAR_PATTERN, Moment, in_years
from tests.factories import token_for

NOTICE = {"kind": "process", "title_zh": "公示", "title_en": "Notice", "body_zh": "正文", "body_en": "Body"}
DATE_TIME = jsonschema_rs.validator_for({"type": "string", "format": "date-time"}, validate_formats=True)


@pytest.fixture
def admin_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, 'admin@district.gov.cn', 'admin')}"}


def _schemas(client: TestClient[Litestar]) -> dict[str, Any]:
    return client.get("/schema/openapi.json").json()["components"]["schemas"]  # type: ignore[no-any-return]


def test_the_document_states_rules_between_members(client: TestClient[Litestar]) -> None:
    schemas = _schemas(client)
    notice = schemas["NoticeIn"]
    assert notice["if"]["properties"]["audience"] == {"const": "communities"}
    assert notice["then"]["properties"]["community_codes"] == {"minItems": 1}
    rules = schemas["AnswerIn"]["allOf"]
    assert rules[0]["if"]["properties"]["status"]["enum"] == ["upheld", "rejected"]
    assert rules[0]["then"]["required"] == ["reply"]
    assert rules[1]["then"]["properties"]["status"] == {"const": "upheld"}
    assert rules[2]["if"]["properties"]["action"]["enum"] == ["extend"]
    assert rules[2]["then"]["required"] == ["days"]


def test_the_document_bounds_the_years_of_dates(client: TestClient[Litestar]) -> None:
    schemas = _schemas(client)
    deadline = schemas["PanelIn"]["properties"]["reply_deadline"]["anyOf"][0]
    publish_at = schemas["PublishIn"]["properties"]["publish_at"]["anyOf"][0]
    for moment in (deadline, publish_at):
        assert (moment["format"], moment["pattern"]) == ("date-time", YEAR_PATTERN)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(YEAR_PATTERN, fullmatch=True).filter(DATE_TIME.is_valid))
def test_every_date_the_pattern_allows_is_taken(written: str) -> None:
    moment = msgspec.json.decode(msgspec.json.encode(written), type=Moment, strict=True)
    assert in_years("at", moment) == moment


@pytest.mark.parametrize(
    "written", ["1999-12-31T23:59:59Z", "2201-01-01T00:00:00+08:00", "0202-01-01T00:00:00Z"]
)
def test_a_year_outside_the_bounds_is_outside_the_pattern_and_refused(written: str) -> None:
    assert not jsonschema_rs.validator_for({"type": "string", "pattern": YEAR_PATTERN}).is_valid(written)
    moment = msgspec.json.decode(msgspec.json.encode(written), type=Moment, strict=True)
    with pytest.raises(InvalidInput):
        in_years("at", moment)


def test_the_years_are_enforced_with_a_400_naming_the_field(
    client: TestClient[Litestar], admin_headers: dict[str, str]
) -> None:
    panel = {"title": "评议团", "size": 5, "reply_deadline": "2201-01-01T00:00:00+08:00"}
    refused = client.post("/api/v1/panels", json=panel, headers=admin_headers)
    assert (refused.status_code, refused.json()["field"]) == (400, "reply_deadline")
    draft = client.post("/api/v1/notices", json=NOTICE, headers=admin_headers).json()
    late = {"publish_at": "1999-01-01T00:00:00Z"}
    refused = client.post(f"/api/v1/notices/{draft['id']}/publish", json=late, headers=admin_headers)
    assert (refused.status_code, refused.json()["field"]) == (400, "publish_at")


def test_a_notice_to_communities_names_them(
    client: TestClient[Litestar], admin_headers: dict[str, str]
) -> None:
    for given_codes in ({}, {"community_codes": []}):
        body = NOTICE | {"audience": "communities"} | given_codes
        refused = client.post("/api/v1/notices", json=body, headers=admin_headers)
        assert (refused.status_code, refused.json()["field"]) == (400, "community_codes")


@pytest.mark.parametrize("code", ["12345", "1234567", "123456\n", " 123456", "１２３４５６", "12 34 56", ""])
def test_a_code_is_six_digits_as_texted(client: TestClient[Litestar], code: str) -> None:
    """/schema states the form (no wrong guess is counted for a slip); a well-formed code that grants
    nothing is 403 `code_spent`, tested with the sign-up."""
    schemas = _schemas(client)
    assert schemas["VerifyRequest"]["properties"]["code"]["pattern"] == API_CODE_PATTERN
    assert schemas["ObjectionIn"]["properties"]["code"]["pattern"] == f"^(?:{API_CODE_PATTERN[1:-1]})?$"
    english = {"Accept-Language": "en"}
    refused = client.post(
        "/api/v1/signup/verify", json={"phone": "13800138000", "code": code}, headers=english
    )
    assert (refused.status_code, refused.json()["field"]) == (400, "code")
    assert "6-digit" in refused.json()["detail"]
