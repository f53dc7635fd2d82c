"""SMS segment counting: known lengths at every boundary, and properties checked against an
independent implementation that encodes the text for real (GSM 03.38 code table, UTF-16) and cuts it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engage.settings import ConfigError, load_settings
from engage.sms.segments import (
    Encoding,
    SegmentCount,
    TooManySegments,
    check_length,
    cost,
    count_segments,
    normalise_for_gsm,
)
from engage.sms.texts import render

SIGNATURE = "【沈河区委组织部】"
EMOJI = "😀"  # U+1F600, outside the BMP: a surrogate pair in UTF-16

# --- the independent reference: GSM 03.38 by code position, then real cutting ------------------------

ESC = 0x1B
GSM_TABLE = (  # position == septet value; ESC sits at 0x1B and is never a character of its own
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM_EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
GSM_CHARACTERS = sorted((set(GSM_TABLE) - {"\x1b"}) | set(GSM_EXTENSION_TABLE.values()))
EXTENSION_CODES = {character: code for code, character in GSM_EXTENSION_TABLE.items()}


def _septets(text: str) -> list[int] | None:
    septets: list[int] = []
    for character in text:
        if character in EXTENSION_CODES:
            septets += [ESC, EXTENSION_CODES[character]]
        elif character != "\x1b" and character in GSM_TABLE:
            septets.append(GSM_TABLE.index(character))
        else:
            return None
    return septets


def _utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-be")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def reference_count(text: str) -> tuple[Encoding, int, int]:
    """(encoding, units, segments), cutting the encoded stream and stepping back one unit whenever
    a cut would separate ESC from its character or a high surrogate from its low one."""
    septets = _septets(text)
    if septets is not None:
        units, single, part, encoding = septets, 160, 153, Encoding.GSM7

        def is_lead(unit: int) -> bool:
            return unit == ESC
    else:
        units, single, part, encoding = _utf16_units(text), 70, 67, Encoding.UCS2

        def is_lead(unit: int) -> bool:
            return 0xD800 <= unit <= 0xDBFF

    if not units:
        return encoding, 0, 0
    if len(units) <= single:
        return encoding, len(units), 1
    position, segments = 0, 0
    while position < len(units):
        chunk = units[position : position + part]
        if position + part < len(units) and is_lead(chunk[-1]):
            chunk = chunk[:-1]
        position += len(chunk)
        segments += 1
    return encoding, len(units), segments


# --- known cases -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments", "per_segment"),
    [
        pytest.param("a" * 160, Encoding.GSM7, 160, 1, 160, id="160 letters"),
        pytest.param("a" * 161, Encoding.GSM7, 161, 2, 153, id="161 letters"),
        pytest.param("a" * 153 * 2, Encoding.GSM7, 306, 2, 153, id="2x153 letters"),
        pytest.param("a" * (153 * 2 + 1), Encoding.GSM7, 307, 3, 153, id="2x153+1 letters"),
        pytest.param("€" * 80, Encoding.GSM7, 160, 1, 160, id="80 euro signs"),
        pytest.param("€" * 81, Encoding.GSM7, 162, 2, 153, id="81 euro signs"),
        # 306 septets would divide into 2, but only 76 escape pairs fit in each 153-septet part
        pytest.param("€" * 153, Encoding.GSM7, 306, 3, 153, id="153 euro signs"),
        pytest.param("沈" * 70, Encoding.UCS2, 70, 1, 70, id="70 hanzi"),
        pytest.param("沈" * 71, Encoding.UCS2, 71, 2, 67, id="71 hanzi"),
        pytest.param("沈" * 67 * 2, Encoding.UCS2, 134, 2, 67, id="2x67 hanzi"),
        pytest.param("沈" * (67 * 2 + 1), Encoding.UCS2, 135, 3, 67, id="2x67+1 hanzi"),
        pytest.param(EMOJI * 35, Encoding.UCS2, 70, 1, 70, id="35 emoji"),
        pytest.param(EMOJI * 36, Encoding.UCS2, 72, 2, 67, id="36 emoji"),
        # 134 units would divide into 2, but only 33 surrogate pairs fit in each 67-unit part
        pytest.param(EMOJI * 67, Encoding.UCS2, 134, 3, 67, id="67 emoji"),
    ],
)
def test_known_lengths_give_known_segment_counts(
    text: str, encoding: Encoding, units: int, segments: int, per_segment: int
) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments, count.per_segment) == (
        encoding,
        units,
        segments,
        per_segment,
    )
    assert count.characters == len(text)


def test_extension_character_at_the_153rd_septet_moves_to_the_next_segment() -> None:
    text = "a" * 152 + "€" + "a" * 152  # 306 septets: division says 2, but € cannot straddle the cut
    count = count_segments(text)
    assert (count.units, count.segments) == (306, 3)
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2  # € ends segment one exactly


def test_extension_character_pushed_past_a_single_message_needs_two() -> None:
    assert count_segments("a" * 158 + "€").segments == 1  # 160 septets
    assert count_segments("a" * 159 + "€").segments == 2  # 161 septets


def test_emoji_at_the_67th_unit_moves_to_the_next_segment() -> None:
    text = "沈" * 66 + EMOJI + "沈" * 66  # 134 units: division says 2, the surrogate pair cannot be split
    count = count_segments(text)
    assert (count.units, count.segments) == (134, 3)
    assert count_segments("沈" * 65 + EMOJI + "沈" * 67).segments == 2  # the pair ends segment one


def test_every_extension_character_counts_two_septets() -> None:
    text = "€[]{}\\^~|\f"
    count = count_segments(text)
    assert count.encoding is Encoding.GSM7
    assert (count.characters, count.units) == (10, 20)


def test_mixed_basic_and_extension_characters_are_packed_in_order() -> None:
    text = ("Price: 5€ [see {terms}] ~ ok | ^\\ " * 6).strip()  # 9 extension characters a line
    assert count_segments(text) == SegmentCount(Encoding.GSM7, 203, 203 + 9 * 6, 2, 153)


def test_chinese_signature_makes_an_english_text_ucs2_and_says_why() -> None:
    count = count_segments(f"{SIGNATURE}Your code is 123456.")
    assert count.encoding is Encoding.UCS2
    assert count.units == 9 + 20
    assert count.ucs2_characters == tuple("【沈河区委组织部】")


def test_the_english_code_text_with_the_signature_costs_two_segments() -> None:
    body = render("code", "en", SIGNATURE, code="123456", minutes=10)
    count = count_segments(body)
    assert (count.encoding, count.units, count.segments) == (Encoding.UCS2, 79, 2)


def test_characters_forcing_ucs2_are_listed_once_in_order_of_appearance() -> None:
    count = count_segments("It’s “fine” ’ 😀")
    assert count.ucs2_characters == ("’", "“", "”", EMOJI)
    assert count.units == len("It’s “fine” ’ ") + 2


def test_gsm_only_text_forces_nothing() -> None:
    assert count_segments("Hello, Ålesund! ¿Qué? €5").ucs2_characters == ()


def test_greek_capitals_in_the_gsm_table_stay_gsm_but_lower_case_do_not() -> None:
    assert count_segments("ΔΦΓΛΩΠΨΣΘΞ").encoding is Encoding.GSM7
    assert count_segments("α").encoding is Encoding.UCS2


def test_a_literal_escape_character_is_not_gsm() -> None:
    assert count_segments("a\x1bb").encoding is Encoding.UCS2


def test_empty_text_is_zero_segments_because_an_empty_body_is_never_sent() -> None:
    assert count_segments("") == SegmentCount(Encoding.GSM7, 0, 0, 0, 160)


# --- limits, cost, normalising ------------------------------------------------------------------------


def test_check_length_returns_the_count_when_it_fits() -> None:
    assert check_length("a" * 459, 3).segments == 3


def test_check_length_refuses_a_text_over_the_maximum_with_the_count_and_not_the_text() -> None:
    text = "secret " * 70  # 490 septets: 4 segments
    with pytest.raises(TooManySegments) as raised:
        check_length(text, 3)
    assert raised.value.count.segments == 4
    assert raised.value.max_segments == 3
    assert str(raised.value) == "4 SMS segments (490 septets, GSM-7); at most 3 allowed"
    assert "secret" not in str(raised.value)


def test_check_length_refuses_a_maximum_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        check_length("hi", 0)


def test_cost_multiplies_in_decimal() -> None:
    assert cost(3, Decimal("0.0075")) == Decimal("0.0225")
    assert cost(0, Decimal("0.05")) == Decimal("0")


def test_cost_refuses_floats_and_negative_counts() -> None:
    with pytest.raises(TypeError):
        cost(1, 0.05)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cost(-1, Decimal("0.05"))


def test_normalise_for_gsm_replaces_typography_and_is_not_applied_by_counting() -> None:
    text = "It’s “fine” — really…\u00a0ok\u200b"
    assert normalise_for_gsm(text) == 'It\'s "fine" - really... ok'
    assert count_segments(text).encoding is Encoding.UCS2
    assert count_segments(normalise_for_gsm(text)).encoding is Encoding.GSM7


def test_normalise_for_gsm_leaves_chinese_alone() -> None:
    assert normalise_for_gsm(f"{SIGNATURE}你好，世界。") == f"{SIGNATURE}你好，世界。"


def test_settings_default_to_three_segments_and_refuse_zero() -> None:
    assert load_settings({}).sms_max_segments == 3
    assert load_settings({"SMS_MAX_SEGMENTS": "5"}).sms_max_segments == 5
    with pytest.raises(ConfigError) as raised:
        load_settings({"SMS_MAX_SEGMENTS": "0"})
    assert raised.value.variable == "SMS_MAX_SEGMENTS"


# --- properties ----------------------------------------------------------------------------------------

gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARACTERS), max_size=600)
any_character = st.one_of(
    st.sampled_from(GSM_CHARACTERS),
    st.sampled_from(list("€[]沈河区【】’“…")),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji: surrogate pairs
    # Anything else, but no lone surrogate: Python can hold one, no SMS can carry it.
    st.characters(exclude_categories=("Cs",)),
)
any_text = st.text(alphabet=any_character, max_size=400)
# Random texts are mostly short; a long filler in front puts the random part across the part boundaries.
long_text = st.builds(
    lambda filler, length, tail: filler * length + tail,
    st.sampled_from(["a", "€", "a€", "沈", EMOJI, "沈" + EMOJI]),
    st.integers(min_value=0, max_value=320),
    st.one_of(gsm_text, any_text),
)
texts = st.one_of(gsm_text, any_text, long_text)


@given(gsm_text)
def test_gsm_only_text_never_reports_ucs2(text: str) -> None:
    count = count_segments(text)
    assert count.encoding is Encoding.GSM7
    assert count.ucs2_characters == ()


@given(texts, any_character)
def test_appending_a_character_never_lowers_the_segment_count(text: str, character: str) -> None:
    assert count_segments(text + character).segments >= count_segments(text).segments


@given(texts)
def test_count_matches_the_reference_that_encodes_and_cuts(text: str) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == reference_count(text)


@given(texts)
def test_ucs2_exactly_when_a_character_is_outside_gsm(text: str) -> None:
    count = count_segments(text)
    outside = [c for c in text if c not in GSM_CHARACTERS]
    assert (count.encoding is Encoding.UCS2) == bool(outside)
    assert set(count.ucs2_characters) == set(outside)
