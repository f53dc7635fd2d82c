"""Pure helpers between residents and the lottery: categories, effective quotas, the pool, the CSV.

Volunteers enter the lottery under their pseudonym, with one value per quota category. The quota
categories are participant type (expert, deputy of any kind, resident), community (its code), gender
and age band; a missing answer is the value `unknown`. The lottery needs a quota row for every value
present in the pool, so values the organizer left out get an open row (0 to the panel size).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engage.lottery import Person, Pool, Quota
from engage.residents.categories import UNKNOWN, participant_group


@dataclass(frozen=True)
class Volunteer:
    """One eligible resident as the pool sees them."""

    resident_id: int
    pseudonym: str
    work_unit: str | None
    features: Mapping[str, str]  # category -> value, every category of CATEGORIES


def features_of(
    participant_type: str, community: str | None, gender: str | None, age_band: str | None
) -> dict[str, str]:
    return {
        "participant_type": participant_group(participant_type),
        "community": community or UNKNOWN,
        "gender": gender or UNKNOWN,
        "age_band": age_band or UNKNOWN,
    }


def quota_rows(quotas: Sequence[Quota]) -> list[dict[str, Any]]:
    return [{"category": q.category, "feature": q.value, "min": q.min, "max": q.max} for q in quotas]


def quotas_of(rows: Iterable[Mapping[str, Any]]) -> list[Quota]:
    return [Quota(str(r["category"]), str(r["feature"]), int(r["min"]), int(r["max"])) for r in rows]


def effective_quotas(
    rows: Iterable[Mapping[str, Any]], size: int, volunteers: Sequence[Volunteer]
) -> list[Quota]:
    """The organizer's rows, then an open row for each pool value of a quota category they left out.

    Participant type is always a category, so a panel without quotas still has one."""
    quotas = quotas_of(rows)
    categories = list(dict.fromkeys([q.category for q in quotas] + ["participant_type"]))
    given = {q.key for q in quotas}
    for category in categories:
        present = sorted({v.features[category] for v in volunteers})
        quotas += [Quota(category, value, 0, size) for value in present if (category, value) not in given]
    return quotas


def excluded_ids(
    volunteers: Sequence[Volunteer], resident_ids: Iterable[int], work_units: Iterable[str]
) -> list[str]:
    """Pseudonyms of volunteers excluded by id or by work unit (compared without case or spaces)."""
    ids = set(resident_ids)
    units = {_unit(u) for u in work_units if _unit(u)}
    return sorted(
        v.pseudonym
        for v in volunteers
        if v.resident_id in ids or (v.work_unit is not None and _unit(v.work_unit) in units)
    )


def served_enough(volunteers: Sequence[Volunteer], attended: Mapping[int, int], cap: int) -> list[str]:
    """Pseudonyms of volunteers who attended at least `cap` earlier panels (the cap on repeat service)."""
    return sorted(v.pseudonym for v in volunteers if attended.get(v.resident_id, 0) >= cap)


def _unit(name: str) -> str:
    return "".join(name.split()).casefold()


def build_pool(volunteers: Sequence[Volunteer], quotas: Sequence[Quota]) -> Pool:
    categories = tuple(dict.fromkeys(q.category for q in quotas))
    people = tuple(
        Person(v.pseudonym, tuple(v.features[c] for c in categories))
        for v in sorted(volunteers, key=lambda v: v.pseudonym)
    )
    return Pool(categories, people)


def tickets(pool: Pool) -> dict[str, int]:
    """Ticket i (from 1) is the i-th id in code-point order (docs/lottery.md, section 4)."""
    return {pid: n for n, pid in enumerate(sorted(pool.ids), start=1)}


def pool_from_rows(categories: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]]) -> Pool:
    """The frozen pool again, from stored (pseudonym, values) rows."""
    return Pool(tuple(categories), tuple(Person(pid, tuple(values)) for pid, values in rows))


def pool_csv(pool: Pool) -> str:
    """The respondents CSV an auditor replays the draw with: `engage panel verify RECORD --respondents`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "ticket", *pool.categories])
    numbers = tickets(pool)
    for person in sorted(pool.people, key=lambda p: p.id):
        writer.writerow([person.id, numbers[person.id], *person.values])
    return out.getvalue()
