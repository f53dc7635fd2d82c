"""The selection rules as pure functions: the red line, the quorum, the 1.5x margin, trimming,
weighting, the published tie-break, the anonymised matrix and the deviation report.

Expected values are worked out by hand in the comments; properties check what must hold for any input.
"""

from __future__ import annotations

import hashlib
import json
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engage.selections.rules.margin import (
    REASON_TOO_FEW,
    MarginCheck,
    check_margins,
    margins_ok,
    rank_and_advance,
    required_candidates,
)
from engage.selections.rules.red_line import (
    REASON_BELOW,
    REASON_NO_BALLOTS,
    REASON_PASSES,
    Quorum,
    Rating,
    RedLine,
    Tally,
    judge,
    percent_text,
    quorum_report,
    tally,
)
from engage.selections.rules.scoring import (
    BY_COMBINED,
    BY_EXPERT_MEAN,
    BY_SEED_HASH,
    BY_UNTRIMMED,
    Criterion,
    Rubric,
    Score,
    TrimRule,
    aggregate,
    display_decimal,
    public_result,
    trimmed_mean,
    validate_weights,
)

PROPS = settings(max_examples=60, deadline=None)
WEIGHTS = {"expert": F(1, 2), "deputy": F(3, 10), "resident": F(1, 5)}
RULE = TrimRule()


def group_scores(group: str, candidate: int, totals: list[int], first_judge: int) -> list[Score]:
    return [Score(first_judge + i, group, candidate, t) for i, t in enumerate(totals)]


# --- the red line ----------------------------------------------------------------------------


def ratings(applicant: int, competent: int, basically: int, not_competent: int) -> list[tuple[int, Rating]]:
    return (
        [(applicant, Rating.COMPETENT)] * competent
        + [(applicant, Rating.BASICALLY_COMPETENT)] * basically
        + [(applicant, Rating.NOT_COMPETENT)] * not_competent
    )


def test_applicant_just_below_80_percent_is_disqualified_and_exactly_80_continues() -> None:
    # 40 evaluators; one left applicant 1 unrated: 31 approvals of 39 = 79.487 % fails,
    # 32 of 40 = exactly 4/5 passes.
    tallies = tally(ratings(1, 20, 11, 8) + ratings(2, 25, 7, 8))
    verdicts = {v.applicant_id: v for v in judge(tallies.values(), RedLine())}
    assert (verdicts[1].approvals, verdicts[1].ballots, verdicts[1].rate) == (31, 39, F(31, 39))
    assert not verdicts[1].passes and verdicts[1].reason == REASON_BELOW
    assert (verdicts[2].approvals, verdicts[2].ballots, verdicts[2].rate) == (32, 40, F(4, 5))
    assert verdicts[2].passes and verdicts[2].reason == REASON_PASSES


def test_a_rate_of_79_975_percent_fails_without_rounding() -> None:
    verdict = judge([Tally(7, 3199, 0, 801)], RedLine())[0]
    assert verdict.rate == F(3199, 4000) and not verdict.passes
    assert percent_text(verdict.rate) == "79.97"


def test_basically_competent_is_not_approval_when_the_setting_says_so() -> None:
    t = Tally(3, competent=28, basically_competent=8, not_competent=4)
    assert judge([t], RedLine())[0].passes  # 36/40 = 90 %
    strict = judge([t], RedLine(basically_counts_as_approval=False))[0]
    assert (strict.approvals, strict.rate, strict.passes) == (28, F(7, 10), False)


def test_applicant_without_ballots_fails_with_reason_no_ballots() -> None:
    tallies = tally(ratings(1, 5, 0, 0), applicants=[1, 2])
    assert tallies[2].ballots == 0
    verdict = judge([tallies[2]], RedLine())[0]
    assert (verdict.passes, verdict.reason, verdict.rate) == (False, REASON_NO_BALLOTS, 0)


def test_tally_accepts_rating_values_and_orders_by_applicant() -> None:
    tallies = tally([(9, "competent"), (2, "not_competent"), (9, "basically_competent")])
    assert list(tallies) == [2, 9]
    assert tallies[9] == Tally(9, 1, 1, 0)


