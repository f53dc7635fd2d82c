"""The draw record (canonical JSON, versioned) and its pure replay, `verify`.

A record has two halves. The *prepared* half (published, with its SHA-256 `commitment`, before
any seed part is revealed) fixes the pool fingerprint, quotas, exclusions, algorithm and the M
numbered panels. The *draw* half holds the revealed seed parts, the seed, the chosen index, the
panel and the reserve list, all recomputable from the prepared half and the parts.
People appear only as tickets: ticket i is the i-th id of the pool sorted by code point (from 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engage.lottery.canonical import (
    canonical_json,
    pool_sha256,
    sha256_hex,
    sorted_people,
)
from engage.lottery.model import Pool, Quota
from engage.lottery.randomness import Stream, commitment, seed_from_parts

FORMAT = "engage.lottery.draw"
VERSION = 1
PREPARED_FIELDS = (
    "format",
    "version",
    "algorithm",
    "pool",
    "quotas",
    "panel_size",
    "exclusions",
    "reserve_size",
    "panels",
)


def tickets_of(pool: Pool) -> dict[str, int]:
    return {pid: i + 1 for i, pid in enumerate(sorted_people(pool))}


def quotas_json(quotas: Sequence[Quota]) -> list[list[Any]]:
    return [[q.category, q.value, q.min, q.max] for q in quotas]


def quotas_from_json(rows: Sequence[Sequence[Any]]) -> list[Quota]:
    return [Quota(str(c), str(v), int(lo), int(hi)) for c, v, lo, hi in rows]


def prepared_commitment(record: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the prepared fields: what is published before the draw."""
    return sha256_hex(canonical_json({f: record[f] for f in PREPARED_FIELDS}))


def prepare_record(
    pool: Pool,
    quotas: Sequence[Quota],
    k: int,
    exclusions: Sequence[str],
    panels: Sequence[Sequence[str]],
    algorithm: dict[str, str],
    reserve_size: int,
) -> dict[str, Any]:
    tickets = tickets_of(pool)
    record: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "algorithm": algorithm,
        "pool": {
            "sha256": pool_sha256(pool),
            "size": len(pool.people),
            "categories": list(pool.categories),
        },
        "quotas": quotas_json(quotas),
        "panel_size": k,
        "exclusions": sorted(tickets[pid] for pid in set(exclusions) if pid in tickets),
        "reserve_size": reserve_size,
        "panels": [sorted(tickets[pid] for pid in panel) for panel in panels],
    }
    record["commitment"] = prepared_commitment(record)
    return record


def draw_from(prepared: dict[str, Any], seed_parts: Sequence[str]) -> dict[str, Any]:
    """The draw half: seed -> index into the M panels -> panel, then the shuffled reserve."""
    seed = seed_from_parts(seed_parts)
    stream = Stream(seed)
    panels = prepared["panels"]
    index = stream.below(len(panels))
    panel = panels[index]
    taken = set(panel) | set(prepared["exclusions"])
    others = [t for t in range(1, prepared["pool"]["size"] + 1) if t not in taken]
    reserve = stream.shuffled(others)[: prepared["reserve_size"]]
    return {
        **prepared,
        "seed_parts": [{"value": p, "commitment": commitment(p)} for p in seed_parts],
        "seed": seed.hex(),
        "index": index,
        "panel": panel,
        "reserve": reserve,
    }


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    mismatch: str | None = None  # the first field that does not replay, with what was expected

    def __bool__(self) -> bool:
        return self.ok


def _panel_problem(panel: Any, record: dict[str, Any], values: list[tuple[str, ...]]) -> str | None:
    k, n = record["panel_size"], record["pool"]["size"]
    if not isinstance(panel, list) or len(panel) != k or len(set(panel)) != k:
        return f"has not {k} distinct tickets"
    if any(not isinstance(t, int) or not 1 <= t <= n for t in panel):
        return "has a ticket outside the pool"
    if set(panel) & set(record["exclusions"]):
        return "seats an excluded ticket"
    cats = record["pool"]["categories"]
    for cat, val, lo, hi in record["quotas"]:
        c = cats.index(cat)
        seats = sum(1 for t in panel if values[t - 1][c] == val)
        if not lo <= seats <= hi:
            return f"has {seats} for {cat}/{val}, quota {lo}..{hi}"
    return None


def _check(record: dict[str, Any], pool: Pool) -> str | None:
    if record.get("format") != FORMAT or record.get("version") != VERSION:
        return f"format/version: expected {FORMAT} {VERSION}"
    if record["pool"]["sha256"] != pool_sha256(pool) or record["pool"]["size"] != len(pool.people):
        return "pool: the respondents file does not match the record's pool fingerprint"
    if record["commitment"] != prepared_commitment(record):
        return "commitment: does not match the prepared fields (quotas, panels, ...)"
    parts = [p["value"] for p in record["seed_parts"]]
    for i, part in enumerate(record["seed_parts"]):
        if part["commitment"] != commitment(part["value"]):
            return f"seed_parts[{i}]: value does not match its commitment"
    by_id = {p.id: p.values for p in pool.people}
    values = [by_id[pid] for pid in sorted_people(pool)]
    for i, panel in enumerate(record["panels"]):
        problem = _panel_problem(panel, record, values)
        if problem:
            return f"panels[{i}] {problem}"
    replay = draw_from({f: record[f] for f in (*PREPARED_FIELDS, "commitment")}, parts)
    for field in ("seed", "index", "panel", "reserve"):
        if record[field] != replay[field]:
            return f"{field}: recorded {record[field]!r}, replay gives {replay[field]!r}"
    extra = set(record) - set(replay)
    if extra:
        return f"unknown field(s): {', '.join(sorted(extra))}"
    return None


def verify(record: dict[str, Any], pool: Pool) -> VerifyResult:
    """Replay a record against the pool; name the first field that does not reproduce."""
    try:
        problem = _check(record, pool)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        problem = f"malformed record: {type(e).__name__}: {e}"
    return VerifyResult(problem is None, problem)


def ids_of(record: dict[str, Any], pool: Pool, tickets: Sequence[int]) -> list[str]:
    people = sorted_people(pool)
    return [people[t - 1] for t in tickets]
