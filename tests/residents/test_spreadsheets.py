"""Rosters and exports as district offices use them: Excel on Chinese Windows saves GBK with Chinese
headings; the export opens with words, not codes, and with local times."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from engage.db import utcnow
from engage.residents.models import Community, Resident, ResidentRole
from engage.residents.roster import community_lookup, parse_roster
from engage.settings import Settings
from tests.factories import csrf_token, organizer, sign_in

COMMUNITIES = [("wulihe", "五里河社区", "Wulihe"), ("dongxing", "东兴社区", "Dongxing")]
CHINESE_ROSTER = "\r\n".join(
    [
        "姓名,手机号,社区,参与身份,专业领域,工作单位,性别,年龄段",
        "刘洋,13900139001,五里河社区,专家,城市规划,沈阳某设计院,男,45–59岁",
        "周红,139 0013 9002,东兴,人大代表,,五里河街道办事处,女,60-74",
    ]
)
ENGLISH_ROSTER = "\n".join(
    [
        "Name,Phone,Community,Participant_Type,Expertise,Work_Unit,Gender,Age_Band",
        "Liu Yang,13900139001,wulihe,expert,urban planning,,male,45 to 59",
    ]
)


def _parsed(data: bytes) -> list[tuple[str, str, str, str | None, str | None]]:
    roster = parse_roster(data, region="CN", communities=community_lookup(COMMUNITIES))
    assert roster.errors == ()
    return [(r.name, r.community, r.participant_type, r.gender, r.age_band) for r in roster.records]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_a_roster_with_chinese_headings_reads_in_every_office_encoding(encoding: str) -> None:
    assert _parsed(CHINESE_ROSTER.encode(encoding)) == [
        ("刘洋", "wulihe", "expert", "male", "45-59"),
        ("周红", "dongxing", "deputy_pc", "female", "60-74"),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_a_roster_with_english_headings_and_labels_reads(encoding: str) -> None:
    assert _parsed(ENGLISH_ROSTER.encode(encoding)) == [("Liu Yang", "wulihe", "expert", "male", "45-59")]


def test_bytes_that_are_no_chinese_text_are_refused_naming_the_file() -> None:
    roster = parse_roster(b"name,phone\n\xff\xfe\x80\x80", region="CN", communities={})
    assert [(e.row, e.field) for e in roster.errors] == [(1, "file")]
    assert "GBK" in roster.errors[0].text()


def test_an_unknown_chinese_heading_is_named_in_the_error() -> None:
    data = "姓名,手机号,社区,参与身份,籍贯\n刘洋,13900139001,五里河,专家,辽宁\n".encode("gbk")
    roster = parse_roster(data, region="CN", communities=community_lookup(COMMUNITIES))
    assert [(e.row, e.field) for e in roster.errors] == [(1, "籍贯")]


def _communities(db: Any) -> None:
    db.add_all([Community(code=code, name_zh=zh, name_en=en) for code, zh, en in COMMUNITIES])
    db.commit()


@pytest.mark.slow
def test_an_organizer_imports_a_gbk_roster_with_chinese_headings(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    token = csrf_token(client, "/organizer/residents/import")
    page = client.post(
        "/organizer/residents/import",
        data={"_csrf_token": token},
        files={"file": ("名册.csv", CHINESE_ROSTER.encode("gbk"), "text/csv")},
        headers={"Accept-Language": "zh-CN"},
    )
    assert page.status_code == 200, page.text
    assert "名册已导入" in page.text
    db.expire_all()
    stored = db.execute(select(Resident).order_by(Resident.name)).scalars().all()
    assert [(r.name, r.participant_type, r.gender, r.age_band, r.expertise) for r in stored] == [
        ("刘洋", "expert", "male", "45-59", "城市规划"),
        ("周红", "deputy_pc", "female", "60-74", None),
    ]


def test_the_page_export_opens_with_labels_and_local_times(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    wulihe = db.execute(select(Community).where(Community.code == "wulihe")).scalar_one()
    moment = utcnow().replace(
        hour=23, minute=31, second=1, microsecond=123580
    )  # 07:31 the next day in Shenyang
    resident = Resident(
        phone="+8613800138001",
        name="李娜",
        community_id=wulihe.id,
        participant_type="deputy_pc",
        gender="female",
        age_band="60-74",
        occupation="retired",
        source="web",
        verified_at=moment,
    )
    resident.roles = [ResidentRole(role="judge", consented_at=moment, consent_version="2026-11")]
    db.add(resident)
    db.commit()
    sign_in(client, "aud@district.gov.cn", organizer(settings, "aud@district.gov.cn", "auditor"))
    response = client.get("/organizer/residents/export.csv", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    [row] = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["姓名"] == "李娜"
    assert row["电话"] == "+86138****8001"
    assert row["社区"] == "五里河社区"
    assert row["性别"] == "女"
    assert row["年龄段"] == "60–74岁"
    assert row["职业类别"] == "退休"
    assert row["角色"] == "志愿评委"
    assert row["来源"] == "网页报名"
    local = moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    assert row["验证时间"] == local
    assert local.endswith("07:31")
    text = response.content.decode("utf-8-sig")
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), "no ISO timestamps in the office export"
    assert "+00:00" not in text
    english = client.get("/organizer/residents/export.csv", headers={"Accept-Language": "en"})
    [row] = list(csv.DictReader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert (row["Community"], row["Gender"], row["Roles"]) == ("Wulihe", "Female", "Volunteer judge")
