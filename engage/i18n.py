"""Languages: Simplified Chinese and English, from gettext catalogues read with Babel.

The locale of the request being served lives in a context variable, so templates, SMS texts and error
messages all translate through the same `gettext` without passing the locale around.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}
CATALOGUES = Path(__file__).resolve().parent / "locale"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def _catalogue(locale: str) -> dict[str, str]:
    """Every .po file of the locale, merged: each domain of the app may keep its own file."""
    merged: dict[str, str] = {}
    for path in sorted((CATALOGUES / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=locale)
        merged.update({str(m.id): str(m.string) for m in catalogue if m.id and m.string and not m.fuzzy})
    return merged


def translated(message: str, locale: str) -> str:
    return _catalogue(locale).get(message, message)


def gettext(message: str) -> str:
    return _catalogue(current_locale.get()).get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def parse_locale(value: str | None) -> str | None:
    if not value:
        return None
    value = value.replace("-", "_")
    for locale in LOCALES:
        if value.lower() == locale.lower() or value.lower() == locale.split("_")[0]:
            return locale
    return None


def negotiate(accept_language: str | None) -> str:
    if not accept_language:
        return DEFAULT_LOCALE
    preferred = []
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag and tag != "*":
            preferred.append(tag)
    chosen = negotiate_locale(preferred, list(LOCALES), sep="_", aliases={"zh": "zh_CN", "en": "en"})
    if chosen is None:
        for tag in preferred:  # "zh-Hans-CN", "en-GB": match on the language alone
            parsed = parse_locale(tag.split("_")[0])
            if parsed:
                return parsed
    return chosen or DEFAULT_LOCALE


def html_lang(locale: str) -> str:
    return str(Locale.parse(locale)).replace("_", "-")


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = current_locale.set(parse_locale(locale) or DEFAULT_LOCALE)
    try:
        yield
    finally:
        current_locale.reset(token)
