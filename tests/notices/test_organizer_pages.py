"""The organizer writes a notice on the notices page, sees its SMS segments and cost before sending,
publishes it, and the subscribers get it; a bad form names its field and creates nothing; an auditor
reads without buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.notices.models import Notice
from engage.residents.models import Resident, ResidentRole
from engage.settings import Settings
from engage.sms.models import SmsMessage
from tests.factories import csrf_token, organizer, sign_in
from tests.support import run_jobs

FORM = {
    "kind": "process",
    "title_zh": "推荐工作开始",
    "title_en": "Nominations open",
    "body_zh": "街道副主任选拔推荐即日开始。",
    "body_en": "Nominations for the street deputy directors open today.",
    "audience": "all",
    "community_codes": "",
    "period_days": "",
}


def _post(client: TestClient, path: str, data: dict[str, str]) -> object:  # type: ignore[type-arg]
    return client.post(
        path, data=dict(data, _csrf_token=csrf_token(client, "/organizer")), follow_redirects=False
    )


@pytest.mark.slow
def test_an_organizer_writes_previews_and_publishes_a_notice(
    settings: Settings,
    client: TestClient,
    db: Session,  # type: ignore[type-arg]
) -> None:
    now = datetime.now(UTC)
    for n in range(3):
        resident = Resident(phone=f"+8613900000{n:03d}", name=f"居民{n}", verified_at=now, locale="zh_CN")
        resident.roles = [ResidentRole(role="subscriber", consented_at=now)]
        db.add(resident)
    db.commit()
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))

    bad = _post(client, "/organizer/notices/", dict(FORM, body_en=""))
    assert bad.status_code == 400 and 'id="body_en-error"' in bad.text  # type: ignore[attr-defined]
    assert db.execute(select(func.count()).select_from(Notice)).scalar_one() == 0

    made = _post(client, "/organizer/notices/", FORM)
    assert made.status_code == 303  # type: ignore[attr-defined]
    path = made.headers["location"]  # type: ignore[attr-defined]
    page = client.get(path)
    assert "UCS-2" in page.text and "CN¥" in page.text and "Publish" in page.text
    assert db.execute(select(func.count()).select_from(SmsMessage)).scalar_one() == 0  # nothing sent yet

    confirm = client.get(f"{path}/publish?publish_at=")
    assert confirm.status_code == 200 and "text 3 residents" in confirm.text
    assert _post(client, f"{path}/publish", {"publish_at": ""}).status_code == 303  # type: ignore[attr-defined]
    run_jobs(settings)
    db.expire_all()
    texts = list(db.execute(select(SmsMessage)).scalars())
    assert len(texts) == 3 and all("推荐工作开始" in t.body for t in texts)
    again = _post(client, f"{path}/publish", {"publish_at": ""})
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "Texts: delivery" in client.get(path).text


@pytest.mark.slow
def test_an_auditor_reads_notices_without_buttons(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    client.headers["Accept-Language"] = "en"
    sign_in(client, "lin@district.gov.cn", organizer(settings, "lin@district.gov.cn", "organizer"))
    path = _post(client, "/organizer/notices/", FORM).headers["location"]  # type: ignore[attr-defined]
    client.cookies.clear()
    sign_in(client, "audit@district.gov.cn", organizer(settings, "audit@district.gov.cn", "auditor"))
    page = client.get(path)
    assert page.status_code == 200 and "Publish and text" not in page.text
    assert _post(client, f"{path}/publish", {"publish_at": ""}).status_code == 403  # type: ignore[attr-defined]
