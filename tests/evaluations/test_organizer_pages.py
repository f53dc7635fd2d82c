"""The organizer's evaluation pages (create, contacts one by one and by CSV, invitations, moderation,
publishing) and the length of every evaluation text in both languages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engage.evaluations.models import Campaign, Rating, ServiceContact
from engage.settings import Settings
from engage.sms.segments import count_segments
from engage.sms.texts import render
from tests.factories import (
    add_raters,
    csrf_token,
    organizer,
    outbox_links,
    phone_of,
    post_rating,
    sign_in,
    typed_phone,
)
from tests.support import run_jobs


@pytest.fixture
def evaluation_staff(client: TestClient[Litestar], settings: Settings, db: Session) -> TestClient[Litestar]:
    add_raters(db, 12)
    sign_in(client, "he@district.gov.cn", organizer(settings, "he@district.gov.cn", "organizer"))
    client.headers["Accept-Language"] = "en"
    return client


def _post(client: TestClient[Litestar], path: str, form_page: str, **data: str) -> object:
    return client.post(path, data={"_csrf_token": csrf_token(client, form_page), **data})


def _new_campaign(client: TestClient[Litestar], **change: str) -> object:
    now = datetime.now().replace(microsecond=0)
    form = {
        "title_zh": "便民服务反向测评",
        "title_en": "Service windows",
        "mode": "reverse",
        "opens_at": (now - timedelta(hours=1)).isoformat(timespec="minutes"),
        "closes_at": (now + timedelta(days=3)).isoformat(timespec="minutes"),
        "subjects": "便民服务窗口 | 五里河社区\n社保窗口 | 东兴社区",
        "questions": "办事效率 | Speed\n服务态度 | Courtesy",
        "threshold": "80%",
        **change,
    }
    return _post(client, "/organizer/evaluations/new", "/organizer/evaluations/new", **form)


@pytest.mark.slow
def test_organizer_creates_a_campaign_records_and_imports_contacts_and_invites(
    evaluation_staff: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    bad = _new_campaign(evaluation_staff, subjects="")
    assert bad.status_code == 400 and "subjects" in bad.text  # type: ignore[attr-defined]
    made = _new_campaign(evaluation_staff)
    assert made.history and made.status_code == 200  # type: ignore[attr-defined]
    campaign = db.execute(select(Campaign)).scalar_one()
    assert campaign.threshold == "80%" and [s.name for s in campaign.subjects] == ["便民服务窗口", "社保窗口"]
    page = f"/organizer/evaluations/{campaign.id}"
    a = campaign.subjects[0].id

    recorded = _post(
        evaluation_staff,
        f"{page}/contacts",
        page,
        subject_id=str(a),
        phone=typed_phone(1),
        served_on="2026-11-20",
        matter="户籍证明",
    )
    assert "The service contact is recorded." in recorded.text  # type: ignore[attr-defined]
    refused = _post(
        evaluation_staff,
        f"{page}/contacts",
        page,
        subject_id=str(a),
        phone="139 9999 9999",
        served_on="2026-11-20",
        matter="户籍证明",
    )
    assert refused.status_code == 404 and "no verified resident has this number" in refused.text  # type: ignore[attr-defined]

    csv_bad = "subject,phone,served_on,matter\n社保窗口,139 0000 0002,2026-11-20,社保卡\n社保窗口,139 0000 0003,someday,社保卡\n"
    answer = evaluation_staff.post(
        f"{page}/contacts/import",
        data={"_csrf_token": csrf_token(evaluation_staff, page)},
        files={"file": ("contacts.csv", csv_bad.encode(), "text/csv")},
    )
    assert answer.status_code == 422 and "not a date (YYYY-MM-DD)" in answer.text
    assert db.execute(select(func.count(ServiceContact.id))).scalar_one() == 1  # all or nothing
    csv_good = csv_bad.replace("someday", "2026-11-21")
    answer = evaluation_staff.post(
        f"{page}/contacts/import",
        data={"_csrf_token": csrf_token(evaluation_staff, page)},
        files={"file": ("contacts.csv", csv_good.encode(), "text/csv")},
    )
    assert "2 service contacts imported." in answer.text

    invited = _post(evaluation_staff, f"{page}/invite", page)
    assert "3 invitations queued." in invited.text  # type: ignore[attr-defined]
    run_jobs(settings)
    links = outbox_links(settings)
    assert set(links) == {phone_of(1), phone_of(2), phone_of(3)}

    evaluation_staff.cookies.clear()  # now the resident's browser
    assert (
        "谢谢" in post_rating(evaluation_staff, links[phone_of(1)], [5, 4]).text
    )  # resident 1 reads Chinese
    sign_in(evaluation_staff, "he2@district.gov.cn", organizer(settings, "he2@district.gov.cn", "organizer"))
    detail = evaluation_staff.get(page)
    assert "1 counted rating; 0 flagged" in detail.text
    assert "100.0%" in detail.text and "34.2%–100.0%" in detail.text  # 2 of 2 answers satisfied


@pytest.mark.slow
def test_comment_is_moderated_and_results_published_from_the_page(
    evaluation_staff: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    _new_campaign(evaluation_staff)
    campaign = db.execute(select(Campaign)).scalar_one()
    page = f"/organizer/evaluations/{campaign.id}"
    _post(
        evaluation_staff,
        f"{page}/contacts",
        page,
        subject_id=str(campaign.subjects[0].id),
        phone=typed_phone(5),
        served_on=date.today().isoformat(),
        matter="低保",
    )
    _post(evaluation_staff, f"{page}/invite", page)
    run_jobs(settings)
    link = outbox_links(settings)[phone_of(5)]
    rating_page = evaluation_staff.get(link)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', rating_page.text)
    assert token
    evaluation_staff.post(
        link, data={"_csrf_token": token.group(1), "q1": "2", "q2": "3", "comment": "请回电 024-2345 6789"}
    )
    rating = db.execute(select(Rating)).scalar_one()
    assert rating.comment == "请回电 [***]"

    detail = evaluation_staff.get(page)
    assert "请回电 [***]" in detail.text and "(waiting)" in detail.text
    assert "Below" in detail.text  # 0 of 2 answers satisfied, under 80%
    approved = _post(evaluation_staff, f"{page}/comments/{rating.id}/approve", page)
    assert "(approved)" in approved.text  # type: ignore[attr-defined]
    not_yet = _post(evaluation_staff, f"{page}/publish", page)
    assert not_yet.status_code == 409  # type: ignore[attr-defined]
    db.execute(update(Campaign).values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    published = _post(evaluation_staff, f"{page}/publish", page)
    assert "The results are published as notice" in published.text  # type: ignore[attr-defined]
    public = evaluation_staff.get(f"/evaluations/{campaign.id}/results")
    assert public.status_code == 200 and "请回电 [***]" in public.text and "0.0%" in public.text


@pytest.mark.slow
def test_auditors_read_the_pages_but_cannot_write(
    client: TestClient[Litestar], settings: Settings, db: Session
) -> None:
    add_raters(db, 3)
    sign_in(client, "ma@district.gov.cn", organizer(settings, "ma@district.gov.cn", "auditor"))
    assert client.get("/organizer/evaluations").status_code == 200
    assert client.get("/organizer/evaluations/new").status_code == 403


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_reply_text_fits_one_or_two_segments(settings: Settings, locale: str) -> None:
    texts = [
        render(
            "eval_thanks",
            locale,
            settings.sms_signature,
            replaced=r,
            office="五里河社区便民服务窗口",
            scores="5 4 5",
            closes="2026-12-31 18:00",
        )
        for r in (False, True)
    ]
    texts += [
        render("eval_bad_reply", locale, settings.sms_signature, problem=p, n=3, example="5 4 5")
        for p in ("count", "range")
    ]
    texts += [
        render("eval_refused", locale, settings.sms_signature, reason=r) for r in ("closed", "no_contact")
    ]
    for text in texts:
        assert count_segments(text).segments <= 2, text
    assert all(t.startswith(settings.sms_signature) for t in texts)
