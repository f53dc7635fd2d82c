"""Text that cannot be stored (a NUL, other control characters) is refused with a 400
naming the field, on PostgreSQL as on SQLite, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.evaluations.models import Campaign
from engage.selections.models import Selection
from engage.settings import Settings
from tests.factories import selection_body, token_for

BAD = ["a\x00b", "a\x07b", "a\x1bb"]  # (a lone surrogate never gets past the JSON decoder)


def _campaign(question: str) -> dict[str, Any]:
    return {
        "title_zh": "便民服务评价",
        "title_en": "Service evaluation",
        "mode": "online",
        "opens_at": "2026-12-01T00:00:00+08:00",
        "closes_at": "2026-12-31T00:00:00+08:00",
        "questions": [{"zh": question, "en": "Satisfied?"}],
        "subjects": [{"name": "便民服务窗口", "unit": "五里河社区"}],
        "threshold": "4/5",
    }


@pytest.mark.slow
@pytest.mark.parametrize("bad", BAD)
def test_unstorable_text_is_refused_naming_the_field(
    settings: Settings,
    client: TestClient,
    db: Session,
    bad: str,  # type: ignore[type-arg]
) -> None:
    headers = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}
    body = selection_body([{"title_zh": "岗位", "title_en": "Post", "seats": 1}])
    body["posts"][0]["title_zh"] = bad
    headers["Content-Type"] = "application/json"
    answer = client.post("/api/v1/selections", content=json.dumps(body), headers=headers)
    assert answer.status_code == 400 and answer.json()["field"] == "posts[0].title_zh", answer.text
    answer = client.post("/api/v1/evaluations", content=json.dumps(_campaign(bad)), headers=headers)
    assert answer.status_code == 400 and answer.json()["field"] == "questions[0].zh", answer.text
    assert db.execute(select(func.count()).select_from(Selection)).scalar_one() == 0
    assert db.execute(select(func.count()).select_from(Campaign)).scalar_one() == 0


@pytest.mark.slow
def test_an_import_refused_as_a_whole_answers_a_problem_without_rows(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The import's documented 422 allows a request refused as a whole (here: an empty file, which fits
    /schema's "a CSV text" but has no rows)."""
    headers = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}
    made = client.post(
        "/api/v1/evaluations", json=dict(_campaign("满意吗？"), mode="reverse"), headers=headers
    )
    assert made.status_code == 201, made.text
    answer = client.post(
        f"/api/v1/evaluations/{made.json()['id']}/contacts/import",
        content=b"",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422 and set(answer.json()) >= {"status_code", "detail", "field"}
    schema = client.get("/schema/openapi.json").json()["components"]["schemas"]["ImportProblem"]
    assert set(schema["required"]) <= set(answer.json())
