"""Domain errors and their one mapping to answers: JSON problem details for the API, a page for
browsers. Every error names the field it is about, so a form can show it next to the input."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from engage.i18n import current_locale, gettext


class EngageError(Exception):
    status_code = 400

    def __init__(self, field: str | None, detail: str) -> None:
        super().__init__(f"{field}: {detail}" if field else detail)
        self.field = field
        self.detail = detail


class InvalidInput(EngageError):
    status_code = 400


class NotFound(EngageError):
    status_code = 404


class Forbidden(EngageError):
    status_code = 403


class Conflict(EngageError):
    status_code = 409


class RateLimited(EngageError):
    status_code = 429

    def __init__(self, field: str | None, detail: str, retry_after: int) -> None:
        super().__init__(field, detail)
        self.retry_after = retry_after


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith(("/api/", "/schema", "/healthz", "/webhooks/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def N_(message: str) -> str:
    """Marks a text for the catalogue; it is translated where it is shown."""
    return message


_HAN = re.compile(r"[\u3400-\u9fff]")
_GENERIC = {
    404: N_("This page does not exist, or it is not public."),
    403: N_("You may not open this page."),
    429: N_("Too many requests. Wait a minute and try again."),
    500: N_("Something went wrong on our side. It has been logged; please try again later."),
}


def _readable(detail: str, status: int) -> str:
    """A page's message in the reader's language: API texts that have no translation (e.g. "no notice
    7") give way to a general one, rather than English on a Chinese page."""
    shown = gettext(detail)
    if current_locale.get() == "zh_CN" and not _HAN.search(shown):
        return gettext(_GENERIC.get(status, N_("That did not work. Go back and try again.")))
    return shown


def _answer(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    field: str | None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[Any]:
    if _wants_html(request):
        return Template(
            template_name="pages/error.html",
            context={"status": status, "detail": _readable(detail, status), "field": field},
            status_code=status,
            headers=headers,
        )
    content: dict[str, Any] = {"status_code": status, "detail": detail, "field": field}
    if extra:
        content["extra"] = extra
    return Response(content=content, status_code=status, media_type=MediaType.JSON, headers=headers)


def engage_error_handler(request: Request[Any, Any, Any], exc: EngageError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return _answer(request, exc.status_code, exc.detail, exc.field, headers)


_FIELD_IN_MESSAGE = re.compile(r"at `\$\.([\w.\[\]]+)`|field `(\w+)`")
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")


def _problem_field(problem: dict[str, Any]) -> str | None:
    """The field a validation problem is about: for a JSON body, the member named in the message."""
    key = problem.get("key")
    if problem.get("source") == "body" or key == "data":
        found = _FIELD_IN_MESSAGE.search(str(problem.get("message", "")))
        if found:
            return found.group(1) or found.group(2)
    return str(key) if key else None


def validation_error_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = [p for p in exc.extra if isinstance(p, dict)] if isinstance(exc.extra, list) else []
    field = _problem_field(problems[0]) if problems else None
    missing = _MISSING_PARAMETER.search(exc.detail or "")
    if field is None and missing:
        field = missing.group(1)
    detail = exc.detail
    if problems and problems[0].get("message"):
        detail = f"{field}: {problems[0]['message']}" if field else str(problems[0]["message"])
    return _answer(request, 400, detail, field, extra={"problems": problems} if problems else None)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 401 and _wants_html(request):
        return Redirect(f"/login?next={quote(request.url.path)}")
    headers = dict(exc.headers) if exc.headers else None
    return _answer(request, exc.status_code, exc.detail, None, headers)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request.logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return _answer(request, HTTP_500_INTERNAL_SERVER_ERROR, "internal error; it has been logged", None)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    EngageError: engage_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
