"""Canonical JSON and the pool's fingerprint, so that hashes can be recomputed anywhere.

Canonical JSON here: UTF-8, object keys sorted, no whitespace (separators "," and ":"), non-ASCII
characters written as themselves, only strings, integers, lists, objects, booleans and null (no
floats). For such values this is the same byte string as RFC 8785 (JCS) when keys are ASCII.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engage.lottery.model import Pool


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sorted_people(pool: Pool) -> list[str]:
    """Ids in ticket order: sorted by code point (= by UTF-8 bytes). Ticket i is position i + 1."""
    return sorted(pool.ids)


def canonical_pool(pool: Pool) -> dict[str, Any]:
    """The part of the pool a draw depends on: ids and the quota categories' values."""
    by_id = {p.id: p for p in pool.people}
    return {
        "categories": list(pool.categories),
        "people": [[pid, *by_id[pid].values] for pid in sorted_people(pool)],
    }


def pool_sha256(pool: Pool) -> str:
    return sha256_hex(canonical_json(canonical_pool(pool)))
