"""One check for free text that will be stored: no control characters (a NUL cannot even be stored by
PostgreSQL) and no lone surrogates (they cannot be encoded as UTF-8), answered as a 400 naming the field."""

from __future__ import annotations

import unicodedata

from engage.errors import InvalidInput
from engage.i18n import gettext as _


def storable(field: str, value: str, *, lines: bool = False) -> str:
    """`value` unchanged when it can be stored; line breaks and tabs only where `lines` allows them."""
    allowed = {"\n", "\r", "\t"} if lines else set()
    for character in value:
        category = unicodedata.category(character)
        if (category == "Cc" and character not in allowed) or category == "Cs":
            raise InvalidInput(field, _("Contains a character that cannot be stored (a control character)."))
    return value
