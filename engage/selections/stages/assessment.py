"""Democratic assessment and speech ratings: personal links for invited evaluators, the secret ballot,
the red line at the close, the 1.5x margin before the speech stage and the ranked list after it.

The assessment ballot is secret: a ballot only increments counters per applicant, evaluator group and
rating (AssessmentCount) and marks the invitation as used in the same transaction; no row ties a rating
to a person."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engage import links
from engage.audit.services import record
from engage.db import utcnow
from engage.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleBroken
from engage.i18n import gettext as _
from engage.jobs import After
from engage.links import new_token, token_hash
from engage.residents.models import Resident, ResidentRole, ResidentRoleKind
from engage.residents.notice_kinds import NoticeKind
from engage.selections import labels, services
from engage.selections.models import (
    Applicant,
    ApplicantStatus,
    AssessmentCount,
    Invitation,
    InvitationStage,
    Selection,
    SpeechScore,
    StageKind,
    StageStatus,
)
from engage.selections.rules import margin as differential
from engage.selections.rules import red_line as assessment
from engage.selections.rules import scoring
from engage.selections.rules.config import EVALUATOR_GROUPS, RATER_GROUPS, Rules
from engage.settings import Settings
from engage.sms.services import queue_message
from engage.sms.texts import render

LINK_PATHS = {InvitationStage.ASSESSMENT: "b", InvitationStage.SPEECH: "r"}


def link(settings: Settings, path: str, token: str) -> str:
    return links.url(settings.public_base_url, path, token)


def _is_evaluator(session: Session, resident_id: int | None) -> bool:
    if resident_id is None:
        return False
    row = session.execute(
        select(ResidentRole.id)
        .join(Resident, Resident.id == ResidentRole.resident_id)
        .where(
            ResidentRole.resident_id == resident_id,
            ResidentRole.role == ResidentRoleKind.EVALUATOR,
            ResidentRole.withdrawn_at.is_(None),
            Resident.verified_at.is_not(None),
            Resident.phone.is_not(None),
        )
    ).first()
    return row is not None


@dataclass(frozen=True)
class Invitee:
    resident_id: int
    group: str


def invite(
    session: Session,
    actor: str,
    selection_id: int,
    stage: InvitationStage,
    invitees: Sequence[Invitee],
    settings: Settings,
) -> tuple[list[Invitation], After]:
    """Invite evaluators (assessment) or speech raters; each gets a personal link by SMS at once."""
    selection = services.get_selection(session, selection_id, for_update=True)
    kind = StageKind(stage)
    if selection.stage(kind).status == StageStatus.CLOSED:
        raise Conflict("stage", _("The %(stage)s stage is closed.") % {"stage": kind}, code="stage_closed")
    groups = EVALUATOR_GROUPS if stage == InvitationStage.ASSESSMENT else RATER_GROUPS
    if not invitees:
        raise InvalidInput("invitees", "invite at least one person")
    seen: set[int] = set()
    after = After()
    invitations = []
    for index, invitee in enumerate(invitees):
        where = f"invitees[{index}]"
        if invitee.group not in groups:
            raise InvalidInput(f"{where}.group", f"unknown group; use {', '.join(groups)}")
        if invitee.resident_id in seen:
            raise RuleBroken(f"{where}.resident_id", "listed twice")
        seen.add(invitee.resident_id)
        if session.get(Resident, invitee.resident_id) is None:
            raise NotFound(f"{where}.resident_id", f"no resident {invitee.resident_id}")
        if not _is_evaluator(session, invitee.resident_id):
            raise Conflict(
                f"{where}.resident_id", _("Not a verified resident with the evaluator role (consent given).")
            )
        already = session.execute(
            select(Invitation.id).where(
                Invitation.selection_id == selection.id,
                Invitation.stage == stage,
                Invitation.resident_id == invitee.resident_id,
            )
        ).first()
        if already is not None:
            raise Conflict(f"{where}.resident_id", _("Already invited."), code="already_invited")
    for invitee in invitees:
        token, hashed = new_token()
        invitation = Invitation(
            selection_id=selection.id,
            stage=stage,
            resident_id=invitee.resident_id,
            group=invitee.group,
            token_hash=hashed,
        )
        session.add(invitation)
        session.flush()
        invitations.append(invitation)
        resident = session.get(Resident, invitee.resident_id)
        assert resident is not None and resident.phone is not None
        if resident.sms_opt_out_at is not None:  # invited all the same; a stopped number gets no text
            record(
                session, actor, f"selection.{stage}.invite", "selection", selection.id, _untexted(invitation)
            )
            continue
        body = render(
            f"selection_{stage}_invite",
            resident.locale,
            settings.sms_signature,
            title=selection.title(resident.locale),
            closes=selection.stage(kind).closes_at.astimezone(settings.tz).strftime("%m-%d %H:%M"),
            link=link(settings, LINK_PATHS[stage], token),
        )
        message = queue_message(session, actor, resident.phone, body, settings.default_region)
        after.texts.append(message.id)
        record(
            session,
            actor,
            f"selection.{stage}.invite",
            "selection",
            selection.id,
            {"invitation_id": invitation.id, "group": invitee.group},
        )
    return invitations, after


def _untexted(invitation: Invitation) -> dict[str, Any]:
    return {"invitation_id": invitation.id, "group": invitation.group, "texted": False}


@dataclass(frozen=True)
class Ballot:
    """What a link opens: the selection, the stage and the applicants to rate."""

    invitation: Invitation
    selection: Selection
    applicants: list[Applicant]


def open_link(session: Session, stage: InvitationStage, token: str) -> Ballot:
    invitation = session.execute(
        select(Invitation).where(Invitation.token_hash == token_hash(token), Invitation.stage == stage)
    ).scalar_one_or_none()
    if invitation is None:
        raise NotFound("token", _("This link is not valid; check that it was copied whole."))
    selection = services.get_selection(session, invitation.selection_id)
    applicants = services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)
    return Ballot(invitation, selection, applicants)


def _usable(session: Session, ballot: Ballot, kind: StageKind) -> None:
    services.require_open(ballot.selection, kind)
    if not _is_evaluator(session, ballot.invitation.resident_id):
        raise Forbidden("token", _("This link belongs to someone who is no longer an evaluator."))
    if ballot.invitation.voted_at is not None:
        raise Conflict(
            "token",
            _("This ballot has already been cast; each evaluator votes once."),
            code="ballot_already_cast",
        )


def _covering(ballot: Ballot, given: Mapping[int, Any], field_name: str) -> None:
    expected = {applicant.id for applicant in ballot.applicants}
    for applicant_id in given:
        if applicant_id not in expected:
            raise InvalidInput(f"{field_name}.{applicant_id}", _("Not an applicant on this ballot."))
    for applicant_id in sorted(expected - set(given)):
        raise InvalidInput(f"{field_name}.{applicant_id}", _("Rate every applicant on the ballot."))


def _mark_voted(session: Session, invitation: Invitation) -> None:
    used = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.voted_at.is_(None))
        .values(voted_at=utcnow())
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "token",
            _("This ballot has already been cast; each evaluator votes once."),
            code="ballot_already_cast",
        )


def cast_ballot(session: Session, token: str, ratings: Mapping[int, str]) -> None:
    ballot = open_link(session, InvitationStage.ASSESSMENT, token)
    _usable(session, ballot, StageKind.ASSESSMENT)
    _covering(ballot, ratings, "ratings")
    checked: dict[int, assessment.Rating] = {}
    for applicant_id, rating in ratings.items():
        try:
            checked[applicant_id] = assessment.Rating(rating)
        except ValueError:
            options = ", ".join(r.value for r in assessment.Rating)
            raise InvalidInput(
                f"ratings.{applicant_id}", _("Choose one of: %(options)s.") % {"options": options}
            ) from None
    _mark_voted(session, ballot.invitation)
    group = ballot.invitation.group
    for applicant_id, rating in checked.items():
        session.execute(
            update(AssessmentCount)
            .where(
                AssessmentCount.applicant_id == applicant_id,
                AssessmentCount.group == group,
                AssessmentCount.rating == rating,
            )
            .values(count=AssessmentCount.count + 1)
        )
    record(
        session,
        "evaluator",  # never who: the ballot is secret
        "selection.ballot.cast",
        "selection",
        ballot.selection.id,
        {"group": group},
    )


def submit_speech_scores(session: Session, token: str, points: Mapping[int, int]) -> None:
    ballot = open_link(session, InvitationStage.SPEECH, token)
    _usable(session, ballot, StageKind.SPEECH)
    _covering(ballot, points, "points")
    top = services.rules_of(ballot.selection).speech_max_points
    for applicant_id, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise InvalidInput(
                f"points.{applicant_id}", _("Enter a whole number from 0 to %(max)s.") % {"max": top}
            )
    _mark_voted(session, ballot.invitation)
    session.add_all(
        SpeechScore(
            selection_id=ballot.selection.id,
            invitation_id=ballot.invitation.id,
            applicant_id=applicant_id,
            points=value,
        )
        for applicant_id, value in points.items()
    )
    record(
        session,
        f"rater:{ballot.invitation.id}",
        "selection.speech.score",
        "selection",
        ballot.selection.id,
        {"invitation_id": ballot.invitation.id},
    )


# --- the assessment stage -------------------------------------------------------------------------


def open_assessment(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    applicants = services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)
    if not applicants:
        raise Conflict("applicants", _("Add the applicants before the assessment opens."))
    session.add_all(
        AssessmentCount(selection_id=selection.id, applicant_id=a.id, group=group, rating=rating, count=0)
        for a in applicants
        for group in EVALUATOR_GROUPS
        for rating in assessment.Rating
    )
    return After()


def _turnout(
    session: Session, selection_id: int, stage: InvitationStage
) -> tuple[dict[str, int], dict[str, int]]:
    rows = session.execute(
        select(Invitation.group, func.count(), func.count(Invitation.voted_at))
        .where(Invitation.selection_id == selection_id, Invitation.stage == stage)
        .group_by(Invitation.group)
    ).all()
    invited = {str(group): int(n) for group, n, _ in rows}
    cast = {str(group): int(voted) for group, _, voted in rows}
    return invited, cast


def assessment_tallies(session: Session, selection_id: int) -> dict[int, assessment.Tally]:
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(AssessmentCount.applicant_id, AssessmentCount.rating, func.sum(AssessmentCount.count))
        .where(AssessmentCount.selection_id == selection_id)
        .group_by(AssessmentCount.applicant_id, AssessmentCount.rating)
    ).all()
    for applicant_id, rating, count in rows:
        counts.setdefault(int(applicant_id), {})[str(rating)] = int(count or 0)
    return {
        applicant_id: assessment.Tally(
            applicant_id=applicant_id,
            competent=by.get(assessment.Rating.COMPETENT, 0),
            basically_competent=by.get(assessment.Rating.BASICALLY_COMPETENT, 0),
            not_competent=by.get(assessment.Rating.NOT_COMPETENT, 0),
        )
        for applicant_id, by in counts.items()
    }


def close_assessment(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    rules = services.rules_of(selection)
    invited, cast = _turnout(session, selection.id, InvitationStage.ASSESSMENT)
    quorum = assessment.quorum_report(invited, cast, assessment.Quorum(rules.quorum))
    if not invited:
        raise Conflict("invitations", _("No evaluator was invited; the assessment cannot close."))
    if not quorum.met:
        short = ", ".join(
            _("%(group)s %(cast)s/%(invited)s (needs %(required)s)")
            % {
                "group": labels.group_name(g.group),
                "cast": g.cast,
                "invited": g.invited,
                "required": g.required,
            }
            for g in quorum.groups
            if not g.met
        )
        raise Conflict(
            "quorum",
            _("Quorum not reached: %(groups)s; keep the stage open or invite more.") % {"groups": short},
            code="quorum_not_met",
        )
    applicants = {a.id: a for a in services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)}
    tallies = assessment_tallies(session, selection.id)
    red_line = assessment.RedLine(rules.threshold, rules.basically_counts)
    verdicts = assessment.judge([tallies[a] for a in applicants], red_line)
    rows = []
    for verdict in verdicts:
        applicant = applicants[verdict.applicant_id]
        tally = tallies[verdict.applicant_id]
        numbers = {
            "applicant_id": applicant.id,
            "competent": tally.competent,
            "basically_competent": tally.basically_competent,
            "not_competent": tally.not_competent,
            "ballots": verdict.ballots,
            "approvals": verdict.approvals,
            "rate": f"{verdict.rate.numerator}/{verdict.rate.denominator}",
            "threshold": selection.rules["threshold"],
            "basically_counts": rules.basically_counts,
            "passes": verdict.passes,
            "reason": verdict.reason,
        }
        if not verdict.passes:
            applicant.status = ApplicantStatus.DISQUALIFIED
            applicant.status_reason = "below_red_line"
        record(session, "system", "selection.assessment.verdict", "selection", selection.id, numbers)
        rows.append(
            dict(
                numbers,
                name=applicant.name,
                post_id=applicant.post_id,
                percent=assessment.percent_text(verdict.rate),
            )
        )
    stage = selection.stage(StageKind.ASSESSMENT)
    stage.outcome = {
        "rule": {"threshold": selection.rules["threshold"], "basically_counts": rules.basically_counts},
        "quorum": [
            {"group": g.group, "invited": g.invited, "cast": g.cast, "required": g.required, "met": g.met}
            for g in quorum.groups
        ],
        "verdicts": rows,
    }
    notice = _assessment_notice(session, actor, selection, rows, rules, settings)
    stage.notice_id = notice.id
    return After(notices=[notice.id])


def _assessment_notice(
    session: Session,
    actor: str,
    selection: Selection,
    rows: list[dict[str, Any]],
    rules: Rules,
    settings: Settings,
) -> Any:
    going = [r["name"] for r in rows if r["passes"]]
    out = [r for r in rows if not r["passes"]]
    pct = assessment.percent_text(rules.threshold)
    out_zh = "、".join(f"{r['name']}（{r['percent']}%）" for r in out) or "无"
    out_en = ", ".join(f"{r['name']} ({r['percent']}%)" for r in out) or "none"
    return services.issue_notice(
        session,
        actor,
        settings,
        NoticeKind.STAGE_RESULT,
        (f"{selection.title_zh}：民主测评结果", f"{selection.title_en}: assessment result"),
        [
            (
                f"继续：{'、'.join(going) or '无'}。认可率低于{pct}%未通过：{out_zh}。",
                f"Continue: {', '.join(going) or 'none'}. Below the {pct}% approval line: {out_en}.",
            ),
            # Who is out, and why, matters most: it comes before a text of bare counts.
            (
                f"认可率低于{pct}%未通过：{out_zh}。",
                f"Out, below {pct}%: {out_en}.",
            ),
            (
                f"{len(going)}人继续，{len(out)}人认可率低于{pct}%。详见页面。",
                f"{len(going)} continue; {len(out)} below {pct}% approval. See the page.",
            ),
        ],
    )


# --- the speech stage (differential evaluation) -----------------------------------------------------


def margin_report(session: Session, selection: Selection) -> list[differential.MarginCheck]:
    rules = services.rules_of(selection)
    counts = services.active_counts(session, selection.id)
    seats = {post.id: post.seats for post in selection.posts}
    return differential.check_margins(seats, {p: counts.get(p, 0) for p in seats}, rules.margin)


def open_speech(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    short = [check for check in margin_report(session, selection) if not check.ok]
    if short:
        titles = {post.id: post.title_en for post in selection.posts}
        why = "; ".join(
            _("%(post)s has %(candidates)s candidates for %(seats)s seats and needs at least %(required)s")
            % {
                "post": titles[c.post_id],
                "candidates": c.candidates,
                "seats": c.seats,
                "required": c.required,
            }
            for c in short
        )
        raise Conflict(
            "candidates",
            _("The speech stage needs more candidates than seats: %(why)s") % {"why": why},
            code="margin_not_met",
        )
    return After()


def advance_count(selection: Selection, post_id: int) -> int:
    post = services.post_of(selection, post_id)
    if post.advance is not None:
        return post.advance
    return differential.required_candidates(post.seats, services.rules_of(selection).margin)


def close_speech(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    rules = services.rules_of(selection)
    applicants = services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)
    rows = session.execute(
        select(SpeechScore.invitation_id, Invitation.group, SpeechScore.applicant_id, SpeechScore.points)
        .join(Invitation, Invitation.id == SpeechScore.invitation_id)
        .where(SpeechScore.selection_id == selection.id)
    ).all()
    if not rows:
        raise Conflict("scores", _("No speech ratings yet; the speech stage cannot close."))
    trim = trim_rule(rules)
    by_post: dict[int, list[scoring.Score]] = {}
    post_of = {a.id: a.post_id for a in applicants}
    for invitation_id, group, applicant_id, points in rows:
        if applicant_id in post_of:
            by_post.setdefault(post_of[applicant_id], []).append(
                scoring.Score(int(invitation_id), str(group), int(applicant_id), int(points))
            )
    names = {a.id: a for a in applicants}
    posts_out = []
    advancing_names: list[str] = []
    for post in selection.posts:
        scores = by_post.get(post.id, [])
        if not scores:
            raise Conflict("scores", f"no speech ratings for the candidates of {post.title_en}")
        weights = present_weights(rules.speech_weights, {s.group for s in scores})
        result = scoring.aggregate(scores, weights, trim, f"{rules.tie_break_seed}:speech:{post.id}")
        advancement = differential.rank_and_advance(result, advance_count(selection, post.id))
        ranked = []
        for item in advancement:
            applicant = names[item.candidate_id]
            if not item.advances:
                applicant.status = ApplicantStatus.ELIMINATED
                applicant.status_reason = "not_advanced_after_speech"
            else:
                advancing_names.append(applicant.name)
            ranked.append(
                {
                    "applicant_id": applicant.id,
                    "name": applicant.name,
                    "rank": item.rank,
                    "score": scoring.display_decimal(item.combined),
                    "advances": item.advances,
                    "decided_by": item.decided_by,
                }
            )
        posts_out.append(
            {"post_id": post.id, "advance": advance_count(selection, post.id), "ranking": ranked}
        )
        record(
            session,
            "system",
            "selection.speech.ranking",
            "selection",
            selection.id,
            {"post_id": post.id, "ranking": [(r["applicant_id"], r["score"], r["advances"]) for r in ranked]},
        )
    stage = selection.stage(StageKind.SPEECH)
    stage.outcome = {"posts": posts_out, "weights": selection.rules["speech_weights"]}
    notice = services.issue_notice(
        session,
        actor,
        settings,
        NoticeKind.STAGE_RESULT,
        (f"{selection.title_zh}：演讲评议结果", f"{selection.title_en}: speech evaluation result"),
        [
            (
                f"进入面试：{'、'.join(advancing_names)}。排名详见页面。",
                f"To the interview: {', '.join(advancing_names)}. Ranking on the page.",
            ),
            (
                f"{len(advancing_names)}人进入面试，详见页面。",
                f"{len(advancing_names)} go on to the interview; see the page.",
            ),
        ],
    )
    stage.notice_id = notice.id
    return After(notices=[notice.id])


def present_weights(weights: Mapping[str, Fraction], present: set[str]) -> dict[str, Fraction]:
    """The published weights of the groups that rated, scaled to add up to 1 again: a group with no
    raters (none invited, or all absent) cannot pull a candidate's score to zero."""
    kept = {group: weight for group, weight in weights.items() if group in present}
    if not kept:
        raise Conflict("scores", f"no rater belongs to a weighted group ({', '.join(weights)})")
    total = sum(kept.values(), Fraction(0))
    return {group: weight / total for group, weight in kept.items()}


def trim_rule(rules: Rules) -> scoring.TrimRule:
    return scoring.TrimRule(rules.trim_small_max, rules.trim_small, rules.trim_large_share)
