"""The lottery's typed errors: each one carries a sentence a person can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engage.lottery.feasibility import FeasibilityReport


class LotteryError(Exception):
    """Base class: every refusal of the lottery package is one of these."""


class MalformedInput(LotteryError):
    """A pool or quota file that cannot be read as stated (missing column, unknown value, ...)."""


class InfeasibleQuotas(LotteryError):
    """No panel of the requested size meets every quota with this pool.

    `report` holds the whole explanation: the conflicting quotas and the smallest relaxation.
    """

    def __init__(self, report: FeasibilityReport) -> None:
        super().__init__(report.explanation())
        self.report = report


class SolverError(LotteryError):
    """HiGHS answered with a status we cannot use (should not happen on feasible quotas)."""