@pytest.mark.parametrize(
    ("pairs", "applicants", "message"),
    [
        ([(1, "excellent")], None, "'excellent' is not a rating"),
        ([(1, "competent", 3)], None, r"expected \(applicant_id, rating\)"),
        ([(True, "competent")], None, "applicant_id must be an integer"),
        ([(5, "competent")], [1, 2], "applicant 5 is not in this assessment"),
    ],
)
def test_tally_refuses_malformed_ratings(
    pairs: list[tuple], applicants: list[int] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        tally(pairs, applicants)


def test_judge_refuses_two_tallies_for_one_applicant() -> None:
    with pytest.raises(ValueError, match="applicant 4 has two tallies"):
        judge([Tally(4, 1, 0, 0), Tally(4, 0, 1, 0)], RedLine())


@pytest.mark.parametrize(
    ("threshold", "message"),
    [(0, "above 0 and at most 1"), (F(11, 10), "above 0 and at most 1"), (0.8, "not float")],
)
def test_red_line_refuses_thresholds_outside_0_1_and_floats(threshold: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedLine(threshold=threshold)  # type: ignore[arg-type]


def test_tally_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="not_competent for applicant 1 must be at least 0"):
        Tally(1, 3, 0, -1)


@PROPS
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(list(Rating))), max_size=200), st.booleans())
def test_every_rating_is_counted_once_and_the_red_line_holds(
    pairs: list[tuple[int, Rating]], basically: bool
) -> None:
    tallies = tally(pairs)
    assert sum(t.ballots for t in tallies.values()) == len(pairs)
    for rating in Rating:
        field = rating.value
        assert sum(getattr(t, field) for t in tallies.values()) == sum(1 for _, r in pairs if r == rating)
    for v in judge(tallies.values(), RedLine(basically_counts_as_approval=basically)):
        # integer cross-multiplication, independent of Fraction: approvals / ballots >= 4 / 5
        assert v.passes == (v.ballots > 0 and 5 * v.approvals >= 4 * v.ballots)


def test_percent_text_truncates_to_two_decimals() -> None:
    assert percent_text(F(31, 39)) == "79.48"
    assert percent_text(F(2, 3)) == "66.66"
    assert percent_text(F(4, 5)) == "80.00"
    assert percent_text(1) == "100.00"
    assert percent_text(0) == "0.00"
    with pytest.raises(ValueError, match="between 0 and 1"):
        percent_text(F(3, 2))


@PROPS
@given(st.integers(1, 10_000).flatmap(lambda d: st.tuples(st.integers(0, d), st.just(d))))
def test_percent_text_never_shows_the_threshold_for_a_rate_below_it(pair: tuple[int, int]) -> None:
    rate = F(*pair)
    text = percent_text(rate)
    with localcontext() as ctx:
        ctx.prec = 60
        expected = (Decimal(pair[0]) * 100 / Decimal(pair[1])).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    assert Decimal(text) == expected
    assert (Decimal(text) >= Decimal("80.00")) == (rate >= F(4, 5))


# --- quorum ----------------------------------------------------------------------------------


def test_quorum_needs_two_thirds_of_each_group_rounded_up() -> None:
    report = quorum_report(
        {"street": 6, "staff": 10, "residents": 24}, {"street": 4, "staff": 6, "residents": 16}
    )
    assert [(g.group, g.required, g.met) for g in report.groups] == [
        ("street", 4, True),  # 6 * 2/3 = 4
        ("staff", 7, False),  # 10 * 2/3 = 6.67 -> 7
        ("residents", 16, True),
    ]
    assert not report.met and report.unmet == ("staff",)
    assert quorum_report({"street": 6}, {"street": 4}).met


def test_quorum_counts_missing_groups_as_zero_ballots_and_empty_groups_as_met() -> None:
    report = quorum_report({"street": 3, "staff": 0}, {}, Quorum(F(1, 2)))
    assert [(g.cast, g.required, g.met) for g in report.groups] == [(0, 2, False), (0, 0, True)]
    assert not quorum_report({}, {}).met


