"""The global send rate: texts a second per sender, shared by every worker process through Redis.

One key per sender holds a GCRA "theoretical arrival time" (microseconds, Redis' own clock, so the
workers' clocks do not matter). A Lua script grants up to `want` tokens at once, atomically: a worker
asks for a handful of tokens per round trip instead of one per text. With no token left it answers
how long to wait, and the caller sleeps that long and asks again: a batch waits, it never fails.

`burst` tokens may be taken at once after a pause (default: a tenth of a second's worth), so over
any window of t seconds at most rate * t + burst texts leave.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local room = math.floor((now + burst * interval - tat) / interval)
if room <= 0 then
  return {0, string.format('%.0f', tat + interval - burst * interval - now)}
end
local take = math.min(room, want)
tat = tat + take * interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {take, '0'}
"""


def sender_key(sender: str) -> str:
    return f"engage:sms:rate:{sender}"


class SendRate:
    def __init__(self, redis: Any, sender: str, per_second: float, burst: int | None = None) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.key = sender_key(sender)
        self.per_second = per_second
        self.burst = burst if burst is not None else max(1, int(per_second / 10))
        self._interval_us = 1_000_000 / per_second
        self._script = redis.register_script(_TAKE)

    def take(self, want: int) -> tuple[int, float]:
        """(tokens granted now, between 0 and want; seconds to wait before asking again when 0)."""
        granted, wait_us = self._script(keys=[self.key], args=[self._interval_us, self.burst, max(1, want)])
        return int(granted), int(wait_us) / 1_000_000

    def acquire(self, want: int, sleep: Callable[[float], None] = time.sleep) -> int:
        """Block until at least one token is granted; returns how many (at most `want`)."""
        while True:
            granted, wait = self.take(want)
            if granted:
                return granted
            sleep(wait)
