"""Organizer pages of a selection: start one from a short form, publish it, move its stages with the
buttons; a bad form names its field and creates nothing; an auditor reads but has no buttons."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.selections.models import Applicant, Selection
from engage.settings import Settings
from tests.factories import csrf_token, organizer, sign_in

FORM = {
    "title_zh": "街道副主任公开选拔",
    "title_en": "Street deputy director: open selection",
    "unit": "五里河街道",
    "unit_category": "street",
    "posts": "党建办副主任 | Party office deputy | 1\n社区服务副主任 | Community services deputy | 2",
    "first_day": "2026-12-07",
}


def _post(client: TestClient, path: str, data: dict[str, str]) -> object:  # type: ignore[type-arg]
    return client.post(
        path, data=dict(data, _csrf_token=csrf_token(client, "/organizer")), follow_redirects=False
    )


@pytest.mark.slow
def test_an_organizer_starts_publishes_and_opens_a_selection(
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    bad = _post(client, "/organizer/selections/", dict(FORM, posts="党建办副主任 | 1"))
    assert (bad.status_code == 400 and "Line 1" in bad.text) or "第1行" in bad.text  # type: ignore[attr-defined]
    assert db.execute(select(func.count()).select_from(Selection)).scalar_one() == 0

    made = _post(client, "/organizer/selections/", FORM)
    assert made.status_code == 303  # type: ignore[attr-defined]
    path = made.headers["location"]  # type: ignore[attr-defined]
    page = client.get(path, headers={"Accept-Language": "en"})
    assert "Publish" in page.text and "Party office deputy" not in page.text  # posts are shown by number
    # Publishing and moving a stage are confirmed steps (tests/selections/test_console_steps.py): their
    # POST is the confirmation page's form; the one-click action no longer does them.
    assert _post(client, f"{path}/action", {"do": "publish"}).status_code == 400  # type: ignore[attr-defined]
    assert _post(client, f"{path}/publish", {}).status_code == 303  # type: ignore[attr-defined]
    assert _post(client, f"{path}/stages/nomination/open", {}).status_code == 303  # type: ignore[attr-defined]
    refused = _post(client, f"{path}/stages/speech/open", {})
    assert refused.status_code == 409 and "must close" in refused.text  # type: ignore[attr-defined]
    db.expire_all()
    selection = db.execute(select(Selection)).scalar_one()
    assert selection.status == "published" and selection.stage("nomination").status == "open"
    assert [s.opens_at.date().isoformat() for s in selection.stages][:2] == ["2026-12-07", "2026-12-14"]


@pytest.mark.slow
def test_an_auditor_reads_without_buttons(settings: Settings, client: TestClient, db: Session) -> None:  # type: ignore[type-arg]
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    path = _post(client, "/organizer/selections/", FORM).headers["location"]  # type: ignore[attr-defined]
    client.cookies.clear()
    sign_in(client, "audit@district.gov.cn", organizer(settings, "audit@district.gov.cn", "auditor"))
    page = client.get(path, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Publish" not in page.text
    assert _post(client, f"{path}/publish", {}).status_code == 403  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_proposed_appointee_is_withdrawn_on_the_page_only_with_an_upheld_objection(
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    path = _post(client, "/organizer/selections/", FORM).headers["location"]  # type: ignore[attr-defined]
    selection = db.execute(select(Selection)).scalar_one()
    # Arranged as the result stage leaves it: one applicant proposed for appointment.
    applicant = Applicant(
        selection_id=selection.id, post_id=selection.posts[0].id, name="王明", status="proposed"
    )
    db.add(applicant)
    db.commit()
    page = client.get(path)
    assert "Withdraw on this objection" in page.text and "proposed for appointment" in page.text
    refused = _post(client, f"{path}/applicants/{applicant.id}/withdraw", {"objection": "OBJ-2026-NOPE00"})
    # the reference names no objection to this selection's appointment notice
    assert refused.status_code == 404 and "appointment notice" in refused.text  # type: ignore[attr-defined]
    db.expire_all()
    assert db.get(Applicant, applicant.id).status == "proposed"  # type: ignore[union-attr]