@pytest.mark.parametrize(
    ("invited", "cast", "message"),
    [
        ({"street": 3}, {"street": 4}, "4 ballots cast but only 3 invited"),
        ({"street": 3}, {"staff": 1}, "group 'staff' has ballots but nobody was invited"),
        ({"street": -1}, {}, "invited in group 'street' must be at least 0"),
    ],
)
def test_quorum_refuses_impossible_counts(
    invited: dict[str, int], cast: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        quorum_report(invited, cast)


# --- the 1.5x margin -------------------------------------------------------------------------


@pytest.mark.parametrize(("seats", "required"), [(1, 2), (2, 3), (3, 5), (4, 6), (5, 8)])
def test_each_post_needs_one_and_a_half_candidates_per_seat_rounded_up(seats: int, required: int) -> None:
    assert required_candidates(seats) == required


def test_margin_check_refuses_a_short_list_and_says_by_how_much() -> None:
    checks = check_margins({1: 2, 2: 1}, {1: 3, 2: 1})
    assert checks == [MarginCheck(1, 2, 3, 3, True), MarginCheck(2, 1, 1, 2, False)]
    assert (checks[1].shortfall, checks[1].reason) == (1, REASON_TOO_FEW)
    assert not margins_ok(checks)
    assert margins_ok(check_margins({1: 2, 2: 1}, {1: 3, 2: 2}))
    assert check_margins({1: 2}, {1: 3}, ratio=F(2))[0].required == 4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: required_candidates(0), "seats must be at least 1"),
        (lambda: required_candidates(2, F(1, 2)), "ratio must be at least 1"),
        (lambda: required_candidates(2, 1.5), "ratio must be an integer or a Fraction, not float"),
        (lambda: check_margins({1: 2}, {3: 4}), "post 3, which is not in this selection"),
        (lambda: check_margins({1: 2}, {1: -1}), "candidates of post 1 must be at least 0"),
    ],
)
def test_margin_rules_refuse_bad_input(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --- trimming --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "each_side"),
    [(0, 0), (1, 0), (2, 0), (3, 1), (9, 1), (10, 1), (19, 1), (20, 2), (29, 2), (30, 3), (53, 5), (55, 5)],
)
def test_trim_drops_one_each_side_up_to_nine_then_ten_percent_rounded_down(n: int, each_side: int) -> None:
    assert RULE.trim_count(n) == each_side


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 70, 72, 74, 76, 78, 80, 82, 100], F(76)),  # 9 raters: drop 1 and 100
        ([0, 60, 62, 64, 66, 68, 70, 72, 74, 100], F(67)),  # 10 raters: drop 0 and 100, 536 / 8
        ([*range(1, 19), 50, 60], F(21, 2)),  # 20 raters: drop 1, 2 and 50, 60, mean of 3..18
        ([*range(1, 55), 1000], F(28)),  # 55 raters: drop 1..5 and 51..54, 1000; mean of 6..50
        ([10, 25], F(35, 2)),  # 2 raters: nothing dropped
        ([7, 100, 0], F(7)),  # 3 raters: the middle one
    ],
)
def test_trimmed_mean_matches_hand_computed_values(values: list[int], expected: F) -> None:
    assert trimmed_mean(values, RULE) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"large_group_share": F(1, 2)}, "below 1/2"),
        ({"large_group_share": 0.1}, "not float"),
        ({"small_group_trim": -1}, "small_group_trim must be at least 0"),
    ],
)
def test_trim_rule_refuses_shares_that_could_drop_everything(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrimRule(**kwargs)  # type: ignore[arg-type]


def test_a_configured_trim_never_leaves_nothing() -> None:
    greedy = TrimRule(small_group_max=9, small_group_trim=4, large_group_share=F(2, 5))
    assert [greedy.trim_count(n) for n in (1, 2, 3, 4, 5, 9, 10, 11)] == [0, 0, 1, 1, 2, 4, 4, 4]


values_strategy = st.lists(
    st.one_of(st.integers(0, 100), st.fractions(min_value=0, max_value=100, max_denominator=12)),
    min_size=1,
    max_size=70,
)


@PROPS
@given(values_strategy)
def test_trimmed_mean_lies_between_the_lowest_and_highest_score(values: list[F]) -> None:
    assert min(values) <= trimmed_mean(values, RULE) <= max(values)
    assert 2 * RULE.trim_count(len(values)) < len(values)


@PROPS
@given(values_strategy, st.randoms(use_true_random=False))
def test_trimmed_mean_ignores_the_order_of_scores(values: list[F], rnd: object) -> None:
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert trimmed_mean(shuffled, RULE) == trimmed_mean(values, RULE)


@PROPS
@given(values_strategy)
def test_adding_a_score_equal_to_the_trimmed_mean_keeps_it_when_the_trim_count_stays(values: list[F]) -> None:
    mean = trimmed_mean(values, RULE)
    if RULE.trim_count(len(values) + 1) == RULE.trim_count(len(values)):
        assert trimmed_mean([*values, mean], RULE) == mean


@PROPS
@given(values_strategy, st.integers(0, 50))
def test_adding_the_same_points_to_every_score_shifts_the_trimmed_mean_by_them(
    values: list[F], shift: int
) -> None:
    assert trimmed_mean([v + shift for v in values], RULE) == trimmed_mean(values, RULE) + shift


# --- rubric ----------------------------------------------------------------------------------

RUBRIC = Rubric((Criterion("knowledge", 40), Criterion("communication", 30), Criterion("integrity", 30)))


def test_rubric_totals_valid_points() -> None:
    assert RUBRIC.max_total == 100
    assert RUBRIC.validate({"knowledge": 40, "communication": 0, "integrity": 17}) == []
    assert RUBRIC.total({"knowledge": 40, "communication": 0, "integrity": 17}) == 57


def test_rubric_names_each_criterion_that_is_wrong() -> None:
    errors = RUBRIC.validate({"knowledge": 41, "integrity": 2.5, "charisma": 5, "communication": True})
    assert errors == [
        "out_of_range:knowledge",
        "not_integer:communication",
        "not_integer:integrity",
        "unknown:charisma",
    ]
    assert RUBRIC.validate({"knowledge": -1, "communication": 3}) == [
        "out_of_range:knowledge",
        "missing:integrity",
    ]
    with pytest.raises(ValueError, match="out_of_range:knowledge"):
        RUBRIC.total({"knowledge": 41, "communication": 0, "integrity": 0})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Rubric(()), "at least one criterion"),
        (lambda: Rubric((Criterion("a", 5), Criterion("a", 3))), "'a' appears twice"),
        (lambda: Criterion("a", -1), "max_points of criterion 'a' must be at least 0"),
        (lambda: Criterion("", 5), "non-empty string"),
    ],
)
def test_rubric_refuses_malformed_criteria(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


# --- aggregation -----------------------------------------------------------------------------


def three_candidates() -> list[Score]:
    """Hand-computed with weights expert 1/2, deputy 3/10, resident 1/5.

    A (10): expert 70 80 85 90 100 -> 85; deputy 60 90 -> 75; resident 50 60 70 -> 60;
            combined 42.5 + 22.5 + 12 = 77.
    B (11): expert 75 x5 -> 75; deputy 80 80 -> 80; resident 95 x3 -> 95; 37.5 + 24 + 19 = 80.5.
    C (12): both deputies conflicted. expert 85 x5; resident 60 x3;
            (42.5 + 12) / (1/2 + 1/5) = 545/7 = 77.857...
    """
    return [
        *group_scores("expert", 10, [70, 80, 85, 90, 100], 1),
        *group_scores("deputy", 10, [60, 90], 21),
        *group_scores("resident", 10, [50, 60, 70], 31),
        *group_scores("expert", 11, [75] * 5, 1),
        *group_scores("deputy", 11, [80, 80], 21),
        *group_scores("resident", 11, [95] * 3, 31),
        *group_scores("expert", 12, [85] * 5, 1),
        *group_scores("resident", 12, [60] * 3, 31),
    ]


def test_groups_are_trimmed_averaged_and_combined_with_published_weights() -> None:
    result = aggregate(three_candidates(), WEIGHTS, RULE, "seed")
    assert result.candidate_order == (11, 12, 10)
    assert [c.combined for c in result.ranking] == [F(161, 2), F(545, 7), F(77)]
    a = result.candidate(10)
    expert = a.group("expert")
    assert expert is not None
    assert (expert.trim, expert.dropped_low, expert.dropped_high) == (1, (1,), (5,))
    assert (expert.trimmed_mean, expert.untrimmed_mean) == (F(85), F(85))
    assert [(g.group, g.trimmed_mean) for g in a.groups] == [("expert", 85), ("deputy", 75), ("resident", 60)]
    assert result.candidate(12).group("deputy") is None
    assert [c.decided_by for c in result.ranking] == [None, BY_COMBINED, BY_COMBINED]
    assert display_decimal(result.candidate(12).combined) == "77.86"


def test_equal_scores_at_the_edges_are_dropped_by_judge_id() -> None:
    result = aggregate(group_scores("expert", 1, [80] * 5, 1), {"expert": F(1)}, RULE, "s")
    group = result.candidate(1).groups[0]
    assert (group.dropped_low, group.dropped_high, group.trimmed_mean) == ((1,), (5,), F(80))


def test_a_tie_on_combined_score_goes_to_the_higher_expert_mean() -> None:
    weights = {"expert": F(1, 2), "deputy": F(1, 2)}
    scores = [
        Score(1, "expert", 5, 70),
        Score(2, "deputy", 5, 80),
        Score(1, "expert", 6, 80),
        Score(2, "deputy", 6, 70),
    ]
    result = aggregate(scores, weights, RULE, "seed")
    assert result.candidate_order == (6, 5)
    assert result.ranking[1].decided_by == BY_EXPERT_MEAN


def test_a_candidate_the_experts_scored_ranks_above_an_equal_one_they_did_not() -> None:
    weights = {"expert": F(1, 2), "deputy": F(1, 2)}
    scores = [Score(2, "deputy", 5, 70), Score(1, "expert", 6, 70), Score(2, "deputy", 6, 70)]
    result = aggregate(scores, weights, RULE, "seed")
    assert result.candidate_order == (6, 5)
    assert result.ranking[1].decided_by == BY_EXPERT_MEAN


def test_then_the_higher_untrimmed_mean_wins() -> None:
    # both trimmed means are 60; the untrimmed means are 58 (candidate 7) and 60 (candidate 8)
    scores = group_scores("expert", 7, [10, 50, 60, 70, 100], 1) + group_scores("expert", 8, [60] * 5, 1)
    result = aggregate(scores, {"expert": F(1)}, RULE, "seed")
    assert result.candidate_order == (8, 7)
    assert result.ranking[1].decided_by == BY_UNTRIMMED


@pytest.mark.parametrize("seed", ["2026-11-26 draw", "other", "选拔"])
def test_a_complete_tie_is_ordered_by_the_published_seed_hash(seed: str) -> None:
    candidates = [3, 14, 15, 92, 65]
    scores = [Score(1, "expert", c, 50) for c in candidates]
    result = aggregate(scores, {"expert": F(1)}, RULE, seed)
    by_hash = sorted(candidates, key=lambda c: hashlib.sha256(f"{seed}:{c}".encode()).hexdigest())
    assert list(result.candidate_order) == by_hash
    assert [c.decided_by for c in result.ranking][1:] == [BY_SEED_HASH] * 4


def test_judges_get_pseudonyms_by_group_then_id_and_absences_stay_empty() -> None:
    scores = [
        Score(3, "resident", 1, 60),
        Score(9, "expert", 1, 90),
        Score(5, "deputy", 1, 70),
        Score(2, "expert", 2, 80),  # judge 2 is conflicted with candidate 1
        Score(9, "expert", 2, 70),
    ]
    result = aggregate(scores, WEIGHTS, RULE, "seed")
    assert result.pseudonyms == {2: "J01", 9: "J02", 5: "J03", 3: "J04"}
    assert result.candidate_order == (1, 2)  # 1: (45 + 21 + 12) = 78; 2: 75
    assert [(r.pseudonym, r.group, r.cells) for r in result.matrix] == [
        ("J01", "expert", (None, F(80))),
        ("J02", "expert", (F(90), F(70))),
        ("J03", "deputy", (F(70), None)),
        ("J04", "resident", (F(60), None)),
    ]
    many = aggregate([Score(j, "expert", 1, 5) for j in range(120)], {"expert": F(1)}, RULE, "s")
    assert many.pseudonyms[0] == "J001" and many.pseudonyms[119] == "J120"


def test_the_matrix_marks_trimmed_scores() -> None:
    result = aggregate(group_scores("expert", 1, [70, 80, 85, 90, 100], 1), {"expert": F(1)}, RULE, "s")
    assert [r.dropped for r in result.matrix] == [(True,), (False,), (False,), (False,), (True,)]


def test_deviation_report_flags_judges_far_from_their_group() -> None:
    # candidate 1: trimmed mean 85 (70 and 100 dropped); candidate 2: 75 x5, trimmed mean 75
    scores = group_scores("expert", 1, [70, 80, 85, 90, 100], 1) + group_scores("expert", 2, [75] * 5, 1)
    result = aggregate(scores, {"expert": F(1)}, RULE, "s", deviation_threshold=F(15, 2))
    report = {d.judge_id: d for d in result.deviations}
    assert report[1].mean_abs_deviation == F(15, 2)  # (15 + 0) / 2, not above 7.5
    assert report[1].mean_signed_deviation == F(-15, 2)
    assert report[5].mean_abs_deviation == F(15, 2)
    assert report[3].mean_abs_deviation == 0
    assert not any(d.flagged for d in result.deviations)
    strict = aggregate(scores, {"expert": F(1)}, RULE, "s", deviation_threshold=7)
    assert sorted(d.judge_id for d in strict.deviations if d.flagged) == [1, 5]
    assert [d.pseudonym for d in strict.deviations] == ["J01", "J02", "J03", "J04", "J05"]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (
            {"expert": F(1, 2), "deputy": F(1, 4)},
            r"weights must sum to 1, they sum to 3/4 \(expert=1/2, deputy=1/4\)",
        ),
        ({"expert": F(3, 2), "deputy": F(-1, 2)}, "weight for group 'deputy' must be positive"),
        (
            {"expert": 0.5, "deputy": F(1, 2)},
            "weight for group 'expert' must be an integer or a Fraction, not float",
        ),
        ({}, "at least one group"),
    ],
)
def test_weights_must_be_positive_and_sum_to_one(weights: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_weights(weights)


@pytest.mark.parametrize(
    ("scores", "seed", "message"),
    [
        ([(1, "experts", 1, 5)], "s", "group 'experts' has no weight"),
        (
            [(1, "expert", 1, 5), (1, "expert", 1, 6)],
            "s",
            "judge 1 for candidate 1: a judge scores a candidate once",
        ),
        ([(1, "expert", 1, 5), (1, "deputy", 2, 6)], "s", "judge 1 appears in groups 'expert' and 'deputy'"),
        ([(1, "expert", 1, 7.5)], "s", "total must be an integer or a Fraction, not float"),
        ([(1, "expert", 1, -1)], "s", "total must be at least 0"),
        ([(1, "expert", 1)], "s", "expected \\(judge_id, group, candidate_id, total\\)"),
        ([(1, "expert", 1, 5)], "", "tie_break_seed must be a non-empty string"),
    ],
)
def test_aggregate_refuses_malformed_scores(scores: list[tuple], seed: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        aggregate(scores, WEIGHTS, RULE, seed)


def test_no_scores_give_an_empty_ranking() -> None:
    result = aggregate([], WEIGHTS, RULE, "s")
    assert result.ranking == () and result.matrix == () and result.deviations == ()


score_rows = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 6), st.integers(0, 100)),
    unique_by=lambda r: (r[0], r[1]),
    max_size=150,
).map(lambda rows: [Score(j, ("expert", "deputy", "resident")[j % 3], c, t) for j, c, t in rows])


