"""Ratings by text, for feature phones: one digit per question, 1 (very dissatisfied) to 5 (very
satisfied). "5 4 5", "5,4,5", "545" and full-width "５４５" all answer three questions 5, 4, 5.
Pure: the text and the number of questions in, the scores or the reason they cannot be read out.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from engage.evaluations.rules.stats import SCALE

# Separators people put between digits: spaces, commas (also Chinese), full stops, slashes, dashes.
_SEPARATORS = re.compile(r"[\s,，、.。;；/\-]+")
_DIGITS_AND_SEPARATORS = re.compile(r"[\d\s,，、.。;；/\-]+")


class Problem(StrEnum):
    NOT_DIGITS = "not_digits"  # not a rating reply at all: leave it to other handlers
    COUNT = "count"  # digits, but not one per question
    RANGE = "range"  # a digit outside 1-5


@dataclass(frozen=True)
class Parsed:
    scores: list[int] | None
    problem: Problem | None = None


def looks_like_rating(text: str) -> bool:
    """Only digits and separators (after folding full-width characters)."""
    folded = unicodedata.normalize("NFKC", text).strip()
    return (
        bool(folded)
        and _DIGITS_AND_SEPARATORS.fullmatch(folded) is not None
        and any(c.isdigit() for c in folded)
    )


def parse(text: str, questions: int) -> Parsed:
    folded = unicodedata.normalize("NFKC", text).strip()
    if not looks_like_rating(folded):
        return Parsed(None, Problem.NOT_DIGITS)
    groups = [g for g in _SEPARATORS.split(folded) if g]
    if len(groups) == 1 and len(groups[0]) == questions:
        digits = list(groups[0])  # "545"
    elif all(len(g) == 1 for g in groups):
        digits = groups  # "5 4 5"
    else:
        return Parsed(None, Problem.COUNT)
    if len(digits) != questions:
        return Parsed(None, Problem.COUNT)
    scores = [int(d) for d in digits]
    if any(score not in SCALE for score in scores):
        return Parsed(None, Problem.RANGE)
    return Parsed(scores)
