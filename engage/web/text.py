"""One check for free text that will be stored, used by every form and API that takes it: no control
characters (a NUL cannot even be stored by PostgreSQL), no lone surrogates (they cannot be encoded as
UTF-8), no characters that reorder or hide text (a right-to-left override can make a name or a place in
a text read differently from what was stored), and not only invisible characters. Answered as a 400
naming the field."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from msgspec import Meta

from engage.errors import InvalidInput, explain_pattern
from engage.i18n import N_
from engage.i18n import gettext as _

CONTROL = "Contains a character that cannot be stored (a control character)."
HIDDEN = "Contains a character that hides or reorders text (such as a zero-width or right-to-left mark)."
# Bidirectional embeddings, overrides and isolates; zero-width space, word joiner, byte-order mark.
# Zero-width joiners stay allowed: emoji and some scripts need them.
_HIDDEN = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff\u200e\u200f")


def problem(value: str, *, lines: bool = False) -> str | None:
    """The English msgid of what is wrong with `value`, or None when it can be stored."""
    allowed = {"\n", "\r", "\t"} if lines else set()
    for character in value:
        category = unicodedata.category(character)
        if (category == "Cc" and character not in allowed) or category == "Cs":
            return CONTROL
        if character in _HIDDEN:
            return HIDDEN
    return None


def storable(field: str, value: str, *, lines: bool = False) -> str:
    """`value` unchanged when it can be stored; line breaks and tabs only where `lines` allows them."""
    found = problem(value, lines=lines)
    if found is not None:
        raise InvalidInput(field, _(found))
    return value


# The same rule as a pattern, for API bodies: /schema states it and msgspec enforces it (400 naming the
# field, in the words above). Cc is U+0000-U+001F and U+007F-U+009F. No surrogates: the JSON decoder
# refuses a lone one before any field is read, and a surrogate range makes the pattern invalid for
# other regex engines (clients validating against /schema).
_NEVER = "".join(f"\\u{ord(c):04x}" for c in sorted(_HIDDEN))
_ONE_LINE = r"\x00-\x1f\x7f-\x9f" + _NEVER
_LINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _NEVER
UNREADABLE = N_(
    "Contains a character that cannot be stored or that hides text (a control character, a zero-width or"
    " right-to-left mark)."
)
UNREADABLE_OR_BLANK = N_("Is blank, or contains a character that cannot be stored or that hides text.")
LINE_PATTERN = explain_pattern(rf"^[^{_ONE_LINE}]*$", UNREADABLE)
LINES_PATTERN = explain_pattern(rf"^[^{_LINES}]*$", UNREADABLE)
# Not only spaces either, where a text is required.
FILLED_LINE_PATTERN = explain_pattern(
    rf"^[^{_ONE_LINE}]*[^\s{_ONE_LINE}][^{_ONE_LINE}]*$", UNREADABLE_OR_BLANK
)
FILLED_LINES_PATTERN = explain_pattern(rf"^[^{_LINES}]*[^\s{_LINES}][^{_LINES}]*$", UNREADABLE_OR_BLANK)

Line = Annotated[str, Meta(pattern=LINE_PATTERN)]
"""Storable text on one line."""
Lines = Annotated[str, Meta(pattern=LINES_PATTERN)]
"""Storable text; line breaks and tabs allowed."""
FilledLine = Annotated[str, Meta(pattern=FILLED_LINE_PATTERN)]
FilledLines = Annotated[str, Meta(pattern=FILLED_LINES_PATTERN)]
