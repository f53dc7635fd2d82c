"""What POST /api/v1/selections and its invitations refuse, and how (issue 15): a rule /schema states
(the stages' kinds in the timetable's order, each stage's groups, the rules' keys and bounds) is refused
with the same 400 naming the field; a rule no JSON Schema can state (dates in order, a number compared
to another member, one key twice in a list) answers 422 `rule_broken`; an invitee naming nobody 404,
one without the evaluator role 409."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from engage.residents.models import ResidentRole, ResidentRoleKind
from engage.settings import Settings
from tests.factories import add_resident, phone, selection_body, timetable, token_for

BROKEN = (422, "rule_broken")
KINDS = ("assessment", "speech", "interview")
POSTS = [{"title_zh": "副主任", "title_en": "Deputy director", "seats": 2}]


@pytest.fixture
def selection_staff(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, 'admin@district.gov.cn', 'admin')}"}


def _body(**change: Any) -> dict[str, Any]:
    return selection_body(POSTS) | change


def _stages_schema(client: TestClient[Litestar]) -> Any:
    document = client.get("/schema/openapi.json").json()
    schemas = document["components"]["schemas"]
    stages = schemas["SelectionIn"]["properties"]["stages"]
    # resolve the component references the prefix items make, to validate a list against them
    return jsonschema_rs.validator_for(
        {**stages, "components": document["components"]},
    )


def _refused(
    client: TestClient[Litestar], selection_staff: dict[str, str], body: dict[str, Any]
) -> tuple[int, str, str]:
    answer = client.post("/api/v1/selections", json=body, headers=selection_staff)
    problem = answer.json()
    return answer.status_code, problem.get("code"), problem.get("field")


def test_the_document_gives_every_stage_its_place_in_the_timetable(client: TestClient[Litestar]) -> None:
    validator = _stages_schema(client)
    assert validator.is_valid(timetable())
    swapped = timetable()
    swapped[0], swapped[1] = swapped[1], swapped[0]
    assert not validator.is_valid(swapped)
    twice = timetable()
    twice[5] = {**twice[5], "kind": "result"}
    assert not validator.is_valid(twice)


@pytest.mark.parametrize("order", ["swapped", "twice"])
def test_stages_out_of_the_timetable_order_are_refused_as_the_document_says(
    client: TestClient[Litestar], selection_staff: dict[str, str], order: str
) -> None:
    stages = timetable()
    if order == "swapped":
        stages[0]["kind"], stages[1]["kind"] = stages[1]["kind"], stages[0]["kind"]
    else:
        stages[5]["kind"] = "result"
    assert _refused(client, selection_staff, _body(stages=stages)) == (400, "invalid_input", "stages")


def test_dates_out_of_order_break_a_rule_beyond_the_schema(
    client: TestClient[Litestar], selection_staff: dict[str, str]
) -> None:
    backwards = timetable()
    backwards[2]["closes_at"] = backwards[2]["opens_at"]
    assert _refused(client, selection_staff, _body(stages=backwards)) == (*BROKEN, "stages[2].closes_at")
    early = timetable()
    early[3]["opens_at"] = early[2]["opens_at"]
    assert _refused(client, selection_staff, _body(stages=early)) == (*BROKEN, "stages[3].opens_at")


def test_fewer_to_advance_than_seats_breaks_a_rule(
    client: TestClient[Litestar], selection_staff: dict[str, str]
) -> None:
    posts = [{**POSTS[0], "advance": 1}]
    assert _refused(client, selection_staff, _body(posts=posts)) == (*BROKEN, "posts[0].advance")


def test_a_criterion_code_twice_breaks_a_rule(
    client: TestClient[Litestar], selection_staff: dict[str, str]
) -> None:
    rubric = [{"code": "knowledge", "max_points": 50}, {"code": "knowledge", "max_points": 50}]
    assert _refused(client, selection_staff, _body(rubric=rubric)) == (*BROKEN, "rubric[1].code")


def test_a_criterion_code_has_a_letter_or_digit(
    client: TestClient[Litestar], selection_staff: dict[str, str]
) -> None:
    document = client.get("/schema/openapi.json").json()["components"]["schemas"]
    code = jsonschema_rs.validator_for(document["CriterionIn"]["properties"]["code"])
    assert code.is_valid("c_1") and not code.is_valid("___") and not code.is_valid("c1\n")
    for written in ("___", "c1\n"):
        rubric = [{"code": written, "max_points": 50}]
        status, _, field = _refused(client, selection_staff, _body(rubric=rubric))
        assert (status, field) == (400, "rubric[0].code")


def test_the_document_states_the_rules_keys_and_bounds(client: TestClient[Litestar]) -> None:
    rules = client.get("/schema/openapi.json").json()["components"]["schemas"]["RulesIn"]["properties"]
    assert rules["jury_weights"]["propertyNames"] == {"enum": ["expert", "deputy", "resident"]}
    assert rules["jury_weights"]["minProperties"] == 1
    assert rules["speech_weights"]["propertyNames"] == {"enum": ["staff", "resident"]}
    assert (rules["trim_small"]["minimum"], rules["trim_small"]["maximum"]) == (0, 10)
    assert set(rules["evaluator_groups"]["items"]["enum"]) == {"leadership", "staff", "resident_rep"}
    assert rules["basically_counts"]["type"] == "boolean"


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"trim_small": 11}, "rules.trim_small"),
        ({"basically_counts": "no"}, "rules.basically_counts"),
        ({"jury_weights": {"mayor": 1}}, "rules.jury_weights"),
        ({"jury_weights": {}}, "rules.jury_weights"),
        ({"evaluator_groups": []}, "rules.evaluator_groups"),
        ({"speech_max_points": 0}, "rules.speech_max_points"),
    ],
)
def test_rules_outside_the_document_are_refused_naming_the_rule(
    client: TestClient[Litestar], selection_staff: dict[str, str], rules: dict[str, Any], field: str
) -> None:
    status, code, named = _refused(client, selection_staff, _body(rules=rules))
    assert (status, code) == (400, "validation_failed") and named.startswith(field), named


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"threshold": "9/5"}, "rules.threshold"),
        ({"quorum": "two thirds"}, "rules.quorum"),
        ({"margin": 0.5}, "rules.margin"),
        ({"jury_weights": {"expert": "1/2", "deputy": "1/4"}}, "rules.jury_weights"),
        ({"speech_weights": {"staff": 1, "resident": 0}}, "rules.speech_weights.resident"),
    ],
)
def test_shares_out_of_bounds_or_not_adding_up_break_a_rule(
    client: TestClient[Litestar], selection_staff: dict[str, str], rules: dict[str, Any], field: str
) -> None:
    assert _refused(client, selection_staff, _body(rules=rules)) == (*BROKEN, field)


def test_a_selection_within_the_rules_is_created(
    client: TestClient[Litestar], selection_staff: dict[str, str]
) -> None:
    rules = {"threshold": 0.8, "margin": "150%", "evaluator_groups": ["staff", "staff"], "trim_small": 0}
    created = client.post("/api/v1/selections", json=_body(rules=rules), headers=selection_staff)
    assert created.status_code == 201, created.text
    assert created.json()["rules"]["threshold"] == "4/5"


def _selection(client: TestClient[Litestar], selection_staff: dict[str, str]) -> int:
    start = datetime.now(UTC) + timedelta(days=1)
    stages = [
        {
            "kind": stage["kind"],
            "opens_at": (start + timedelta(days=3 * i)).isoformat(),
            "closes_at": (start + timedelta(days=3 * i + 2)).isoformat(),
        }
        for i, stage in enumerate(timetable())
    ]
    created = client.post("/api/v1/selections", json=_body(stages=stages), headers=selection_staff)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_the_document_names_the_groups_of_each_stage(client: TestClient[Litestar]) -> None:
    rules = client.get("/schema/openapi.json").json()["components"]["schemas"]["InvitationsIn"]["allOf"]
    groups = {
        rule["if"]["properties"]["stage"]["const"]: rule["then"]["properties"]["invitees"]["items"][
            "properties"
        ]["group"]["enum"]
        for rule in rules
    }
    assert groups == {"assessment": ["leadership", "staff", "resident_rep"], "speech": ["staff", "resident"]}


def test_invitations_refuse_as_the_document_says_or_by_what_is_stored(
    client: TestClient[Litestar], selection_staff: dict[str, str], db: Any, signup_district: None
) -> None:
    sid = _selection(client, selection_staff)
    evaluator = add_resident(db, phone(1))
    db.add(ResidentRole(resident_id=evaluator.id, role=ResidentRoleKind.EVALUATOR))
    bystander = add_resident(db, phone(2))
    db.commit()

    def invite(stage: str, *invitees: tuple[int, str]) -> tuple[int, str, str]:
        body = {"stage": stage, "invitees": [{"resident_id": r, "group": g} for r, g in invitees]}
        answer = client.post(f"/api/v1/selections/{sid}/invitations", json=body, headers=selection_staff)
        return answer.status_code, answer.json().get("code"), answer.json().get("field")

    # a group of the other stage: the document's rule, the same 400
    assert invite("speech", (evaluator.id, "leadership")) == (400, "invalid_input", "invitees[0].group")
    assert invite("assessment", (evaluator.id, "resident")) == (400, "invalid_input", "invitees[0].group")
    twice = invite("assessment", (evaluator.id, "staff"), (evaluator.id, "leadership"))
    assert twice == (*BROKEN, "invitees[1].resident_id")
    assert invite("assessment", (999_999, "staff")) == (404, "not_found", "invitees[0].resident_id")
    assert invite("assessment", (bystander.id, "staff")) == (409, "conflict", "invitees[0].resident_id")
    assert invite("assessment", (evaluator.id, "staff"))[0] == 201


def test_rescheduling_names_the_date_of_the_body(
    client: TestClient[Litestar], selection_staff: dict[str, str]
) -> None:
    sid = _selection(client, selection_staff)
    stages = client.get(f"/api/v1/selections/{sid}", headers=selection_staff).json()["stages"]
    assessment, speech, interview = (next(s for s in stages if s["kind"] == k) for k in KINDS)
    path = f"/api/v1/selections/{sid}/stages/speech"
    for dates, field in (
        ({"opens_at": speech["opens_at"], "closes_at": speech["opens_at"]}, "closes_at"),
        ({"opens_at": speech["opens_at"], "closes_at": interview["closes_at"]}, "closes_at"),
        ({"opens_at": assessment["opens_at"], "closes_at": speech["closes_at"]}, "opens_at"),
    ):
        answer = client.put(path, json=dates, headers=selection_staff)
        assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (*BROKEN, field)


def test_a_consent_is_given_or_refused(client: TestClient[Litestar]) -> None:
    consent = client.get("/schema/openapi.json").json()["components"]["schemas"]["ConsentIn"]
    assert consent["properties"]["consent"]["enum"] == ["given", "refused"]
