"""Retention (issue 15, privacy): codes, the record of inbound texts, the numbers in the message log and
an objector's contact details go once their period (RETAIN_* settings) is over; fresh ones stay. The
purge runs daily from the workers' ticker and from `engage privacy purge`."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.audit.models import AuditEntry
from engage.db import utcnow
from engage.notices.models import Notice
from engage.notices.objections.models import NoticePeriod, Objection
from engage.residents.models import VerificationCode
from engage.settings import Settings
from engage.sms.models import InboundMessage, MessageStatus, SmsMessage
from tests.support import ROOT, SECRET, run_jobs
from workers import privacy

OLD = "+8613800000001"
FRESH = "+8613800000002"


def _notice(db: Session, closed_days_ago: int) -> int:
    notice = Notice(
        kind="stage_result",
        title_zh="测评结果",
        title_en="Results",
        body_zh="测评结果已公示。",
        body_en="The results are public.",
        audience="all",
        community_codes=[],
        created_by="organizer:1",
    )
    db.add(notice)
    db.flush()
    closed = utcnow() - timedelta(days=closed_days_ago)
    db.add(
        NoticePeriod(
            notice_id=notice.id,
            days=5,
            opens_at=closed - timedelta(days=7),
            closes_at=closed,
            closed_at=closed,
        )
    )
    return notice.id


def _arrange(db: Session, settings: Settings) -> None:
    now = utcnow()

    def ago(days: int) -> Any:
        return now - timedelta(days=days, minutes=5)

    db.add_all(
        [
            VerificationCode(
                phone=OLD,
                code_hash="x" * 64,
                created_at=ago(settings.retain_codes_days),
                expires_at=ago(settings.retain_codes_days),
            ),
            VerificationCode(phone=FRESH, code_hash="y" * 64, created_at=ago(1), expires_at=ago(1)),
            InboundMessage(
                message_sid="SM-old", handler="stop", received_at=ago(settings.retain_inbound_days)
            ),
            InboundMessage(message_sid="SM-fresh", handler="stop", received_at=ago(1)),
            SmsMessage(
                to=OLD,
                body="old text",
                status=MessageStatus.SENT,
                created_at=ago(settings.retain_message_numbers_days),
            ),
            SmsMessage(
                to=OLD,
                body="old, failed",
                status=MessageStatus.FAILED,
                error_message="refused",
                created_at=ago(settings.retain_message_numbers_days),
            ),
            SmsMessage(
                to=OLD,
                body="old, still queued",
                status=MessageStatus.QUEUED,
                created_at=ago(settings.retain_message_numbers_days),
            ),
            SmsMessage(to=FRESH, body="fresh text", status=MessageStatus.SENT, created_at=ago(1)),
        ]
    )
    closed_long_ago = _notice(db, settings.retain_objection_contacts_days + 1)
    closed_lately = _notice(db, 1)
    for reference, notice_id, phone in (
        ("OBJ-2026-OLD001", closed_long_ago, OLD),
        ("OBJ-2026-NEW001", closed_lately, FRESH),
    ):
        db.add(
            Objection(
                notice_id=notice_id, reference=reference, name="Named Objector", phone=phone, reason="理由"
            )
        )
    db.commit()


def _held(db: Session) -> dict[str, Any]:
    db.expire_all()
    return {
        "codes": sorted(db.execute(select(VerificationCode.phone)).scalars()),
        "inbound": sorted(db.execute(select(InboundMessage.message_sid)).scalars()),
        "texts": sorted((m.to, m.body, m.error_message) for m in db.execute(select(SmsMessage)).scalars()),
        "objections": sorted((o.reference, o.name, o.phone) for o in db.execute(select(Objection)).scalars()),
    }


EXPECTED = {
    "codes": [FRESH],
    "inbound": ["SM-fresh"],
    "texts": sorted(
        [("", "", None), ("", "", None), (OLD, "old, still queued", None), (FRESH, "fresh text", None)]
    ),
    "objections": [("OBJ-2026-NEW001", "Named Objector", FRESH), ("OBJ-2026-OLD001", None, None)],
}


def test_the_daily_purge_removes_what_is_past_its_period_and_keeps_the_rest(
    settings: Settings, db: Session
) -> None:
    """Old rows go, fresh rows stay, a text still to be sent keeps its number; the purge is audited with
    counts only, and a second run finds nothing."""
    _arrange(db, settings)
    assert settings.redis_url
    assert privacy.enqueue_daily(settings.redis_url)
    assert not privacy.enqueue_daily(settings.redis_url)  # once a day, however many workers tick
    run_jobs(settings)
    assert _held(db) == EXPECTED
    entry = db.execute(select(AuditEntry).where(AuditEntry.action == "privacy.purge")).scalar_one()
    assert entry.details == {
        "verification_codes": 1,
        "inbound_messages": 1,
        "sms_messages (number and body)": 2,
        "notice_objections (name and number)": 1,
    }
    assert OLD not in str(entry.details)
    redis.Redis.from_url(settings.redis_url).delete(privacy.DAY_KEY)
    assert privacy.enqueue_daily(settings.redis_url)
    run_jobs(settings)
    assert _held(db) == EXPECTED
    assert db.execute(select(func.count()).where(AuditEntry.action == "privacy.purge")).scalar_one() == 1


def test_engage_privacy_purge_from_the_command_line_honours_the_settings(
    settings: Settings, db: Session
) -> None:
    _arrange(db, settings)
    environment = {
        "PATH": "/usr/bin:/bin",
        "ENGAGE_ENV": "test",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": settings.database_url,
        # A longer period for codes than the old code's age: it stays.
        "RETAIN_CODES_DAYS": str(settings.retain_codes_days + 30),
    }
    done = subprocess.run(
        [sys.executable, "-m", "engage", "privacy", "purge"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "verification_codes\t0" in done.stdout and "inbound_messages\t1" in done.stdout
    held = _held(db)
    assert held["codes"] == [OLD, FRESH]
    assert {key: value for key, value in held.items() if key != "codes"} == {
        key: value for key, value in EXPECTED.items() if key != "codes"
    }
