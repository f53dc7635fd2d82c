"""Light pages for slow phones: static files under content-hashed names cached for a year, a favicon,
and HEAD answered like GET without the body (uptime monitors and link checkers send it).

Compression is Litestar's own (`CompressionConfig` in the factory)."""

from __future__ import annotations

import hashlib
import mimetypes
from functools import cache
from pathlib import Path
from typing import Any, cast

from litestar import Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File
from litestar.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent.parent / "static"
YEAR = 365 * 24 * 3600
IMMUTABLE = {"Cache-Control": f"public, max-age={YEAR}, immutable"}
# An unhashed name may change under the same address: the browser asks again each time (ETag).
REVALIDATE = {"Cache-Control": "no-cache"}


def _hashed(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return f"{path.stem}.{digest}{path.suffix}"


def _scan(directory: Path) -> dict[str, str]:
    return {path.name: _hashed(path) for path in sorted(directory.iterdir()) if path.is_file()}


@cache
def _manifest(directory: Path) -> dict[str, str]:
    return _scan(directory)


def manifest(directory: Path = STATIC, *, fresh: bool = False) -> dict[str, str]:
    """{file name: hashed name}. `fresh` (dev) rereads the files, so an edited stylesheet shows at once."""
    return _scan(directory) if fresh else _manifest(directory)


def static_url_function(*, fresh: bool) -> object:
    def static_url(name: str) -> str:
        return "/static/" + manifest(fresh=fresh).get(name, name)

    return static_url


def _file(path: Path, headers: dict[str, str]) -> File:
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return File(path=path, media_type=media_type, headers=headers, content_disposition_type="inline")


def static_router(*, fresh: bool) -> Router:
    @get("/static/{name:str}", include_in_schema=False)
    async def static_file(name: FromPath[str]) -> File:
        files = manifest(fresh=fresh)
        by_hash = {hashed: plain for plain, hashed in files.items()}
        if name in by_hash:
            return _file(STATIC / by_hash[name], IMMUTABLE)
        if name in files:
            return _file(STATIC / name, REVALIDATE)
        raise NotFoundException()

    @get("/favicon.ico", include_in_schema=False)
    async def favicon() -> File:
        return _file(STATIC / "favicon.ico", {"Cache-Control": "public, max-age=86400"})

    return Router(path="/", route_handlers=[static_file, favicon])


class HeadAsGet:
    """Answer HEAD as GET would, headers and all, without sending the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fields = cast("dict[str, Any]", scope)
        if fields["type"] != "http" or fields.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return
        as_get = cast("Scope", {**fields, "method": "GET"})

        async def without_body(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(as_get, receive, without_body)
