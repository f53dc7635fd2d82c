"""Commit-reveal seeds and the random numbers drawn from them (specified in docs/lottery.md).

* seed = SHA-256( for each revealed part in order: uint32_be(len(utf8(part))) || utf8(part) )
* block i = SHA-256( seed || uint64_be(i) ), i = 0, 1, 2, ...  (one block per attempt)
* uniform integer below n: r = first 8 bytes of the next block as uint64_be; accept when
  r < 2^64 - (2^64 mod n) and return r mod n, else take the next block (no modulo bias).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
_SPACE = 1 << 64


def commitment(part: str) -> str:
    """What a contributor publishes before the draw: SHA-256 of the part's UTF-8 bytes, hex."""
    return hashlib.sha256(part.encode("utf-8")).hexdigest()


def seed_from_parts(parts: Sequence[str]) -> bytes:
    """The seed: SHA-256 over the length-prefixed UTF-8 parts, in their published order."""
    if not parts:
        raise ValueError("at least one seed part is needed")
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
    return h.digest()


class Stream:
    """SHA-256 in counter mode: the only source of randomness of a draw."""

    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.counter = 0

    def _next_u64(self) -> int:
        block = hashlib.sha256(self.seed + self.counter.to_bytes(8, "big")).digest()
        self.counter += 1
        return int.from_bytes(block[:8], "big")

    def below(self, n: int) -> int:
        """A uniform integer in [0, n), by rejection sampling."""
        if n < 1:
            raise ValueError("n must be positive")
        limit = _SPACE - (_SPACE % n)
        while True:
            r = self._next_u64()
            if r < limit:
                return r % n

    def shuffled(self, items: Sequence[T]) -> list[T]:
        """Fisher-Yates from the last position down: swap a[i] with a[below(i + 1)]."""
        a = list(items)
        for i in range(len(a) - 1, 0, -1):
            j = self.below(i + 1)
            a[i], a[j] = a[j], a[i]
        return a
