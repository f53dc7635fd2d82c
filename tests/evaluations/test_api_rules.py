"""What the evaluations API refuses, and how: what /schema states (the threshold's forms, one date at
least to move, no communities for a reverse evaluation, a matter that is not blank) with a 400 naming
the field; rules no JSON Schema can state (dates out of order or in the past, a subject twice, a text
too long once composed) with a 422 rule_broken; a community no one has with a 422 unknown_value; a
service after the stored closing with a 409."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from engage.fractions import SHARE_PATTERN
from engage.settings import Settings
from engage.web.dates import YEAR_PATTERN
from engage.web.text import FILLED_LINE_PATTERN
from tests.factories import api_phone, campaign_body, organizer_headers, typed_phone

API = "/api/v1/evaluations"


def later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def refusal(answer: Any) -> tuple[int, str, str]:
    problem = answer.json()
    return answer.status_code, problem["code"], problem["field"]


def create(client: TestClient[Litestar], headers: dict[str, str], **change: Any) -> dict[str, Any]:
    created = client.post(API, json=campaign_body(**change), headers=headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_the_document_states_the_threshold_one_date_to_move_and_no_communities_when_reverse(
    client: TestClient[Litestar],
) -> None:
    schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]
    campaign = schemas["CampaignIn"]
    assert campaign["properties"]["threshold"]["pattern"] == SHARE_PATTERN
    assert campaign["if"]["properties"]["mode"] == {"const": "reverse"}
    assert campaign["then"]["properties"]["community_codes"] == {"maxItems": 0}
    assert [rule["required"] for rule in schemas["ScheduleIn"]["anyOf"]] == [["opens_at"], ["closes_at"]]
    assert schemas["ContactIn"]["properties"]["matter"]["pattern"] == FILLED_LINE_PATTERN
    assert campaign["properties"]["opens_at"]["pattern"] == YEAR_PATTERN
    assert schemas["ScheduleIn"]["properties"]["closes_at"]["anyOf"][0]["pattern"] == YEAR_PATTERN


def test_dates_outside_the_years_the_document_allows_are_refused_before_any_state(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    """Year 1 at +17:20 cannot even be converted to UTC: it was a 500."""
    headers = organizer_headers(settings)
    ancient = client.post(API, json=campaign_body(opens_at="0001-01-01T00:00:00+17:20"), headers=headers)
    assert refusal(ancient) == (400, "invalid_input", "opens_at")
    opened = create(client, headers)  # an edit would be refused with 409: the dates come first
    body = campaign_body(closes_at="2201-01-01T00:00:00+00:00")
    assert refusal(client.put(f"{API}/{opened['id']}", json=body, headers=headers))[::2] == (400, "closes_at")
    moved = client.post(
        f"{API}/{opened['id']}/schedule", json={"opens_at": "1999-12-31T23:00:00Z"}, headers=headers
    )
    assert refusal(moved)[::2] == (400, "opens_at")


@pytest.mark.parametrize("threshold", ["0", "1", "0.8", "1.0", "80%", "99.5%", "100%", "2/3", "0/7", "99/99"])
def test_every_threshold_the_document_allows_is_taken(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, threshold: str
) -> None:
    campaign = create(client, organizer_headers(settings), threshold=threshold)
    assert campaign["threshold"] == threshold


@pytest.mark.parametrize(
    "threshold", ["3/2", "1/100", "1.5", "101%", " 2/3", "2 / 3", "2/3\n", "05%", "0.12345678901", "1/0"]
)
def test_a_threshold_outside_the_document_is_refused_in_words(
    client: TestClient[Litestar], settings: Settings, threshold: str
) -> None:
    headers = {**organizer_headers(settings), "Accept-Language": "en"}
    answer = client.post(API, json=campaign_body(threshold=threshold), headers=headers)
    assert refusal(answer)[::2] == (400, "threshold")
    assert "denominator" in answer.json()["detail"] and "^(?:" not in answer.json()["detail"]


def test_the_threshold_refusal_reads_in_the_callers_language(
    client: TestClient[Litestar], settings: Settings
) -> None:
    headers = {**organizer_headers(settings), "Accept-Language": "zh-CN"}
    answer = client.post(API, json=campaign_body(threshold="3/2"), headers=headers)
    assert "分母不超过99" in answer.json()["detail"]


def test_schedule_needs_one_date_at_least(client: TestClient[Litestar], settings: Settings) -> None:
    headers = organizer_headers(settings)
    for body in ({}, {"opens_at": None, "closes_at": None}):
        answer = client.post(f"{API}/1/schedule", json=body, headers=headers)
        assert refusal(answer)[::2] == (400, "closes_at"), body


def test_a_reverse_evaluation_names_no_communities_and_an_online_one_names_known_ones(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    headers = organizer_headers(settings)
    reverse = client.post(API, json=campaign_body(community_codes=["wulihe"]), headers=headers)
    assert refusal(reverse)[::2] == (400, "community_codes")
    body = campaign_body(mode="online", community_codes=["wulihe", "nowhere"])
    unknown = client.post(API, json=body, headers=headers)
    assert refusal(unknown) == (422, "unknown_value", "community_codes")
    assert "nowhere" in unknown.json()["detail"] and "wulihe" in unknown.json()["extra"]["allowed"]
    campaign = create(client, headers, mode="online", community_codes=["wulihe"], opens_at=later(1))
    moved = {**body, "opens_at": later(1), "closes_at": later(8)}
    edited = client.put(f"{API}/{campaign['id']}", json=moved, headers=headers)
    assert refusal(edited) == (422, "unknown_value", "community_codes")


def test_each_subject_once_as_stored(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    subjects = [{"name": "社保窗口", "unit": "东兴社区"}, {"name": " 社保窗口", "unit": "东兴社区 "}]
    answer = client.post(API, json=campaign_body(subjects=subjects), headers=organizer_headers(settings))
    assert refusal(answer) == (422, "rule_broken", "subjects")


def test_a_subject_too_long_for_an_invitation_breaks_a_rule(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    subjects = [{"name": "窗" * 100, "unit": "社" * 200}]
    headers = {**organizer_headers(settings), "Accept-Language": "en"}
    answer = client.post(API, json=campaign_body(subjects=subjects), headers=headers)
    assert refusal(answer) == (422, "rule_broken", "subjects")
    assert "SMS segments" in answer.json()["detail"]


def test_dates_out_of_order_or_in_the_past_break_a_rule(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    headers = organizer_headers(settings)
    backwards = client.post(API, json=campaign_body(opens_at=later(2), closes_at=later(1)), headers=headers)
    assert refusal(backwards) == (422, "rule_broken", "closes_at")
    campaign = create(client, headers, opens_at=later(1), closes_at=later(8))
    cid = campaign["id"]
    past = client.put(f"{API}/{cid}", json=campaign_body(opens_at=later(-1)), headers=headers)
    assert refusal(past) == (422, "rule_broken", "opens_at")
    assert past.json()["detail"] == "must not be in the past"
    moves = [
        ({"opens_at": later(-1)}, "opens_at"),
        ({"closes_at": later(0.5)}, "closes_at"),  # before the stored opening
        ({"opens_at": later(9)}, "closes_at"),  # after the stored closing
    ]
    for body, field in moves:
        answer = client.post(f"{API}/{cid}/schedule", json=body, headers=headers)
        assert refusal(answer) == (422, "rule_broken", field), body


def test_a_service_after_the_stored_closing_conflicts_with_it(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    headers = organizer_headers(settings)
    campaign = create(client, headers)  # closes in a week
    contact = {
        "subject_id": campaign["subjects"][0]["id"],
        "phone": api_phone(1),
        "served_on": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
        "matter": "户籍证明",
    }
    late = client.post(f"{API}/{campaign['id']}/contacts", json=contact, headers=headers)
    assert refusal(late) == (409, "conflict", "served_on")
    blank = client.post(f"{API}/{campaign['id']}/contacts", json={**contact, "matter": "  "}, headers=headers)
    assert refusal(blank)[::2] == (400, "matter")


@pytest.mark.parametrize(
    ("title", "field"),
    [
        ({"title_zh": "评" * 150}, "body_zh"),  # its text, with the link and signature, is over 3 segments
        (
            {"title_zh": "评" * 199},
            "title_zh",
        ),  # "…结果" would not fit a notice's title (a 500 on PostgreSQL)
        ({"title_en": "E" * 195}, "title_en"),
    ],
)
def test_results_whose_notice_cannot_hold_the_campaigns_title_break_a_rule(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, title: dict[str, str], field: str
) -> None:
    headers = organizer_headers(settings)
    campaign = create(client, headers, mode="online", opens_at=later(-2), closes_at=later(-1), **title)
    answer = client.post(f"{API}/{campaign['id']}/publish", headers=headers)
    assert refusal(answer) == (422, "rule_broken", field)
    assert client.get(f"{API}/{campaign['id']}", headers=headers).json()["notice_id"] is None


def test_a_contacts_file_without_its_columns_or_rows_breaks_a_rule(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    """Any text is a file the document allows; what its rows must say is beyond it."""
    staff = organizer_headers(settings)
    campaign = create(client, staff)
    headers = {**staff, "Content-Type": "text/csv"}
    for text in ("a,b\n1,2\n", "subject,phone,served_on,matter\n"):
        answer = client.post(
            f"{API}/{campaign['id']}/contacts/import", content=text.encode(), headers=headers
        )
        assert refusal(answer) == (422, "rule_broken", "file"), text
    bad_row = (
        f"subject,phone,served_on,matter\n{campaign['subjects'][0]['id']},{typed_phone(1)},someday,户籍证明\n"
    )
    answer = client.post(f"{API}/{campaign['id']}/contacts/import", content=bad_row.encode(), headers=headers)
    assert refusal(answer) == (422, "import_rejected", "file")
    assert answer.json()["rows"] == [{"line": 2, "field": "served_on", "detail": "not a date (YYYY-MM-DD)"}]
    assert (
        client.post(f"{API}/{campaign['id']}/contacts/import", content=b"\xff", headers=headers).status_code
        == 400
    )
