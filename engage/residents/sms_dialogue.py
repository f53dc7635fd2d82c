"""Signing up by SMS, as a pure state machine: (state, incoming text, the district's communities) ->
(new state, the reply to send, and the finished registration once the resident has agreed).

No database, no web, no clock: `engage.residents.sms_signup` loads and stores the state (in Redis, for
30 minutes) and turns a finished registration into a resident. Texting JOIN (English) or 参加 (Chinese)
starts it, and that word fixes the language of the whole dialogue and of the resident's texts:

    community -> participant type -> (experts: their field) -> roles -> consent -> done

Every question accepts 0 / 取消, which ends the dialogue and keeps nothing. An answer that does
not fit repeats the question with a word on what was wrong. Replies name a template under
templates/sms/ and its parameters; the texts themselves live there, translated through gettext.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from engage.residents.models import ParticipantType, ResidentRoleKind
from engage.sms.inbound import normalise_keyword

JOIN_WORDS = {"JOIN": "en", "参加": "zh_CN"}  # the word chooses the dialogue's language
CANCEL_WORDS = frozenset({"0", "取消"})  # not CANCEL: Twilio treats it as an opt-out
YES_WORDS = frozenset({"Y", "YES", "是", "同意"})
NO_WORDS = frozenset({"N", "NO", "否", "不同意"})

# Menu numbers are positions in these tuples, so the question and the answer cannot disagree.
PARTICIPANT_MENU = (
    ParticipantType.RESIDENT,
    ParticipantType.DEPUTY_PC,
    ParticipantType.DEPUTY_PARTY,
    ParticipantType.DEPUTY_CPPCC,
    ParticipantType.EXPERT,
)
ROLE_MENU = (ResidentRoleKind.JUDGE, ResidentRoleKind.EVALUATOR, ResidentRoleKind.SUBSCRIBER)

# How many characters of community names one question may list: with its prompt and the signature the
# question stays within three UCS-2 segments. Longer lists end with "or text part of its name".
LIST_BUDGET = 90
MAX_EXPERTISE = 100  # Resident.expertise
_ROLE_SEPARATORS = re.compile(r"[,，、;；/.+和与及&]")


class Step(StrEnum):
    COMMUNITY = "community"
    PARTICIPANT = "participant"
    EXPERTISE = "expertise"
    ROLES = "roles"
    CONSENT = "consent"


@dataclass(frozen=True)
class CommunityChoice:
    code: str
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh_CN" else self.name_en


@dataclass(frozen=True)
class Dialogue:
    """Where a sign-up stands; stored between texts as JSON."""

    locale: str
    step: Step
    community: str | None = None  # a community code
    participant_type: str | None = None
    expertise: str | None = None
    roles: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Dialogue | None:
        """The stored state, or None when it cannot be read (written by another version, say)."""
        try:
            data = json.loads(raw)
            return cls(
                locale=str(data["locale"]),
                step=Step(data["step"]),
                community=data.get("community"),
                participant_type=data.get("participant_type"),
                expertise=data.get("expertise"),
                roles=tuple(str(role) for role in data.get("roles", ())),
            )
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True)
class Reply:
    template: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    """Everything a finished dialogue collected; the resident agreed to the consent for `roles`."""

    locale: str
    community: str
    participant_type: str
    expertise: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    state: Dialogue | None  # None: the dialogue is over (finished, cancelled or never started)
    reply: Reply
    registration: Registration | None = None


def join_locale(word: str) -> str | None:
    """The dialogue language a text asks for, when the text is JOIN or 参加."""
    return JOIN_WORDS.get(normalise_keyword(word))


def start(locale: str, communities: Sequence[CommunityChoice]) -> Outcome:
    if not communities:
        return Outcome(None, Reply("sms_join_closed"))
    state = Dialogue(locale=locale, step=Step.COMMUNITY)
    return Outcome(state, _community_question(state, communities, range(len(communities))))


def answer(state: Dialogue, text: str, communities: Sequence[CommunityChoice]) -> Outcome:
    word = normalise_keyword(text)
    if word in CANCEL_WORDS:
        return Outcome(None, Reply("sms_join_cancelled"))
    if state.step is Step.COMMUNITY:
        return _answer_community(state, word, communities)
    if state.step is Step.PARTICIPANT:
        return _answer_participant(state, word)
    if state.step is Step.EXPERTISE:
        return _answer_expertise(state, text)
    if state.step is Step.ROLES:
        return _answer_roles(state, word)
    return _answer_consent(state, word)


# -- the questions -------------------------------------------------------------------------------


def _community_question(
    state: Dialogue, communities: Sequence[CommunityChoice], shown: Sequence[int], problem: str | None = None
) -> Reply:
    choices: list[tuple[int, str]] = []
    used = 0
    for index in shown:
        name = communities[index].name(state.locale)
        used += len(str(index + 1)) + len(name) + 2
        if choices and used > LIST_BUDGET:
            break
        choices.append((index + 1, name))
    more = len(choices) < len(shown)
    return Reply("sms_join_community", {"choices": choices, "more": more, "problem": problem})


def _participant_question(problem: str | None = None) -> Reply:
    options = [(number, kind.value) for number, kind in enumerate(PARTICIPANT_MENU, start=1)]
    return Reply("sms_join_participant", {"options": options, "problem": problem})


def _expertise_question(problem: str | None = None) -> Reply:
    return Reply("sms_join_expertise", {"problem": problem})


def _roles_question(problem: str | None = None) -> Reply:
    options = [(number, role.value) for number, role in enumerate(ROLE_MENU, start=1)]
    return Reply("sms_join_roles", {"options": options, "problem": problem})


def _consent_question(state: Dialogue, problem: str | None = None) -> Reply:
    return Reply("sms_join_consent", {"roles": list(state.roles), "problem": problem})


# -- the answers ---------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _answer_community(state: Dialogue, word: str, communities: Sequence[CommunityChoice]) -> Outcome:
    everyone = range(len(communities))
    if word.isascii() and word.isdigit():
        number = int(word)
        if not 1 <= number <= len(communities):
            return Outcome(state, _community_question(state, communities, everyone, "no_match"))
        return _chose_community(state, communities[number - 1])
    wanted = _fold(word)
    names = [(_fold(c.name_zh), _fold(c.name_en), c.code.casefold()) for c in communities]
    exact = [i for i, candidates in enumerate(names) if wanted in candidates]
    partial = [i for i, candidates in enumerate(names) if wanted and any(wanted in n for n in candidates)]
    found = exact if len(exact) == 1 else partial
    if len(found) == 1:
        return _chose_community(state, communities[found[0]])
    if not found:
        return Outcome(state, _community_question(state, communities, everyone, "no_match"))
    return Outcome(state, _community_question(state, communities, found, "several"))


def _chose_community(state: Dialogue, community: CommunityChoice) -> Outcome:
    state = replace(state, step=Step.PARTICIPANT, community=community.code)
    return Outcome(state, _participant_question())


def _answer_participant(state: Dialogue, word: str) -> Outcome:
    if not (word.isascii() and word.isdigit() and 1 <= int(word) <= len(PARTICIPANT_MENU)):
        return Outcome(state, _participant_question("invalid"))
    kind = PARTICIPANT_MENU[int(word) - 1]
    if kind is ParticipantType.EXPERT:
        state = replace(state, step=Step.EXPERTISE, participant_type=kind.value)
        return Outcome(state, _expertise_question())
    state = replace(state, step=Step.ROLES, participant_type=kind.value, expertise=None)
    return Outcome(state, _roles_question())


def _answer_expertise(state: Dialogue, text: str) -> Outcome:
    field = " ".join(unicodedata.normalize("NFKC", text).split())
    if not any(char.isalpha() for char in field):
        return Outcome(state, _expertise_question("invalid"))
    if len(field) > MAX_EXPERTISE:
        return Outcome(state, _expertise_question("too_long"))
    return Outcome(replace(state, step=Step.ROLES, expertise=field), _roles_question())


def _answer_roles(state: Dialogue, word: str) -> Outcome:
    digits = set(_ROLE_SEPARATORS.sub("", word))
    menu = {str(number): role for number, role in enumerate(ROLE_MENU, start=1)}
    if not digits or not digits <= menu.keys():
        return Outcome(state, _roles_question("invalid"))
    roles = tuple(role.value for number, role in menu.items() if number in digits)
    state = replace(state, step=Step.CONSENT, roles=roles)
    return Outcome(state, _consent_question(state))


def _answer_consent(state: Dialogue, word: str) -> Outcome:
    if word in NO_WORDS:
        return Outcome(None, Reply("sms_join_cancelled"))
    if word not in YES_WORDS:
        return Outcome(state, _consent_question(state, "invalid"))
    assert state.community is not None and state.participant_type is not None  # set by earlier steps
    registration = Registration(
        locale=state.locale,
        community=state.community,
        participant_type=state.participant_type,
        expertise=state.expertise,
        roles=state.roles,
    )
    return Outcome(None, Reply("sms_join_done", {"roles": list(state.roles)}), registration)
