"""A community is added on the page with its two names only: the code the system needs is made from
the English name (and made unique), so nobody types a code."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.residents.communities.services import code_from_name
from engage.residents.models import Community
from engage.settings import Settings
from tests.factories import organizer, sign_in
from tests.panels.console_support import post_form


def test_a_code_is_made_from_the_english_name() -> None:
    assert code_from_name("Dongxing North") == "dongxing-north"
    assert code_from_name("  Xita  Street!! ") == "xita-street"
    assert code_from_name("2nd Ward") == "c-2nd-ward"
    assert len(code_from_name("A very long community name that goes on and on")) <= 32


def test_a_community_is_added_by_its_names_alone(
    client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    page = "/organizer/communities"
    form = client.get(page, headers={"Accept-Language": "zh-CN"}).text
    assert "可选" in form and "|" not in form.split("<main", 1)[1]
    for name_zh in ("西塔社区", "西塔新社区"):
        made = post_form(client, page, page, name_zh=name_zh, name_en="Xita", code="")
        assert made.status_code == 303, made.text
    shown = client.get(made.headers["location"], headers={"Accept-Language": "zh-CN"}).text
    assert "已保存：西塔新社区。" in shown
    db.expire_all()
    assert sorted(db.execute(select(Community.code)).scalars()) == ["xita", "xita-2"]
    missing = post_form(client, page, page, name_zh="", name_en="", code="")
    assert missing.status_code == 400 and "请填写社区名称" in missing.text
