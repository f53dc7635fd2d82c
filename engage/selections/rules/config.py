"""A selection's published rules, parsed from and written to JSON as exact fractions ("4/5")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from engage.errors import InvalidInput, RuleBroken
from engage.fractions import NotAFraction, OutOfRange, parse_fraction
from engage.web.text import storable

JURY_GROUPS = ("expert", "deputy", "resident")
EVALUATOR_GROUPS = ("leadership", "staff", "resident_rep")
RATER_GROUPS = ("staff", "resident")
# A criterion's code: letters, digits and _, at least one letter or digit. Checked with re.fullmatch,
# since Python's `$` would also take a final line break that the JSON Schema pattern refuses.
CODE = "[A-Za-z0-9_]*[A-Za-z0-9][A-Za-z0-9_]*"
CODE_PATTERN = f"^{CODE}$"


def fraction(value: Any, field_name: str, *, low: Fraction, high: Fraction) -> Fraction:
    """`engage.fractions.parse_fraction` in [low, high]; anything else names the field. A rule beyond
    /schema, which says "a number or a text" (422)."""
    try:
        return parse_fraction(value, low=low, high=high)
    except NotAFraction:
        raise RuleBroken(field_name, f"{value!r} is not a number or a fraction like 4/5") from None
    except OutOfRange:
        raise RuleBroken(field_name, f"{value} must lie between {low} and {high}") from None


def text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True)
class Rules:
    threshold: Fraction = Fraction(4, 5)
    basically_counts: bool = True
    quorum: Fraction = Fraction(2, 3)
    margin: Fraction = Fraction(3, 2)
    trim_small_max: int = 9
    trim_small: int = 1
    trim_large_share: Fraction = Fraction(1, 10)
    jury_weights: dict[str, Fraction] = field(
        default_factory=lambda: {
            "expert": Fraction(1, 2),
            "deputy": Fraction(1, 4),
            "resident": Fraction(1, 4),
        }
    )
    speech_weights: dict[str, Fraction] = field(
        default_factory=lambda: {"staff": Fraction(1, 2), "resident": Fraction(1, 2)}
    )
    speech_max_points: int = 100
    tie_break_seed: str = ""
    # The groups whose ballots the assessment takes (the wizard's choice; invitations offer these).
    evaluator_groups: tuple[str, ...] = EVALUATOR_GROUPS

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Rules:
        defaults = cls()
        one = Fraction(1)
        rules = cls(
            threshold=fraction(raw.get("threshold", "4/5"), "rules.threshold", low=Fraction(0), high=one),
            basically_counts=bool(raw.get("basically_counts", True)),
            quorum=fraction(raw.get("quorum", "2/3"), "rules.quorum", low=Fraction(0), high=one),
            margin=fraction(raw.get("margin", "3/2"), "rules.margin", low=one, high=Fraction(10)),
            trim_small_max=_int(raw.get("trim_small_max", 9), "rules.trim_small_max", 0, 1000),
            trim_small=_int(raw.get("trim_small", 1), "rules.trim_small", 0, 10),
            trim_large_share=fraction(
                raw.get("trim_large_share", "1/10"),
                "rules.trim_large_share",
                low=Fraction(0),
                high=Fraction(1, 3),
            ),
            jury_weights=_weights(
                raw.get("jury_weights"), defaults.jury_weights, JURY_GROUPS, "rules.jury_weights"
            ),
            speech_weights=_weights(
                raw.get("speech_weights"), defaults.speech_weights, RATER_GROUPS, "rules.speech_weights"
            ),
            speech_max_points=_int(raw.get("speech_max_points", 100), "rules.speech_max_points", 1, 1000),
            tie_break_seed=storable("rules.tie_break_seed", str(raw.get("tie_break_seed", ""))[:200]),
            evaluator_groups=_groups(raw.get("evaluator_groups"), "rules.evaluator_groups"),
        )
        return rules

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": text(self.threshold),
            "basically_counts": self.basically_counts,
            "quorum": text(self.quorum),
            "margin": text(self.margin),
            "trim_small_max": self.trim_small_max,
            "trim_small": self.trim_small,
            "trim_large_share": text(self.trim_large_share),
            "jury_weights": {group: text(weight) for group, weight in self.jury_weights.items()},
            "speech_weights": {group: text(weight) for group, weight in self.speech_weights.items()},
            "speech_max_points": self.speech_max_points,
            "tie_break_seed": self.tie_break_seed,
            "evaluator_groups": list(self.evaluator_groups),
        }


def _int(value: Any, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(field_name, f"must be a whole number from {low} to {high}")
    return value


def _groups(raw: Any, name: str) -> tuple[str, ...]:
    if raw is None:
        return EVALUATOR_GROUPS
    if not isinstance(raw, list) or not raw or any(group not in EVALUATOR_GROUPS for group in raw):
        raise InvalidInput(name, f"a list of one or more of {', '.join(EVALUATOR_GROUPS)}")
    return tuple(group for group in EVALUATOR_GROUPS if group in raw)


def _weights(
    raw: Any, default: dict[str, Fraction], groups: tuple[str, ...], name: str
) -> dict[str, Fraction]:
    if raw is None:
        return dict(default)
    if not isinstance(raw, dict) or not raw:
        raise InvalidInput(name, 'give a weight per group, e.g. {"expert": "1/2"}')
    weights: dict[str, Fraction] = {}
    for group, value in raw.items():
        if group not in groups:
            raise InvalidInput(f"{name}.{group}", f"unknown group; use {', '.join(groups)}")
        weights[group] = fraction(value, f"{name}.{group}", low=Fraction(0), high=Fraction(1))
        if weights[group] == 0:
            raise RuleBroken(f"{name}.{group}", "a weight must be positive; leave the group out instead")
    if sum(weights.values()) != 1:
        raise RuleBroken(name, f"the weights add up to {text(sum(weights.values(), Fraction(0)))}, not 1")
    return weights


@dataclass(frozen=True)
class Criterion:
    code: str
    name_zh: str
    name_en: str
    max_points: int

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_zh


def parse_rubric(raw: list[dict[str, Any]]) -> list[Criterion]:
    if not raw:
        raise InvalidInput("rubric", "name at least one criterion")
    criteria: list[Criterion] = []
    for index, item in enumerate(raw):
        where = f"rubric[{index}]"
        code = str(item.get("code", ""))
        if not re.fullmatch(CODE, code) or len(code) > 32:
            raise InvalidInput(f"{where}.code", "a short code of letters, digits and _")
        if code in {c.code for c in criteria}:
            raise RuleBroken(f"{where}.code", f"{code} appears twice")
        criteria.append(
            Criterion(
                code=code,
                name_zh=str(item.get("name_zh") or code)[:100],
                name_en=str(item.get("name_en") or code)[:100],
                max_points=_int(item.get("max_points"), f"{where}.max_points", 1, 100),
            )
        )
    return criteria


def rubric_json(criteria: list[Criterion]) -> list[dict[str, Any]]:
    return [
        {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en, "max_points": c.max_points}
        for c in criteria
    ]
