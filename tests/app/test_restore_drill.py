"""docs/ops/restore-drill.sh, run on both databases: the backup restores whole, and a drill on a database
whose audit log was edited by hand fails instead of blessing the copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from engage.audit.services import record
from engage.db import make_sync_engine, sync_session
from tests.factories import Plan, add_subscribers, drop_audit_guard, phone
from tests.support import ROOT

pytestmark = pytest.mark.slow

DRILL = ROOT / "docs" / "ops" / "restore-drill.sh"
ENGAGE = str(Path(sys.executable).with_name("engage"))


def drill(database_url: str, backups: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DRILL), database_url, str(backups)],
        env={"PATH": "/usr/bin:/bin", "ENGAGE": ENGAGE},
        capture_output=True,
        text=True,
        timeout=300,
    )


def arrange(database_url: str) -> None:
    engine = make_sync_engine(database_url)
    with Session(engine) as session:
        add_subscribers(session, [Plan(phone(n)) for n in range(7)])
        session.commit()
    with sync_session(engine) as session:
        for n in range(4):
            record(session, "organizer:1", "test.action", "thing", n, {"n": n, "名": "张三"})
    engine.dispose()


def test_the_backup_restores_with_every_row_and_an_intact_audit_chain(
    each_database_url: str, tmp_path: Path
) -> None:
    arrange(each_database_url)
    done = drill(each_database_url, tmp_path / "backups")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  same in both: residents 7\n" in done.stdout
    assert "  same in both: audit_entries 4\n" in done.stdout
    assert "audit chain intact: 4 entries" in done.stdout
    assert done.stdout.rstrip().endswith("restore drill passed")
    kept = list((tmp_path / "backups").iterdir())
    assert len(kept) == 1 and kept[0].suffix in (".dump", ".db") and kept[0].stat().st_size > 0
    if each_database_url.startswith("postgresql"):  # the scratch copy is gone again
        with make_sync_engine(each_database_url).connect() as connection:
            scratch = connection.execute(
                text("SELECT count(*) FROM pg_database WHERE datname LIKE '%\\_restore\\_%'")
            ).scalar_one()
        assert scratch == 0


def test_a_drill_on_a_log_edited_by_hand_fails_naming_the_entry(
    each_database_url: str, tmp_path: Path
) -> None:
    arrange(each_database_url)
    with Session(make_sync_engine(each_database_url)) as session:
        drop_audit_guard(session)
        session.execute(text("UPDATE audit_entries SET actor = 'organizer:2' WHERE id = 2"))
        session.commit()
    done = drill(each_database_url, tmp_path / "backups")
    assert done.returncode == 1
    assert "audit chain broken at entry 2" in done.stderr
    assert "restore drill passed" not in done.stdout
