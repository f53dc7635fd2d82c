"""A resident declares their own conflicts of interest on `/me/conflicts` (issue 5, item 3): the same
declarations the organizers record through the API, which keep the resident out of a draw for that
candidate."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.panels.models import DeclaredConflict
from engage.residents.models import Resident
from engage.settings import Settings
from tests.factories import post, sign_up


def test_a_resident_declares_and_removes_a_conflict_on_their_page(
    signup_district: None, settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    assert client.get("/me/conflicts", follow_redirects=False).headers["location"] == "/signin"
    sign_up(client, settings)
    headers = {"Accept-Language": "en"}
    assert 'href="/me/conflicts"' in client.get("/me", headers=headers).text

    refused = post(client, "/me/conflicts", {"kind": "cousin", "candidate": "王明", "note": ""})
    assert refused.status_code == 400 and 'id="kind-error"' in refused.text
    empty = post(client, "/me/conflicts", {"kind": "family", "candidate": "  ", "note": ""})
    assert empty.status_code == 400 and 'id="candidate-error"' in empty.text
    assert db.execute(select(DeclaredConflict)).first() is None

    done = post(client, "/me/conflicts", {"kind": "family", "candidate": "王明", "note": "舅舅"})
    assert done.status_code == 200 and "王明" in done.text
    resident = db.execute(select(Resident)).scalar_one()
    row = db.execute(select(DeclaredConflict)).scalar_one()
    assert (row.resident_id, row.kind, row.candidate, row.note, row.declared_by) == (
        resident.id,
        "family",
        "王明",
        "舅舅",
        f"resident:{resident.pseudonym}",
    )
    assert (
        post(client, f"/me/conflicts/{row.id + 1}/remove", {}, form_page="/me/conflicts").status_code == 404
    )
    removed = post(client, f"/me/conflicts/{row.id}/remove", {}, form_page="/me/conflicts")
    assert removed.status_code == 200
    db.expire_all()
    assert db.execute(select(DeclaredConflict)).first() is None
    actions = db.execute(
        select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.subject_type == "resident")
    )
    mine = [(a, actor) for a, actor in actions if a.startswith("conflict.")]
    actor = f"resident:{resident.pseudonym}"
    assert mine == [("conflict.declare", actor), ("conflict.remove", actor)]
