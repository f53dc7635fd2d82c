"""Comments lose personal data before anyone reads them: phone numbers (Chinese mobiles however they
are spaced, with or without +86 / 0086, landlines with an area code), ID card numbers (18 characters,
the last may be X; and the old 15-digit ones) and email addresses. Pure: text in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = "[***]"
_SEP = r"[\s\-.·()（）]*"  # what people type between digit groups


def _spaced(digits: str) -> str:
    return _SEP.join(digits)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# ID cards: 17 digits and a digit or X, allowing spaces between groups (6-8-4).
_ID_CARD = re.compile(r"(?<!\d)\d{6}" + _SEP + r"\d{8}" + _SEP + r"\d{3}[\dXx](?![\dA-Za-z])")
_ID_CARD_OLD = re.compile(r"(?<!\d)\d{15}(?!\d)")
_PREFIX = r"(?:(?:\+|00)" + _SEP + r"86" + _SEP + r")?"
# Mobiles: 1[3-9] and nine more digits, in any spacing, optionally after +86 / 0086.
_MOBILE = re.compile(
    r"(?<![\d+])" + _PREFIX + r"1" + _SEP + r"[3-9]" + "".join(_SEP + r"\d" for _ in range(9)) + r"(?!\d)"
)
# Landlines: an area code starting with 0 (or after +86 / 0086 without the 0), brackets allowed, then
# 7-8 digits in any grouping.
_AREA = r"(?:[(（]?0\d{2,3}[)）]?|(?:\+|00)" + _SEP + r"86" + _SEP + r"[(（]?[1-9]\d{1,2}[)）]?)"
_LANDLINE = re.compile(r"(?<![\d+])" + _AREA + _SEP + r"\d{3,4}" + _SEP + r"\d{4}(?!\d)")


# Full-width digits, plus, at sign and hyphen typed on Chinese keyboards; other characters stay as written.
_FULL_WIDTH = str.maketrans({chr(0xFF10 + d): str(d) for d in range(10)} | {"＋": "+", "＠": "@", "－": "-"})


@dataclass(frozen=True)
class Moderated:
    text: str
    removed: int  # how many pieces of personal data were replaced


def scrub(text: str) -> Moderated:
    """The comment with personal data replaced by [***]. Full-width digits count as digits."""
    folded = text.translate(_FULL_WIDTH)
    removed = 0
    for pattern in (_EMAIL, _ID_CARD, _ID_CARD_OLD, _MOBILE, _LANDLINE):
        folded, n = pattern.subn(MARK, folded)
        removed += n
    return Moderated(folded.strip(), removed)
