"""GET /api/v1/inbound-messages: organizers read the texts residents sent in, paged, with the numbers
masked unless an admin or organizer reveals them (each number shown audited); deleting the resident
blanks their number and words."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.app import create_app
from engage.audit.models import AuditEntry
from engage.db import async_session_factory, make_async_engine
from engage.privacy import report
from engage.residents.models import Resident
from engage.residents.signup import delete_resident
from engage.settings import Settings
from engage.testing.fake_twilio import FakeTwilio
from tests.factories import token_for
from tests.support import LiveServer, listening_socket, make_settings, twilio_environment, url_of

OUR_NUMBER = "+8610690000"
RESIDENT = "+8613900000009"
STRANGER = "+8613700000007"


def _delete(settings: Settings, phone: str) -> None:
    async def work() -> None:
        engine = make_async_engine(settings.database_url)
        async with async_session_factory(engine)() as db:
            resident = (await db.execute(select(Resident).where(Resident.phone == phone))).scalar_one()
            await delete_resident(db, resident)
        await engine.dispose()

    asyncio.run(work())


def test_organizers_read_inbound_texts_masked_paged_revealed_with_audit_and_erased_on_deletion(
    database_url: str, redis_url: str, tmp_path: Path, fake_twilio: FakeTwilio, db: Session
) -> None:
    sock = listening_socket()
    settings = make_settings(
        database_url,
        redis_url,
        tmp_path / "var",
        PUBLIC_BASE_URL=url_of(sock),
        **twilio_environment(fake_twilio),
    )
    db.add(Resident(phone=RESIDENT, locale="zh_CN", verified_at=datetime.now(UTC)))
    db.commit()
    organizer = {"Authorization": f"Bearer {token_for(settings, 'lin@district.gov.cn', 'organizer')}"}
    auditor = {"Authorization": f"Bearer {token_for(settings, 'audit@district.gov.cn', 'auditor')}"}
    with (
        LiveServer(create_app(settings), sock) as server,
        httpx.Client(base_url=server.url, timeout=30) as api,
    ):
        for sender, body in ((RESIDENT, "帮助"), (STRANGER, "你好，请问怎么报名？"), (RESIDENT, "HELP")):
            answer = fake_twilio.send_inbound(
                f"{server.url}/webhooks/twilio/inbound", sender, OUR_NUMBER, body
            )
            assert answer.status == 200, answer.body

        assert api.get("/api/v1/inbound-messages").status_code == 401
        page = api.get("/api/v1/inbound-messages", params={"limit": 2}, headers=auditor).json()
        assert (page["total"], page["limit"], page["offset"], page["senders_revealed"]) == (3, 2, 0, False)
        newest, middle = page["messages"]
        assert (newest["body"], middle["body"]) == ("HELP", "你好，请问怎么报名？")
        assert newest["sender"] == "+86139****0009" and middle["sender"] == "+86137****0007"
        resident_id = db.execute(select(Resident.id).where(Resident.phone == RESIDENT)).scalar_one()
        assert (newest["resident_id"], middle["resident_id"]) == (resident_id, None)
        assert newest["handler"] and middle["handler"]
        rest = api.get("/api/v1/inbound-messages", params={"offset": 2}, headers=auditor).json()
        assert [m["body"] for m in rest["messages"]] == ["帮助"]

        refused = api.get("/api/v1/inbound-messages", params={"reveal": "true"}, headers=auditor)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        revealed = api.get("/api/v1/inbound-messages", params={"reveal": "true"}, headers=organizer).json()
        assert [m["sender"] for m in revealed["messages"]] == [RESIDENT, STRANGER, RESIDENT]
        views = select(func.count()).where(AuditEntry.action == "inbound.phone_view")
        assert db.execute(views).scalar_one() == 3

        _delete(settings, RESIDENT)
        after = api.get("/api/v1/inbound-messages", headers=organizer).json()["messages"]
        assert [(m["sender"], m["body"]) for m in after] == [
            (None, None),
            ("+86137****0007", "你好，请问怎么报名？"),
            (None, None),
        ]
    assert ("inbound_messages", 0) in report(db, RESIDENT)
    assert ("inbound_messages", 1) in report(db, STRANGER)
