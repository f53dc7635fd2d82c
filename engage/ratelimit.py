"""Fixed-window counters in Redis, shared by every web process."""

from __future__ import annotations

from redis.asyncio import Redis


async def hit(redis: Redis, key: str, limit: int, window_seconds: int) -> int | None:
    """Count one hit; returns None while under `limit`, else the seconds until the window ends."""
    full_key = f"engage:rl:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        # SET NX EX starts the window only once (EXPIRE NX would need Redis 7; the embedded one is 6.2).
        pipe.set(full_key, 0, ex=window_seconds, nx=True)
        pipe.incr(full_key)
        pipe.ttl(full_key)
        _, count, ttl = await pipe.execute()
    if int(count) > limit:
        return max(int(ttl), 1)
    return None


async def clear(redis: Redis, key: str) -> None:
    await redis.delete(f"engage:rl:{key}")


async def hit_all(redis: Redis, limits: list[tuple[str, int, int]]) -> int | None:
    """Count one hit on several (key, limit, window seconds) counters in one round trip; returns the
    longest wait among those over their limit, or None."""
    async with redis.pipeline(transaction=True) as pipe:
        for key, _, window in limits:
            full_key = f"engage:rl:{key}"
            pipe.set(full_key, 0, ex=window, nx=True)
            pipe.incr(full_key)
            pipe.ttl(full_key)
        replies = await pipe.execute()
    waits = [
        max(int(replies[3 * i + 2]), 1)
        for i, (_, limit, _) in enumerate(limits)
        if int(replies[3 * i + 1]) > limit
    ]
    return max(waits) if waits else None
