"""A small district for the panel console's tests: two communities and verified volunteer judges of
every participant type, both genders, texts in Chinese and English."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.panels.models import Panel, PanelMember
from engage.residents.models import (
    AGE_BANDS,
    Community,
    ParticipantType,
    Resident,
    ResidentRole,
    ResidentRoleKind,
    Source,
)
from tests.factories import csrf_token

KINDS = [ParticipantType.RESIDENT] * 5 + [ParticipantType.DEPUTY_PC, ParticipantType.EXPERT]


def phone_of(n: int) -> str:
    return f"+86137{n:08d}"


def add_volunteers(db: Session, count: int = 42) -> list[Resident]:
    """`count` volunteers: 5 of 7 residents, 1 of 7 deputies, 1 of 7 experts; women and men in turn."""
    communities = [
        Community(code="wulihe", name_zh="五里河社区", name_en="Wulihe"),
        Community(code="dongxing", name_zh="东兴社区", name_en="Dongxing"),
    ]
    db.add_all(communities)
    db.flush()
    now = datetime.now(UTC)
    residents = []
    for n in range(count):
        resident = Resident(
            phone=phone_of(n),
            name=f"志愿者{n}",
            community_id=communities[n % 2].id,
            participant_type=KINDS[n % len(KINDS)].value,
            gender=("female", "male")[(n // 2) % 2],
            age_band=AGE_BANDS[n % len(AGE_BANDS)],
            work_unit=f"单位{n}",
            locale="zh_CN" if n % 3 else "en",
            source=Source.IMPORT.value,
            verified_at=now,
        )
        resident.roles = [ResidentRole(role=ResidentRoleKind.JUDGE.value, consented_at=now)]
        residents.append(resident)
    db.add_all(residents)
    db.commit()
    return residents


def post_form(client: TestClient[Litestar], page: str, action: str, **fields: str) -> Any:
    """Post a form the way the browser does: with the CSRF token of the page it was on."""
    data = {"_csrf_token": csrf_token(client, page), **fields}
    return client.post(action, data=data, follow_redirects=False)


def panel_of(db: Session, panel_id: int) -> Panel:
    db.expire_all()
    found = db.get(Panel, panel_id)
    assert found is not None
    return found


def members_of(db: Session, panel_id: int) -> list[PanelMember]:
    db.expire_all()
    return list(db.execute(select(PanelMember).where(PanelMember.panel_id == panel_id)).scalars())


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The cells of a table, by row (header cells of the body included), tags stripped."""
    found = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', html, re.S)
    assert found, f"no table {table_id}"
    body = found.group(1).split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return rows
