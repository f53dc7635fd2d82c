"""Interview scoring by the grand jury. Opening the stage seats every confirmed panel member as a
juror with a personal scoring link (SMS); a juror scores each candidate on each rubric criterion once;
a declared conflict takes a candidate off that juror's sheet. Scores stay sealed (no total, no matrix)
until every juror has submitted or been marked absent; closing then trims and combines them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engage.audit.services import record
from engage.db import utcnow
from engage.errors import Conflict, Forbidden, InvalidInput, NotFound
from engage.i18n import gettext as _
from engage.jobs import After
from engage.links import new_token, token_hash
from engage.panels.models import MemberStatus, Panel, PanelStatus
from engage.residents.categories import participant_group
from engage.residents.models import Resident
from engage.selections import services
from engage.selections.models import (
    Applicant,
    ApplicantStatus,
    InterviewScore,
    Juror,
    Selection,
    StageKind,
    StageStatus,
)
from engage.selections.rules import scoring
from engage.selections.rules.config import Criterion, parse_rubric
from engage.selections.stages.assessment import link, present_weights, trim_rule
from engage.settings import Settings
from engage.sms.services import queue_message
from engage.sms.texts import render
from engage.web.text import storable

JURY_STATUSES = (MemberStatus.CONFIRMED, MemberStatus.ATTENDED)


def link_panel(session: Session, actor: str, selection_id: int, panel_id: int) -> Selection:
    selection = services.get_selection(session, selection_id, for_update=True)
    if selection.stage(StageKind.INTERVIEW).status != StageStatus.PENDING:
        raise Conflict("panel_id", _("The panel is chosen before the interview opens."))
    panel = session.get(Panel, panel_id)
    if panel is None:
        raise NotFound("panel_id", f"no panel {panel_id}")
    taken = session.execute(
        select(Selection.id).where(Selection.panel_id == panel_id, Selection.id != selection.id)
    ).first()
    if taken is not None:
        raise Conflict("panel_id", f"panel {panel_id} already serves selection {taken[0]}")
    selection.panel_id = panel.id
    record(session, actor, "selection.panel", "selection", selection.id, {"panel_id": panel.id})
    return selection


def open_interview(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    if selection.panel_id is None:
        raise Conflict("panel_id", _("Link a drawn grand-jury panel before the interview opens."))
    panel = session.get(Panel, selection.panel_id)
    assert panel is not None
    if panel.status not in (PanelStatus.DRAWN, PanelStatus.CLOSED):
        raise Conflict("panel_id", f"the panel is {panel.status}; it must be drawn")
    members = [m for m in panel.members if m.status in JURY_STATUSES and m.resident_id is not None]
    if not members:
        raise Conflict("panel_id", _("No panel member has confirmed yet."))
    after = After()
    rubric = rubric_of(selection)
    seated = 0
    for member in sorted(members, key=lambda m: m.ticket):
        resident = session.get(Resident, member.resident_id)
        if resident is None or resident.phone is None:
            continue
        token, hashed = new_token()
        juror = Juror(
            selection_id=selection.id,
            member_id=member.id,
            group=participant_group(resident.participant_type),
            pseudonym=member.pseudonym,
            token_hash=hashed,
        )
        session.add(juror)
        session.flush()
        seated += 1
        if resident.sms_opt_out_at is not None:  # seated all the same; a stopped number gets no text
            continue
        body = render(
            "selection_interview_invite",
            resident.locale,
            settings.sms_signature,
            title=selection.title(resident.locale),
            link=link(settings, "s", token),
        )
        after.texts.append(queue_message(session, actor, resident.phone, body, settings.default_region).id)
    record(
        session,
        actor,
        "selection.interview.seat",
        "selection",
        selection.id,
        {"jurors": seated, "texted": len(after.texts), "criteria": [c.code for c in rubric]},
    )
    return after


def rubric_of(selection: Selection) -> list[Criterion]:
    return parse_rubric(selection.rubric)


def jurors(session: Session, selection_id: int) -> list[Juror]:
    return list(
        session.execute(select(Juror).where(Juror.selection_id == selection_id).order_by(Juror.id)).scalars()
    )


def get_juror(session: Session, selection_id: int, juror_id: int) -> Juror:
    return services.part_of(session, Juror, selection_id, juror_id, "juror")


def mark_absent(session: Session, actor: str, selection_id: int, juror_id: int) -> Juror:
    selection = services.get_selection(session, selection_id, for_update=True)
    services.require_open(selection, StageKind.INTERVIEW)
    juror = get_juror(session, selection_id, juror_id)
    if juror.submitted_at is not None:
        raise Conflict(
            "juror_id", _("This juror has already submitted scores."), code="scores_already_submitted"
        )
    juror.absent = True
    record(session, actor, "selection.interview.absent", "selection", selection_id, {"juror_id": juror.id})
    return juror


def declare_conflict(
    session: Session, actor: str, selection_id: int, juror_id: int, applicant_id: int, reason: str
) -> Juror:
    """A juror who knows a candidate (family, work, household, nomination) does not score them."""
    selection = services.get_selection(session, selection_id, for_update=True)
    if selection.stage(StageKind.INTERVIEW).status == StageStatus.CLOSED:
        raise Conflict("stage", "the interview is closed", code="stage_closed")
    storable("reason", reason)
    juror = get_juror(session, selection_id, juror_id)
    applicant = services.get_applicant(session, selection_id, applicant_id)
    if juror.submitted_at is not None:
        raise Conflict(
            "juror_id", _("This juror has already submitted scores."), code="scores_already_submitted"
        )
    if applicant.id not in juror.conflicts:
        juror.conflicts = [*juror.conflicts, applicant.id]
    record(
        session,
        actor,
        "selection.interview.conflict",
        "selection",
        selection_id,
        {"juror_id": juror.id, "applicant_id": applicant.id, "reason": reason[:100]},
    )
    return juror


@dataclass(frozen=True)
class Sheet:
    juror: Juror
    selection: Selection
    candidates: list[Applicant]  # those this juror scores (conflicts left out)
    conflicted: list[Applicant]
    rubric: list[Criterion]


def open_sheet(session: Session, token: str) -> Sheet:
    juror = session.execute(select(Juror).where(Juror.token_hash == token_hash(token))).scalar_one_or_none()
    if juror is None:
        raise NotFound("token", _("This link is not valid; check that it was copied whole."))
    selection = services.get_selection(session, juror.selection_id)
    active = services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)
    return Sheet(
        juror=juror,
        selection=selection,
        candidates=[a for a in active if a.id not in juror.conflicts],
        conflicted=[a for a in active if a.id in juror.conflicts],
        rubric=rubric_of(selection),
    )


def submit(session: Session, token: str, points: Mapping[int, Mapping[str, Any]]) -> Sheet:
    sheet = open_sheet(session, token)
    services.require_open(sheet.selection, StageKind.INTERVIEW)
    juror = sheet.juror
    if juror.absent:
        raise Forbidden("token", _("You were recorded as absent from this interview, so you do not score."))
    if juror.submitted_at is not None:
        raise Conflict(
            "token",
            _("Your scores were already submitted; they cannot be changed."),
            code="scores_already_submitted",
        )
    expected = {a.id for a in sheet.candidates}
    for applicant_id in points:
        if applicant_id in juror.conflicts:
            raise InvalidInput(
                f"scores.{applicant_id}",
                _("A declared conflict of interest: this candidate is not yours to score."),
            )
        if applicant_id not in expected:
            raise InvalidInput(f"scores.{applicant_id}", _("Not a candidate in this interview."))
    for applicant_id in sorted(expected - set(points)):
        raise InvalidInput(f"scores.{applicant_id}", _("Score every candidate on the sheet."))
    rubric = scoring.Rubric(tuple(scoring.Criterion(c.code, c.max_points) for c in sheet.rubric))
    totals: dict[int, int] = {}
    for applicant_id, given in points.items():
        problems = rubric.validate(given)
        if problems:
            raise InvalidInput(f"scores.{applicant_id}", rubric_problems(problems, sheet.rubric))
        totals[applicant_id] = rubric.total(given)
    claimed = session.execute(
        update(Juror).where(Juror.id == juror.id, Juror.submitted_at.is_(None)).values(submitted_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "token",
            _("Your scores were already submitted; they cannot be changed."),
            code="scores_already_submitted",
        )
    session.add_all(
        InterviewScore(
            selection_id=sheet.selection.id,
            juror_id=juror.id,
            applicant_id=applicant_id,
            points={code: int(value) for code, value in points[applicant_id].items()},
            total=totals[applicant_id],
        )
        for applicant_id in sorted(points)
    )
    record(
        session,
        f"juror:{juror.id}",
        "selection.interview.submit",
        "selection",
        sheet.selection.id,
        {"juror_id": juror.id},
    )
    return sheet


def rubric_problems(codes: list[str], rubric: list[Criterion]) -> str:
    """The rubric's problem codes ("out_of_range:knowledge") as words naming the criterion."""
    top = {c.code: c.max_points for c in rubric}
    words = []
    for problem in codes:
        kind, _sep, code = problem.partition(":")
        if kind == "unknown":
            words.append(_("%(code)s is not a criterion of this rubric") % {"code": code})
        elif kind == "missing":
            words.append(_("%(code)s: give a score") % {"code": code})
        else:
            words.append(
                _("%(code)s: a whole number from 0 to %(max)s") % {"code": code, "max": top.get(code, 0)}
            )
    return "; ".join(words)


