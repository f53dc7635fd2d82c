"""Panel selection by lottery: pure functions from data to data (no web, no database).

See docs/lottery.md for the algorithms, the commit-reveal draw and the record format.
"""

from engage.lottery.csvio import parse_pool, parse_quotas, read_pool, read_quotas
from engage.lottery.distribution import Distribution
from engage.lottery.errors import LotteryError, MalformedInput
from engage.lottery.fair import fair_distribution
from engage.lottery.feasibility import FeasibilityReport, InfeasibleQuotas, QuotaChange, check_feasibility
from engage.lottery.model import Person, Pool, Quota, group_profiles
from engage.lottery.record import VerifyResult, verify
from engage.lottery.reserve import NoReplacement, replacement
from engage.lottery.selection import Prepared, Selection, draw, prepare, select_panel

__all__ = [
    "Distribution",
    "FeasibilityReport",
    "InfeasibleQuotas",
    "LotteryError",
    "MalformedInput",
    "NoReplacement",
    "Person",
    "Pool",
    "Prepared",
    "Quota",
    "QuotaChange",
    "Selection",
    "VerifyResult",
    "check_feasibility",
    "draw",
    "fair_distribution",
    "group_profiles",
    "parse_pool",
    "parse_quotas",
    "prepare",
    "read_pool",
    "read_quotas",
    "replacement",
    "select_panel",
    "verify",
]
