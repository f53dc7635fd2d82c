"""After "delete my data", nothing in the database or in Redis holds the person's number or name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
import redis
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.db import Base
from engage.notices.objections.models import Objection
from engage.settings import Settings
from tests.factories import (
    SIGNUP_E164,
    SIGNUP_PHONE,
    appointment,
    file_objection,
    forget_code_limits,
    post,
    sign_up,
)
from tests.support import ROOT, SECRET, run_jobs

NAME = "王秀英"  # the name sign_up registers


def _rows_holding(db: Session, needles: list[str]) -> list[str]:
    found = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)).all():
            cells = " ".join(str(value) for value in row)
            found += [f"{table.name}: {needle}" for needle in needles if needle in cells]
    return found


@pytest.mark.slow
def test_delete_my_data_leaves_neither_number_nor_name_in_any_table_or_redis_key(
    signup_district: None,
    notice_staff: dict[str, str],
    settings: Settings,
    client: TestClient[Litestar],
    db: Session,
    redis_url: str,
) -> None:
    """S10: a named objection kept the name and number; Redis kept keys naming the number for 24 h."""
    sign_up(client, settings)
    notice = appointment(client, notice_staff)
    forget_code_limits(settings)
    sent = client.post(f"/api/v1/notices/{notice['id']}/objections/code", json={"phone": SIGNUP_E164})
    assert sent.status_code == 202, sent.text
    run_jobs(settings)
    bodies = [
        json.loads(line)["body"]
        for line in settings.outbox_path.read_text().splitlines()
        if SIGNUP_E164 in line
    ]
    code = [found.group(1) for body in bodies if (found := re.search(r"(?<!\d)(\d{6})(?!\d)", body))][-1]
    filed = file_objection(client, notice["id"], name=NAME, phone=SIGNUP_E164, code=code)
    assert filed.status_code == 201, filed.text
    digits = SIGNUP_E164.removeprefix("+86")
    assert _rows_holding(db, [digits, NAME])  # the scan finds them before: it is not vacuous

    assert post(client, "/me/delete", {}, form_page="/me/delete").status_code == 200
    db.expire_all()
    assert _rows_holding(db, [digits, NAME, digits[-8:]]) == []
    objection = db.execute(select(Objection)).scalar_one()
    assert objection.anonymous and objection.reason  # the objection stays on the notice's record
    connection = redis.Redis.from_url(redis_url)
    keys = [key.decode() for key in connection.scan_iter("*")]
    assert keys and [key for key in keys if digits[-8:] in key] == []
    values: list[Any] = [connection.dump(key) or b"" for key in keys]
    assert [key for key, value in zip(keys, values, strict=True) if digits.encode() in value] == []


@pytest.mark.slow
def test_privacy_report_lists_what_is_held_about_a_number_and_nothing_after_deletion(
    signup_district: None,
    settings: Settings,
    client: TestClient[Litestar],
) -> None:
    """S10: there was no way to say what is held about a number (PIPL access requests)."""
    sign_up(client, settings)

    def report(phone: str) -> dict[str, int]:
        environment = {
            **os.environ,
            "ENGAGE_ENV": "test",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": settings.database_url,
            "VAR_DIR": str(settings.var_dir),
        }
        result = subprocess.run(
            [sys.executable, "-m", "engage", "privacy", "report", phone],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return {line.split("\t")[0]: int(line.split("\t")[1]) for line in result.stdout.splitlines()}

    held = report(SIGNUP_PHONE)
    assert held["residents"] == 1 and held["verification_codes"] == 1 and held["resident_roles"] >= 1
    assert held["sms_messages"] >= 1
    assert post(client, "/me/delete", {}, form_page="/me/delete").status_code == 200
    after = report(SIGNUP_PHONE)
    assert after == {
        "residents": 0,
        "verification_codes": 0,
        "sms_messages": 0,
        "inbound_messages": 0,
        "notice_objections (by name)": 0,
        "sms_opt_outs": 0,
    }
