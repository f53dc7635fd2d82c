"""What the selections API answers, as typed documents: the OpenAPI document describes each one, and
`msgspec.convert` checks every answer against it, so the document cannot drift from what is served.
Numbers the rules compute exactly travel as text: a fraction "4/5" or a two-decimal "82.85"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta, Struct

from engage.selections.models import (
    ApplicantStatus,
    ConsentStatus,
    InvitationStage,
    SelectionStatus,
    StageKind,
    StageStatus,
)

Fraction = Annotated[str, Meta(description="an exact fraction, e.g. 4/5", examples=["4/5"])]
Instant = Annotated[datetime, Meta(tz=True)]  # always with its offset; /schema says date-time
Decimal2 = Annotated[str, Meta(description="a number shown with two decimals", examples=["82.85"])]

S = TypeVar("S")


def typed(kind: type[S], value: Any) -> S:
    """The answer as its documented type; a member missing or of the wrong type fails loudly here."""
    return msgspec.convert(value, kind, from_attributes=True)


class SelectionRules(Struct):
    threshold: Fraction
    basically_counts: bool
    quorum: Fraction
    margin: Fraction
    trim_small_max: int
    trim_small: int
    trim_large_share: Fraction
    jury_weights: Annotated[dict[str, Fraction], Meta(description="by jury group: expert, deputy, resident")]
    speech_weights: Annotated[dict[str, Fraction], Meta(description="by speech rater group: staff, resident")]
    speech_max_points: int
    tie_break_seed: str | None = None


class Criterion(Struct):
    code: str
    max_points: int
    name_zh: str = ""
    name_en: str = ""


class SelectionPost(Struct):
    id: int
    title: str
    seats: int
    conditions: str


class StageOut(Struct):
    kind: StageKind
    status: StageStatus
    opens_at: Instant
    closes_at: Instant
    opened_at: Instant | None
    closed_at: Instant | None
    notice_id: int | None
    appointed_notice_id: int | None = None


class ApplicantOut(Struct):
    id: int
    post_id: int
    name: str
    status: ApplicantStatus
    reason: str | None = None


class PublicTally(Struct):
    """A consenting nominee by name, or (`withheld`) the count of a post's other nominees."""

    post_id: int
    name: str | None
    nominee_id: int | None = None
    deputies: int | None = None
    residents: int | None = None
    total: int | None = None
    withheld: bool = False
    nominees: int | None = None
    nominations: int | None = None


class NominationOutcome(Struct):
    nominations: int
    tallies: list[PublicTally] = []


class QuorumGroup(Struct):
    group: str
    invited: int
    cast: int
    required: int
    met: bool


class Verdict(Struct):
    applicant_id: int
    name: str
    post_id: int
    competent: int
    basically_competent: int
    not_competent: int
    ballots: int
    approvals: int
    rate: Fraction
    percent: Decimal2
    threshold: Fraction
    basically_counts: bool
    passes: bool
    reason: str


class AssessmentRule(Struct):
    threshold: Fraction
    basically_counts: bool


class AssessmentOutcome(Struct):
    rule: AssessmentRule
    quorum: list[QuorumGroup]
    verdicts: list[Verdict]


class SpeechPlace(Struct):
    applicant_id: int
    name: str
    rank: int
    score: Decimal2
    advances: bool
    decided_by: str | None = None


class SpeechPost(Struct):
    post_id: int
    advance: int
    ranking: list[SpeechPlace]


class SpeechOutcome(Struct):
    posts: list[SpeechPost]
    weights: dict[str, Fraction]


class GroupMean(Struct):
    group: str
    weight: Fraction
    raters: int
    trimmed_each_side: int
    trimmed_mean: Decimal2
    trimmed_mean_exact: Fraction


class InterviewPlace(Struct):
    applicant_id: int
    name: str
    rank: int
    combined: Decimal2
    combined_exact: Fraction
    groups: list[GroupMean]
    decided_by: str | None = None


class MatrixRow(Struct):
    judge: str
    group: str
    cells: Annotated[list[Decimal2 | None], Meta(description="one per candidate; null: did not score")]
    dropped: Annotated[list[bool], Meta(description="the cell was trimmed")]


class ScoreMatrix(Struct):
    candidates: list[str]
    rows: list[MatrixRow]


