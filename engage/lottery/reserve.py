"""Replacing a dropout from the reserve list without breaking any quota."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engage.lottery.errors import LotteryError
from engage.lottery.model import Pool, Quota
from engage.lottery.record import ids_of, quotas_from_json


class NoReplacement(LotteryError):
    """No one on the reserve list can take the seat while every quota stays met."""


def _meets_quotas(panel: Sequence[str], pool: Pool, quotas: Sequence[Quota]) -> bool:
    by_id = {p.id: p for p in pool.people}
    for q in quotas:
        c = pool.categories.index(q.category)
        seats = sum(1 for pid in panel if by_id[pid].values[c] == q.value)
        if not q.min <= seats <= q.max:
            return False
    return True


def replacement(
    record_or_panel: Mapping[str, Any] | Sequence[str],
    pool: Pool,
    quotas: Sequence[Quota] | None,
    dropout_id: str,
    reserve: Sequence[str] | None = None,
) -> str:
    """The first reserve (in order) whose swap for `dropout_id` keeps every quota satisfied.

    Takes a draw record (its panel, quotas and reserve are used unless given) or a panel of ids.
    Reserves already on the panel are skipped, so replacing several dropouts in turn works.
    """
    if isinstance(record_or_panel, Mapping):
        record = dict(record_or_panel)
        panel = ids_of(record, pool, record["panel"])
        quotas = quotas if quotas is not None else quotas_from_json(record["quotas"])
        reserve = reserve if reserve is not None else ids_of(record, pool, record["reserve"])
    else:
        panel = list(record_or_panel)
    if quotas is None or reserve is None:
        raise ValueError("quotas and reserve are needed when passing a panel")
    if dropout_id not in panel:
        raise LotteryError(f"{dropout_id!r} is not on the panel")
    rest = [pid for pid in panel if pid != dropout_id]
    for candidate in reserve:
        if candidate in panel:
            continue
        if _meets_quotas([*rest, candidate], pool, quotas):
            return candidate
    raise NoReplacement(f"no one on the reserve list can replace {dropout_id!r} within the quotas")
