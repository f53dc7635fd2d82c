"""Domain errors and their one mapping to answers: JSON problem details for the API, a page for
browsers. Every error names the field it is about, so a form can show it next to the input, and
carries a stable `code`: `detail` is translated for people, `code` never changes with the language, so
programs branch on it. Every code is listed with its meaning in docs/api.md (a test checks)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from redis.exceptions import RedisError

from engage.i18n import current_locale, gettext
from engage.i18n import gettext as _
from engage.logs import redact


class EngageError(Exception):
    status_code = 400
    code = "invalid_input"  # each class has its own; a raise may name a narrower one (`code=`)

    def __init__(self, field: str | None, detail: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {detail}" if field else detail)
        self.field = field
        self.detail = detail
        if code is not None:
            self.code = code


class InvalidInput(EngageError):
    status_code = 400
    code = "invalid_input"


class UnknownValue(InvalidInput):
    """Input naming something that does not exist (a community, a category, an option): 422, naming
    the field and listing what it may name, so a caller can correct it without guessing."""

    status_code = 422
    code = "unknown_value"

    def __init__(self, field: str, value: object, allowed: Sequence[object]) -> None:
        self.allowed = [str(option) for option in allowed]
        detail = _("%(field)s: unknown value “%(value)s”; choose one of: %(allowed)s") % {
            "field": field,
            "value": value,
            "allowed": ", ".join(self.allowed),
        }
        super().__init__(field, detail)


class RuleBroken(InvalidInput):
    """A request that fits /schema but breaks a rule no JSON Schema can state: two dates out of order,
    one key given twice in a list, a text that must fit three SMS segments once composed. 422 (the
    content is understood, its instructions cannot be carried out), naming the field; 400 stays for
    what the schema states. docs/api.md lists these rules by operation; schemathesis.toml expects them."""

    status_code = 422
    code = "rule_broken"


class NotFound(EngageError):
    status_code = 404
    code = "not_found"


class Forbidden(EngageError):
    status_code = 403
    code = "forbidden"


class Conflict(EngageError):
    status_code = 409
    code = "conflict"


class RateLimited(EngageError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, field: str | None, detail: str, retry_after: int, *, code: str | None = None) -> None:
        super().__init__(field, detail, code=code)
        self.retry_after = retry_after


class ServiceUnavailable(EngageError):
    """A part the request needs (Redis) is away for a moment; the client should try again."""

    status_code = 503
    code = "unavailable"

    def __init__(self, detail: str, retry_after: int = 30) -> None:
        super().__init__(None, detail)
        self.retry_after = retry_after


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(_("This is unavailable for a moment. Please try again in a minute."))


# Codes of the errors the framework raises (guards, routing, body parsing), by status.
HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
OTHER_HTTP_CODE = "http_error"
VALIDATION_CODE = "validation_failed"  # the body or a parameter does not match the document


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith(("/api/", "/schema", "/healthz", "/readyz", "/webhooks/")):
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
    code: str,
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
    content: dict[str, Any] = {"status_code": status, "code": code, "detail": detail, "field": field}
    if extra:
        content["extra"] = extra
    return Response(content=content, status_code=status, media_type=MediaType.JSON, headers=headers)


def engage_error_handler(request: Request[Any, Any, Any], exc: EngageError) -> Response[Any]:
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    extra = {"allowed": exc.allowed} if isinstance(exc, UnknownValue) else None
    return _answer(request, exc.status_code, exc.code, exc.detail, exc.field, headers, extra)


def redis_error_handler(request: Request[Any, Any, Any], exc: RedisError) -> Response[Any]:
    # Redis holds sessions, limits and queues, never the record: what needed it can be tried again.
    request.logger.warning("Redis unavailable for a %s request (%s)", request.method, type(exc).__name__)
    return engage_error_handler(request, unavailable())


# What a body field's pattern means, in words, for its 400 (msgid by pattern): a regex is no message.
_PATTERN_MEANINGS: dict[str, str] = {}
_PATTERN_PROBLEM = re.compile(r"Expected `str` matching regex (.+?)(?: - at `.*)?$")


def explain_pattern(pattern: str, msgid: str) -> str:
    """`pattern`, whose validation failures will read `msgid` (translated) instead of the regex."""
    _PATTERN_MEANINGS[repr(pattern)] = msgid
    return pattern


def _pattern_meaning(message: str) -> str | None:
    found = _PATTERN_PROBLEM.match(message)
    msgid = _PATTERN_MEANINGS.get(found.group(1)) if found else None
    return gettext(msgid) if msgid else None


_FIELD_IN_MESSAGE = re.compile(r"(?:at|in) `\$\.([\w.\[\]]+)`|field `(\w+)`")  # "at `key` in `$.x`": x
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")


def _problem_field(problem: dict[str, Any]) -> str | None:
    """The field a validation problem is about: for a JSON body, the member named in the message."""
    key = problem.get("key")
    if problem.get("source") == "body" or key == "data":
        found = _FIELD_IN_MESSAGE.search(str(problem.get("message", "")))
        if found:
            return found.group(1) or found.group(2)
    return str(key) if key else None


_ENUM_PROBLEM = re.compile(r"Invalid enum value (.+?)(?: - at `[^`]*`)?$")


def _options_at(annotation: Any, path: str) -> list[str] | None:
    """The options of the enum (or Literal) a JSON path of a request body leads to: `roles[0]` in
    Registration is a ResidentRoleKind."""
    current = annotation
    for part in re.findall(r"\w+|\[\d+\]", path):
        current = _unwrap(current)
        if part.startswith("["):
            args = get_args(current)
            current = args[0] if args else None
        else:
            hints = get_type_hints(current, include_extras=True) if isinstance(current, type) else {}
            current = hints.get(part)
        if current is None:
            return None
    current = _unwrap(current)
    if get_origin(current) is Literal:
        return [str(option) for option in get_args(current)]
    if isinstance(current, type) and issubclass(current, Enum):
        return [str(member.value) for member in current]
    return None


def _unwrap(annotation: Any) -> Any:
    """Annotated[X, ...] -> X; X | None -> X."""
    while get_origin(annotation) is Annotated or (
        get_origin(annotation) in (Union, UnionType) and type(None) in get_args(annotation)
    ):
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        else:
            annotation = next(a for a in get_args(annotation) if a is not type(None))
    return annotation


def _unknown_option(request: Request[Any, Any, Any], problems: list[dict[str, Any]]) -> UnknownValue | None:
    """A body value outside its enum: the same 422, naming the field and listing the options, as the
    values only the database knows (communities) get from the services."""
    found = _ENUM_PROBLEM.match(str(problems[0].get("message", ""))) if problems else None
    field = _problem_field(problems[0]) if problems else None
    if found is None or field is None:
        return None
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    options = _options_at(data.annotation, field) if data is not None else None
    if options is None:
        return None
    return UnknownValue(field, found.group(1).strip("'\""), options)


def validation_error_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = [p for p in exc.extra if isinstance(p, dict)] if isinstance(exc.extra, list) else []
    unknown = _unknown_option(request, problems)
    if unknown is not None:
        return engage_error_handler(request, unknown)
    field = _problem_field(problems[0]) if problems else None
    missing = _MISSING_PARAMETER.search(exc.detail or "")
    if field is None and missing:
        field = missing.group(1)
    detail = exc.detail
    if problems and problems[0].get("message"):
        message = str(problems[0]["message"])
        message = _pattern_meaning(message) or message
        detail = f"{field}: {message}" if field else message
    return _answer(
        request, 400, VALIDATION_CODE, detail, field, extra={"problems": problems} if problems else None
    )


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 401 and _wants_html(request):
        return Redirect(f"/login?next={quote(request.url.path)}")
    headers = dict(exc.headers) if exc.headers else None
    code = HTTP_CODES.get(exc.status_code, OTHER_HTTP_CODE)
    return _answer(request, exc.status_code, code, exc.detail, None, headers)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request.logger.exception("unhandled error on %s %s", request.method, redact(request.url.path))
    return _answer(
        request, HTTP_500_INTERNAL_SERVER_ERROR, HTTP_CODES[500], "internal error; it has been logged", None
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    EngageError: engage_error_handler,
    RedisError: redis_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
