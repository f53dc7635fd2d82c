"""Languages: Simplified Chinese and English, from gettext catalogues read with Babel.

The locale of the request being served lives in a context variable, so templates, SMS texts and error
messages all translate through the same `gettext` without passing the locale around.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from gettext import c2py
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}
CATALOGUES = Path(__file__).resolve().parent / "locale"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)
# Whether the visitor picked the page language with the switch (the `lang` cookie), for this request.
visitor_chose: ContextVar[bool] = ContextVar("visitor_chose", default=False)


@dataclass(frozen=True)
class _Catalogue:
    messages: dict[str, str]
    plurals: dict[str, tuple[str, ...]]  # by the singular msgid: each plural form, in the catalogue's order
    plural_form: Callable[[int], int]  # n -> the index of its form (the catalogue's Plural-Forms)


@cache
def _catalogue(locale: str) -> _Catalogue:
    """Every .po file of the locale, merged: each domain of the app may keep its own file."""
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    expression = "(n != 1)"  # English, the source language, which has no catalogue of its own
    for path in sorted((CATALOGUES / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=locale)
        expression = catalogue.plural_expr
        for message in catalogue:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, (list, tuple)):
                forms = tuple(str(form) for form in message.string or ())
                if all(forms):
                    plurals[str(message.id[0])] = forms
            elif message.string:
                messages[str(message.id)] = str(message.string)
    return _Catalogue(messages, plurals, c2py(expression))


def translated(message: str, locale: str) -> str:
    return _catalogue(locale).messages.get(message, message)


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; translated later, where it is shown."""
    return message


def gettext(message: str) -> str:
    return _catalogue(current_locale.get()).messages.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for `n`, by the locale's plural rule: English has two ("1 rating",
    "2 ratings"), Chinese one. Untranslated, English's rule picks between the two given."""
    catalogue = _catalogue(current_locale.get())
    forms = catalogue.plurals.get(singular)
    if forms:
        return forms[min(catalogue.plural_form(n), len(forms) - 1)]
    return singular if n == 1 else plural


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


def for_resident(locale: str | None) -> None:
    """A personal-link page speaks its resident's recorded language, whatever the browser asks for;
    a language the visitor picked with the page's switch still wins. Call it in the async handler,
    once the link's resident is known, before anything is translated."""
    if locale and not visitor_chose.get():
        current_locale.set(parse_locale(locale) or DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = current_locale.set(parse_locale(locale) or DEFAULT_LOCALE)
    try:
        yield
    finally:
        current_locale.reset(token)


def update_catalogues(template: Path, folder: Path) -> dict[str, int]:
    """`make messages`: bring every catalogue of `folder` (one .po file per domain) up to date with the
    extracted `template`. Texts no catalogue holds yet join messages.po untranslated; texts the code no
    extractor does not find are counted as `unused` and kept (a text translated at run time, such as an
    error's detail, is never extracted); every entry found gets the template's locations."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    with template.open("rb") as handle:
        extracted = read_po(handle)
    wanted = {message.id: message for message in extracted if message.id}
    counts = {"added": 0, "unused": 0, "untranslated": 0}
    seen: set[Any] = set()
    paths = sorted(folder.glob("*.po"))
    for path in paths:
        with path.open("rb") as handle:
            catalogue: Catalog = read_po(handle, locale=folder.parent.name)
        for message in list(catalogue):
            if not message.id:
                continue
            source = wanted.get(message.id)
            if source is None:
                counts["unused"] += 1
                continue
            seen.add(message.id)
            message.locations = list(source.locations)
            counts["untranslated"] += not message.string or message.string == ("", "")
        with path.open("wb") as handle:
            write_po(handle, catalogue, width=100, omit_header=False)
    missing = [source for key, source in wanted.items() if key not in seen]
    if missing:
        main = folder / "messages.po"
        with main.open("rb") as handle:
            catalogue = read_po(handle, locale=folder.parent.name)
        for source in missing:
            catalogue.add(
                source.id, string="" if isinstance(source.id, str) else ("", ""), locations=source.locations
            )
        with main.open("wb") as handle:
            write_po(handle, catalogue, width=100, omit_header=False)
        counts["added"] = len(missing)
    return counts


if __name__ == "__main__":
    import sys

    result = update_catalogues(Path(sys.argv[1]), Path(sys.argv[2]))
    print(", ".join(f"{name}: {value}" for name, value in result.items()))
