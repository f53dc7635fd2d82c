"""The organizer's side of residents: list and filter, counts, one resident's file, masked numbers and
audited reveals, the CSV export and the roster import with SMS invitations; the API and the pages."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from engage.audit.models import AuditEntry
from engage.db import utcnow
from engage.residents.models import (
    Community,
    Resident,
    ResidentRole,
    Source,
    Subscription,
)
from engage.residents.roster import community_lookup, parse_roster, reject_registered
from engage.settings import Settings
from engage.sms.models import OptOut, SmsMessage
from tests.factories import csrf_token, organizer, sign_in, token_for
from tests.support import LiveServer, run_jobs

HEADER = "name,phone,community,participant_type,expertise,work_unit,gender,age_band"
COMMUNITIES = [("wulihe", "五里河社区", "Wulihe"), ("dongxing", "东兴社区", "Dongxing")]


# --- arranging ------------------------------------------------------------------------------------


def _communities(db: Any) -> dict[str, int]:
    rows = [Community(code=code, name_zh=zh, name_en=en) for code, zh, en in COMMUNITIES]
    db.add_all(rows)
    db.commit()
    return {c.code: c.id for c in rows}


def _resident(
    db: Any, phone: str, community_id: int | None, roles: tuple[str, ...] = (), **fields: Any
) -> Resident:
    values: dict[str, Any] = {
        "name": "王伟",
        "participant_type": "resident",
        "verified_at": utcnow(),
        "source": Source.WEB.value,
        **fields,
    }
    resident = Resident(phone=phone, community_id=community_id, **values)
    resident.roles = [ResidentRole(role=role) for role in roles]
    db.add(resident)
    db.commit()
    return resident


@pytest.fixture
def four_residents(db: Any) -> dict[str, Resident]:
    """Four residents in two communities, one with a withdrawn judge role, one not yet confirmed."""
    ids = _communities(db)
    people = {
        "li": _resident(
            db,
            "+8613800138001",
            ids["wulihe"],
            ("judge", "subscriber"),
            name="李娜",
            gender="female",
            age_band="30-44",
        ),
        "zhang": _resident(
            db,
            "+8613800138002",
            ids["wulihe"],
            ("evaluator",),
            name="张强",
            gender="male",
            occupation="retired",
        ),
        "chen": _resident(
            db,
            "+8613800138003",
            ids["dongxing"],
            ("judge",),
            name="陈静",
            participant_type="expert",
            expertise="law",
            verified_at=None,
        ),
        "zhao": _resident(db, "+8613800138004", ids["dongxing"], ("subscriber",), name="赵敏"),
    }
    withdrawn = ResidentRole(role="judge", withdrawn_at=utcnow())
    people["zhao"].roles.append(withdrawn)
    db.add(Subscription(resident_id=people["li"].id, kind="community", value="wulihe"))
    db.commit()
    return people


def _api(client: TestClient, token: str, path: str, **params: Any) -> Any:  # type: ignore[type-arg]
    return client.get(f"/api/v1/residents{path}", params=params, headers={"Authorization": f"Bearer {token}"})


def _names(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {r["name"] for r in response.json()["residents"]}


def _phone_views(db: Any) -> list[AuditEntry]:
    db.expire_all()
    query = select(AuditEntry).where(AuditEntry.action == "resident.phone_view").order_by(AuditEntry.id)
    return list(db.execute(query).scalars())


def _import(client: TestClient, token: str, body: str | bytes) -> Any:  # type: ignore[type-arg]
    content = body.encode() if isinstance(body, str) else body
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    return client.post("/api/v1/residents/import", content=content, headers=headers)


def _resident_count(db: Any) -> int:
    db.expire_all()
    return int(db.execute(select(func.count(Resident.id))).scalar_one())


# --- list, filters, counts ------------------------------------------------------------------------


def test_list_filters_by_role_community_type_and_confirmation(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    everyone = _api(client, token, "")
    assert everyone.json()["total"] == 4
    assert _names(_api(client, token, "", role="judge")) == {"李娜", "陈静"}
    assert _names(_api(client, token, "", community="wulihe")) == {"李娜", "张强"}
    assert _names(_api(client, token, "", participant_type="expert")) == {"陈静"}
    assert _names(_api(client, token, "", verified="false")) == {"陈静"}
    assert _names(_api(client, token, "", verified="true", community="dongxing")) == {"赵敏"}
    page = _api(client, token, "", limit=3, offset=3).json()
    assert (page["total"], len(page["residents"]), page["offset"]) == (4, 1, 3)


@pytest.mark.slow
def test_withdrawn_role_no_longer_counts(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    assert "赵敏" not in _names(_api(client, token, "", role="judge"))
    zhao = next(r for r in _api(client, token, "").json()["residents"] if r["name"] == "赵敏")
    assert zhao["roles"] == ["subscriber"]
    assert _api(client, token, "/counts", by="role").json() == {"evaluator": 1, "judge": 2, "subscriber": 2}


@pytest.mark.slow
@pytest.mark.parametrize("typed", ["13800138002", "+8613800138002"])
def test_phone_filter_finds_the_one_resident_by_either_form_the_api_takes(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],
    typed: str,  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    assert _names(_api(client, token, "", phone=typed)) == {"张强"}


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"phone": "12345"}, "phone", 400),
        ({"phone": "not a number"}, "phone", 400),
        ({"phone": "138 0013 8002"}, "phone", 400),  # pages read it; the API takes digits only
        ({"phone": "8613800138002"}, "phone", 400),
        ({"community": "atlantis"}, "community", 404),  # well-formed, names nothing: state, not shape
        ({"community": "wuli\x00he"}, "community", 404),  # PostgreSQL refuses NUL: it must not reach a query
        ({"role": "king"}, "role", 400),
        ({"participant_type": "alien"}, "participant_type", 400),
        ({"limit": "0"}, "limit", 400),
        ({"limit": "201"}, "limit", 400),
    ],
)
@pytest.mark.slow
def test_bad_filters_are_refused_naming_the_field(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],
    params: dict[str, str],
    field: str,  # type: ignore[type-arg]
    status: int,
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    for path in ("", "/export") if "limit" not in params else ("",):
        response = _api(client, token, path, **params)
        assert response.status_code == status, response.text
        assert response.json()["field"] == field
    if "limit" not in params:
        counted = _api(client, token, "/counts", by="community", **params)
        assert (counted.status_code, counted.json()["field"]) == (status, field)


def test_counts_by_every_attribute_with_filters(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "aud@x.cn", "auditor")  # counting reads; auditors may
    assert _api(client, token, "/counts", by="community").json() == {"dongxing": 2, "wulihe": 2}
    assert _api(client, token, "/counts", by="participant_type").json() == {"expert": 1, "resident": 3}
    assert _api(client, token, "/counts", by="gender").json() == {"female": 1, "male": 1, "unknown": 2}
    assert _api(client, token, "/counts", by="age_band").json() == {"30-44": 1, "unknown": 3}
    assert _api(client, token, "/counts", by="occupation").json() == {"retired": 1, "unknown": 3}
    judges = _api(client, token, "/counts", by="community", role="judge").json()
    assert judges == {"dongxing": 1, "wulihe": 1}


def test_unknown_count_attribute_is_a_400_naming_by(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    response = _api(client, token, "/counts", by="income")
    assert response.status_code == 400
    assert response.json()["field"] == "by"
    assert _api(client, token, "/counts").status_code == 400


def test_strangers_get_401(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("", "/counts?by=role", "/export", "/1"):
        assert client.get(f"/api/v1/residents{path}").status_code == 401


# --- one resident ---------------------------------------------------------------------------------


def test_one_resident_shows_profile_roles_subscriptions_and_history_newest_first(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    from engage.audit.services import record

    li = four_residents["li"]
    record(db, "system", "resident.verify", "resident", li.pseudonym, {})
    record(db, "system", "resident.role_added", "resident", li.pseudonym, {"role": "judge"})
    record(db, "system", "resident.verify", "resident", four_residents["zhang"].pseudonym, {})
    db.commit()
    token = token_for(settings, "aud@x.cn", "auditor")
    shown = _api(client, token, f"/{li.id}").json()
    assert shown["pseudonym"] == li.pseudonym
    assert shown["phone"] == "+86138****8001"
    assert shown["phone_revealed"] is False
    assert (shown["community"], shown["gender"], shown["age_band"]) == ("wulihe", "female", "30-44")
    assert [r["role"] for r in shown["roles"]] == ["judge", "subscriber"]
    assert shown["roles"][0]["consent_version"] == li.roles[0].consent_version
    assert shown["roles"][0]["withdrawn_at"] is None
    assert shown["subscriptions"] == [{"kind": "community", "value": "wulihe"}]
    assert [e["action"] for e in shown["history"]] == ["resident.role_added", "resident.verify"]
    zhao = _api(client, token, f"/{four_residents['zhao'].id}").json()
    assert [r["withdrawn_at"] is not None for r in zhao["roles"]] == [True, False]


def test_unknown_resident_is_a_404(settings: Settings, client: TestClient) -> None:  # type: ignore[type-arg]
    token = token_for(settings, "o@x.cn", "organizer")
    response = _api(client, token, "/4242")
    assert (response.status_code, response.json()["field"]) == (404, "resident_id")


# --- masking and reveals --------------------------------------------------------------------------


def test_phones_are_masked_unless_revealed(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    listed = _api(client, token, "").json()
    assert {r["phone"] for r in listed["residents"]} == {f"+86138****800{n}" for n in range(1, 5)}
    assert listed["phones_revealed"] is False
    assert _phone_views(db) == []


def test_a_revealed_list_is_audited_once_per_resident_shown_without_the_number(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    shown = _api(client, token, "", community="wulihe", reveal="true").json()
    assert {r["phone"] for r in shown["residents"]} == {"+8613800138001", "+8613800138002"}
    views = _phone_views(db)
    assert sorted(v.subject_id for v in views) == sorted(
        [four_residents["li"].pseudonym, four_residents["zhang"].pseudonym]
    )
    assert {(v.subject_type, v.actor) for v in views} == {("resident", views[0].actor)}
    assert views[0].actor.startswith("organizer:")
    assert not any("13800138" in json.dumps(v.details) for v in views)


def test_revealing_one_resident_is_audited_and_shows_in_their_history(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "admin@x.cn", "admin")
    zhang = four_residents["zhang"]
    shown = _api(client, token, f"/{zhang.id}", reveal="true").json()
    assert (shown["phone"], shown["phone_revealed"]) == ("+8613800138002", True)
    assert shown["history"][0]["action"] == "resident.phone_view"
    [view] = _phone_views(db)
    assert view.subject_id == zhang.pseudonym


def test_auditor_may_read_but_not_reveal_numbers(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "aud@x.cn", "auditor")
    assert _api(client, token, "").status_code == 200
    for path in ("", f"/{four_residents['li'].id}", "/export"):
        refused = _api(client, token, path, reveal="true")
        assert refused.status_code == 403, path
        assert "organizer" in refused.json()["detail"]
    assert _phone_views(db) == []


# --- export ---------------------------------------------------------------------------------------


def _rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_export_is_excel_ready_csv_with_masked_numbers(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "aud@x.cn", "auditor")
    response = _api(client, token, "/export", role="judge")
    assert "attachment" in response.headers["content-disposition"]
    rows = _rows(response)
    assert [(r["name"], r["phone"], r["community"], r["roles"]) for r in rows] == [
        ("李娜", "+86138****8001", "wulihe", "judge subscriber"),
        ("陈静", "+86138****8003", "dongxing", "judge"),
    ]
    assert rows[1]["expertise"] == "law"
    assert rows[1]["verified_at"] == ""
    assert _phone_views(db) == []


def test_revealed_export_shows_numbers_and_audits_each(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    rows = _rows(_api(client, token, "/export", community="dongxing", reveal="true"))
    assert [r["phone"] for r in rows] == ["+8613800138003", "+8613800138004"]
    assert len(_phone_views(db)) == 2


@pytest.mark.slow
def test_export_defuses_spreadsheet_formulas_in_names(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _resident(db, "+8613800138009", None, name='=HYPERLINK("http://evil.example","x")')
    token = token_for(settings, "o@x.cn", "organizer")
    [row] = _rows(_api(client, token, "/export"))
    assert row["name"].startswith("'=")
    assert row["community"] == ""


# --- roster import --------------------------------------------------------------------------------

GOOD_ROSTER = "\n".join(
    [
        HEADER,
        "刘洋,13900139001,wulihe,expert,城市规划,沈阳某设计院,male,45-59",
        "周红,+86 139 0013 9002,东兴社区,deputy_pc,,五里河街道办事处,女,60-74",
        "吴刚,139-0013-9003,Dongxing,政协委员,,,,",
    ]
)


def test_roster_import_creates_unconfirmed_judges_and_invites_each_by_sms(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    token = token_for(settings, "o@x.cn", "organizer")
    response = _import(client, token, b"\xef\xbb\xbf" + GOOD_ROSTER.encode())  # Excel's BOM is fine
    assert response.status_code == 201, response.text
    assert response.json() == {
        "imported": 3,
        "invited": 3,
        "by_participant_type": {"deputy_cppcc": 1, "deputy_pc": 1, "expert": 1},
    }
    db.expire_all()
    residents = db.execute(select(Resident).order_by(Resident.id)).scalars().all()
    liu, zhou, wu = residents
    assert (liu.phone, liu.expertise, liu.work_unit, liu.gender) == (
        "+8613900139001",
        "城市规划",
        "沈阳某设计院",
        "male",
    )
    assert (zhou.gender, zhou.age_band, zhou.participant_type) == ("female", "60-74", "deputy_pc")
    assert wu.participant_type == "deputy_cppcc"
    assert {r.source for r in residents} == {"import"}
    assert all(r.verified_at is None and r.invited_at is not None for r in residents)
    assert all(r.active_roles() == {"judge"} for r in residents)

    entries = db.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    per_resident = [e for e in entries if e.action == "resident.import"]
    assert [e.subject_id for e in per_resident] == [r.pseudonym for r in residents]
    [whole] = [e for e in entries if e.action == "roster.import"]
    assert whole.details["residents"] == 3
    logged = json.dumps([e.details for e in entries], ensure_ascii=False)
    assert "1390013900" not in logged
    assert "刘洋" not in logged

    run_jobs(settings)
    sent = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
    assert sorted(m["to"] for m in sent) == ["+8613900139001", "+8613900139002", "+8613900139003"]
    liu_text = next(m["body"] for m in sent if m["to"] == "+8613900139001")
    assert liu_text.startswith(settings.sms_signature + "刘洋")
    assert "回复1" in liu_text
    assert "http://testserver.local/join" in liu_text
    assert "专家" in liu_text
    zhou_text = next(m["body"] for m in sent if m["to"] == "+8613900139002")
    assert "代表" in zhou_text


@pytest.mark.slow
def test_a_number_that_opted_out_is_imported_stopped_and_not_texted(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    db.add(OptOut(phone="+8613900139002"))  # it texted 退订 before anyone imported it
    db.commit()
    token = token_for(settings, "o@x.cn", "organizer")
    response = _import(client, token, GOOD_ROSTER.encode())
    assert response.status_code == 201, response.text
    assert (response.json()["imported"], response.json()["invited"]) == (3, 2)
    db.expire_all()
    stopped = db.execute(select(Resident).where(Resident.phone == "+8613900139002")).scalar_one()
    assert stopped.sms_opt_out_at is not None
    run_jobs(settings)
    sent = [json.loads(line)["to"] for line in settings.outbox_path.read_text().splitlines()]
    assert sorted(sent) == ["+8613900139001", "+8613900139003"]


def test_roster_missing_a_column_imports_nothing(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    token = token_for(settings, "o@x.cn", "organizer")
    response = _import(client, token, "name,phone,participant_type\n刘洋,13900139001,expert\n")
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "community"
    assert problem["errors"] == [
        {
            "row": 1,
            "field": "community",
            "message": "The column “community” is missing. The columns are: "
            "name,phone,community,participant_type,expertise,work_unit,gender,age_band.",
        }
    ]
    assert _resident_count(db) == 0


def test_a_bad_row_among_good_rows_imports_nothing_and_every_error_is_listed(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    token = token_for(settings, "o@x.cn", "organizer")
    roster = "\n".join(
        [
            HEADER,
            "刘洋,13900139001,wulihe,expert,城市规划,,,",
            "周红,12345,atlantis,deputy_pc,,,,",
            "吴刚,13900139003,wulihe,expert,,,unknown,99+",
            ",13900139004,wulihe,resident,,,,",
            "孙丽,13900139005,wulihe,deputy_party,,,,",
        ]
    )
    response = _import(client, token, roster)
    assert response.status_code == 422
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {
        (3, "phone"),
        (3, "community"),
        (4, "expertise"),
        (4, "gender"),
        (4, "age_band"),
        (5, "name"),
        (5, "participant_type"),
    }
    assert _resident_count(db) == 0
    assert db.execute(select(SmsMessage)).first() is None


def test_the_same_number_twice_in_a_file_is_a_row_error(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    token = token_for(settings, "o@x.cn", "organizer")
    roster = f"{HEADER}\n刘洋,13900139001,wulihe,deputy_pc,,,,\n刘洋,+86 139 0013 9001,wulihe,deputy_pc,,,,\n"
    response = _import(client, token, roster)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"row": 3, "field": "phone", "message": "the same number as row 2"}]
    assert _resident_count(db) == 0


def test_a_number_that_is_already_registered_is_a_row_error_naming_the_resident(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    token = token_for(settings, "o@x.cn", "organizer")
    roster = f"{HEADER}\n新人,13900139001,wulihe,deputy_pc,,,,\n李娜,138 0013 8001,wulihe,deputy_pc,,,,\n"
    response = _import(client, token, roster)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["row"], error["field"]) == (3, "phone")
    assert four_residents["li"].pseudonym in error["message"]
    assert _resident_count(db) == 4
    db.expire_all()
    assert db.get(Resident, four_residents["li"].id).participant_type == "resident"  # untouched


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "name"),
        (HEADER.encode() + b"\n", "file"),
        # Neither UTF-8 nor GB18030 (GBK rosters are read: tests/test_spreadsheets.py).
        (b"name,phone,community,participant_type\n\xff\xfe,13900139001,wulihe,expert\n", "file"),
        (f"{HEADER},notes\n刘洋,13900139001,wulihe,deputy_pc,,,,,x\n".encode(), "notes"),
        (f"{HEADER}\n刘洋,13900139001,wulihe,deputy_pc,,,,,extra\n".encode(), "file"),
        (f"{HEADER}\n刘\x00洋,13900139001,wulihe,deputy_pc,,,,\n".encode(), "name"),
    ],
)
def test_files_that_are_not_rosters_are_refused(
    settings: Settings,
    client: TestClient,
    db: Any,
    body: bytes,
    field: str,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    token = token_for(settings, "o@x.cn", "organizer")
    response = _import(client, token, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert _resident_count(db) == 0


def test_auditor_cannot_import(settings: Settings, client: TestClient, db: Any) -> None:  # type: ignore[type-arg]
    _communities(db)
    token = token_for(settings, "aud@x.cn", "auditor")
    assert _import(client, token, GOOD_ROSTER).status_code == 403
    assert _resident_count(db) == 0


def test_roster_rows_are_numbered_as_a_spreadsheet_shows_them() -> None:
    lookup = community_lookup(COMMUNITIES)
    data = f'{HEADER}\n\n"刘,洋",13900139001,五里河,专家,"城市\n规划",,,\n周红,139,wulihe,deputy_pc,,,,\n'.encode()
    roster = parse_roster(data, region="CN", communities=lookup)
    [record] = roster.records
    assert (record.row, record.name, record.community) == (3, "刘,洋", "wulihe")
    assert (record.participant_type, record.expertise) == ("expert", "城市 规划")
    assert [(e.row, e.field) for e in roster.errors] == [(4, "phone")]
    registered = reject_registered(roster, {"+8613900139001": "r-abc"})
    assert registered.records == ()
    assert [(e.row, e.field) for e in registered.errors] == [(3, "phone"), (4, "phone")]


def test_a_landline_cannot_be_invited_by_sms() -> None:
    data = f"{HEADER}\n刘洋,024 2345 6789,wulihe,deputy_pc,,,,\n".encode()
    roster = parse_roster(data, region="CN", communities=community_lookup(COMMUNITIES))
    assert [(e.row, e.field) for e in roster.errors] == [(2, "phone")]


# --- pages ----------------------------------------------------------------------------------------


def _signed_in(settings: Settings, client: TestClient, role: str) -> None:  # type: ignore[type-arg]
    email = f"{role}@district.gov.cn"
    sign_in(client, email, organizer(settings, email, role))


@pytest.mark.parametrize(
    ("language", "heading", "type_label", "counts_label"),
    [("zh-CN", "居民", "专家", "计数"), ("en", "Residents", "Expert", "Counts")],
)
def test_residents_page_lists_masked_numbers_with_filters_and_counts(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],
    language: str,
    heading: str,
    type_label: str,
    counts_label: str,  # type: ignore[type-arg]
) -> None:
    _signed_in(settings, client, "organizer")
    page = client.get("/organizer/residents", headers={"Accept-Language": language})
    assert page.status_code == 200
    assert f"<h1>{heading}</h1>" in page.text
    assert counts_label in page.text
    assert "+86138****8001" in page.text
    assert "+8613800138001" not in page.text
    assert type_label in page.text
    filtered = client.get(
        "/organizer/residents", params={"participant_type": "expert"}, headers={"Accept-Language": language}
    )
    assert "陈静" in filtered.text
    assert "李娜" not in filtered.text


@pytest.mark.slow
def test_residents_page_shows_a_bad_filter_next_to_its_field(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    _signed_in(settings, client, "organizer")
    page = client.get("/organizer/residents", params={"phone": "12345"}, headers={"Accept-Language": "en"})
    assert page.status_code == 400
    assert 'id="phone-error"' in page.text
    assert "This is not a phone number we can read." in page.text


def test_page_export_is_masked_csv(
    settings: Settings,
    client: TestClient,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    _signed_in(settings, client, "auditor")
    english = {"Accept-Language": "en"}
    rows = _rows(
        client.get("/organizer/residents/export.csv", params={"community": "wulihe"}, headers=english)
    )
    assert [r["Phone"] for r in rows] == ["+86138****8001", "+86138****8002"]


def test_show_number_button_reveals_and_audits(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    _signed_in(settings, client, "organizer")
    li = four_residents["li"]
    page = client.get(f"/organizer/residents/{li.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "+86138****8001" in page.text
    assert "Show the full number" in page.text
    assert f'action="/organizer/residents/{li.id}/reveal"' in page.text
    token = csrf_token(client, f"/organizer/residents/{li.id}")
    shown = client.post(
        f"/organizer/residents/{li.id}/reveal", data={"_csrf_token": token}, headers={"Accept-Language": "en"}
    )
    assert shown.status_code == 200
    assert "+8613800138001" in shown.text
    assert "resident.phone_view" in shown.text  # the history on the page shows this very look
    [view] = _phone_views(db)
    assert view.subject_id == li.pseudonym


def test_auditor_sees_no_show_number_button_and_cannot_post_one(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    _signed_in(settings, client, "auditor")
    li = four_residents["li"]
    page = client.get(f"/organizer/residents/{li.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "/reveal" not in page.text
    token = csrf_token(client, "/organizer")  # any form of the session's will do
    refused = client.post(f"/organizer/residents/{li.id}/reveal", data={"_csrf_token": token})
    assert refused.status_code == 403
    assert _phone_views(db) == []
    assert client.get("/organizer/residents/import").status_code == 403


def test_resident_pages_send_strangers_to_sign_in(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/organizer/residents", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/login?next=/organizer/residents")


def _upload(client: TestClient, body: str, language: str = "en") -> Any:  # type: ignore[type-arg]
    token = csrf_token(client, "/organizer/residents/import")
    return client.post(
        "/organizer/residents/import",
        data={"_csrf_token": token},
        files={"file": ("roster.csv", body.encode(), "text/csv")},
        headers={"Accept-Language": language},
    )


def test_import_page_lists_row_errors_and_imports_nothing(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    _signed_in(settings, client, "organizer")
    form = client.get("/organizer/residents/import", headers={"Accept-Language": "zh-CN"})
    assert 'enctype="multipart/form-data"' in form.text
    assert 'name="_csrf_token"' in form.text
    refused = _upload(client, f"{HEADER}\n刘洋,12345,wulihe,expert,,,,\n", language="zh-CN")
    assert refused.status_code == 400
    assert "未导入任何人" in refused.text
    cells = re.findall(r'<tr><td data-label="行">(\d+)</td><td data-label="列">(\w+)</td>', refused.text)
    assert cells == [("2", "phone"), ("2", "expertise")]
    assert _resident_count(db) == 0


def test_import_page_imports_a_good_roster(
    settings: Settings,
    client: TestClient,
    db: Any,  # type: ignore[type-arg]
) -> None:
    _communities(db)
    _signed_in(settings, client, "admin")
    done = _upload(client, GOOD_ROSTER)
    assert done.status_code == 200, done.text
    assert "Roster imported" in done.text
    assert _resident_count(db) == 3
    run_jobs(settings)
    assert len(settings.outbox_path.read_text().splitlines()) == 3


# --- the browser ----------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize(("language", "heading"), [("zh-CN", "居民"), ("en", "Residents")])
def test_residents_page_on_a_phone(
    live_server: LiveServer,
    settings: Settings,
    db: Any,
    four_residents: dict[str, Resident],
    phone_page: Any,
    output_dir: Path,
    language: str,
    heading: str,
) -> None:
    password = organizer(settings, "lin@district.gov.cn", "organizer")
    page = phone_page
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"{live_server.url}/login?next=/organizer/residents")
    page.fill("#email", "lin@district.gov.cn")
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/organizer/residents")
    assert page.locator("h1").inner_text() == heading
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert "+86138****8001" in page.content()
    page.screenshot(path=str(output_dir / f"residents-{language}.png"), full_page=True)
    page.click("text=李娜")
    page.wait_for_url(re.compile(r".*/organizer/residents/\d+$"))
    page.screenshot(path=str(output_dir / f"resident-{language}.png"), full_page=True)


def test_counts_by_role_filtered_by_role_count_each_matching_resident(
    settings: Settings, client: TestClient
) -> None:  # type: ignore[type-arg]
    """Regression: filtering by role while counting by role once built a subquery with no FROM."""
    response = client.get(
        "/api/v1/residents/counts",
        params={"by": "role", "role": "subscriber"},
        headers={"Authorization": f"Bearer {token_for(settings, 'count@x.cn', 'auditor')}"},
    )
    assert response.status_code == 200
    assert isinstance(response.json(), dict)


def _lookups(db: Any) -> list[AuditEntry]:
    db.expire_all()
    query = select(AuditEntry).where(AuditEntry.action.in_(["resident.phone_view", "resident.phone_lookup"]))
    return list(db.execute(query.order_by(AuditEntry.id)).scalars())


@pytest.mark.slow
def test_phone_filter_needs_the_reveal_role_and_each_lookup_is_audited(
    settings: Settings,
    client: TestClient,
    db: Any,
    four_residents: dict[str, Resident],  # type: ignore[type-arg]
) -> None:
    """S4: an auditor unmasked a full number through the phone filter in 501 lookups, unaudited."""
    auditor = token_for(settings, "aud@x.cn", "auditor")
    number = four_residents["zhang"].phone
    assert number is not None
    for path in ("", "/counts", "/export"):
        params = {"phone": number, **({"by": "community"} if path == "/counts" else {})}
        assert _api(client, auditor, path, **params).status_code == 403, path
    assert _lookups(db) == []
    _signed_in(settings, client, "auditor")
    assert client.get("/organizer/residents", params={"phone": number}).status_code == 403
    assert client.get("/organizer/residents/export.csv", params={"phone": number}).status_code == 403

    organizer_token = token_for(settings, "o@x.cn", "organizer")
    assert _names(_api(client, organizer_token, "", phone=number)) == {"张强"}
    assert _names(_api(client, organizer_token, "", phone="+8613900009999")) == set()
    entries = _lookups(db)
    assert [(e.action, e.subject_id) for e in entries] == [
        ("resident.phone_view", four_residents["zhang"].pseudonym),
        ("resident.phone_lookup", "none"),
    ]
    assert all(
        number not in json.dumps(e.details) and "13900009999" not in json.dumps(e.details) for e in entries
    )
