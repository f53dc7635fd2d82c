"""The audit chain, as plain data: how an entry's hash is computed and how a chain is checked.

hash = SHA-256( prev_hash || "\\n" || canonical JSON of {at, actor, action, subject_type, subject_id,
details} ), where canonical JSON has sorted keys, no spaces and UTF-8 text. The first entry's prev_hash
is 64 zeros. Changing any stored field of any entry, or removing or reordering entries, breaks the chain
at that entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class Link:
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Break:
    entry_id: int
    reason: str


def canonical(
    at: datetime, actor: str, action: str, subject_type: str, subject_id: str, details: dict[str, Any]
) -> bytes:
    payload = {
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": details,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def first_break(links: Iterable[Link]) -> Break | None:
    """The first entry (in id order) whose stored hashes do not follow from the entries before it."""
    expected_prev = GENESIS
    for link in links:
        if link.prev_hash != expected_prev:
            return Break(link.id, "prev_hash does not match the entry before it (entry removed or edited)")
        body = canonical(link.at, link.actor, link.action, link.subject_type, link.subject_id, link.details)
        if entry_hash(link.prev_hash, body) != link.hash:
            return Break(link.id, "content does not match its hash (entry edited)")
        expected_prev = link.hash
    return None