@PROPS
@given(score_rows, st.randoms(use_true_random=False))
def test_aggregation_ignores_the_order_scores_arrive_in(scores: list[Score], rnd: object) -> None:
    shuffled = list(scores)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert aggregate(shuffled, WEIGHTS, RULE, "seed", deviation_threshold=10) == aggregate(
        scores, WEIGHTS, RULE, "seed", deviation_threshold=10
    )


@PROPS
@given(score_rows)
def test_ranking_follows_the_combined_score_and_the_matrix_holds_every_score(scores: list[Score]) -> None:
    result = aggregate(scores, WEIGHTS, RULE, "seed")
    combined = [c.combined for c in result.ranking]
    assert combined == sorted(combined, reverse=True)
    assert [c.rank for c in result.ranking] == list(range(1, len(result.ranking) + 1))
    assert sum(cell is not None for row in result.matrix for cell in row.cells) == len(scores)
    for c in result.ranking:
        values = [g.trimmed_mean for g in c.groups]
        assert min(values) <= c.combined <= max(values)
        for g in c.groups:
            assert len(g.dropped) == 2 * RULE.trim_count(len(g.scores))
    assert sum(d.scored for d in result.deviations) == len(scores)


def test_the_published_result_is_plain_json_without_judge_ids() -> None:
    scores = [*three_candidates(), Score(4242, "expert", 12, F(169, 2))]
    result = aggregate(scores, WEIGHTS, RULE, "seed", deviation_threshold=1)
    published = json.loads(json.dumps(public_result(result)))
    assert published["weights"] == {"expert": "1/2", "deputy": "3/10", "resident": "1/5"}
    assert published["trim"] == {"small_group_max": 9, "small_group_trim": 1, "large_group_share": "1/10"}
    top = published["ranking"][0]
    assert (top["candidate_id"], top["combined"]) == (11, {"exact": "161/2", "display": "80.50"})
    assert [F(r["combined"]["exact"]) for r in published["ranking"]] == [c.combined for c in result.ranking]
    assert published["matrix"]["candidates"] == list(result.candidate_order)
    rows = published["matrix"]["rows"]
    assert [row["judge"] for row in rows] == sorted(result.pseudonyms.values())
    assert "judge_id" not in json.dumps(published) and "deviation" not in json.dumps(published)
    assert "169/2" in [cell for row in rows for cell in row["scores"]]


