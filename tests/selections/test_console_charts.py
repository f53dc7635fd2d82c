"""The selection's charts table exactly the stored counts: turnout per group against the quorum (from
the invitations), approval per applicant against the line (from the verdicts stored at the close), and
the interview's sheets as counts only. The live part follows a ballot within the polling interval."""

from __future__ import annotations

import re
import time
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.selections import figures, services, stages
from engage.selections.models import Invitation, Selection
from engage.settings import Settings
from tests.factories import organizer, sign_in
from tests.selections.console_world import build, cast_ballots


# Six ballots, one per evaluator: 王明 and 张伟 approved by all, 李华 by three (50 %).
def _table(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table class="chart-table" id="{table_id}-table">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"no chart table {table_id}"
    return [
        re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def _signed_in(client: TestClient[Litestar], settings: Settings) -> None:
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))


def test_turnout_table_equals_the_invitations_stored(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="invited")
    cast_ballots(db, world, count=3)
    _signed_in(client, settings)
    rows = _table(client.get(f"/organizer/selections/{world.selection_id}").text, "turnout")
    stored = db.execute(
        select(Invitation.group, func.count(), func.count(Invitation.voted_at)).group_by(Invitation.group)
    ).all()
    by_group = {g: (n, v) for g, n, v in stored}
    names = {
        "Street leadership": "leadership",
        "Community staff": "staff",
        "Resident representatives": "resident_rep",
    }
    assert len(rows) == 3
    for label, invited, cast, required, reached in rows:
        n, voted = by_group[names[label]]
        assert (int(invited), int(cast)) == (n, voted)
        assert int(required) == -(-n * 2 // 3)  # two thirds, rounded up
        assert reached == ("reached" if voted >= int(required) else "not yet")


def test_approval_table_equals_the_verdicts_stored_at_the_close(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="invited")
    cast_ballots(db, world)
    stages.close_stage(db, "organizer:1", world.selection_id, "assessment", settings)
    db.commit()
    _signed_in(client, settings)
    html = client.get(f"/organizer/selections/{world.selection_id}").text
    rows = _table(html, "approval")
    verdicts = db.get(Selection, world.selection_id).stage("assessment").outcome["verdicts"]  # type: ignore[union-attr]
    assert [[r[0], r[1], r[2], r[3]] for r in rows] == [
        [v["name"], str(v["approvals"]), str(v["ballots"]), f"{v['percent']}%"] for v in verdicts
    ]
    assert {r[0]: r[4] for r in rows} == {
        "王明": "continues",
        "李华": "out: below the line",
        "张伟": "continues",
    }
    assert "Approval against the 80% line, per applicant" in html


def test_approval_is_not_charted_while_the_assessment_is_open(settings: Settings, db: Session) -> None:
    world = build(db, settings, until="invited")
    cast_ballots(db, world)
    assert figures.approval_chart(services.get_selection(db, world.selection_id)) is None


def test_the_live_turnout_moves_within_five_seconds_of_a_ballot(
    settings: Settings, client: TestClient[Litestar], db: Session
) -> None:
    world = build(db, settings, until="invited")
    _signed_in(client, settings)
    live = f"/organizer/selections/{world.selection_id}/live"
    first = client.get(live, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in first.text and "<html" not in first.text
    assert _table(first.text, "turnout")[0][2] == "0"
    cast_ballots(db, world, count=1)  # the first invitation is a street leader's
    arrived = time.monotonic()
    seen: Any = None
    while time.monotonic() - arrived < 5:
        seen = _table(client.get(live, headers={"HX-Request": "true"}).text, "turnout")[0][2]
        if seen == "1":
            break
        time.sleep(0.5)
    assert seen == "1"
