"""What a draft panel's quotas and exclusions refuse beyond /schema (issue 15): a row given twice, a min
above its max, a candidate key given twice answer 422 `rule_broken` naming the list; a value its
category does not have 422 `unknown_value`; a min above the panel's size conflicts with the panel (409)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from engage.settings import Settings
from tests.factories import token_for


@pytest.fixture
def quota_staff(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}


def _panel(client: TestClient[Litestar], headers: dict[str, str]) -> int:
    made = client.post("/api/v1/panels", json={"title": "评审团", "size": 9}, headers=headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _row(feature: str, low: int, high: int, category: str = "gender") -> dict[str, Any]:
    return {"category": category, "feature": feature, "min": low, "max": high}


@pytest.mark.parametrize(
    ("quotas", "answer"),
    [
        ([_row("female", 2, 4), _row("female", 1, 3)], (422, "rule_broken", "quotas")),
        ([_row("female", 5, 4)], (422, "rule_broken", "quotas")),
        ([_row("nonbinary", 1, 2)], (422, "unknown_value", "quotas[0].feature")),
        ([_row("female", 10, 12)], (409, "conflict", "quotas")),
    ],
)
def test_quotas_beyond_the_schema(
    client: TestClient[Litestar], quota_staff: dict[str, str], quotas: list[dict[str, Any]], answer: tuple
) -> None:
    panel_id = _panel(client, quota_staff)
    refused = client.put(f"/api/v1/panels/{panel_id}/quotas", json={"quotas": quotas}, headers=quota_staff)
    problem = refused.json()
    assert (refused.status_code, problem["code"], problem["field"]) == answer
    kept = client.get(f"/api/v1/panels/{panel_id}", headers=quota_staff).json()["quotas"]
    assert kept == []


def test_a_candidate_key_twice_breaks_a_rule(
    client: TestClient[Litestar], quota_staff: dict[str, str]
) -> None:
    panel_id = _panel(client, quota_staff)
    body = {"candidates": [{"key": "A-1", "name": "张三"}, {"key": "A-1", "name": "李四"}]}
    refused = client.put(f"/api/v1/panels/{panel_id}/exclusions", json=body, headers=quota_staff)
    problem = refused.json()
    assert (refused.status_code, problem["code"], problem["field"]) == (422, "rule_broken", "candidates")
    body = {"candidates": [{"key": "A-1", "name": "张三"}, {"key": "A-2", "name": "张三"}]}
    taken = client.put(f"/api/v1/panels/{panel_id}/exclusions", json=body, headers=quota_staff)
    assert taken.status_code == 200 and taken.json()["exclusions"]["candidates"] == ["A-1", "A-2"]
