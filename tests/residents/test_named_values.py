"""Input that names things: a quota, a roster row or a sign-up field naming an unknown community,
category or value is refused with 422 naming the field and listing the valid values, and nothing is
stored; the allowed values are enums in the OpenAPI document and readable from the API. Communities
are made and renamed by organizers (API and page), without the demo seed."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from engage.audit.models import AuditEntry
from engage.panels.models import Panel
from engage.residents.models import Community, Resident
from engage.settings import Settings
from tests.factories import csrf_token, organizer, sign_in, token_for

HEADER = "name,phone,community,participant_type,expertise,work_unit,gender,age_band"


def _bearer(settings: Settings, role: str = "organizer") -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, f'{role}@x.cn', role)}"}


def _communities(client: TestClient, headers: dict[str, str]) -> None:  # type: ignore[type-arg]
    for code, zh, en in (("wulihe", "五里河社区", "Wulihe"), ("dongxing", "东兴社区", "Dongxing")):
        made = client.post(
            "/api/v1/communities", json={"code": code, "name_zh": zh, "name_en": en}, headers=headers
        )
        assert made.status_code == 201, made.text


@pytest.mark.slow
def test_organizers_create_and_rename_communities_and_anyone_reads_them(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    headers = _bearer(settings)
    _communities(client, headers)
    assert client.get("/api/v1/communities").json() == [
        {"code": "dongxing", "name_zh": "东兴社区", "name_en": "Dongxing"},
        {"code": "wulihe", "name_zh": "五里河社区", "name_en": "Wulihe"},
    ]
    again = client.post(
        "/api/v1/communities",
        json={"code": "wulihe", "name_zh": "另一个", "name_en": "Other"},
        headers=headers,
    )
    assert again.status_code == 409 and again.json()["field"] == "code"
    bad = client.post(
        "/api/v1/communities", json={"code": "Wu Li", "name_zh": "五里", "name_en": "W"}, headers=headers
    )
    assert bad.status_code == 400 and bad.json()["field"] == "code"
    anonymous = client.post(
        "/api/v1/communities", json={"code": "xita", "name_zh": "西塔", "name_en": "Xita"}
    )
    assert anonymous.status_code == 401
    auditor = client.post(
        "/api/v1/communities",
        json={"code": "xita", "name_zh": "西塔", "name_en": "Xita"},
        headers=_bearer(settings, "auditor"),
    )
    assert auditor.status_code == 403
    renamed = client.put(
        "/api/v1/communities/wulihe",
        json={"name_zh": "五里河街道社区", "name_en": "Wulihe Street"},
        headers=headers,
    )
    assert renamed.json() == {"code": "wulihe", "name_zh": "五里河街道社区", "name_en": "Wulihe Street"}
    assert (
        client.put(
            "/api/v1/communities/atlantis", json={"name_zh": "x", "name_en": "x"}, headers=headers
        ).status_code
        == 404
    )
    db.expire_all()
    assert db.execute(select(func.count(Community.id))).scalar_one() == 2
    actions = [
        e.action
        for e in db.execute(
            select(AuditEntry).where(AuditEntry.subject_type == "community").order_by(AuditEntry.id)
        ).scalars()
    ]
    assert actions == ["community.create", "community.create", "community.rename"]


@pytest.mark.slow
def test_organizers_manage_communities_on_a_page(settings: Settings, client: TestClient, db: Any) -> None:  # type: ignore[type-arg]
    sign_in(client, "lin@x.cn", organizer(settings, "lin@x.cn", "organizer"))
    client.headers["Accept-Language"] = "zh-CN"
    assert 'href="/organizer/communities"' in client.get("/organizer").text
    token = csrf_token(client, "/organizer/communities")
    made = client.post(
        "/organizer/communities",
        data={"code": "xita", "name_zh": "西塔社区", "name_en": "Xita", "_csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = client.get(made.headers["location"])
    assert "西塔社区" in page.text and "已保存" in page.text
    twice = client.post(
        "/organizer/communities",
        data={"code": "xita", "name_zh": "西塔", "name_en": "Xita", "_csrf_token": token},
    )
    assert twice.status_code == 409 and "已有使用该代码的社区" in twice.text
    renamed = client.post(
        "/organizer/communities/xita",
        data={"name_zh": "西塔街社区", "name_en": "Xita Street", "_csrf_token": token},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    db.expire_all()
    assert db.execute(select(Community.name_zh)).scalar_one() == "西塔街社区"


@pytest.mark.slow
def test_the_vocabulary_and_the_openapi_document_list_the_allowed_values(
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    _communities(client, _bearer(settings))
    words = client.get("/api/v1/vocabulary").json()
    assert [c["value"] for c in words["communities"]] == ["dongxing", "wulihe"]
    assert [a["value"] for a in words["age_bands"]] == ["18-29", "30-44", "45-59", "60-74", "75+"]
    judge = next(r for r in words["roles"] if r["value"] == "judge")
    assert judge["label_en"] == "Volunteer judge" and judge["label_zh"] not in ("", "Volunteer judge")
    assert [p["value"] for p in words["participant_types"]] == [
        "resident",
        "deputy_pc",
        "deputy_party",
        "deputy_cppcc",
        "expert",
    ]
    assert words["quota_values"]["community"] == ["dongxing", "wulihe", "unknown"]
    assert words["quota_values"]["participant_type"] == ["resident", "deputy", "expert"]

    schema = client.get("/schema/openapi.json").json()["components"]["schemas"]

    def enum_of(prop: dict[str, Any]) -> list[str]:
        if "$ref" in prop:
            return list(schema[prop["$ref"].rsplit("/", 1)[1]]["enum"])
        if "items" in prop:
            return enum_of(prop["items"])
        for arm in prop.get("oneOf", []) + prop.get("anyOf", []):
            if "$ref" in arm or "enum" in arm or "items" in arm:
                return enum_of(arm)
        return list(prop["enum"])

    registration = schema["Registration"]["properties"]
    assert enum_of(registration["age_band"]) == ["18-29", "30-44", "45-59", "60-74", "75+"]
    types = ["resident", "deputy_pc", "deputy_party", "deputy_cppcc", "expert"]
    assert enum_of(registration["participant_type"]) == types
    assert enum_of(registration["roles"]) == ["judge", "evaluator", "subscriber"]
    assert enum_of(registration["gender"]) == ["female", "male", "other"]
    assert "/api/v1/communities" in registration["community"]["description"]


@pytest.mark.slow
def test_a_quota_naming_an_unknown_value_is_refused_listing_the_valid_ones(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    headers = _bearer(settings)
    _communities(client, headers)
    made = client.post("/api/v1/panels", json={"title": "大评审团", "size": 10}, headers=headers)
    assert made.status_code == 201, made.text
    panel_id = made.json()["id"]
    good = {"category": "community", "feature": "wulihe", "min": 1, "max": 5}
    assert (
        client.put(f"/api/v1/panels/{panel_id}/quotas", json={"quotas": [good]}, headers=headers).status_code
        == 200
    )
    cases = [
        (
            {"category": "community", "feature": "dongxingx", "min": 3, "max": 5},
            "quotas[1].feature",
            ["dongxing", "wulihe", "unknown"],
        ),
        (
            {"category": "participant_type", "feature": "deputy_pc", "min": 1, "max": 5},
            "quotas[1].feature",
            ["resident", "deputy", "expert"],
        ),
        (
            {"category": "age_band", "feature": "18-30", "min": 1, "max": 5},
            "quotas[1].feature",
            ["18-29", "30-44", "45-59", "60-74", "75+", "unknown"],
        ),
        (
            {"category": "district", "feature": "x", "min": 1, "max": 5},
            "quotas[1].category",
            ["participant_type", "community", "gender", "age_band"],
        ),
    ]
    for row, field, allowed in cases:
        refused = client.put(
            f"/api/v1/panels/{panel_id}/quotas", json={"quotas": [good, row]}, headers=headers
        )
        assert refused.status_code == 422, refused.text
        answer = refused.json()
        assert answer["field"] == field and answer["extra"]["allowed"] == allowed
        assert all(option in answer["detail"] for option in allowed)
    db.expire_all()
    assert db.get(Panel, panel_id).quotas == [good]  # unchanged


@pytest.mark.slow
def test_a_roster_row_naming_an_unknown_community_or_value_is_refused_listing_the_valid_ones(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    headers = _bearer(settings)
    _communities(client, headers)
    roster = (
        f"{HEADER}\n刘洋,13900139001,dongxingx,expert,城市规划,,,\n周红,13900139002,wulihe,deputy_pc,,,x,\n"
    )
    response = client.post(
        "/api/v1/residents/import",
        content=roster.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.text
    errors = {(e["row"], e["field"]): e for e in response.json()["errors"]}
    assert errors[(2, "community")]["allowed"] == ["dongxing", "wulihe"]
    assert "dongxing, wulihe" in errors[(2, "community")]["message"]
    assert errors[(3, "gender")]["allowed"] == ["female", "male", "other"]
    db.expire_all()
    assert db.execute(select(func.count(Resident.id))).scalar_one() == 0
