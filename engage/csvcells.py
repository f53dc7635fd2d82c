"""The one spreadsheet-safe cell for every CSV export: a text starting with = + - @ (or a tab or carriage
return, which some spreadsheets skip before such a sign) runs as a formula when opened (CSV injection);
such a cell gets a leading apostrophe. A plain number (-3, +1.5) is left as it is."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) and not _number(text) else text
