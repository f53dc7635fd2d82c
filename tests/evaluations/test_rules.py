"""The pure rules of evaluations: SMS replies, the Wilson interval and the figures, the threshold,
moderation of comments, who may rate, and bulk patterns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from engage.evaluations.rules import eligibility, moderation, replies, stats
from engage.evaluations.rules.eligibility import CampaignFacts, Refusal, ResidentFacts

# -- SMS replies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["5 4 5", "545", "5,4,5", "5，4，5", "５４５", " 5  4 5 ", "5-4-5", "5、4、5", "5.4.5"],
)
def test_sms_reply_reads_one_digit_per_question_in_any_spacing(text: str) -> None:
    assert replies.parse(text, 3) == replies.Parsed([5, 4, 5])


def test_sms_reply_with_the_wrong_number_of_digits_is_a_count_problem() -> None:
    assert replies.parse("5 4", 3).problem == replies.Problem.COUNT
    assert replies.parse("5445", 3).problem == replies.Problem.COUNT
    assert replies.parse("54 5", 3).problem == replies.Problem.COUNT


def test_sms_reply_digit_outside_one_to_five_is_a_range_problem() -> None:
    assert replies.parse("6 4 5", 3).problem == replies.Problem.RANGE
    assert replies.parse("045", 3).problem == replies.Problem.RANGE


def test_text_with_letters_is_not_a_rating_reply() -> None:
    assert not replies.looks_like_rating("JOIN")
    assert not replies.looks_like_rating("5 stars")
    assert not replies.looks_like_rating("  ")
    assert replies.parse("hello", 3).problem == replies.Problem.NOT_DIGITS


def test_single_question_reply_is_one_digit() -> None:
    assert replies.parse("4", 1).scores == [4]


# -- figures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        (7, 10, 0.396778, 0.892209),  # the textbook example
        (0, 10, 0.0, 0.277533),
        (10, 10, 0.722467, 1.0),
        (21, 30, 0.521242, 0.833353),
    ],
)
def test_wilson_interval_matches_hand_computed_values(
    successes: int, trials: int, low: float, high: float
) -> None:
    interval = stats.wilson(successes, trials)
    assert interval is not None
    assert interval.low == pytest.approx(low, abs=1e-6)
    assert interval.high == pytest.approx(high, abs=1e-6)


def test_no_answers_have_no_rate_and_no_interval() -> None:
    summary = stats.summarise([], 3)
    assert (summary.ratings, summary.answers, summary.rate, summary.interval) == (0, 0, None, None)


def test_satisfaction_rate_is_the_share_of_answers_of_four_or_five() -> None:
    summary = stats.summarise([[5, 4, 3], [2, 4, 1]], 3)
    assert summary.satisfied == 3
    assert summary.answers == 6
    assert summary.rate == Fraction(1, 2)
    assert summary.by_score == {1: 1, 2: 1, 3: 1, 4: 2, 5: 1}
    assert summary.question_means == [Fraction(7, 2), Fraction(4), Fraction(2)]


def test_a_rating_with_the_wrong_number_of_scores_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 scores for 3"):
        stats.summarise([[5, 4]], 3)


@pytest.mark.parametrize(
    ("raw", "value"), [("2/3", Fraction(2, 3)), ("0.8", Fraction(4, 5)), ("75%", Fraction(3, 4))]
)
def test_threshold_is_read_as_an_exact_fraction(raw: str, value: Fraction) -> None:
    assert stats.parse_threshold(raw) == value


@pytest.mark.parametrize("raw", ["abc", "3/2", "1/0", "-0.1", "120%"])
def test_threshold_outside_zero_to_one_or_unreadable_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        stats.parse_threshold(raw)


def test_rate_equal_to_the_threshold_is_not_below_it() -> None:
    exactly = stats.summarise([[5, 5, 1]], 3)  # 2/3, which 0.6667 as a float would put below
    assert not stats.judge(exactly, Fraction(2, 3), 1).below
    under = stats.summarise([[5, 1, 1]], 3)
    assert stats.judge(under, Fraction(2, 3), 1).below


def test_too_few_answers_are_not_judged() -> None:
    verdict = stats.judge(stats.summarise([[1, 1, 1]], 3), Fraction(2, 3), 10)
    assert verdict == stats.Verdict(below=False, enough=False)


def test_change_is_against_the_latest_earlier_campaign_with_answers() -> None:
    earlier = [
        stats.TrendPoint(1, "a", "a", Fraction(1, 2), 6),
        stats.TrendPoint(2, "b", "b", None, 0),
    ]
    assert stats.change(Fraction(7, 10), earlier) == Fraction(1, 5)
    assert stats.change(Fraction(7, 10), []) is None


# -- moderation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "1 3 8 0 0 1 3 8 0 0 0",
        "+86 138 0013 8000",
        "+8613800138000",
        "0086-13800138000",
        "１３８００１３８０００",
        "024-23456789",
        "(024) 2345 6789",
        "（024）23456789",
        "+86 24 2345 6789",
        "010-8888 6666",
        "210102199001011234",
        "21010219900101123X",
        "210102 19900101 1234",
        "li.ming@example.com",
    ],
)
def test_moderation_removes_phone_numbers_id_numbers_and_emails(typed: str) -> None:
    moderated = moderation.scrub(f"窗口态度很好，有事联系 {typed} 谢谢")
    assert moderated.removed == 1
    assert moderated.text == f"窗口态度很好，有事联系 {moderation.MARK} 谢谢"


@pytest.mark.parametrize(
    "text", ["等了20分钟，办了3件事", "2026年11月20日上午", "第12345号窗口", "收费100000元"]
)
def test_moderation_keeps_ordinary_numbers(text: str) -> None:
    assert moderation.scrub(text) == moderation.Moderated(text, 0)


# -- eligibility -----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
OPEN = (NOW - timedelta(days=1), NOW + timedelta(days=1))


def _campaign(
    mode: str, codes: tuple[str, ...] = (), window: tuple[datetime, datetime] = OPEN
) -> CampaignFacts:
    return CampaignFacts(mode, window[0], window[1], codes)


def test_reverse_rating_without_a_service_contact_is_refused() -> None:
    resident = ResidentFacts(verified=True, community_code="wulihe", has_contact=False)
    assert eligibility.refusal(_campaign("reverse"), resident, NOW) == Refusal.NO_CONTACT
    served = ResidentFacts(verified=True, community_code=None, has_contact=True)
    assert eligibility.refusal(_campaign("reverse"), served, NOW) is None


def test_online_rating_is_for_verified_residents_of_the_named_communities() -> None:
    campaign = _campaign("online", ("wulihe",))
    assert eligibility.refusal(campaign, ResidentFacts(True, "wulihe", False), NOW) is None
    assert eligibility.refusal(campaign, ResidentFacts(True, "nanta", False), NOW) == Refusal.OTHER_COMMUNITY
    assert eligibility.refusal(campaign, ResidentFacts(False, "wulihe", False), NOW) == Refusal.NOT_VERIFIED
    assert eligibility.refusal(_campaign("online"), ResidentFacts(True, None, False), NOW) is None


def test_nobody_rates_before_the_opening_or_from_the_close() -> None:
    resident = ResidentFacts(True, "wulihe", True)
    later = (NOW + timedelta(hours=1), NOW + timedelta(days=1))
    assert eligibility.refusal(_campaign("reverse", window=later), resident, NOW) == Refusal.NOT_OPEN
    closed = (NOW - timedelta(days=2), NOW)
    assert eligibility.refusal(_campaign("reverse", window=closed), resident, NOW) == Refusal.CLOSED


def test_more_ratings_than_the_limit_within_the_window_are_all_flagged() -> None:
    times = [NOW + timedelta(minutes=m) for m in (0, 1, 2, 3, 30)]
    assert eligibility.bursts(times, limit=3, minutes=10) == {0, 1, 2, 3}
    assert eligibility.bursts(times, limit=4, minutes=10) == set()


def test_ratings_spread_over_time_are_not_a_burst() -> None:
    times = [NOW + timedelta(minutes=11 * i) for i in range(20)]
    assert eligibility.bursts(times, limit=1, minutes=10) == set()


def test_percentages_never_round_a_rate_up_to_the_threshold() -> None:
    assert stats.percent(Fraction(7999, 10000)) == "79.9%"
    assert stats.percent(Fraction(4, 5)) == "80.0%"
    assert stats.percent(0.833353, up=True) == "83.4%"
    assert stats.percent(1.0, up=True) == "100.0%"
    assert stats.percent(None) == "—"
