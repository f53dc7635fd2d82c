"""How many SMS segments a text costs: the one place that counts them (pure: no web, no database).

A text of GSM 03.38 characters only is sent in 7-bit septets: 160 in a single message, 153 in each part
of a concatenated one (the other 7 carry the concatenation header). Characters from the extension
table (€ [ ] { } \\ ^ ~ | and form feed) take two septets, an escape and the character, and a
network never splits that pair across parts. Any other character makes the whole text UCS-2: 70 UTF-16
code units alone, 67 per part, and a character outside the Basic Multilingual Plane (most emoji) is a
surrogate pair of two units that is never split either. Because of those two rules the parts are
counted by packing the characters in order, not by dividing the total.

Nothing here changes the text. `normalise_for_gsm` offers the usual typographic replacements
(curly quotes, dashes, ellipsis) for a caller that wants them; counting never applies it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

# GSM 03.38 basic character set. ESC (0x1B) is left out on purpose: it only introduces an extension
# character, so a literal ESC in a text cannot be sent as itself and counts as a non-GSM character.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC + character, two septets.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Replacements that keep the meaning and make a text GSM-compatible, after notifications-utils'
# SanitiseSMS. Chinese full-width punctuation is not here: Chinese text is UCS-2 in any case.
_GSM_REPLACEMENTS = {
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # horizontal ellipsis
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark
    "\u201a": "'",  # single low-9 quotation mark
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space
    "\t": " ",
    "\u180e": "",  # Mongolian vowel separator
    "\u200b": "",  # zero width space
    "\u200c": "",  # zero width non-joiner
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero width no-break space (byte order mark)
    "\u2028": "",  # line separator
    "\u2029": "",  # paragraph separator
}
_GSM_TRANSLATION = str.maketrans(_GSM_REPLACEMENTS)


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class SegmentCount:
    """What a text costs to send.

    `characters` counts code points (what Python's len() says); `units` counts what the network
    carries: septets for GSM-7, UTF-16 code units for UCS-2. `per_segment` is the limit that applied
    (160/70 for a single message, 153/67 per part of a longer one). `ucs2_characters` lists, in order
    of first appearance, the characters that forced UCS-2, so an organizer can see what to change.

    An empty text is 0 segments: Twilio refuses an empty body, so it costs nothing and is never sent.
    """

    encoding: Encoding
    characters: int
    units: int
    segments: int
    per_segment: int
    ucs2_characters: tuple[str, ...] = ()


class TooManySegments(ValueError):
    """A text longer than the configured maximum number of segments.

    The message gives the numbers only, never the text: a rendered text may carry personal data.
    """

    def __init__(self, count: SegmentCount, max_segments: int) -> None:
        unit = "septets" if count.encoding is Encoding.GSM7 else "UTF-16 units"
        super().__init__(
            f"{count.segments} SMS segments ({count.units} {unit}, {count.encoding.value}); "
            f"at most {max_segments} allowed"
        )
        self.count = count
        self.max_segments = max_segments


def is_gsm(character: str) -> bool:
    return character in GSM_BASIC or character in GSM_EXTENSION


def count_segments(text: str) -> SegmentCount:
    """Count the segments `text` is sent in, exactly as it stands (nothing is replaced)."""
    forcing = tuple(dict.fromkeys(c for c in text if not is_gsm(c)))
    if forcing:
        widths = [2 if ord(c) > 0xFFFF else 1 for c in text]
        encoding, single, part = Encoding.UCS2, UCS2_SINGLE, UCS2_PART
    else:
        widths = [2 if c in GSM_EXTENSION else 1 for c in text]
        encoding, single, part = Encoding.GSM7, GSM_SINGLE, GSM_PART
    units = sum(widths)
    if units == 0:
        segments, per_segment = 0, single
    elif units <= single:
        segments, per_segment = 1, single
    else:
        segments, per_segment = _pack(widths, part), part
    return SegmentCount(encoding, len(text), units, segments, per_segment, forcing)


def _pack(widths: Iterable[int], limit: int) -> int:
    """Parts needed when each character (of width 1 or 2) must sit whole inside one part."""
    parts, used = 1, 0
    for width in widths:
        if used + width > limit:
            parts, used = parts + 1, 0
        used += width
    return parts


def check_length(text: str, max_segments: int) -> SegmentCount:
    """The count of `text`, or TooManySegments when it needs more than `max_segments`.

    Callers pass `Settings.sms_max_segments`; this module reads no settings itself.
    """
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, not {max_segments}")
    count = count_segments(text)
    if count.segments > max_segments:
        raise TooManySegments(count, max_segments)
    return count


def cost(segments: int, price_per_segment: Decimal) -> Decimal:
    """The price of sending `segments` segments; Decimal throughout, so no cent is lost to floats."""
    if segments < 0:
        raise ValueError(f"segments must not be negative, not {segments}")
    if not isinstance(price_per_segment, Decimal):
        raise TypeError("price_per_segment must be a Decimal (a float would round money)")
    return price_per_segment * segments


def normalise_for_gsm(text: str) -> str:
    """Replace typographic quotes, dashes, ellipsis, odd spaces and invisible characters with their
    GSM equivalents. Never applied by `count_segments`: the caller decides whether to send the result."""
    return text.translate(_GSM_TRANSLATION)
