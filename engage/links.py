"""Personal links: the pages a resident reaches from a text without signing in, in one table, with
one token format for the random ones and one policy against guessing.

| path | what it opens | token |
|---|---|---|
| `/e/<token>` | rating a service (evaluations) | random, 128 bits; the database keeps its SHA-256 |
| `/b/<token>` | the democratic assessment ballot (selections) | random, as above |
| `/r/<token>` | the speech rating sheet (selections) | random, as above |
| `/s/<token>` | a juror's interview scoring sheet (selections) | random, as above |
| `/j/<token>` | a panel invitation (panels) | signed: member id + HMAC (`engage.panels.seats.links`) |

Guessing: a token that names nothing counts a miss against the client address; once an address has
missed `MISSES_PER_ADDRESS` times in `MISS_WINDOW`, every personal link answers 429 to it until the
window ends, valid or not, so a guesser cannot keep trying and learn from the answers. A resident who
mistypes a link a few times is never stopped, and valid links never count.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis

from engage import ratelimit
from engage.errors import RateLimited
from engage.i18n import gettext as _


class LinkKind(StrEnum):
    RATING = "e"
    BALLOT = "b"
    SPEECH = "r"
    SHEET = "s"
    PANEL = "j"


# The pages and API paths a personal link opens; the guard below watches these and nothing else.
PATHS = (*(f"/{kind.value}/" for kind in LinkKind), "/api/v1/ballots/", "/api/v1/speech/", "/api/v1/scores/")

MISSES_PER_ADDRESS = 20
MISS_WINDOW = 10 * 60


def new_token() -> tuple[str, str]:
    """A link token (128 random bits, URL-safe) and the hash that is all the database keeps."""
    token = secrets.token_urlsafe(16)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """128 random bits need no slow hash: a plain SHA-256 keeps a copy of the database from opening any
    link. Lone surrogates in a typed-in token hash too, and simply match nothing."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def url(public_base_url: str, kind: LinkKind | str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/{kind}/{token}"


def _key(client: str) -> str:
    return f"link-miss:{client}"


async def refuse_guessers(redis: Redis, client: str) -> None:
    """Before looking a token up: 429 to an address that has missed too often."""
    wait = await ratelimit.over(redis, _key(client), MISSES_PER_ADDRESS)
    if wait:
        raise RateLimited(
            "token", _("Too many links that do not exist from this address. Please try again later."), wait
        )


async def count_miss(redis: Redis, client: str) -> None:
    """A token named nothing: one miss for this address."""
    await ratelimit.hit(redis, _key(client), MISSES_PER_ADDRESS, MISS_WINDOW)


class GuessingGuard(ASGIMiddleware):
    """The one guessing policy, for every personal link: refuse an address that has missed too often,
    and count a miss whenever a link page or link API answers 404."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not scope["path"].startswith(PATHS):
            await next_app(scope, receive, send)
            return
        redis: Redis = scope["app"].state.redis
        peer = scope.get("client")
        client = peer[0] if peer else "unknown"
        await refuse_guessers(redis, client)
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await next_app(scope, receive, watch)
        if status == 404:
            await count_miss(redis, client)
