"""Reverse evaluation end to end: 1,000 residents, 200 service contacts imported by CSV, invitations by
SMS through the real twilio SDK and the fake gateway, ratings by personal link and by SMS reply
through the signed inbound webhook, a second rating replacing the first, a refusal for a resident
without a contact, results checked against hand-computed figures, moderation, publishing.
Then: bulk patterns flagged and reviewed, and an online evaluation limited to one community."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engage import links
from engage.audit.models import AuditEntry
from engage.evaluations.models import Campaign, Rating, ServiceContact, Subject
from engage.notices.models import Notice
from engage.residents.models import Resident
from engage.settings import Settings
from engage.sms.segments import count_segments
from tests.factories import (
    QUESTIONS,
    RATING_LINK,
    WINDOW,
    EvaluationDistrict,
    api_phone,
    campaign_body,
    csrf_token,
    forget_code_limits,
    organizer,
    organizer_headers,
    outbox_links,
    phone_of,
    post_rating,
    sign_in,
    token_for,
    typed_phone,
)
from tests.support import run_jobs


def contacts_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["subject", "phone", "served_on", "matter"])
    writer.writerows(rows)
    return out.getvalue().encode()


# Subject A (五里河社区便民服务窗口) served residents 0-119, subject B (东兴社区社保窗口) 120-199.
A_WEB = {0: [5, 5, 4], 1: [4, 4, 4], 2: [3, 3, 3], 3: [5, 4, 3], 4: [2, 4, 5], 5: [1, 2, 4]}
A_SMS = {6: "5 4 5", 7: "444", 8: "5,5,5", 9: "4 3 2"}
B_WEB = {120: [5, 5, 5], 121: [4, 4, 3]}
B_SMS = {122: "5 5 4", 123: "2 4 4"}
COMMENT = "态度很好，有问题请打我电话 138 0013 8000 或 +86 139-1234-5678"


def add_earlier_campaign(db: Session) -> None:
    """Last year's evaluation of the same window: two ratings, 3 of 6 answers satisfied."""
    now = datetime.now(UTC)
    earlier = Campaign(
        title_zh="2025年便民服务测评",
        title_en="2025 evaluation",
        mode="online",
        opens_at=now - timedelta(days=400),
        closes_at=now - timedelta(days=380),
        community_codes=[],
        questions=QUESTIONS,
        created_by="organizer:1",
    )
    earlier.subjects = [Subject(name=WINDOW, unit="五里河社区")]
    db.add(earlier)
    db.flush()
    subject_id = earlier.subjects[0].id
    for n, scores in ((900, [5, 5, 5]), (901, [3, 3, 3])):
        db.add(
            Rating(
                campaign_id=earlier.id,
                subject_id=subject_id,
                slot=f"online:{subject_id}:{n}",
                scores=scores,
                via="web",
            )
        )
    db.commit()