# --- cutting the ranked list -----------------------------------------------------------------


def test_the_top_candidates_advance_in_rank_order() -> None:
    result = aggregate(three_candidates(), WEIGHTS, RULE, "seed")
    advancing = rank_and_advance(result, 2)
    assert [(a.candidate_id, a.rank, a.advances) for a in advancing] == [
        (11, 1, True),
        (12, 2, True),
        (10, 3, False),
    ]
    assert all(a.advances for a in rank_and_advance(result, 5))


def test_one_posts_list_is_renumbered_from_one() -> None:
    result = aggregate(three_candidates(), WEIGHTS, RULE, "seed")
    post = rank_and_advance(result, 1, candidate_ids=[10, 12])
    assert [(a.candidate_id, a.rank, a.advances, a.decided_by) for a in post] == [
        (12, 1, True, None),
        (10, 2, False, BY_COMBINED),
    ]


def test_a_tie_at_the_cut_is_decided_by_the_published_rule() -> None:
    scores = [Score(1, "expert", c, 50) for c in (1, 2, 3)]
    result = aggregate(scores, {"expert": F(1)}, RULE, "cut")
    advancing = rank_and_advance(result, 1)
    assert sum(a.advances for a in advancing) == 1
    assert advancing[1].tied_on_score and advancing[1].decided_by == BY_SEED_HASH