class InterviewPost(Struct):
    post_id: int
    ranking: list[InterviewPlace]
    matrix: ScoreMatrix


class TrimRule(Struct):
    small_group_max: int
    small_group_trim: int
    large_group_share: Fraction


class JurorProgress(Struct):
    jurors: int
    submitted: int
    absent: int
    outstanding: int


class InterviewOutcome(Struct):
    posts: list[InterviewPost]
    weights: dict[str, Fraction]
    trim: TrimRule
    jurors: JurorProgress


class ResultOutcome(Struct):
    proposed: Annotated[list[str], Meta(description="`post: name` of each proposed appointee")]


class Tally(Struct):
    nominee_id: int
    post_id: int
    name: str
    work_unit: str
    consent: ConsentStatus
    deputies: int
    residents: int
    total: int


class Turnout(Struct):
    invited: dict[str, int]
    cast: dict[str, int]


class Margin(Struct):
    post_id: int
    seats: int
    candidates: int
    required: int
    ok: bool


class JudgeDeviation(Struct):
    judge_id: int
    pseudonym: str
    group: str
    scored: int
    mean_abs_deviation: Decimal2
    mean_signed_deviation: Decimal2
    flagged: bool


class PostDeviation(Struct):
    post_id: int
    deviation: list[JudgeDeviation]


class SelectionOut(Struct):
    """A selection as organizers see it: the public view, plus nominee tallies with names awaiting
    consent, turnout, jurors' progress, margins and the per-judge deviation report. A stage's outcome
    member (`nominations` … `result`) appears once that stage has closed."""

    id: int
    title: str
    title_zh: str
    title_en: str
    unit: str
    unit_category: str
    status: SelectionStatus
    eligibility: str
    rules: SelectionRules
    rubric: list[Criterion]
    posts: list[SelectionPost]
    stages: list[StageOut]
    applicants: list[ApplicantOut]
    posts_notice_id: int | None
    panel_id: int | None
    all_tallies: list[Tally]
    turnout: Annotated[dict[InvitationStage, Turnout], Meta(description="by stage, then by group")]
    jurors: JurorProgress
    margins: list[Margin]
    blocked: dict[StageKind, str | None]
    nominations: NominationOutcome | None = None
    assessment: AssessmentOutcome | None = None
    speech: SpeechOutcome | None = None
    interview: InterviewOutcome | None = None
    result: ResultOutcome | None = None
    deviation: list[PostDeviation] | None = None


class SelectionSummary(Struct):
    id: int
    title_zh: str
    title_en: str
    status: SelectionStatus


class ApplicantAdded(Struct):
    id: int
    post_id: int
    name: str
    status: ApplicantStatus


class ApplicantStatusOut(Struct):
    id: int
    status: ApplicantStatus
    reason: str | None


class InvitationsSent(Struct):
    invited: int
    stage: InvitationStage


class NomineeConsent(Struct):
    id: int
    consent: ConsentStatus


class SelectionPanel(Struct):
    id: int
    panel_id: int | None


class JurorOut(Struct):
    id: int
    pseudonym: str
    group: str
    absent: bool
    submitted: bool
    conflicts: Annotated[list[int], Meta(description="applicant ids the juror declared a conflict with")]


class JurorAbsence(Struct):
    id: int
    absent: bool


class JurorConflicts(Struct):
    id: int
    conflicts: list[int]


class NominationOut(Struct):
    post_id: int
    nominee_id: int
    changed: Annotated[bool, Meta(description="true when this replaced the resident's earlier nomination")]


class Candidate(Struct):
    id: int
    name: str
    post_id: int


class LinkView(Struct):
    """What a personal ballot or speech link opens: the candidates, and whether it was used."""

    selection_id: int
    title_zh: str
    title_en: str
    stage: StageStatus
    closes_at: Instant
    applicants: list[Candidate]
    used: bool


class Cast(Struct):
    cast: bool


class Submitted(Struct):
    submitted: bool


class ScoreSheet(Struct):
    """A juror's scoring sheet: the candidates to score on each criterion, minus declared conflicts."""

    selection_id: int
    title: str
    stage: StageStatus
    candidates: list[Candidate]
    conflicted: list[int]
    rubric: list[Criterion]
    submitted: bool
    absent: bool
