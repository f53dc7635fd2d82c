"""Reading quota and respondent CSV files (Panelot and Sortition Foundation formats).

Quotas: `category,feature,min,max` (Flanigan et al. / Panelot) or
`feature,value,min,max[,min_flex,max_flex]` (Sortition Foundation).
Respondents: one column per category; the id is the `id` or `nationbuilder_id` column, or the
0-based row number when there is neither. Other columns (names, addresses) are ignored.
Every problem raises MalformedInput with the file line, so the CLI can print one clear line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from engage.lottery.errors import MalformedInput
from engage.lottery.model import Person, Pool, Quota, categories_of

ID_COLUMNS = ("id", "nationbuilder_id")
PANELOT_HEADER = ("category", "feature", "min", "max")
SF_HEADER = ("feature", "value", "min", "max")


def _rows(lines: Iterable[str], what: str) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(lines)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise MalformedInput(f"{what}: the file is empty") from None
    return header, [[c.strip() for c in row] for row in reader if any(c.strip() for c in row)]


def _int(text: str, what: str, line: int, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise MalformedInput(f"{what} line {line}: {column} {text!r} is not a whole number") from None


def parse_quotas(lines: Iterable[str], what: str = "categories") -> list[Quota]:
    header, rows = _rows(lines, what)
    lowered = tuple(h.lower() for h in header)
    if lowered[:4] == PANELOT_HEADER:
        flex = False
    elif lowered[:4] == SF_HEADER:
        flex = lowered[4:6] == ("min_flex", "max_flex")
    else:
        raise MalformedInput(
            f"{what}: header must start with 'category,feature,min,max' or 'feature,value,min,max'"
            f" (got {','.join(header)!r})"
        )
    width = 6 if flex else 4
    quotas: list[Quota] = []
    seen: set[tuple[str, str]] = set()
    for n, row in enumerate(rows, start=2):
        if len(row) < width:
            raise MalformedInput(f"{what} line {n}: expected {width} columns, got {len(row)}")
        cat, val = row[0], row[1]
        if not cat or not val:
            raise MalformedInput(f"{what} line {n}: empty category or value")
        lo, hi = _int(row[2], what, n, "min"), _int(row[3], what, n, "max")
        lo_flex = _int(row[4], what, n, "min_flex") if flex else None
        hi_flex = _int(row[5], what, n, "max_flex") if flex else None
        if lo < 0 or hi < lo:
            raise MalformedInput(f"{what} line {n}: need 0 <= min <= max for {cat}/{val}")
        if (cat, val) in seen:
            raise MalformedInput(f"{what} line {n}: duplicate quota for {cat}/{val}")
        seen.add((cat, val))
        quotas.append(Quota(cat, val, lo, hi, lo_flex, hi_flex))
    if not quotas:
        raise MalformedInput(f"{what}: no quotas")
    return quotas


def parse_pool(lines: Iterable[str], quotas: Sequence[Quota], what: str = "respondents") -> Pool:
    header, rows = _rows(lines, what)
    cats = categories_of(quotas)
    missing = [c for c in cats if c not in header]
    if missing:
        raise MalformedInput(f"{what}: missing column(s) {', '.join(missing)}")
    id_col = next((header.index(c) for c in ID_COLUMNS if c in header), None)
    cols = [header.index(c) for c in cats]
    known = {c: {q.value for q in quotas if q.category == c} for c in cats}
    people: list[Person] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        if len(row) < len(header):
            raise MalformedInput(f"{what} line {n}: expected {len(header)} columns, got {len(row)}")
        pid = row[id_col] if id_col is not None else str(n - 2)
        if not pid:
            raise MalformedInput(f"{what} line {n}: empty id")
        if pid in seen:
            raise MalformedInput(f"{what} line {n}: duplicate id {pid!r}")
        seen.add(pid)
        values = tuple(row[i] for i in cols)
        for c, v in zip(cats, values, strict=True):
            if v not in known[c]:
                raise MalformedInput(f"{what} line {n}: unknown value {v!r} for {c} (id {pid!r})")
        people.append(Person(pid, values))
    return Pool(cats, tuple(people))


def _lines(path: Path, what: str) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise MalformedInput(f"{what}: cannot read {path}: {e}") from None


def read_quotas(path: str | Path) -> list[Quota]:
    return parse_quotas(_lines(Path(path), str(path)), str(path))


def read_pool(path: str | Path, quotas: Sequence[Quota]) -> Pool:
    return parse_pool(_lines(Path(path), str(path)), quotas, str(path))
