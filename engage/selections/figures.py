"""The pictures of a selection's organizer page, each with its numbers as a table: turnout against the
quorum per evaluator group, approval against the line per applicant (once the assessment has closed),
and the interview's submission progress (counts only: the scores stay sealed until the close)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from engage.i18n import gettext as _
from engage.selections import services
from engage.selections.models import InvitationStage, Selection, StageKind, StageStatus
from engage.selections.rules import red_line as assessment
from engage.selections.stages import assessment as balloting
from engage.selections.stages import interview as interviews
from engage.web.charts import Chart, LineRow, Part, line_bars, stacked_bars


def group_names() -> dict[str, str]:
    return {
        "leadership": _("Street leadership"),
        "staff": _("Community staff"),
        "resident_rep": _("Resident representatives"),
    }


def _percent(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0


def turnout_chart(session: Session, selection: Selection) -> Chart:
    """Per evaluator group: ballots cast of those invited, against the quorum (two thirds, rounded up)."""
    rules = services.rules_of(selection)
    invited, cast = balloting._turnout(session, selection.id, InvitationStage.ASSESSMENT)
    groups = [g for g in rules.evaluator_groups] + [g for g in invited if g not in rules.evaluator_groups]
    report = assessment.quorum_report(
        {g: invited.get(g, 0) for g in groups}, cast, assessment.Quorum(rules.quorum)
    )
    names = group_names()
    rows = [
        LineRow(
            names.get(g.group, g.group),
            _percent(g.cast, g.invited),
            g.met,
            (str(g.invited), str(g.cast), str(g.required), _("reached") if g.met else _("not yet")),
        )
        for g in report.groups
    ]
    share = rules.quorum
    return line_bars(
        _("Turnout against the quorum, per group"),
        rows,
        line=float(share * 100),
        line_label=_("quorum %(p)s%%") % {"p": assessment.percent_text(share)},
        top=100,
        head=[_("Group"), _("Invitations sent"), _("Ballots cast"), _("Quorum"), _("Quorum reached")],
        legend=(_("quorum reached"), _("quorum not reached yet")),
    )


def approval_chart(selection: Selection) -> Chart | None:
    """Per applicant, after the assessment closed: the approval rate against the line, from the
    verdicts stored at the close (the same counts the public page shows)."""
    stage = selection.stage(StageKind.ASSESSMENT)
    if stage.status != StageStatus.CLOSED or not stage.outcome:
        return None
    threshold = Fraction(stage.outcome["rule"]["threshold"])
    rows = []
    for verdict in stage.outcome.get("verdicts", []):
        rate = Fraction(verdict["rate"])
        rows.append(
            LineRow(
                verdict["name"],
                float(rate * 100),
                bool(verdict["passes"]),
                (
                    str(verdict["approvals"]),
                    str(verdict["ballots"]),
                    f"{verdict['percent']}%",
                    _("continues") if verdict["passes"] else _("out: below the line"),
                ),
            )
        )
    line = assessment.percent_text(threshold).rstrip("0").rstrip(".")
    return line_bars(
        _("Approval against the %(p)s%% line, per applicant") % {"p": line},
        rows,
        line=float(threshold * 100),
        line_label=f"{line}%",
        top=100,
        head=[_("Applicant"), _("Approvals"), _("Ballots"), _("Approval rate"), _("Verdict")],
        legend=(_("continues"), _("out: below the line")),
    )


def interview_chart(session: Session, selection: Selection) -> Chart | None:
    """The jurors' sheets: submitted, absent, outstanding. No score is read here."""
    progress = interviews.progress(session, selection.id)
    if not progress["jurors"]:
        return None
    parts = [
        Part(_("submitted"), progress["submitted"], "ok"),
        Part(_("absent"), progress["absent"], "neutral"),
        Part(_("outstanding"), progress["outstanding"], "wait"),
    ]
    return stacked_bars(
        _("Interview: score sheets received (scores stay sealed until the close)"),
        [(_("Jurors"), parts)],
        label_head=_("Score sheets"),
        total_head=_("Jurors"),
        scale_to=progress["jurors"],
    )


def live(session: Session, selection_id: int) -> dict[str, Any]:
    """What the live part of the page shows; polled while the assessment or the interview is open."""
    selection = services.get_selection(session, selection_id)
    statuses = {stage.kind: stage.status for stage in selection.stages}
    return {
        "selection": selection,
        "turnout": turnout_chart(session, selection),
        "interview": interview_chart(session, selection),
        "polling": StageStatus.OPEN in (statuses[StageKind.ASSESSMENT], statuses[StageKind.INTERVIEW]),
    }
