"""The API's bodies are what /schema says they are (issue 15): each constraint the document states, the
server enforces with a 400 naming the field, and what it enforces the document states (bounds of 0,
constraints inside lists and maps, id keys, storable text). Values of the wrong JSON type are not
coerced: `0` is no boolean, a number is no date. Refusals of state answer 404 or 409."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from engage.settings import Settings
from tests.factories import token_for

NOTICE = {
    "kind": "process",
    "title_zh": "公示",
    "title_en": "Notice",
    "body_zh": "正文",
    "body_en": "Body",
}


@pytest.fixture
def admin(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, 'admin@district.gov.cn', 'admin')}"}


def _schemas(client: TestClient[Litestar]) -> dict[str, Any]:
    return client.get("/schema/openapi.json").json()["components"]["schemas"]  # type: ignore[no-any-return]


def test_the_document_states_bounds_of_zero_and_constraints_inside_containers(
    client: TestClient[Litestar],
) -> None:
    schemas = _schemas(client)
    period = schemas["NoticeIn"]["properties"]["period_days"]["anyOf"][0]
    assert (period["minimum"], period["maximum"]) == (0, 60)
    assert schemas["NoticeIn"]["properties"]["community_codes"]["items"]["minLength"] == 1
    assert schemas["NoticeIn"]["properties"]["urgent"]["type"] == "boolean"
    assert schemas["DrawIn"]["properties"]["seed_parts"]["items"]["minLength"] == 1
    assert schemas["CandidateIn"]["properties"]["other_resident_ids"]["items"]["minimum"] == 1
    for name, member in (("BallotIn", "ratings"), ("SpeechIn", "points"), ("ScoresIn", "scores")):
        keys = schemas[name]["properties"][member]["propertyNames"]["pattern"]
        assert keys == "^[1-9][0-9]{0,8}$", name
    assert schemas["BallotIn"]["properties"]["ratings"]["additionalProperties"]["$ref"].endswith("/Rating")
    assert "\\x00-\\x1f" in schemas["NoticeIn"]["properties"]["title_zh"]["pattern"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period_days": -1}, "period_days"),
        ({"community_codes": [""]}, "community_codes[0]"),
        ({"urgent": 0}, "urgent"),  # was taken as false
        ({"urgent": "true"}, "urgent"),
        ({"period_days": "5"}, "period_days"),
        ({"title_zh": "公\u202e示"}, "title_zh"),  # reorders text
        ({"title_en": "a\tb"}, "title_en"),  # one line
        ({"body_en": "   "}, "body_en"),  # blank
    ],
)
def test_a_body_outside_the_document_is_refused_naming_the_field(
    client: TestClient[Litestar], admin: dict[str, str], change: dict[str, Any], field: str
) -> None:
    answer = client.post("/api/v1/notices", json={**NOTICE, **change}, headers=admin)
    assert (answer.status_code, answer.json()["field"]) == (400, field), answer.text
    assert "regex" not in answer.json()["detail"]  # the rule in words, not the pattern


def test_a_body_within_the_document_is_taken(client: TestClient[Litestar], admin: dict[str, str]) -> None:
    body = {**NOTICE, "period_days": 5.0, "urgent": True, "body_en": "Line one\r\n\tline two"}
    answer = client.post("/api/v1/notices", json=body, headers=admin)
    assert answer.status_code == 201, answer.text
    assert answer.json()["urgent"] is True and answer.json()["period"] is not None


def test_a_date_given_as_a_number_is_refused(client: TestClient[Litestar], admin: dict[str, str]) -> None:
    made = client.post("/api/v1/notices", json=NOTICE, headers=admin).json()
    answer = client.post(f"/api/v1/notices/{made['id']}/publish", json={"publish_at": 0}, headers=admin)
    assert (answer.status_code, answer.json()["field"]) == (400, "publish_at"), answer.text


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/ballots/abcdefgh", {"ratings": {"01": "competent"}}, "ratings"),
        ("/api/v1/ballots/abcdefgh", {"ratings": {"1": "brilliant"}}, "ratings[...]"),
        ("/api/v1/speech/abcdefgh", {"points": {"x": 1}}, "points"),
        ("/api/v1/scores/abcdefgh", {"scores": {"0": {"c": 1}}}, "scores"),
        ("/api/v1/panels/1/draw", {"seed_parts": ["", "x"]}, "seed_parts[0]"),
        ("/api/v1/panels/1/draw", {"seed_parts": ["a\x00"]}, "seed_parts[0]"),
    ],
)
def test_keys_and_items_are_checked_before_anything_is_looked_up(
    client: TestClient[Litestar], admin: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    answer = client.post(path, json=body, headers=admin)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] in (field, field.split("[")[0]), answer.text


def test_id_keys_within_the_document_reach_the_link(client: TestClient[Litestar]) -> None:
    """A well-formed ballot on a link that does not exist: 404 for the token, not a 400 for the body."""
    answer = client.post("/api/v1/ballots/abcdefgh", json={"ratings": {"12": "competent"}})
    assert (answer.status_code, answer.json()["field"]) == (404, "token"), answer.text


def test_panel_exclusions_name_residents_by_ids_from_one(
    client: TestClient[Litestar], admin: dict[str, str]
) -> None:
    candidate = {"key": "c-1", "other_resident_ids": [0]}
    answer = client.put("/api/v1/panels/1/exclusions", json={"candidates": [candidate]}, headers=admin)
    assert (answer.status_code, answer.json()["field"]) == (400, "candidates[0].other_resident_ids[0]")


def test_path_values_are_from_their_lists(client: TestClient[Litestar], admin: dict[str, str]) -> None:
    moved = client.post("/api/v1/selections/1/stages/nomination/sideways", headers=admin)
    assert (moved.status_code, moved.json()["field"]) == (400, "edge"), moved.text
    moved = client.post("/api/v1/selections/1/stages/lunch/open", headers=admin)
    assert (moved.status_code, moved.json()["field"]) == (400, "kind"), moved.text
    looked_up = client.get("/api/v1/objections/OBJ 2026")
    assert (looked_up.status_code, looked_up.json()["field"]) == (400, "reference"), looked_up.text


def test_state_not_shape_answers_404(client: TestClient[Litestar], admin: dict[str, str]) -> None:
    """Well-formed values naming something that is not there: 404, as schemathesis expects of them."""
    filtered = client.get("/api/v1/residents", params={"community": "nowhere"}, headers=admin)
    assert (filtered.status_code, filtered.json()["field"]) == (404, "community"), filtered.text
    registration = {
        "token": "not-a-token",
        "name": "王芳",
        "community": "dongxing",
        "age_band": "30-44",
        "gender": "female",
        "occupation": "employed",
        "participant_type": "resident",
        "roles": [],
        "consents": [],
    }
    completed = client.post("/api/v1/signup/complete", json=registration)
    assert (completed.status_code, completed.json()["field"]) == (404, "token"), completed.text
    nomination = {"token": "not-a-token", "selection_id": 1, "post_id": 1, "name": "王芳"}
    nominated = client.post("/api/v1/nominations", json=nomination)
    assert (nominated.status_code, nominated.json()["field"]) == (404, "token"), nominated.text
