"""What a resident tells us about themself, checked as plain data: a form in, a Profile or errors out.

Messages are English msgids; pages and the API translate them into the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engage.residents.labels import N_
from engage.residents.models import AGE_BANDS, GENDERS, OCCUPATION_GROUPS, ParticipantType, ResidentRoleKind
from engage.residents.notice_kinds import NoticeKind
from engage.web import text

NAME_MAX = 50
WORK_UNIT_MAX = 200
EXPERTISE_MAX = 100


@dataclass(frozen=True)
class Profile:
    name: str
    community: str
    age_band: str
    gender: str
    occupation: str
    participant_type: str
    expertise: str | None
    work_unit: str | None


@dataclass(frozen=True)
class Choices:
    roles: tuple[str, ...]
    notice_kinds: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()


@dataclass
class Problems:
    """field -> English message; empty when the input is fine."""

    by_field: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name, "")
    return " ".join(str(value).split()) if value is not None else ""


def _one_of(
    form: Mapping[str, object], name: str, allowed: Sequence[str], problems: Problems, missing: str
) -> str:
    value = _text(form, name)
    if not value:
        problems.add(name, missing)
    elif value not in allowed:
        problems.add(name, N_("Choose one of the options."))
    return value


def check_profile(form: Mapping[str, object], community_codes: Sequence[str]) -> Profile | Problems:
    problems = Problems()
    name = _text(form, "name")
    if not name:
        problems.add("name", N_("Enter your name."))
    elif len(name) > NAME_MAX:
        problems.add("name", N_("The name is too long."))
    community = _text(form, "community")
    if not community:
        problems.add("community", N_("Choose your community."))
    elif community not in community_codes:
        problems.add("community", N_("Unknown community: choose one from the list."))
    age_band = _one_of(form, "age_band", AGE_BANDS, problems, N_("Choose your age group."))
    gender = _one_of(form, "gender", GENDERS, problems, N_("Choose your gender."))
    occupation = _one_of(form, "occupation", OCCUPATION_GROUPS, problems, N_("Choose your occupation group."))
    kinds = [kind.value for kind in ParticipantType]
    participant_type = _one_of(form, "participant_type", kinds, problems, N_("Choose how you take part."))
    expertise = _text(form, "expertise") or None
    if participant_type == ParticipantType.EXPERT and not expertise:
        problems.add("expertise", N_("Experts: enter your field of expertise."))
    if expertise and len(expertise) > EXPERTISE_MAX:
        problems.add("expertise", N_("The field of expertise is too long."))
    work_unit = _text(form, "work_unit") or None
    if work_unit and len(work_unit) > WORK_UNIT_MAX:
        problems.add("work_unit", N_("The work unit is too long."))
    # After whitespace folding (tabs and line breaks became spaces), what is left must be storable (S11).
    for field_name, value in (("name", name), ("work_unit", work_unit), ("expertise", expertise)):
        found = text.problem(value) if value else None
        if found:
            problems.add(field_name, found)
    if problems:
        return problems
    return Profile(
        name=name,
        community=community,
        age_band=age_band,
        gender=gender,
        occupation=occupation,
        participant_type=participant_type,
        expertise=expertise if participant_type == ParticipantType.EXPERT else None,
        work_unit=work_unit,
    )


def check_choices(
    roles: Sequence[str], consents: Sequence[str], notice_kinds: Sequence[str], communities: Sequence[str],
    community_codes: Sequence[str],
) -> Choices | Problems:  # fmt: skip
    """Roles need their own consent each (one purpose, one consent); subscriptions only for subscribers."""
    problems = Problems()
    known_roles = [kind.value for kind in ResidentRoleKind]
    chosen = [role for role in known_roles if role in set(roles)]
    if any(role not in known_roles for role in roles):
        problems.add("roles", N_("Choose one of the options."))
    if not chosen:
        problems.add("roles", N_("Choose at least one role."))
    for role in chosen:
        if role not in set(consents):
            problems.add(f"consent_{role}", N_("Tick the consent for this role, or leave the role out."))
    known_kinds = [kind.value for kind in NoticeKind]
    if any(kind not in known_kinds for kind in notice_kinds):
        problems.add("notice_kinds", N_("Choose one of the options."))
    if any(code not in community_codes for code in communities):
        problems.add("communities", N_("Unknown community: choose one from the list."))
    if problems:
        return problems
    subscribed = ResidentRoleKind.SUBSCRIBER.value in chosen
    return Choices(
        roles=tuple(chosen),
        notice_kinds=tuple(k for k in known_kinds if k in set(notice_kinds)) if subscribed else (),
        communities=tuple(c for c in community_codes if c in set(communities)) if subscribed else (),
    )
