"""The API's phone fields (issue 15): /schema states which strings are mobile numbers the API takes, as a
pattern built from the running app's settings (SMS_ALLOWED_REGIONS, DEFAULT_REGION), and the server
refuses exactly the strings that do not match it, with a 400 naming the field in words. Pages stay
forgiving ("138 0013 8000"); their tests say so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from engage.app import create_app
from engage.errors import InvalidInput
from engage.phones import api_mobile_number, mobile_rule
from engage.residents.signup import mobile_number
from engage.settings import Settings
from tests.factories import token_for
from tests.support import make_settings

# (operation, where, field): every phone field of the API
PHONE_FIELDS = [
    ("post", "/api/v1/messages", "body", "to"),
    ("post", "/api/v1/signup/code", "body", "phone"),
    ("post", "/api/v1/signup/verify", "body", "phone"),
    ("post", "/api/v1/notices/{notice_id}/objections/code", "body", "phone"),
    ("post", "/api/v1/notices/{notice_id}/objections", "body", "phone"),
    ("get", "/api/v1/residents", "query", "phone"),
    ("get", "/api/v1/residents/counts", "query", "phone"),
    ("get", "/api/v1/residents/export", "query", "phone"),
    ("post", "/api/v1/evaluations/{campaign_id}/contacts", "body", "phone"),
]
# Written as people write them, which pages read and the API does not.
NOT_AS_THE_API_TAKES_IT = [
    "138 0013 8000",
    "138-0013-8000",
    "+86 138 0013 8000",
    "008613800138000",  # the international prefix instead of +
    "8613800138000",
    "013800138000",  # a trunk prefix CN mobile numbers are not written with
    "13800138000\n",
    "１３８００１３８０００",  # full-width digits
    "01012345678",  # a landline in Beijing: no text reaches it
    "+85251234567",  # Hong Kong, not an allowed region by default
    "+447400123456",
    "",
]


@pytest.fixture
def phones_admin(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, 'admin@district.gov.cn', 'admin')}"}


def _field_schema(document: dict[str, Any], method: str, path: str, where: str, field: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    if where == "query":
        (parameter,) = [p for p in operation["parameters"] if p["name"] == field]
        (string,) = [s for s in parameter["schema"]["oneOf"] if s["type"] == "string"]
        return string  # type: ignore[no-any-return]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rpartition("/")[2]]["properties"][field]  # type: ignore[no-any-return]


@pytest.mark.parametrize("regions", ["CN", "CN,HK"])
def test_every_string_the_pattern_allows_is_a_mobile_number_the_server_takes(
    settings: Settings, regions: str
) -> None:
    app_settings = settings.model_copy(update={"sms_allowed_regions": regions})
    rule = mobile_rule(app_settings)

    @given(st.from_regex(rule.pattern, fullmatch=True))
    @hypothesis_settings(max_examples=500, deadline=None, database=None, derandomize=True)
    def accepted(raw: str) -> None:
        e164 = api_mobile_number(raw, app_settings, "phone")
        assert phonenumbers.region_code_for_number(phonenumbers.parse(e164)) in app_settings.allowed_regions
        assert mobile_number(e164, app_settings.default_region) == e164  # what sign-up checks as well

    accepted()


def test_the_api_takes_e164_and_the_default_regions_own_form_and_nothing_else(settings: Settings) -> None:
    assert api_mobile_number("13800138000", settings, "phone") == "+8613800138000"
    assert api_mobile_number("+8613800138000", settings, "phone") == "+8613800138000"
    for raw in NOT_AS_THE_API_TAKES_IT:
        with pytest.raises(InvalidInput):
            api_mobile_number(raw, settings, "phone")
    both = settings.model_copy(update={"sms_allowed_regions": "CN,HK"})
    assert api_mobile_number("+85251234567", both, "phone") == "+85251234567"
    with pytest.raises(InvalidInput):
        api_mobile_number("51234567", both, "phone")  # only DEFAULT_REGION's numbers go without +


def test_the_schema_states_the_apps_pattern_on_every_phone_field(
    client: TestClient[Litestar], settings: Settings
) -> None:
    document = client.get("/schema/openapi.json").json()
    rule = mobile_rule(settings)
    for method, path, where, field in PHONE_FIELDS:
        schema = _field_schema(document, method, path, where, field)
        expected = rule.pattern_or_empty if path.endswith("/objections") else rule.pattern
        assert schema["pattern"] == expected, (path, field)
        assert "SMS_ALLOWED_REGIONS" in schema["description"], (path, field)


@pytest.fixture
def hong_kong_too(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[TestClient[Litestar]]:
    app = create_app(make_settings(database_url, redis_url, tmp_path / "var", SMS_ALLOWED_REGIONS="CN,HK"))
    with TestClient(app=app, base_url="http://testserver.local") as client:
        yield client


def test_the_pattern_follows_the_apps_settings(
    hong_kong_too: TestClient[Litestar], client: TestClient[Litestar]
) -> None:
    only_cn = _field_schema(client.get("/schema/openapi.json").json(), *PHONE_FIELDS[1])["pattern"]
    with_hk = _field_schema(hong_kong_too.get("/schema/openapi.json").json(), *PHONE_FIELDS[1])["pattern"]
    assert "\\+852" in with_hk and "\\+852" not in only_cn
    answer = hong_kong_too.post("/api/v1/signup/code", json={"phone": "+85251234567"})
    assert answer.status_code != 400, answer.text


@pytest.mark.parametrize(("method", "path", "where", "field"), PHONE_FIELDS)
def test_a_number_the_pattern_refuses_is_refused_with_400_naming_the_field(
    client: TestClient[Litestar],
    phones_admin: dict[str, str],
    method: str,
    path: str,
    where: str,
    field: str,
) -> None:
    url = path.format(notice_id=1, campaign_id=1)
    headers = phones_admin | {"Accept-Language": "en"}
    for written in ("138 0013 8000", "+86 138-0013-8000", "0086 13800138000"):  # one app for the three
        bodies = {"to": {"to": written, "body": "test"}, "phone": {"phone": written, "code": "123456"}}
        if path.endswith("/objections"):
            bodies["phone"] |= {"reason": "理由", "name": "张三"}
        if path.endswith("/contacts"):
            bodies["phone"] |= {"subject_id": 1, "served_on": "2026-11-20", "matter": "户籍证明"}
        if where == "query":
            params = {field: written} | ({"by": "role"} if path.endswith("/counts") else {})
            answer = client.get(url, params=params, headers=headers)
        else:
            answer = client.request(method.upper(), url, json=bodies[field], headers=headers)
        assert answer.status_code == 400, (written, answer.text)
        problem = answer.json()
        assert problem["field"] == field
        assert "digits only" in problem["detail"] and "[0-9]" not in problem["detail"]


def test_the_refusal_is_in_the_readers_language(client: TestClient[Litestar]) -> None:
    answer = client.post(
        "/api/v1/signup/code", json={"phone": "138 0013 8000"}, headers={"Accept-Language": "zh-CN"}
    )
    assert answer.status_code == 400
    assert (
        answer.json()["detail"]
        == "请输入CN的手机号码，只写数字，不加空格或连字符，例如+8613123456789, 13123456789。"
    )
