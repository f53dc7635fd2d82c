"""The SMS sign-up dialogue as a pure state machine, its texts, and the store that makes it expire."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract
from redis.asyncio import Redis

from engage.i18n import CATALOGUES
from engage.residents.sms_dialogue import (
    CommunityChoice,
    Dialogue,
    Outcome,
    Registration,
    Step,
    answer,
    join_locale,
    start,
)
from engage.residents.sms_signup import DIALOGUE_SECONDS, DialogueStore
from engage.sms.inbound import normalise_keyword
from engage.sms.texts import SMS_TEMPLATES, render

# The fake counts segments exactly as Twilio bills them (GSM-7 or UCS-2).
from engage.testing.fake_twilio import _num_segments

DISTRICT = [
    CommunityChoice("wulihe", "五里河社区", "Wulihe"),
    CommunityChoice("dongxing", "东兴社区", "Dongxing"),
    CommunityChoice("dongxingbei", "东兴北社区", "Dongxing North"),
    CommunityChoice("qingnian", "青年社区", "Qingnian"),
]
BIG_DISTRICT = [CommunityChoice(f"c{i}", f"第{i}号测试社区", f"Test community {i}") for i in range(1, 61)]
SIGNATURE = "【沈河区委组织部】"


def converse(locale: str, answers: Iterable[str], district: list[CommunityChoice] = DISTRICT) -> Outcome:
    outcome = start(locale, district)
    for text in answers:
        assert outcome.state is not None, f"the dialogue ended before {text!r}"
        outcome = answer(outcome.state, text, district)
    return outcome


def at(step: Step, **fields: object) -> Dialogue:
    defaults: dict[str, object] = {
        "community": "dongxing",
        "participant_type": "resident",
        "roles": ("judge",),
    }
    return Dialogue(locale="en", step=step, **{**defaults, **fields})  # type: ignore[arg-type]


# -- starting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("JOIN", "en"),
        ("join", "en"),
        (" J o i n ", "en"),
        ("ＪＯＩＮ", "en"),
        ("参加", "zh_CN"),
        ("参 加。", "zh_CN"),
    ],
)
def test_join_and_参加_choose_the_language_whatever_the_spacing_case_or_width(text: str, locale: str) -> None:
    assert join_locale(text) == locale


def test_other_words_do_not_start_a_dialogue() -> None:
    assert join_locale("join us") is None
    assert join_locale("1") is None


def test_starting_lists_the_communities_by_number_in_the_dialogue_language() -> None:
    chinese = start("zh_CN", DISTRICT)
    assert chinese.state == Dialogue(locale="zh_CN", step=Step.COMMUNITY)
    assert chinese.reply.template == "sms_join_community"
    assert chinese.reply.params["choices"] == [
        (1, "五里河社区"),
        (2, "东兴社区"),
        (3, "东兴北社区"),
        (4, "青年社区"),
    ]
    assert chinese.reply.params["more"] is False
    english = start("en", DISTRICT)
    assert english.reply.params["choices"][0] == (1, "Wulihe")


def test_a_district_without_communities_cannot_sign_up_by_text_yet() -> None:
    outcome = start("en", [])
    assert outcome.state is None
    assert outcome.reply.template == "sms_join_closed"


def test_a_long_community_list_is_cut_short_and_offers_typing_the_name() -> None:
    outcome = start("en", BIG_DISTRICT)
    assert outcome.reply.params["more"] is True
    assert 3 <= len(outcome.reply.params["choices"]) < len(BIG_DISTRICT)
    # A number that was not listed is still that community's number.
    chosen = answer(outcome.state, "57", BIG_DISTRICT)  # type: ignore[arg-type]
    assert chosen.state is not None and chosen.state.community == "c57"


# -- happy paths ---------------------------------------------------------------------------------


def test_a_chinese_expert_signs_up_as_judge_and_subscriber() -> None:
    outcome = converse("zh_CN", ["2", "5", "城市 规划", "1 3", "是"])
    assert outcome.state is None
    assert outcome.reply.template == "sms_join_done"
    assert outcome.reply.params == {"roles": ["judge", "subscriber"]}
    assert outcome.registration == Registration(
        locale="zh_CN",
        community="dongxing",
        participant_type="expert",
        expertise="城市 规划",
        roles=("judge", "subscriber"),
    )


def test_an_english_resident_picks_the_community_by_name_and_two_roles() -> None:
    outcome = converse("en", ["qingnian", "1", "32", "yes"])
    assert outcome.registration == Registration(
        locale="en",
        community="qingnian",
        participant_type="resident",
        expertise=None,
        roles=("evaluator", "subscriber"),
    )


@pytest.mark.parametrize(
    ("number", "kind"), [("1", "resident"), ("2", "deputy_pc"), ("3", "deputy_party"), ("4", "deputy_cppcc")]
)
def test_only_experts_are_asked_their_field(number: str, kind: str) -> None:
    outcome = converse("en", ["1", number])
    assert outcome.state == Dialogue(locale="en", step=Step.ROLES, community="wulihe", participant_type=kind)
    assert outcome.reply.template == "sms_join_roles"


def test_each_step_asks_the_next_question() -> None:
    templates = []
    outcome = start("zh_CN", DISTRICT)
    for text in ["1", "5", "法律", "2"]:
        assert outcome.state is not None
        outcome = answer(outcome.state, text, DISTRICT)
        templates.append(outcome.reply.template)
    assert templates == ["sms_join_participant", "sms_join_expertise", "sms_join_roles", "sms_join_consent"]
    assert outcome.reply.params == {"roles": ["evaluator"], "problem": None}


@pytest.mark.parametrize("text", ["13", "1,3", "1、3", "３１", "1 3 3", "1和3"])
def test_roles_may_be_given_in_any_order_and_with_separators(text: str) -> None:
    outcome = answer(at(Step.ROLES, roles=()), text, DISTRICT)
    assert outcome.state is not None and outcome.state.roles == ("judge", "subscriber")


@pytest.mark.parametrize("text", ["Y", "y", "YES", "是", "同意", "Ｙ"])
def test_consent_is_given_with_y_or_是(text: str) -> None:
    assert answer(at(Step.CONSENT), text, DISTRICT).registration is not None


# -- invalid answers re-ask ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "problem"), [("9", "no_match"), ("05", "no_match"), ("xyz", "no_match")])
def test_an_unknown_community_re_asks_with_the_whole_list(text: str, problem: str) -> None:
    state = Dialogue(locale="en", step=Step.COMMUNITY)
    outcome = answer(state, text, DISTRICT)
    assert outcome.state == state
    assert outcome.reply.params["problem"] == problem
    assert len(outcome.reply.params["choices"]) == len(DISTRICT)


def test_a_name_matching_several_communities_lists_just_those() -> None:
    several = answer(Dialogue(locale="zh_CN", step=Step.COMMUNITY), "东兴", DISTRICT)
    assert several.state == Dialogue(locale="zh_CN", step=Step.COMMUNITY)
    assert several.reply.params["problem"] == "several"
    assert several.reply.params["choices"] == [(2, "东兴社区"), (3, "东兴北社区")]


def test_a_whole_name_wins_over_longer_names_containing_it() -> None:
    outcome = answer(Dialogue(locale="en", step=Step.COMMUNITY), "dongxing", DISTRICT)
    assert outcome.state is not None and outcome.state.community == "dongxing"


@pytest.mark.parametrize("text", ["6", "x", "", "1 2", "专家"])
def test_a_participant_type_outside_the_menu_re_asks(text: str) -> None:
    state = at(Step.PARTICIPANT, participant_type=None, roles=())
    outcome = answer(state, text, DISTRICT)
    assert outcome.state == state
    assert (outcome.reply.template, outcome.reply.params["problem"]) == ("sms_join_participant", "invalid")


@pytest.mark.parametrize(
    ("text", "problem"), [("123", "invalid"), ("", "invalid"), ("——", "invalid"), ("法" * 101, "too_long")]
)
def test_an_expertise_without_words_or_too_long_re_asks(text: str, problem: str) -> None:
    state = at(Step.EXPERTISE, participant_type="expert", roles=())
    outcome = answer(state, text, DISTRICT)
    assert outcome.state == state
    assert outcome.reply.params["problem"] == problem


@pytest.mark.parametrize("text", ["4", "14", "1a", "", "judge", "-"])
def test_roles_outside_the_menu_re_ask(text: str) -> None:
    state = at(Step.ROLES, roles=())
    outcome = answer(state, text, DISTRICT)
    assert outcome.state == state
    assert (outcome.reply.template, outcome.reply.params["problem"]) == ("sms_join_roles", "invalid")


@pytest.mark.parametrize("text", ["maybe", "1", "好", ""])
def test_an_unclear_consent_answer_re_asks_with_the_consent_text(text: str) -> None:
    state = at(Step.CONSENT, roles=("judge", "evaluator"))
    outcome = answer(state, text, DISTRICT)
    assert outcome.state == state and outcome.registration is None
    assert outcome.reply.params == {"roles": ["judge", "evaluator"], "problem": "invalid"}


# -- cancelling ----------------------------------------------------------------------------------


@pytest.mark.parametrize("step", list(Step))
@pytest.mark.parametrize("text", ["0", "０", "取消"])
def test_0_cancel_or_取消_ends_the_dialogue_at_any_step_keeping_nothing(step: Step, text: str) -> None:
    outcome = answer(at(step), text, DISTRICT)
    assert outcome == Outcome(None, outcome.reply)
    assert outcome.reply.template == "sms_join_cancelled"


@pytest.mark.parametrize("text", ["N", "no", "否", "不同意"])
def test_refusing_consent_cancels(text: str) -> None:
    outcome = answer(at(Step.CONSENT), text, DISTRICT)
    assert (outcome.state, outcome.registration, outcome.reply.template) == (None, None, "sms_join_cancelled")


# -- state round trip ----------------------------------------------------------------------------


def test_the_state_survives_its_json_form() -> None:
    state = at(Step.CONSENT, participant_type="expert", expertise="城市规划", roles=("judge", "subscriber"))
    assert Dialogue.from_json(state.to_json()) == state
    assert Dialogue.from_json(b"not json") is None
    assert Dialogue.from_json('{"locale": "en", "step": "elsewhere"}') is None


# -- the texts -----------------------------------------------------------------------------------


def _every_reply(locale: str) -> list[tuple[str, dict[str, object]]]:
    replies: list[tuple[str, dict[str, object]]] = []
    for district in (DISTRICT, BIG_DISTRICT):
        first = start(locale, district)
        assert first.state is not None
        replies.append((first.reply.template, first.reply.params))
        for text in ("zzz", "community"):  # no match; several in the big district
            again = answer(first.state, text, district)
            replies.append((again.reply.template, again.reply.params))
    for step in (Step.PARTICIPANT, Step.EXPERTISE, Step.ROLES, Step.CONSENT):
        state = at(step, roles=("judge", "evaluator", "subscriber"))
        for text in ("?", "x" * 101):
            outcome = answer(state, text, DISTRICT)
            replies.append((outcome.reply.template, outcome.reply.params))
    replies.append(("sms_join_done", {"roles": ["judge", "evaluator", "subscriber"]}))
    replies.append(("sms_join_expired", {"minutes": 30}))
    for name in (
        "sms_help",
        "sms_stop",
        "sms_start",
        "sms_join_cancelled",
        "sms_join_closed",
        "sms_join_registered",
        "sms_join_invited",
        "sms_confirm_done",
    ):
        replies.append((name, {}))
    return replies


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_reply_fits_three_segments_with_the_signature_and_a_long_address(locale: str) -> None:
    for name, params in _every_reply(locale):
        body = render(name, locale, SIGNATURE, url="https://engage.shenhe.gov.cn", **params)
        assert _num_segments(body) <= 3, body
        assert "%(" not in body and "{{" not in body, body


def test_chinese_replies_other_than_lists_fit_one_segment() -> None:
    lists = {"sms_join_community", "sms_join_done"}  # the community list and the roles chosen can be long
    for name, params in _every_reply("zh_CN"):
        if name in lists or params.get("problem"):
            continue
        body = render(name, "zh_CN", SIGNATURE, url="https://engage.shenhe.gov.cn", **params)
        assert _num_segments(body) == 1, body


def test_chinese_texts_are_chinese_and_english_texts_english() -> None:
    chinese = render("sms_join_consent", "zh_CN", SIGNATURE, url="", roles=["judge"], problem=None)
    assert "回复“是”同意" in chinese and "抽签" in chinese
    english = render("sms_join_consent", "en", SIGNATURE, url="", roles=["judge"], problem=None)
    assert "Reply Y to agree" in english and "juries" in english


SIGN_UP_TEMPLATES = ["_sms_labels.txt", *(p.name for p in SMS_TEMPLATES.glob("sms_*.txt"))]


def test_every_sign_up_text_has_a_chinese_translation() -> None:
    with (CATALOGUES / "zh_CN" / "LC_MESSAGES" / "sms_signup.po").open("rb") as handle:
        catalogue = {str(m.id): str(m.string) for m in read_po(handle, locale="zh_CN") if m.id}
    wanted: set[str] = set()
    for name in SIGN_UP_TEMPLATES:
        with (SMS_TEMPLATES / name).open("rb") as handle:
            found = babel_extract(handle, ["_"], [], {"extensions": "jinja2.ext.i18n"})
            # A call with keyword arguments extracts as (msgid, None, ...).
            wanted |= {
                str(message[0] if isinstance(message, tuple) else message) for _, _, message, _ in found
            }
    assert len(wanted) > 30
    assert {m for m in wanted if not catalogue.get(m)} == set()
    assert set(catalogue) - wanted == set(), "translations of texts no template uses"


# -- the keyword form ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        (" stop ", "STOP"),
        ("Ｓｔｏｐ", "STOP"),
        ("s t o p", "STOP"),
        ("STOP!", "STOP"),
        ("退　订", "退订"),
        ("td。", "TD"),
    ],
)
def test_keywords_ignore_case_spaces_width_and_trailing_punctuation(text: str, word: str) -> None:
    assert normalise_keyword(text) == word


# -- the store: expiry ---------------------------------------------------------------------------


async def test_the_store_keeps_a_dialogue_for_30_minutes_under_a_hashed_key(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        store = DialogueStore(redis, "secret-key-for-the-test")
        state = at(Step.ROLES, roles=())
        await store.save("+8613800138000", state)
        assert await store.load("+8613800138000") == state
        key = store.key("+8613800138000")
        assert "13800138000" not in key
        assert DIALOGUE_SECONDS - 5 <= await redis.ttl(key) <= DIALOGUE_SECONDS == 1800
        assert await store.load("+8613900139000") is None
    finally:
        await redis.aclose()


async def test_an_expired_dialogue_is_gone_and_reported_once_in_its_language(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        store = DialogueStore(redis, "secret-key-for-the-test", seconds=1)
        await store.save(
            "+8613800138000", Dialogue(locale="zh_CN", step=Step.PARTICIPANT, community="wulihe")
        )
        assert await store.take_lapsed("+8613800138000") is None  # still open
        await redis.pexpire(store.key("+8613800138000"), 1)
        for _ in range(100):  # until Redis reports the key expired (-2), at most a second
            if await redis.pttl(store.key("+8613800138000")) == -2:
                break
            await asyncio.sleep(0.01)
        assert await store.load("+8613800138000") is None
        assert await store.take_lapsed("+8613800138000") == "zh_CN"
        assert await store.take_lapsed("+8613800138000") is None
    finally:
        await redis.aclose()


async def test_clearing_forgets_the_dialogue_and_its_lapse_marker(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        store = DialogueStore(redis, "secret-key-for-the-test")
        await store.save("+8613800138000", Dialogue(locale="en", step=Step.COMMUNITY))
        await store.clear("+8613800138000")
        assert await store.load("+8613800138000") is None
        assert await store.take_lapsed("+8613800138000") is None
        assert await redis.keys("engage:sms-signup:*") == []
    finally:
        await redis.aclose()
