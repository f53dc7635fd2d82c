from __future__ import annotations

import itertools
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engage.audit.chain import GENESIS, canonical, entry_hash
from engage.audit.models import AuditEntry
from engage.audit.services import record, verify
from engage.db import make_sync_engine, sync_session
from tests.factories import drop_audit_guard


def _audit_verify(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "engage", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _append(database_url: str, n: int) -> list[int]:
    with sync_session(make_sync_engine(database_url)) as session:
        return [
            record(session, "organizer:1", "test.action", "thing", i, {"n": i, "名": "张三"}).id
            for i in range(n)
        ]


def test_entries_chain_each_to_the_sha256_of_the_one_before(each_database_url: str) -> None:
    _append(each_database_url, 3)
    with sync_session(make_sync_engine(each_database_url)) as session:
        entries = session.query(AuditEntry).order_by(AuditEntry.id).all()
        assert entries[0].prev_hash == GENESIS
        for before, after in itertools.pairwise(entries):
            assert after.prev_hash == before.hash
        for entry in entries:
            body = canonical(
                entry.at, entry.actor, entry.action, entry.subject_type, entry.subject_id, entry.details
            )
            assert entry.hash == entry_hash(entry.prev_hash, body)
        assert verify(session) == (3, None)


def test_concurrent_appenders_and_a_rolled_back_append_leave_one_unbroken_chain(
    each_database_url: str,
) -> None:
    engine = make_sync_engine(each_database_url)
    _append(each_database_url, 1)
    # An append that rolls back leaves this process remembering a tip that never was.
    with Session(engine) as session:
        record(session, "organizer:1", "test.rolled_back", "thing", 0)
        session.rollback()

    def append(worker: int) -> None:
        for i in range(10):
            with sync_session(engine) as session:
                record(session, f"organizer:{worker}", "test.action", "thing", i)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append, range(6)))
    with sync_session(engine) as session:
        assert verify(session) == (61, None)
        actions = session.execute(text("SELECT action FROM audit_entries")).scalars().all()
        assert "test.rolled_back" not in actions and len(actions) == 61


@pytest.mark.slow
def test_audit_verify_passes_on_an_untouched_log(each_database_url: str) -> None:
    _append(each_database_url, 5)
    result = _audit_verify(each_database_url)
    assert result.returncode == 0, result.stderr
    assert "5 entries" in result.stdout


@pytest.mark.slow
def test_hand_edited_audit_row_is_named_by_audit_verify(each_database_url: str) -> None:
    ids = _append(each_database_url, 5)
    engine = make_sync_engine(each_database_url)
    with sync_session(engine) as session:
        drop_audit_guard(session)
        session.execute(
            text("UPDATE audit_entries SET actor = 'organizer:99' WHERE id = :id"), {"id": ids[2]}
        )
    result = _audit_verify(each_database_url)
    assert result.returncode == 1
    assert f"entry {ids[2]}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_removed_entry_in_the_middle_breaks_the_chain_at_its_successor(each_database_url: str) -> None:
    ids = _append(each_database_url, 4)
    with sync_session(make_sync_engine(each_database_url)) as session:
        drop_audit_guard(session)
        session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": ids[1]})
        assert verify(session)[1].entry_id == ids[2]  # type: ignore[union-attr]


def test_removed_last_entry_is_noticed(each_database_url: str) -> None:
    ids = _append(each_database_url, 3)
    with sync_session(make_sync_engine(each_database_url)) as session:
        drop_audit_guard(session)
        session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": ids[-1]})
        broken = verify(session)[1]
    assert broken is not None and broken.entry_id == ids[-1]


def test_the_database_refuses_to_change_or_delete_audit_entries(each_database_url: str) -> None:
    ids = _append(each_database_url, 1)
    engine = make_sync_engine(each_database_url)
    for statement in (
        "UPDATE audit_entries SET action = 'x' WHERE id = :id",
        "DELETE FROM audit_entries WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), sync_session(engine) as session:
            session.execute(text(statement), {"id": ids[0]})
