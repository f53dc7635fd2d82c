"""Nomination by text for residents without a smartphone: through the signed inbound webhook and
the Twilio-speaking fake, the same rules as the phone page (one per nominator and post, changeable
until the close), and a clear answer for anything else."""

from __future__ import annotations

from sqlalchemy import select

from engage.residents.models import Resident
from engage.selections import stages
from engage.selections.models import Nomination, Nominee, StageKind
from tests.factories import PanelDistrict, open_selection


def test_a_resident_without_a_smartphone_nominates_by_text(panel_district: PanelDistrict) -> None:
    site = panel_district
    selection_id, post_id = open_selection(site.db, site.settings)
    resident = (
        site.db.execute(select(Resident).where(Resident.participant_type == "resident")).scalars().first()
    )
    assert resident is not None and resident.phone is not None

    first = site.text(resident.phone, f"推荐 {post_id} 李 明 / 五里河街道")
    assert len(first) == 1 and "李 明" in first[0] and ("已记录" in first[0] or "recorded" in first[0]), first
    changed = site.text(resident.phone, f"推荐{post_id} 张华")
    assert len(changed) == 1 and "张华" in changed[0]
    site.db.expire_all()
    rows = site.db.execute(
        select(Nomination, Nominee).join(Nominee, Nominee.id == Nomination.nominee_id)
    ).all()
    assert [nominee.name for _, nominee in rows] == ["张华"]

    unclear = site.text(resident.phone, "推荐 张华")
    assert len(unclear) == 1 and ("推荐 12" in unclear[0] or "NOMINATE 12" in unclear[0])
    stranger = site.text("+8613700137001", f"推荐 {post_id} 王五")
    assert len(stranger) == 1 and ("参加" in stranger[0] or "JOIN" in stranger[0])
    nowhere = site.text(resident.phone, "推荐 999999 王五")
    assert len(nowhere) == 1 and "999999" in nowhere[0]

    stages.close_stage(site.db, "test", selection_id, StageKind.NOMINATION, site.settings)
    site.db.commit()
    late = site.text(resident.phone, f"推荐 {post_id} 王五")
    assert len(late) == 1 and ("已结束" in late[0] or "closed" in late[0])
    site.db.expire_all()
    rows = site.db.execute(
        select(Nomination, Nominee).join(Nominee, Nominee.id == Nomination.nominee_id)
    ).all()
    assert [nominee.name for _, nominee in rows] == ["张华"]
