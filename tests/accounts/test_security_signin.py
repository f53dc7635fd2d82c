"""Sign-in limits (S12): failures lock the address and email together, for longer each time, and nothing
a guesser does elsewhere keeps the real organizer out."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import redis
from litestar import Litestar

from engage.app import create_app
from engage.settings import Settings
from tests.factories import organizer
from tests.support import make_settings

LOCK = "engage:rl:login:pair:{address}:o@x.cn:lock"


class Browser:
    """A browser at one client address, on the app's own event loop (httpx's ASGI transport)."""

    def __init__(self, app: Litestar, address: str) -> None:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        self.token = ""

    async def sign_in(self, password: str) -> httpx.Response:
        if not self.token:
            page = await self.client.get("/login")
            found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
            assert found
            self.token = found.group(1)
        data = {"email": "o@x.cn", "password": password, "_csrf_token": self.token}
        return await self.client.post("/login", data=data)


def _run(app: Litestar, scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # one event loop for every browser: the app's pools belong to it


def test_each_lock_after_the_free_failures_lasts_twice_as_long_and_waiting_does_not_renew_it(
    settings: Settings, app: Litestar
) -> None:
    """S12: a fixed window let an attacker renew the lock for ever. Now the lock belongs to the address
    and email together; trying while locked is refused without counting, so the lock runs out; each
    failure after it doubles the next lock; a right password clears the record."""
    password = organizer(settings, "o@x.cn", "organizer")
    store = redis.Redis.from_url(settings.redis_url or "")
    free = settings.login_attempts_per_15_minutes
    lock = LOCK.format(address="203.0.113.5")

    async def scenario() -> None:
        browser = Browser(app, "203.0.113.5")
        answers = [(await browser.sign_in("nope")).status_code for _ in range(free)]
        assert answers == [400] * free
        first = await browser.sign_in(password)  # locked: even the right password waits
        assert first.status_code == 429 and 0 < int(first.headers["Retry-After"]) <= 30
        again = await browser.sign_in("nope")
        assert again.status_code == 429 and int(again.headers["Retry-After"]) <= int(
            first.headers["Retry-After"]
        )
        store.delete(lock)  # the 30 s have passed
        assert (await browser.sign_in("nope")).status_code == 400
        second = await browser.sign_in("nope")
        assert second.status_code == 429 and 30 < int(second.headers["Retry-After"]) <= 60
        store.delete(lock)
        assert (await browser.sign_in("nope")).status_code == 400
        third = await browser.sign_in("nope")
        assert third.status_code == 429 and 60 < int(third.headers["Retry-After"]) <= 120
        store.delete(lock)
        assert (await browser.sign_in(password)).status_code == 302
        assert not store.exists("engage:rl:login:pair:203.0.113.5:o@x.cn:fails")

    _run(app, scenario)


def test_guessing_from_many_addresses_holds_back_only_the_guessers(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """S12: the email's own ceiling on failures (ten times the per-address allowance) stops guessing
    spread over many addresses, but it holds back only addresses that have failed for that email: the
    organizer signing in from a clean address gets in."""
    settings = make_settings(database_url, redis_url, tmp_path / "var", LOGIN_ATTEMPTS_PER_15_MINUTES="1")
    app = create_app(settings)
    password = organizer(settings, "o@x.cn", "organizer")
    store = redis.Redis.from_url(redis_url)

    async def scenario() -> None:
        for n in range(10):  # ten addresses, one failure each: the email's ceiling is reached
            assert (await Browser(app, f"198.51.100.{n}").sign_in("nope")).status_code == 400
        store.delete(LOCK.format(address="198.51.100.0"))  # its own lock has run out
        held = await Browser(app, "198.51.100.0").sign_in(password)
        assert held.status_code == 429  # an address that failed waits for the email's window
        assert (await Browser(app, "192.0.2.44").sign_in(password)).status_code == 302

    _run(app, scenario)
