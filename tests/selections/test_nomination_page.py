"""A resident signed in with phone and code nominates from the phone page, changes it, and is refused
with a clear message once the nomination has closed; nothing changes then."""

from __future__ import annotations

from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.residents.models import Resident
from engage.selections import stages
from engage.selections.models import Nomination, Nominee, StageKind
from engage.settings import Settings
from tests.factories import open_selection, post, sign_up


def test_a_resident_nominates_from_the_phone_page_and_changes_it(
    signup_district: None,
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    selection_id, post_id = open_selection(db, settings)
    path = f"/selections/{selection_id}/nominate"
    assert client.get(path, follow_redirects=False).headers["location"] == "/join"  # signed out
    sign_up(client, settings)
    public = client.get(f"/selections/{selection_id}", headers={"Accept-Language": "zh-CN"})
    assert f'href="{path}"' in public.text

    page = client.get(path, headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "副主任" in page.text
    empty = post(client, path, {"post_id": str(post_id), f"name-{post_id}": "  "})
    assert empty.status_code == 400 and "请填写被推荐人姓名" in empty.text
    done = post(
        client, path, {"post_id": str(post_id), f"name-{post_id}": "李 明", f"reason-{post_id}": "办事公道"}
    )
    assert done.status_code in (302, 303)
    changed = post(client, path, {"post_id": str(post_id), f"name-{post_id}": "张华"})
    assert changed.status_code in (302, 303)
    db.expire_all()
    rows = db.execute(select(Nomination, Nominee).join(Nominee, Nominee.id == Nomination.nominee_id)).all()
    assert [(n.reason, nominee.name) for n, nominee in rows] == [("", "张华")]
    assert "张华" in client.get(path, headers={"Accept-Language": "zh-CN"}).text

    stages.close_stage(db, "test", selection_id, StageKind.NOMINATION, settings)
    db.commit()
    late = post(
        client,
        path,
        {"post_id": str(post_id), f"name-{post_id}": "王五"},
        form_page="/me",
    )
    assert late.status_code == 400 and "已结束" in late.text
    db.expire_all()
    assert [nominee.name for _, nominee in db.execute(select(Nomination, Nominee).join(Nominee)).all()] == [
        "张华"
    ]


def test_a_nomination_is_audited_by_the_residents_pseudonym(
    signup_district: None,
    settings: Settings,
    client: TestClient,  # type: ignore[type-arg]
    db: Session,
) -> None:
    """S17: nominations were audited as resident:<numeric id>, which any organizer can resolve."""
    selection_id, post_id = open_selection(db, settings)
    sign_up(client, settings)
    path = f"/selections/{selection_id}/nominate"
    assert post(client, path, {"post_id": str(post_id), f"name-{post_id}": "李明"}).status_code in (302, 303)
    db.expire_all()
    resident = db.execute(select(Resident)).scalar_one()
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "selection.nomination.add")).scalar_one()
    assert entry.actor == f"resident:{resident.pseudonym}"