def test_rank_and_advance_refuses_unscored_candidates_and_negative_counts() -> None:
    result = aggregate(three_candidates(), WEIGHTS, RULE, "seed")
    with pytest.raises(ValueError, match=r"candidates without any score cannot be ranked: \[99\]"):
        rank_and_advance(result, 1, candidate_ids=[10, 99])
    with pytest.raises(ValueError, match="advance must be at least 0"):
        rank_and_advance(result, -1)


# --- display ---------------------------------------------------------------------------------


def test_display_decimal_rounds_half_up() -> None:
    assert display_decimal(F(1, 8)) == "0.13"
    assert display_decimal(F(-1, 8)) == "-0.13"
    assert display_decimal(F(-1, 1000)) == "0.00"
    assert display_decimal(85) == "85.00"
    assert display_decimal(F(545, 7)) == "77.86"
    assert display_decimal(F(5, 2), places=0) == "3"


@PROPS
@given(st.fractions(min_value=-1000, max_value=1000, max_denominator=10**6), st.integers(0, 4))
def test_display_decimal_agrees_with_decimal_half_up(value: F, places: int) -> None:
    with localcontext() as ctx:
        ctx.prec = 80
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        expected = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = display_decimal(value, places)
    assert Decimal(text) == expected
    assert text == (format(expected, "f") if expected != 0 else format(abs(expected), "f"))