@pytest.mark.slow
def test_reverse_evaluation_of_1000_residents_with_200_served(
    evaluation_district: EvaluationDistrict,
) -> None:
    add_earlier_campaign(evaluation_district.db)
    made = evaluation_district.api("POST", "", json=campaign_body())
    assert made.status_code == 201, made.text
    campaign = made.json()
    cid = campaign["id"]
    a, b = (s["id"] for s in campaign["subjects"])

    # A file with bad rows is refused whole, naming each row and column.
    bad = contacts_csv(
        [
            (WINDOW, typed_phone(0), "2026-11-20", "户籍证明"),
            (WINDOW, "139 9999", "2026-11-20", "户籍证明"),
            ("没有这个窗口", typed_phone(2), "2026-11-20", "户籍证明"),
            (WINDOW, "+86 135 0000 0000", "2026-11-31", "户籍证明"),
            (WINDOW, "+86 135 0000 0000", "2026-11-20", "户籍证明"),
        ]
    )
    refused = evaluation_district.api(
        "POST", f"/{cid}/contacts/import", content=bad, headers={"Content-Type": "text/csv"}
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "import_rejected")
    assert [(r["line"], r["field"]) for r in refused.json()["rows"]] == [
        (3, "phone"),
        (4, "subject"),
        (5, "served_on"),
        (6, "phone"),
    ]
    assert evaluation_district.db.execute(select(func.count(ServiceContact.id))).scalar_one() == 0

    rows = [
        (
            "五里河社区便民服务窗口" if n < 120 else str(b),
            typed_phone(n),
            "2026-11-20",
            "户籍证明" if n % 2 else "低保申请",
        )
        for n in range(200)
    ]
    imported = evaluation_district.api(
        "POST", f"/{cid}/contacts/import", content=contacts_csv(rows), headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"imported": 200}
    again = evaluation_district.api(
        "POST", f"/{cid}/contacts/import", content=contacts_csv(rows), headers={"Content-Type": "text/csv"}
    )
    assert again.status_code == 422 and len(again.json()["rows"]) == 200  # a file imported twice counts once
    assert {r["detail"] for r in again.json()["rows"]} == {
        "this service contact is already recorded (same office, resident, date and matter)"
    }

    invited = evaluation_district.api("POST", f"/{cid}/invite")
    assert invited.json() == {"texts": 200}
    run_jobs(evaluation_district.settings)
    invitations = [m for m in evaluation_district.fake.messages if RATING_LINK.search(m.body)]
    assert sorted(m.to for m in invitations) == sorted(phone_of(n) for n in range(200))
    assert all(
        count_segments(m.body).segments <= evaluation_district.settings.sms_max_segments for m in invitations
    )
    assert "Rate it" in evaluation_district.fake.messages_to(phone_of(0))[0].body  # resident 0 reads English
    assert "请评价" in evaluation_district.fake.messages_to(phone_of(1))[0].body
    # Only a hash of each personal link is kept.
    token = evaluation_district.link_of(3).rsplit("/", 1)[1]
    stored = set(evaluation_district.db.execute(select(ServiceContact.token_hash)).scalars())
    assert token not in stored and len(stored) == 200
    assert evaluation_district.api("POST", f"/{cid}/invite").json() == {"texts": 0}  # nobody is invited twice

    # Web ratings through the personal links; resident 0 first rates 1 1 1, then changes it.
    assert evaluation_district.rate(0, [1, 1, 1]).status_code == 200
    for n, scores in A_WEB.items():
        answered = evaluation_district.rate(n, scores, comment=COMMENT if n == 1 else "", lang="en")
        assert answered.status_code == 200, answered.text
        # The page speaks the resident's language (residents 0 and 4 read English), not the browser's.
        expected = {
            (True, True): "Your rating is changed.",
            (True, False): "您的评价已修改。",
            (False, True): "Thank you, your rating is recorded.",
            (False, False): "谢谢，您的评价已记录。",
        }
        assert expected[(n == 0, n % 4 == 0)] in answered.text
    for n, scores in B_WEB.items():
        assert evaluation_district.rate(n, scores).status_code == 200

    # SMS replies count like web ones; resident 6 first answers 2 2 2, then changes it.
    assert "谢谢" in evaluation_district.text(phone_of(6), "2 2 2")[0]
    for n, reply in {**A_SMS, **B_SMS}.items():
        answer = evaluation_district.text(phone_of(n), reply)[0]
        if n == 6:  # a second rating: it replaced the first
            assert "已改为5 4 5" in answer, answer
        else:  # residents 8 and 120 read English
            assert ("recorded anonymously" if n % 4 == 0 else "已匿名记录") in answer, answer
    assert "请回复3个数字" in evaluation_district.text(phone_of(7), "4 4")[0]  # a clear answer to a bad reply
    assert "1到5" in evaluation_district.text(phone_of(7), "4 4 9")[0]
    assert "digits" in evaluation_district.text(phone_of(8), "55")[0]  # resident 8 reads English

    # A resident with no service contact is refused, by SMS and on the web.
    refusal = evaluation_district.text(phone_of(501), "5 5 5")
    assert refusal and "没有待评价的服务" in refusal[0]
    assert (
        evaluation_district.db.execute(
            select(func.count(Rating.id)).where(Rating.campaign_id == cid)
        ).scalar_one()
        == 14
    )
    with httpx.Client(base_url=evaluation_district.url, timeout=30) as browser:
        sign_in_resident(evaluation_district, browser, 501)
        page = browser.get(f"/evaluations/{cid}/subjects/{a}", headers={"Accept-Language": "en"})
        assert page.status_code == 403
        assert "no record that it served you" in page.text

    # Results against hand-computed figures (see A_WEB, A_SMS, B_WEB, B_SMS).
    results = evaluation_district.api("GET", f"/{cid}/results").json()
    first, second = results["subjects"]
    assert first["subject"]["id"] == a and second["subject"]["id"] == b
    assert (first["ratings"], first["answers"], first["satisfied"]) == (10, 30, 21)
    assert first["rate_fraction"] == "7/10"
    assert first["interval"]["low"] == pytest.approx(0.521242, abs=1e-6)
    assert first["interval"]["high"] == pytest.approx(0.833353, abs=1e-6)
    assert first["by_score"] == {"1": 1, "2": 3, "3": 5, "4": 12, "5": 9}
    assert first["question_means"] == [3.8, 3.8, 3.9]
    assert first["below_threshold"] is True  # 7/10 < 3/4
    assert first["entitled"] == 120
    assert [t["rate"] for t in first["trend"]] == [0.5]
    assert first["change"] == pytest.approx(0.2)
    assert (second["ratings"], second["answers"], second["satisfied"]) == (4, 12, 10)
    assert second["rate_fraction"] == "5/6"
    assert second["interval"]["low"] == pytest.approx(0.551969, abs=1e-6)
    assert second["interval"]["high"] == pytest.approx(0.953035, abs=1e-6)
    assert second["below_threshold"] is False and second["trend"] == [] and second["entitled"] == 80
    by_via = evaluation_district.db.execute(
        select(Rating.via, func.count()).where(Rating.campaign_id == cid).group_by(Rating.via)
    )
    assert dict(by_via.all()) == {"web": 8, "sms": 6}

    # Moderation removed both numbers typed into the comment; it is public only once approved.
    (comment,) = first["comments"]
    assert comment["text"] == "态度很好，有问题请打我电话 [***] 或 [***]"
    assert comment["status"] == "pending"
    approved = evaluation_district.api("POST", f"/{cid}/comments/{comment['rating_id']}/approve")
    assert approved.status_code == 201 and approved.json()["comment_status"] == "approved"

    # Anonymous in every output: no resident id, pseudonym or number in results, export or audit.
    export = evaluation_district.api("GET", f"/{cid}/ratings.csv").text
    assert export.splitlines()[0] == "subject,unit,via,status,scores,satisfied_answers,comment"
    assert len(export.splitlines()) == 15
    results_text = evaluation_district.api("GET", f"/{cid}/results").text
    for output in (export, results_text):
        assert "+86" not in output and "r-0000" not in output and "resident" not in output
    rate_entries = evaluation_district.db.execute(
        select(AuditEntry).where(AuditEntry.action == "evaluation.rate")
    ).scalars()
    assert {(e.actor, tuple(sorted(e.details))) for e in rate_entries} == {
        ("anonymous", ("replaced", "subject", "via"))
    }

    # After the close: refused by link and by SMS; the results are published as a notice.
    assert evaluation_district.api("POST", f"/{cid}/publish").status_code == 409  # not closed yet
    evaluation_district.db.execute(
        update(Campaign).where(Campaign.id == cid).values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    evaluation_district.db.commit()
    # Resident 4 reads English: the page says so whatever the browser asks for.
    closed_page = httpx.get(
        evaluation_district.url + evaluation_district.link_of(4), headers={"Accept-Language": "zh-CN"}
    )
    assert (
        "This evaluation is not open" in closed_page.text
        and '<form method="post" action="/e/' not in closed_page.text
    )
    late = evaluation_district.rate(3, [5, 5, 5], lang="en")  # resident 3 reads Chinese
    assert late.status_code == 403 and "已结束，不再接受评价" in late.text
    assert "已结束" in evaluation_district.text(phone_of(9), "5 5 5")[0]
    assert evaluation_district.api("GET", f"/{cid}/results").json()["subjects"][0]["rate_fraction"] == "7/10"
    published = evaluation_district.api("POST", f"/{cid}/publish")
    assert published.status_code == 201, published.text
    notice = evaluation_district.db.get(Notice, published.json()["notice_id"])
    assert notice is not None and notice.status == "published"
    assert f"/evaluations/{cid}/results" in notice.body_zh
    public = httpx.get(
        f"{evaluation_district.url}/evaluations/{cid}/results", headers={"Accept-Language": "zh-CN"}
    )
    assert public.status_code == 200
    assert "70.0%" in public.text and "52.1%–83.4%" in public.text and "低于标准" in public.text
    assert "[***]" in public.text and "138 0013" not in public.text


def sign_in_resident(evaluation_district: EvaluationDistrict, browser: httpx.Client, n: int) -> None:
    """Sign in at /join with the code texted to resident n (an existing resident lands on /me)."""
    page = browser.get("/join")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    browser.post("/join", data={"_csrf_token": token.group(1), "phone": phone_of(n)})
    run_jobs(evaluation_district.settings)
    code = re.search(r"\d{6}", evaluation_district.fake.messages_to(phone_of(n))[-1].body)
    assert code
    page = browser.get("/join/code")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    browser.post("/join/code", data={"_csrf_token": token.group(1), "code": code.group(0)})


# -- bulk patterns and online evaluations, through the test client ----------------------------------


@pytest.mark.slow
def test_many_ratings_from_one_address_are_flagged_counted_apart_and_reviewed(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    headers = organizer_headers(settings)
    campaign = client.post(
        "/api/v1/evaluations", json=campaign_body(bulk_limit=3, bulk_minutes=10), headers=headers
    ).json()
    cid, a = campaign["id"], campaign["subjects"][0]["id"]
    for n in range(5):
        contact = {"subject_id": a, "phone": api_phone(n), "served_on": "2026-11-20", "matter": "户籍证明"}
        assert (
            client.post(f"/api/v1/evaluations/{cid}/contacts", json=contact, headers=headers).status_code
            == 201
        )
    assert client.post(f"/api/v1/evaluations/{cid}/invite", headers=headers).json() == {"texts": 5}
    run_jobs(settings)
    links = outbox_links(settings)
    for n in range(5):
        assert post_rating(client, links[phone_of(n)], [5, 5, 5]).status_code == 200
    results = client.get(f"/api/v1/evaluations/{cid}/results", headers=headers).json()
    assert (results["ratings"], results["flagged"]) == (0, 5)  # more than 3 within 10 minutes: all five
    assert results["subjects"][0]["flagged"] == 5 and results["subjects"][0]["ratings"] == 0
    flagged = client.get(f"/api/v1/evaluations/{cid}/flagged", headers=headers).json()
    assert len(flagged) == 5 and set(flagged[0]) == {"rating_id", "subject_id", "scores", "via", "updated_at"}
    accepted = client.post(
        f"/api/v1/evaluations/{cid}/ratings/{flagged[0]['rating_id']}/accept", headers=headers
    )
    assert accepted.json()["status"] == "counted"
    client.post(f"/api/v1/evaluations/{cid}/ratings/{flagged[1]['rating_id']}/reject", headers=headers)
    again = client.post(
        f"/api/v1/evaluations/{cid}/ratings/{flagged[1]['rating_id']}/reject", headers=headers
    )
    assert again.status_code == 409
    results = client.get(f"/api/v1/evaluations/{cid}/results", headers=headers).json()
    assert (results["ratings"], results["flagged"], results["subjects"][0]["rejected"]) == (1, 3, 1)
    sign_in(client, "zhou@district.gov.cn", organizer(settings, "zhou@district.gov.cn", "auditor"))
    page = client.get(f"/organizer/evaluations/{cid}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "1 counted rating; 3 flagged, waiting for review." in page.text
    assert page.text.count("/accept") == 0  # auditors read; they do not review


@pytest.mark.slow
def test_contact_for_an_unverified_or_unknown_number_is_refused_naming_the_field(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    headers = organizer_headers(settings)
    campaign = client.post("/api/v1/evaluations", json=campaign_body(), headers=headers).json()
    cid, a = campaign["id"], campaign["subjects"][0]["id"]
    db.execute(update(Resident).where(Resident.phone == phone_of(3)).values(verified_at=None))
    db.commit()
    # a well-formed number no verified resident has names nothing in the register: 404
    for phone in (api_phone(3), "13800000000"):
        contact = {"subject_id": a, "phone": phone, "served_on": "2026-11-20", "matter": "户籍证明"}
        answer = client.post(f"/api/v1/evaluations/{cid}/contacts", json=contact, headers=headers)
        assert answer.status_code == 404 and answer.json()["field"] == "phone", answer.text
        assert answer.json()["detail"] == "no verified resident has this number"
    for phone in ("138 0000 0000", "12345"):  # not a number as the API takes it: 400
        contact = {"subject_id": a, "phone": phone, "served_on": "2026-11-20", "matter": "户籍证明"}
        answer = client.post(f"/api/v1/evaluations/{cid}/contacts", json=contact, headers=headers)
        assert answer.status_code == 400 and answer.json()["field"] == "phone"
    contact = {"subject_id": a, "phone": api_phone(1), "served_on": "2026-11-20", "matter": "户" * 41}
    assert (
        client.post(f"/api/v1/evaluations/{cid}/contacts", json=contact, headers=headers).json()["field"]
        == "matter"
    )
    assert db.execute(select(func.count(ServiceContact.id))).scalar_one() == 0
    contact["matter"] = "户籍证明"
    assert (
        client.post(f"/api/v1/evaluations/{cid}/contacts", json=contact, headers=headers).status_code == 201
    )
    twice = client.post(f"/api/v1/evaluations/{cid}/contacts", json=contact, headers=headers)
    assert twice.status_code == 409 and "already recorded" in twice.json()["detail"]


@pytest.mark.slow
def test_invitations_wait_for_the_opening(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    headers = organizer_headers(settings)
    later = datetime.now(UTC) + timedelta(days=1)
    body = campaign_body(opens_at=later.isoformat(), closes_at=(later + timedelta(days=7)).isoformat())
    campaign = client.post("/api/v1/evaluations", json=body, headers=headers).json()
    contact = {
        "subject_id": campaign["subjects"][0]["id"],
        "phone": api_phone(1),
        "served_on": "2026-11-20",
    }
    contact["matter"] = "户籍证明"
    assert (
        client.post(
            f"/api/v1/evaluations/{campaign['id']}/contacts", json=contact, headers=headers
        ).status_code
        == 201
    )
    early = client.post(f"/api/v1/evaluations/{campaign['id']}/invite", headers=headers)
    assert early.status_code == 409 and "once the evaluation opens" in early.json()["detail"]


@pytest.mark.slow
def test_campaign_with_bad_input_is_refused_naming_the_field(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings
) -> None:
    headers = organizer_headers(settings)
    cases = [
        ({"threshold": "5/4"}, 400, "threshold"),  # /schema states these
        ({"questions": [{"zh": "问", "en": "Q"}] * 10}, 400, "questions"),
        ({"community_codes": ["wulihe"]}, 400, "community_codes"),  # none for a reverse evaluation
        ({"closes_at": "2020-01-01T00:00:00+00:00"}, 422, "closes_at"),  # before opens_at
        ({"mode": "online", "community_codes": ["nowhere"]}, 422, "community_codes"),  # no such community
    ]
    for change, status, field in cases:
        answer = client.post("/api/v1/evaluations", json=campaign_body(**change), headers=headers)
        assert (answer.status_code, answer.json()["field"]) == (status, field), change
    auditor = {"Authorization": f"Bearer {token_for(settings, 'sun@district.gov.cn', 'auditor')}"}
    assert client.post("/api/v1/evaluations", json=campaign_body(), headers=auditor).status_code == 403
    assert client.post("/api/v1/evaluations", json=campaign_body()).status_code == 401


@pytest.mark.slow
def test_online_evaluation_admits_verified_residents_of_its_communities_only(
    thirty_raters: None, client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    headers = organizer_headers(settings)
    body = campaign_body("online", community_codes=["wulihe"])
    campaign = client.post("/api/v1/evaluations", json=body, headers=headers).json()
    cid, a = campaign["id"], campaign["subjects"][0]["id"]
    client.headers["Accept-Language"] = "en"
    assert client.get(f"/evaluations/{cid}", follow_redirects=False).headers["location"] == "/signin"
    sign_in_with_console_code(client, settings, 0)  # community wulihe (resident n lives in n % 3)
    path = f"/evaluations/{cid}/subjects/{a}"
    assert "Thank you" in post_rating(client, path, [4, 4, 5]).text
    assert "Your rating is changed" in post_rating(client, path, [5, 5, 5]).text
    sign_in_with_console_code(client, settings, 1)  # community dongxing
    refused = post_rating(client, path, [1, 1, 1])
    assert refused.status_code == 403 and "residents of other communities" in refused.text
    results = client.get(f"/api/v1/evaluations/{cid}/results", headers=headers).json()
    assert results["subjects"][0]["ratings"] == 1 and results["subjects"][0]["rate_fraction"] == "1"

    # A resident who deletes their data leaves an anonymous rating behind, still counted.
    sign_in_with_console_code(client, settings, 0)
    client.post("/me/delete", data={"_csrf_token": csrf_token(client, "/me/delete")})
    assert db.execute(select(Resident).where(Resident.phone == phone_of(0))).scalar_one_or_none() is None
    db.expire_all()
    assert [(r.resident_id, r.scores) for r in db.execute(select(Rating)).scalars()] == [(None, [5, 5, 5])]
    results = client.get(f"/api/v1/evaluations/{cid}/results", headers=headers).json()
    assert results["subjects"][0]["ratings"] == 1


def sign_in_with_console_code(client: TestClient[Litestar], settings: Settings, n: int) -> None:
    import json

    forget_code_limits(settings)  # a second code for the same number within the minute
    page = client.get("/join")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    client.post("/join", data={"_csrf_token": token.group(1), "phone": phone_of(n)})
    run_jobs(settings)
    texts = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
    code = re.search(r"\d{6}", [t for t in texts if t["to"] == phone_of(n)][-1]["body"])
    assert code
    page = client.get("/join/code")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    done = client.post("/join/code", data={"_csrf_token": token.group(1), "code": code.group(0)})
    assert done.status_code in (200, 302, 303), done.text


@pytest.mark.slow
def test_guessing_personal_links_hits_the_rate_limit(
    thirty_raters: None, client: TestClient[Litestar]
) -> None:
    """Links that name nothing count against the address (engage.links, the one policy for every
    personal link); the rating pages' own per-address limit on every hit stays behind it."""
    misses = links.MISSES_PER_ADDRESS
    answers = [client.get(f"/e/{'x' * 22}{n}").status_code for n in range(misses + 1)]
    assert answers[:misses] == [404] * misses
    assert answers[misses] == 429
