"""Fixed-window counters in Redis, shared by every web process."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

# One script call counts a hit on every window at once: one command on the wire instead of a MULTI of
# three per window, which a busy sign-up endpoint pays for on every request. Scripts run atomically, as
# the transaction did. For each key: start the window once (SET NX EX; EXPIRE NX would need Redis 7, the
# embedded one is 6.2), count, and read the time left.
_HIT_ALL = """
local replies = {}
for i, key in ipairs(KEYS) do
    redis.call('SET', key, 0, 'EX', ARGV[i], 'NX')
    replies[2 * i - 1] = redis.call('INCR', key)
    replies[2 * i] = redis.call('TTL', key)
end
return replies
"""
_HIT_ALL_SHA = hashlib.sha1(_HIT_ALL.encode(), usedforsecurity=False).hexdigest()  # what EVALSHA names it by


async def hit(redis: Redis, key: str, limit: int, window_seconds: int) -> int | None:
    """Count one hit; returns None while under `limit`, else the seconds until the window ends."""
    return await hit_all(redis, [(key, limit, window_seconds)])


async def clear(redis: Redis, key: str) -> None:
    await redis.delete(f"engage:rl:{key}")


async def hit_all(redis: Redis, limits: list[tuple[str, int, int]]) -> int | None:
    """Count one hit on several (key, limit, window seconds) counters in one round trip; returns the
    longest wait among those over their limit, or None."""
    keys = [f"engage:rl:{key}" for key, _, _ in limits]
    windows = [window for _, _, window in limits]
    try:
        replies = await redis.evalsha(_HIT_ALL_SHA, len(keys), *keys, *windows)
    except NoScriptError:  # a fresh or flushed server: EVAL runs the script and caches it
        replies = await redis.eval(_HIT_ALL, len(keys), *keys, *windows)
    waits = [
        max(int(replies[2 * i + 1]), 1)
        for i, (_, limit, _) in enumerate(limits)
        if int(replies[2 * i]) > limit
    ]
    return max(waits) if waits else None


async def over(redis: Redis, key: str, limit: int) -> int | None:
    """Whether `key` has already reached `limit` in its window, without counting a hit: the seconds
    until the window ends, or None."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(f"engage:rl:{key}")
        pipe.ttl(f"engage:rl:{key}")
        count, ttl = await pipe.execute()
    return max(int(ttl), 1) if count is not None and int(count) >= limit else None


# Back-off: after `free` failures in a row, each further failure locks the key for twice as long as the
# one before (base, 2 x base, ... up to cap). Failures are forgotten `window` seconds after the last one;
# a success forgets them at once. Unlike a fixed window, a lock cannot be renewed by trying during it
# (tries while locked are refused without counting), and it only ever holds one key: the address and
# account together, so whoever guesses from elsewhere locks out only themselves.
_FAIL = """
local failures = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
local over = failures - tonumber(ARGV[2])
if over < 0 then return 0 end
local lock = math.min(tonumber(ARGV[3]) * 2 ^ math.min(over, 30), tonumber(ARGV[4]))
redis.call('SET', KEYS[2], failures, 'EX', lock)
return lock
"""


async def locked_for(redis: Redis, key: str) -> int | None:
    """Seconds left of the back-off lock on `key`, or None when it is not locked."""
    left = int(await redis.ttl(f"engage:rl:{key}:lock"))
    return left if left > 0 else None


async def failed(redis: Redis, key: str, *, free: int, base: int, cap: int, window: int) -> int:
    """Count one failure on `key`; returns the lock it now carries in seconds (0: none yet)."""
    lock = await redis.eval(
        _FAIL, 2, f"engage:rl:{key}:fails", f"engage:rl:{key}:lock", window, free, base, cap
    )
    return int(lock)


async def failures(redis: Redis, key: str) -> int:
    return int(await redis.get(f"engage:rl:{key}:fails") or 0)


async def succeeded(redis: Redis, key: str) -> None:
    await redis.delete(f"engage:rl:{key}:fails", f"engage:rl:{key}:lock")
