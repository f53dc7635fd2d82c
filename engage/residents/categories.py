"""The categories residents are counted by in a grand-jury panel's quotas, and the values each may take.

Deputies of every congress count as one group; a missing answer is the value `unknown`. Panels build
their quotas on these; the vocabulary API lists them for integrators."""

from __future__ import annotations

from collections.abc import Sequence

from engage.residents.models import AGE_BANDS, GENDERS, ParticipantType

CATEGORIES = ("participant_type", "community", "gender", "age_band")
UNKNOWN = "unknown"
PARTICIPANT_GROUPS = ("resident", "deputy", "expert")
DEPUTY_TYPES = {ParticipantType.DEPUTY_PC, ParticipantType.DEPUTY_PARTY, ParticipantType.DEPUTY_CPPCC}


def participant_group(participant_type: str) -> str:
    """Deputies of every congress count as one group in the quotas."""
    if participant_type in DEPUTY_TYPES:
        return "deputy"
    return "expert" if participant_type == ParticipantType.EXPERT else "resident"


def quota_values(community_codes: Sequence[str]) -> dict[str, list[str]]:
    """The values a quota row may name, per category; `unknown` counts those who did not say."""
    return {
        "participant_type": list(PARTICIPANT_GROUPS),
        "community": [*sorted(community_codes), UNKNOWN],
        "gender": [*GENDERS, UNKNOWN],
        "age_band": [*AGE_BANDS, UNKNOWN],
    }
