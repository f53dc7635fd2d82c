"""Words for the panel's quota categories and values and the reasons of exclusions, in the reader's
language (templates call these at render time). Community values are codes: their names come from
the communities table, passed in as `communities` ({code: (name_zh, name_en)})."""

from __future__ import annotations

from collections.abc import Mapping

from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.residents.labels import AGE_BAND_LABELS, GENDER_LABELS, N_

CATEGORY_LABELS = {
    "participant_type": N_("Participant type"),
    "community": N_("Community"),
    "gender": N_("Gender"),
    "age_band": N_("Age band"),
}
PARTICIPANT_GROUP_LABELS = {
    "resident": N_("Residents"),
    "deputy": N_("Deputies and CPPCC members"),
    "expert": N_("Experts"),
}
UNKNOWN_LABEL = N_("Not given")
REASON_LABELS = {
    "same_work_unit": N_("Same work unit as a candidate"),
    "same_household": N_("Same household as a candidate"),
    "nominator": N_("Nominated a candidate"),
    "declared_family": N_("Declared family tie with a candidate"),
    "declared_household": N_("Declared household tie with a candidate"),
    "declared_other": N_("Declared another conflict with a candidate"),
}


def category_label(category: str) -> str:
    label = CATEGORY_LABELS.get(category)
    return _(label) if label else category


def value_label(category: str, value: str, communities: Mapping[str, tuple[str, str]]) -> str:
    if value == "unknown":
        return _(UNKNOWN_LABEL)
    if category == "community" and value in communities:
        name_zh, name_en = communities[value]
        return name_zh if current_locale.get() == "zh_CN" else name_en
    table = {
        "participant_type": PARTICIPANT_GROUP_LABELS,
        "gender": GENDER_LABELS,
        "age_band": AGE_BAND_LABELS,
    }
    label = table.get(category, {}).get(value)
    return _(label) if label else value


def reason_label(reason: str) -> str:
    label = REASON_LABELS.get(reason)
    return _(label) if label else reason


JURY_WORDS = ("大评审团", "grand jury")


def title_in_invitation(title: str) -> str:
    """The panel's title as the invitation's sentence quotes it: the sentence already says 大评审团
    ("grand jury"), so a title ending in it would say it twice."""
    for word in JURY_WORDS:
        if title.casefold().endswith(word) and len(title) > len(word):
            return title[: -len(word)].rstrip()
    return title
