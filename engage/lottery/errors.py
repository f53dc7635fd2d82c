"""The lottery's typed errors: each one carries a sentence a person can act on. InfeasibleQuotas lives in
`feasibility`, beside the report it carries."""

from __future__ import annotations


class LotteryError(Exception):
    """Base class: every refusal of the lottery package is one of these."""


class MalformedInput(LotteryError):
    """A pool or quota file that cannot be read as stated (missing column, unknown value, ...)."""


class SolverError(LotteryError):
    """HiGHS answered with a status we cannot use (should not happen on feasible quotas)."""