def progress(session: Session, selection_id: int) -> dict[str, int]:
    seated = jurors(session, selection_id)
    return {
        "jurors": len(seated),
        "submitted": sum(1 for j in seated if j.submitted_at is not None),
        "absent": sum(1 for j in seated if j.absent),
        "outstanding": sum(1 for j in seated if j.submitted_at is None and not j.absent),
    }


def close_interview(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    state = progress(session, selection.id)
    if state["outstanding"]:
        raise Conflict(
            "jurors",
            _("%(n)s jurors have neither submitted nor been marked absent; scores stay sealed.")
            % {"n": state["outstanding"]},
            code="scores_sealed",
        )
    rules = services.rules_of(selection)
    seated = {j.id: j for j in jurors(session, selection.id)}
    applicants = {a.id: a for a in services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)}
    rows = session.execute(
        select(InterviewScore).where(InterviewScore.selection_id == selection.id)
    ).scalars()
    by_post: dict[int, list[scoring.Score]] = {}
    for row in rows:
        if row.applicant_id in applicants:
            by_post.setdefault(applicants[row.applicant_id].post_id, []).append(
                scoring.Score(row.juror_id, seated[row.juror_id].group, row.applicant_id, row.total)
            )
    trim = trim_rule(rules)
    posts_out: list[dict[str, Any]] = []
    private: list[dict[str, Any]] = []
    for post in selection.posts:
        scores = by_post.get(post.id, [])
        if not scores:
            continue
        present = {s.group for s in scores}
        result = scoring.aggregate(
            scores,
            present_weights(rules.jury_weights, present),
            trim,
            f"{rules.tie_break_seed}:interview:{post.id}",
        )
        posts_out.append(publishable(result, applicants, post.id, seated))
        private.append({"post_id": post.id, "deviation": deviation_rows(result)})
        record(
            session,
            "system",
            "selection.interview.result",
            "selection",
            selection.id,
            {
                "post_id": post.id,
                "ranking": [(c.candidate_id, scoring.display_decimal(c.combined)) for c in result.ranking],
            },
        )
    stage = selection.stage(StageKind.INTERVIEW)
    stage.outcome = {
        "posts": posts_out,
        "weights": selection.rules["jury_weights"],
        "trim": {
            "small_group_max": rules.trim_small_max,
            "small_group_trim": rules.trim_small,
            "large_group_share": selection.rules["trim_large_share"],
        },
        "jurors": state,
        "private": private,  # per-judge deviation: organizers only, never on public pages
    }
    return After()


