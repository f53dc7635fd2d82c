"""One check for free text that will be stored, used by every form and API that takes it: no control
characters (a NUL cannot even be stored by PostgreSQL), no lone surrogates (they cannot be encoded as
UTF-8), no characters that reorder or hide text (a right-to-left override can make a name or a place in
a text read differently from what was stored), and not only invisible characters. Answered as a 400
naming the field."""

from __future__ import annotations

import unicodedata

from engage.errors import InvalidInput
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
