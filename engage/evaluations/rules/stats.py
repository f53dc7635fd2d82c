"""Results of an evaluation, pure: counts, the satisfaction rate, its Wilson interval, the threshold.

The satisfaction rate is the share of answers of 4 or 5 on the 1-5 scale ("satisfied" or "very
satisfied"), over every answer to every question. The interval is Wilson's score interval at 95 %
(z = 1.96). Answers of one rating are not independent, so the interval is a guide, not a test.
The threshold rule compares exact fractions: a rate of 2/3 is not below a threshold of 2/3.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from engage.fractions import NotAFraction, OutOfRange, parse_fraction

SCALE = (1, 2, 3, 4, 5)
SATISFIED_FROM = 4
Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """Wilson's score interval for a proportion; None without trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError("successes must be between 0 and trials")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # At 0 and at 1 the ends are exactly 0 and 1; in floating point centre - half leaves about 1e-17.
    low = 0.0 if successes == 0 else min(1.0, max(0.0, centre - half))
    high = 1.0 if successes == trials else min(1.0, max(0.0, centre + half))
    return Interval(low, high)


@dataclass(frozen=True)
class Summary:
    ratings: int
    answers: int
    satisfied: int
    by_score: dict[int, int]  # how many answers gave each score
    question_means: list[Fraction | None]  # per question, exact
    rate: Fraction | None  # satisfied / answers
    interval: Interval | None


def summarise(ratings: Iterable[Sequence[int]], questions: int) -> Summary:
    """Figures for one subject from the score lists of its counted ratings."""
    by_score = dict.fromkeys(SCALE, 0)
    sums = [0] * questions
    count = 0
    for scores in ratings:
        if len(scores) != questions:
            raise ValueError(f"a rating has {len(scores)} scores for {questions} questions")
        count += 1
        for at, score in enumerate(scores):
            if score not in by_score:
                raise ValueError(f"score {score} is outside the scale")
            by_score[score] += 1
            sums[at] += score
    answers = count * questions
    satisfied = sum(n for score, n in by_score.items() if score >= SATISFIED_FROM)
    return Summary(
        ratings=count,
        answers=answers,
        satisfied=satisfied,
        by_score=by_score,
        question_means=[Fraction(total, count) if count else None for total in sums],
        rate=Fraction(satisfied, answers) if answers else None,
        interval=wilson(satisfied, answers),
    )


def parse_threshold(raw: str) -> Fraction:
    """ "2/3", "0.8" or "80%" as an exact fraction between 0 and 1 (ValueError otherwise)."""
    try:
        return parse_fraction(raw)
    except NotAFraction:
        raise ValueError(f"{raw!r} is not a fraction such as 2/3, 0.8 or 80%") from None
    except OutOfRange:
        raise ValueError(f"{raw!r} is not between 0 and 1") from None


@dataclass(frozen=True)
class Verdict:
    below: bool  # flagged by the threshold rule
    enough: bool  # at least min_answers answers: otherwise never flagged, shown as too few


def judge(summary: Summary, threshold: Fraction, min_answers: int) -> Verdict:
    """Flag a subject whose satisfaction rate is strictly below the threshold (exact comparison),
    once it has at least `min_answers` answers."""
    enough = summary.answers >= max(min_answers, 1)
    return Verdict(below=enough and summary.rate is not None and summary.rate < threshold, enough=enough)


@dataclass(frozen=True)
class TrendPoint:
    campaign_id: int
    title_zh: str
    title_en: str
    rate: Fraction | None
    answers: int


def change(current: Fraction | None, earlier: Sequence[TrendPoint]) -> Fraction | None:
    """The change of the rate since the latest earlier campaign that had answers."""
    previous = next((p.rate for p in reversed(earlier) if p.rate is not None), None)
    if current is None or previous is None:
        return None
    return current - previous


def percent(value: Fraction | float | None, digits: int = 1, *, up: bool = False) -> str:
    """A share as a percentage with `digits` decimals, cut toward zero (or away from it with `up`):
    a rate just under the threshold never reads as equal to it, and an interval's ends are shown
    outward (low cut down, high up) so the printed range always contains the computed one."""
    if value is None:
        return "—"
    scaled = Fraction(value) * 100 * 10**digits
    whole = math.ceil(scaled) if up else math.floor(scaled)
    text = f"{whole / 10**digits:.{digits}f}" if digits else str(whole)
    return f"{text}%"