def publishable(
    result: scoring.Result, applicants: Mapping[int, Applicant], post_id: int, seated: Mapping[int, Juror]
) -> dict[str, Any]:
    ranking = []
    for candidate in result.ranking:
        ranking.append(
            {
                "applicant_id": candidate.candidate_id,
                "name": applicants[candidate.candidate_id].name,
                "rank": candidate.rank,
                "combined": scoring.display_decimal(candidate.combined),
                "combined_exact": f"{candidate.combined.numerator}/{candidate.combined.denominator}",
                "decided_by": candidate.decided_by,
                "groups": [
                    {
                        "group": g.group,
                        "weight": f"{g.weight.numerator}/{g.weight.denominator}",
                        "raters": len(g.scores),
                        "trimmed_each_side": g.trim,
                        "trimmed_mean": scoring.display_decimal(g.trimmed_mean),
                        "trimmed_mean_exact": f"{g.trimmed_mean.numerator}/{g.trimmed_mean.denominator}",
                    }
                    for g in candidate.groups
                ],
            }
        )
    matrix = {
        "candidates": [applicants[c].name for c in result.candidate_order],
        "rows": [
            {
                "judge": row.pseudonym,
                "group": row.group,
                "cells": [None if cell is None else scoring.display_decimal(cell) for cell in row.cells],
                "dropped": list(row.dropped),
            }
            for row in result.matrix
        ],
    }
    return {"post_id": post_id, "ranking": ranking, "matrix": matrix}


def deviation_rows(result: scoring.Result) -> list[dict[str, Any]]:
    return [
        {
            "judge_id": d.judge_id,
            "pseudonym": d.pseudonym,
            "group": d.group,
            "scored": d.scored,
            "mean_abs_deviation": scoring.display_decimal(d.mean_abs_deviation),
            "mean_signed_deviation": scoring.display_decimal(d.mean_signed_deviation),
            "flagged": d.flagged,
        }
        for d in result.deviations
    ]
