"""The interview rubric: criteria with maximum points, and the check of one judge's points.

Pure: data in, data out. Re-exported by `engage.selections.rules.scoring`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from engage.selections.rules.exact import as_int

ERROR_MISSING = "missing"
ERROR_UNKNOWN = "unknown"
ERROR_NOT_INTEGER = "not_integer"
ERROR_OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class Criterion:
    """One line of the rubric: a code (shown to judges through the locale) and its maximum points."""

    code: str
    max_points: int

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError("criterion code must be a non-empty string")
        as_int(self.max_points, f"max_points of criterion {self.code!r}", 0)


@dataclass(frozen=True)
class Rubric:
    """The criteria a judge scores, in display order. Codes are unique; at least one criterion."""

    criteria: tuple[Criterion, ...]

    def __post_init__(self) -> None:
        criteria = tuple(self.criteria)
        object.__setattr__(self, "criteria", criteria)
        if not criteria:
            raise ValueError("a rubric needs at least one criterion")
        seen: set[str] = set()
        for criterion in criteria:
            if not isinstance(criterion, Criterion):
                raise ValueError(f"rubric criteria must be Criterion, not {type(criterion).__name__}")
            if criterion.code in seen:
                raise ValueError(f"criterion {criterion.code!r} appears twice in the rubric")
            seen.add(criterion.code)

    @property
    def max_total(self) -> int:
        return sum(c.max_points for c in self.criteria)

    def validate(self, points: Mapping[str, object]) -> list[str]:
        """Error codes `<kind>:<criterion code>`, empty when the points are acceptable.

        Kinds: `missing` (no points for a criterion), `not_integer` (points that are not an int;
        bools count as not integer), `out_of_range` (outside 0..max_points), `unknown` (a code
        not in the rubric). Rubric criteria come first in rubric order, then unknown codes sorted.
        """
        errors: list[str] = []
        for criterion in self.criteria:
            if criterion.code not in points:
                errors.append(f"{ERROR_MISSING}:{criterion.code}")
                continue
            value = points[criterion.code]
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append(f"{ERROR_NOT_INTEGER}:{criterion.code}")
            elif not 0 <= value <= criterion.max_points:
                errors.append(f"{ERROR_OUT_OF_RANGE}:{criterion.code}")
        known = {c.code for c in self.criteria}
        errors.extend(f"{ERROR_UNKNOWN}:{code}" for code in sorted(str(k) for k in points if k not in known))
        return errors

    def total(self, points: Mapping[str, object]) -> int:
        """The sum of the points; ValueError listing every error code when they are not acceptable."""
        errors = self.validate(points)
        if errors:
            raise ValueError("points do not fit the rubric: " + ", ".join(errors))
        return sum(cast(int, points[c.code]) for c in self.criteria)  # validated as int above
