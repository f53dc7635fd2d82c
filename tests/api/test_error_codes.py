"""Errors carry a stable code beside the translated detail, and every code is documented."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import TestClient

from engage.settings import ROOT, Settings
from tests.api.codes import raised_codes
from tests.factories import token_for

API_DOC = ROOT / "docs" / "api.md"


def _documented() -> set[str]:
    """The codes in docs/api.md's tables (the first cell of each row)."""
    return set(re.findall(r"^\| `([a-z_]+)` \|", API_DOC.read_text(), re.MULTILINE))


def test_every_code_the_source_raises_is_listed_in_the_api_docs() -> None:
    raised = raised_codes()
    missing = sorted(f"{code} ({where})" for code, where in raised.items() if code not in _documented())
    assert not missing, "codes missing from docs/api.md: " + ", ".join(missing)


def test_the_api_docs_list_no_code_that_cannot_occur() -> None:
    stale = sorted(_documented() - set(raised_codes()))
    assert not stale, "docs/api.md lists codes nothing raises: " + ", ".join(stale)


def test_the_code_stays_when_the_language_changes(client: TestClient[Litestar]) -> None:
    answers = [
        client.post(
            "/api/v1/signup/verify",
            json={"phone": "13800138000", "code": "123456"},
            headers={"Accept-Language": language},
        )
        for language in ("zh-CN", "en")
    ]
    assert [a.status_code for a in answers] == [403, 403]  # a well-formed code that grants nothing
    zh, en = (a.json() for a in answers)
    assert zh["code"] == en["code"] == "code_spent"
    assert zh["detail"] != en["detail"]  # translated for people, the code is for programs
    assert zh["field"] == en["field"] == "code"


def test_framework_errors_carry_codes_too(client: TestClient[Litestar], settings: Settings) -> None:
    assert client.get("/api/v1/selections").json()["code"] == "not_authenticated"
    reader = {"Authorization": f"Bearer {token_for(settings, 'auditor@codes.cn', 'auditor')}"}
    refused = client.post("/api/v1/selections/1/publish", headers=reader)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    admin = {"Authorization": f"Bearer {token_for(settings, 'admin@codes.cn', 'admin')}"}
    missing = client.get("/api/v1/selections/99", headers=admin)
    assert (missing.status_code, missing.json()["code"], missing.json()["field"]) == (
        404,
        "not_found",
        "selection_id",
    )
    malformed = client.post("/api/v1/selections", content=b"{not json", headers=admin)
    assert (malformed.status_code, malformed.json()["code"]) == (400, "bad_request")
    wrong_type = client.post("/api/v1/communities", json={"code": 7}, headers=admin)
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (400, "validation_failed")
    assert client.delete("/api/v1/selections", headers=admin).json()["code"] == "method_not_allowed"
