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
