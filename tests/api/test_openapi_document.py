"""The OpenAPI document is what integrators build on: every operation says what it does, what it answers
(typed, so a generated client gets models, not dicts) and how it fails (the problem shape with its
code), and examples are real ones, never generated noise."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.api.codes import raised_codes

METHODS = ("get", "post", "put", "patch", "delete")
# Maps whose keys are data (a group, a stage, an algorithm's parameter) are typed by their values.
FREE_FORM = {"type": "object", "additionalProperties": {}}
# The one free-form member: an audit entry's details are whatever facts its action recorded, which
# differ by action (the audit log's shape, not the API's).
AUDIT_DETAILS = {
    "GET /api/v1/audit": "answer.entries[].details",
    "GET /api/v1/residents/{resident_id}": "answer.history[].details",
}


@pytest.fixture
def document(client: TestClient[Litestar]) -> dict[str, Any]:
    answer = client.get("/schema/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _untyped(document: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """The places in a schema (followed through references) that say nothing about their content."""
    ref = schema.get("$ref")
    if ref is not None:
        if ref in seen:
            return []
        seen.add(ref)
        return _untyped(document, _resolve(document, schema), where, seen)
    if not schema or schema == FREE_FORM or schema == {"type": "object"}:
        return [where]
    found = []
    for key in ("oneOf", "anyOf", "allOf"):
        for i, part in enumerate(schema.get(key, [])):
            found += _untyped(document, part, f"{where}/{key}{i}", seen)
    if "items" in schema:
        found += _untyped(document, schema["items"], f"{where}[]", seen)
    for name, member in schema.get("properties", {}).items():
        found += _untyped(document, member, f"{where}.{name}", seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra and "properties" not in schema:
        found += _untyped(document, extra, f"{where}{{}}", seen)
    return found


def test_every_operation_has_a_summary_a_description_and_a_tag(document: dict[str, Any]) -> None:
    described = {tag["name"] for tag in document.get("tags", []) if tag.get("description")}
    lacking = []
    for name, operation in _operations(document):
        for part in ("summary", "description"):
            if not str(operation.get(part, "")).strip():
                lacking.append(f"{name}: no {part}")
        tags = operation.get("tags") or []
        if not tags or not set(tags) <= described:
            lacking.append(f"{name}: tags {tags} not all described")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", operation.get("operationId", "")):
            lacking.append(f"{name}: operationId {operation.get('operationId')!r} is not snake_case")
    assert not lacking, "\n".join(lacking)


def test_every_operation_answers_a_typed_success(document: dict[str, Any]) -> None:
    lacking = []
    for name, operation in _operations(document):
        successes = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        if not successes:
            lacking.append(f"{name}: no 2xx answer")
        for code, response in successes.items():
            content = response.get("content")
            if code == "204" and not content:
                continue
            if not content:
                lacking.append(f"{name} {code}: no content")
                continue
            for media, body in content.items():
                schema = body.get("schema", {})
                if media == "application/json":
                    untyped = _untyped(document, schema, "answer", set())
                    lacking += [f"{name} {code}: {w}" for w in untyped if AUDIT_DETAILS.get(name) != w]
                elif schema.get("type") != "string":
                    lacking.append(f"{name} {code}: {media} without a string schema")
    assert not lacking, "\n".join(lacking)


def test_every_operation_documents_its_errors_as_problems_with_a_code(document: dict[str, Any]) -> None:
    known = set(raised_codes())
    lacking = []
    for name, operation in _operations(document):
        errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        if not errors:
            lacking.append(f"{name}: no error answer documented")
        for code, response in errors.items():
            if not response.get("description"):
                lacking.append(f"{name} {code}: no description")
            body = response.get("content", {}).get("application/json")
            if body is None:
                continue  # e.g. the health check's 503 answers its own report
            schema = _resolve(document, body["schema"])
            if "code" not in schema.get("required", []) and "Health" not in body["schema"].get("$ref", ""):
                lacking.append(f"{name} {code}: its problem has no required `code`")
            for example in body.get("examples", {}).values():
                if example["value"].get("code") not in known:
                    lacking.append(f"{name} {code}: example with unknown code {example['value'].get('code')}")
                if example["value"].get("status_code") != int(code):
                    lacking.append(f"{name} {code}: example for another status")
    assert not lacking, "\n".join(lacking)


def test_examples_are_written_not_generated(document: dict[str, Any]) -> None:
    """Generated examples (`"status_code": 578, "detail": "TwdshFRPhSOVrnPxrBBM"`) mislead: every example
    in the document is one of ours, so each error example names a documented status and code."""
    found = re.findall(r'"status_code": (\d+)', str(document).replace("'", '"'))
    assert found, "the problem answers have examples"
    assert {int(status) for status in found} <= {400, 401, 403, 404, 409, 422, 429, 500, 503}
