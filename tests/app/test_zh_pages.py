"""Every public, resident and organizer page, in zh-CN, read as a Chinese reader reads it: no English
words outside an allow-list, no UTC ISO timestamps, no ASCII punctuation against Chinese characters.

The pages are found by following links from the entry points (one or two pages per route), over HTTP
with the test client: the text is what matters here, not the rendering."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from engage.settings import Settings
from tests.factories import SIGNUP_PROFILE, last_code, organizer, post, sign_in, token_for
from tests.zh_scan import problems

ENTRY_POINTS = ["/", "/notices", "/selections", "/objections", "/join", "/signin"]
RESIDENT_PAGES = ["/me", "/me/profile", "/me/roles", "/me/conflicts", "/me/delete"]
ORGANIZER_PAGES = ["/organizer", "/login"]
NOT_PAGES = re.compile(r"^/(lang|text|logout|schema|api|static|dev|webhooks)/|\.(csv|json)$|reveal|signout")
PER_ROUTE = 2
MOST_PAGES = 150


def route_of(path: str) -> str:
    return re.sub(r"\d+", "N", path.split("?")[0].split("#")[0])


def crawl(client: TestClient[Litestar], start: list[str]) -> Iterator[tuple[str, str]]:
    """(path, html) of the pages reachable from `start`, at most PER_ROUTE per route."""
    queue, seen, per_route = list(start), set(start), Counter[str]()
    while queue and len(seen) <= MOST_PAGES:
        path = queue.pop(0)
        if per_route[route_of(path)] >= PER_ROUTE:
            continue
        per_route[route_of(path)] += 1
        response = client.get(path, headers={"Accept-Language": "zh-CN"})
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        assert response.status_code < 500, path
        yield path, response.text
        for href in re.findall(r'href="(/[^"#]*)', response.text):
            href = href.replace("&amp;", "&")
            if href not in seen and not NOT_PAGES.search(href) and not href.startswith("//"):
                seen.add(href)
                queue.append(href)


def _resident_signed_in(settings: Settings, client: TestClient[Litestar]) -> None:
    client.headers["Accept-Language"] = "zh-CN"
    post(client, "/join", {"phone": "139 0013 9999"})
    post(client, "/join/code", {"code": last_code(settings, "+8613900139999")})
    post(client, "/join/profile", dict(SIGNUP_PROFILE, community="wulihe"))
    roles = {"roles": ["judge", "subscriber"], "consent_judge": "yes", "consent_subscriber": "yes"}
    post(client, "/join/roles", roles | {"notice_kinds": ["appointment"], "communities": ["wulihe"]})
    assert post(client, "/join/check", {}).headers["location"] == "/join/done"


def _scan(client: TestClient[Litestar], start: list[str]) -> list[str]:
    """One line per problem, naming the page: the failure message is the list to fix."""
    return [f"{path}: {problem}" for path, html in crawl(client, start) for problem in problems(html)]


@pytest.mark.slow
def test_public_and_resident_pages_read_as_chinese(
    demo_district: None, settings: Settings, app: Litestar, client: TestClient[Litestar]
) -> None:
    pages = [path for path, _ in crawl(client, ENTRY_POINTS)]
    assert {"/", "/notices", "/selections", "/objections"} <= set(pages)
    assert any(route_of(p) == "/selections/N" for p in pages) and any(
        route_of(p) == "/notices/N" for p in pages
    )
    assert (found := _scan(client, ENTRY_POINTS)) == [], "\n".join(found)
    _resident_signed_in(settings, client)
    assert (found := _scan(client, [*RESIDENT_PAGES, "/join/done"])) == [], "\n".join(found)


@pytest.mark.slow
def test_organizer_pages_read_as_chinese(
    demo_district: None, settings: Settings, client: TestClient[Litestar]
) -> None:
    sign_in(client, "admin@district.gov.cn", organizer(settings, "admin@district.gov.cn", "admin"))
    pages = [path for path, _ in crawl(client, ORGANIZER_PAGES)]
    assert len({route_of(p) for p in pages if p.startswith("/organizer")}) >= 10
    assert "/organizer/selections/N/applicants" in {route_of(p) for p in pages}
    assert (found := _scan(client, ORGANIZER_PAGES)) == [], "\n".join(found)


def test_the_scan_catches_what_it_looks_for() -> None:
    page = (
        "<main><p>报名条件: 街道</p><p>共推荐240人次。 被推荐人</p><p>状态 published</p>"
        "<p>开始 2026-11-25T01:00</p><p lang='en'>English is fine here</p><p>化名 r-9fe9ab 签号 OBJ-2026-0001</p>"
        "<p>权重：专家 1/2 · 居民 1/4.</p><p>还有 5 个工作日</p></main>"
    )
    kinds = [problem.split(" ")[:2] for problem in problems(page)]
    assert kinds == [
        ["ASCII", "punctuation"],
        ["space", "after"],
        ["English", "word"],
        ["ISO", "timestamp"],
        ["ASCII", "full"],
        ["space", "between"],
    ]
    assert (
        problems(
            "<p>报名条件：街道。</p><nav><a lang='en' href='/lang/en'>English</a></nav><p>回复TD退订</p>"
        )
        == []
    )


def test_an_invitation_names_the_grand_jury_once() -> None:
    from engage.i18n import use_locale
    from engage.panels.labels import title_in_invitation
    from engage.sms.texts import render

    title = title_in_invitation("沈河区社区党组织书记选拔面试大评审团")
    assert title == "沈河区社区党组织书记选拔面试"
    assert title_in_invitation("大评审团") == "大评审团"
    assert title_in_invitation("Shenhe interview grand jury") == "Shenhe interview"
    with use_locale("zh_CN"):
        text = render(
            "panel_invite",
            "zh_CN",
            "【沈河区委组织部】",
            title=title,
            date="12月8日",
            place="区政府",
            link="https://x.cn/j/1",
        )
    assert text.count("大评审团") == 1 and "或点击https://x.cn/j/1" in text


def test_error_pages_speak_chinese_without_field_names(client: TestClient[Litestar]) -> None:
    html = {"Accept": "text/html", "Accept-Language": "zh-CN"}
    for path in ("/s/not-a-token", "/b/not-a-token", "/e/not-a-token", "/notices/999999", "/no-such-page"):
        page = client.get(path, headers=html)
        assert page.status_code in (400, 404), path
        assert "token" not in page.text.split("<main", 1)[1], path
        assert problems(page.text) == [], path


def test_a_notice_too_long_for_three_texts_is_refused_in_chinese(
    settings: Settings, client: TestClient[Litestar]
) -> None:
    headers = {
        "Authorization": f"Bearer {token_for(settings, 'api@district.gov.cn', 'organizer')}",
        "Accept-Language": "zh-CN",
    }
    body = {
        "kind": "process",
        "title_zh": "流程",
        "title_en": "Process",
        "body_zh": "测" * 300,
        "body_en": "ok",
    }
    answer = client.post("/api/v1/notices", json=body, headers=headers)
    assert answer.status_code == 422 and answer.json()["field"] == "body_zh"
    assert "最多3条" in answer.json()["detail"] and "UCS" not in answer.json()["detail"]
