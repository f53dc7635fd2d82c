"""Every domain has the same web edge: `<domain>/web/` (and a sub-feature's `web/`) holds only the
standard files, and no domain names a job by its string."""

from __future__ import annotations

import re
from pathlib import Path

ENGAGE = Path(__file__).resolve().parents[2] / "engage"

# api: /api/v1 with a bearer token; public_api: /api/v1 without one (sign-up, personal links, signed
# webhooks); organizer: /organizer pages; public: public pages and personal-link pages.
EDGE = {"__init__.py", "api.py", "public_api.py", "organizer.py", "public.py"}


def _edges() -> list[Path]:
    return [folder for folder in ENGAGE.rglob("web") if folder.is_dir() and folder != ENGAGE / "web"]


def test_every_web_edge_holds_only_the_standard_files() -> None:
    edges = _edges()
    assert len(edges) >= 10
    odd = {
        str(path.relative_to(ENGAGE))
        for folder in edges
        for path in folder.glob("*.py")
        if path.name not in EDGE
    }
    assert odd == set()


def test_no_domain_names_a_job_by_its_string() -> None:
    """Job names are constants in engage/jobs.py; domains use the constants."""
    quoted = re.compile(r"""["']workers\.\w+\.\w+["']""")
    found = [
        str(path.relative_to(ENGAGE))
        for path in ENGAGE.rglob("*.py")
        if path != ENGAGE / "jobs.py" and quoted.search(path.read_text())
    ]
    assert found == []
