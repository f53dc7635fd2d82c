"""An integrator's client, generated from the OpenAPI document with openapi-python-client, drives a
selection step against a live server: the document is complete enough to build on, and the answers
parse into the generated models (typed, not dicts), errors included."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from engage.settings import Settings
from tests.factories import token_for
from tests.support import LiveServer

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# The two roster uploads take text/csv, which the generator knows only as a file upload.
CONFIG = "content_type_overrides:\n  text/csv: application/octet-stream\n"
STAGES = ["nomination", "assessment", "speech", "interview", "result", "public_notice"]


def _generate(url: str, where: Path) -> Any:
    document = where / "openapi.json"
    document.write_bytes(httpx.get(f"{url}/schema/openapi.json").content)
    (where / "config.yaml").write_text(CONFIG)
    generated = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(document),
            "--config",
            str(where / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(where / "engage_client"),
        ],
        capture_output=True,
        text=True,
        cwd=where,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Every operation and model made it: the generator warns and leaves out what it cannot read.
    assert "WARNING" not in generated.stdout and "Unable to" not in generated.stdout, generated.stdout
    sys.path.insert(0, str(where))
    return importlib.import_module("engage_client")


def _selection() -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=1)
    return {
        "title_zh": "沈河区街道副主任公开选拔",
        "title_en": "Shenhe street deputy directors: open selection",
        "unit": "沈河区五里河街道",
        "unit_category": "street",
        "posts": [{"title_zh": "党建办副主任", "title_en": "Deputy head, party-building office", "seats": 1}],
        "stages": [
            {
                "kind": kind,
                "opens_at": (start + timedelta(days=3 * i)).isoformat(),
                "closes_at": (start + timedelta(days=3 * i + 2)).isoformat(),
            }
            for i, kind in enumerate(STAGES)
        ],
        "rubric": [{"code": "knowledge", "max_points": 100, "name_zh": "专业知识", "name_en": "Knowledge"}],
    }


def test_a_generated_client_opens_the_nomination_stage(
    live_server: LiveServer, settings: Settings, tmp_path: Path
) -> None:
    generated = _generate(live_server.url, tmp_path)
    try:
        from engage_client import AuthenticatedClient  # type: ignore[import-not-found]
        from engage_client.api.selections import (  # type: ignore[import-not-found]
            selection_create,
            selection_move_stage,
            selection_publish,
        )
        from engage_client.models import (  # type: ignore[import-not-found]
            Problem,
            SelectionIn,
            SelectionOut,
            SelectionStatus,
            StageStatus,
        )

        token = token_for(settings, "integrator@district.gov.cn", "organizer")
        client = AuthenticatedClient(base_url=live_server.url, token=token, raise_on_unexpected_status=True)
        with client:
            draft = selection_create.sync(client=client, body=SelectionIn.from_dict(_selection()))
            assert isinstance(draft, SelectionOut), draft
            assert draft.status == SelectionStatus.DRAFT
            published = selection_publish.sync(draft.id, client=client)
            assert isinstance(published, SelectionOut) and published.status == SelectionStatus.PUBLISHED

            opened = selection_move_stage.sync(draft.id, "nomination", "open", client=client)
            assert isinstance(opened, SelectionOut), opened
            assert [s.status for s in opened.stages] == [StageStatus.OPEN] + [StageStatus.PENDING] * 5
            assert opened.rules.threshold == "4/5"  # typed members, not a dict

            again = selection_move_stage.sync(draft.id, "nomination", "open", client=client)
            assert isinstance(again, Problem), again
            assert (again.status_code, again.code, again.field) == (409, "stage_already_moved", "stage")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "engage_client" or n.startswith("engage_client.")]:
            del sys.modules[name]
        assert generated is not None
