"""What the pages call each stored state of a selection, its stages and its applicants: one table per
state machine, keyed by its enum, so two machines that happen to share a value ("open", "closed")
can never overwrite each other's words."""

from __future__ import annotations

from engage.i18n import gettext as _
from engage.residents.labels import N_
from engage.selections.models import ApplicantStatus, SelectionStatus, StageKind, StageStatus

SELECTION_STATUS_LABELS = {
    SelectionStatus.DRAFT: N_("draft"),
    SelectionStatus.PUBLISHED: N_("published"),
    SelectionStatus.FINISHED: N_("finished"),
}
STAGE_STATUS_LABELS = {
    StageStatus.PENDING: N_("not yet open"),
    StageStatus.OPEN: N_("open now"),
    StageStatus.CLOSED: N_("closed"),
}
APPLICANT_STATUS_LABELS = {
    ApplicantStatus.ACTIVE: N_("in the running"),
    ApplicantStatus.DISQUALIFIED: N_("out: below the red line"),
    ApplicantStatus.ELIMINATED: N_("did not advance"),
    ApplicantStatus.WITHDRAWN: N_("withdrew"),
    ApplicantStatus.PROPOSED: N_("proposed for appointment"),
    ApplicantStatus.SUSPENDED: N_("appointment suspended: an objection was upheld"),
    ApplicantStatus.APPOINTED: N_("appointed"),
    ApplicantStatus.NOT_APPOINTED: N_("not appointed"),
}
# Stages and groups, for messages that name them (a refusal must not show a stored code).
STAGE_LABELS = {
    StageKind.NOMINATION: N_("Nomination"),
    StageKind.ASSESSMENT: N_("Democratic assessment"),
    StageKind.SPEECH: N_("Speech evaluation"),
    StageKind.INTERVIEW: N_("Interview by the grand jury"),
    StageKind.RESULT: N_("Result"),
    StageKind.PUBLIC_NOTICE: N_("Public notice period"),
}
GROUP_LABELS = {
    "leadership": N_("Street leadership"),
    "staff": N_("Community staff"),
    "resident_rep": N_("Resident representatives"),
    "resident": N_("Residents"),
    "expert": N_("Experts"),
    "deputy": N_("Deputies"),
}
# Why, where the status alone does not say it.
REASON_LABELS = {
    "objection_upheld": N_("after an upheld objection"),
}


def selection_status(status: str) -> str:
    return _(SELECTION_STATUS_LABELS[SelectionStatus(status)])


def stage_status(status: str) -> str:
    return _(STAGE_STATUS_LABELS[StageStatus(status)])


def applicant_status(status: str, reason: str | None = None) -> str:
    text = _(APPLICANT_STATUS_LABELS[ApplicantStatus(status)])
    why = REASON_LABELS.get(reason or "")
    return _("%(status)s (%(reason)s)") % {"status": text, "reason": _(why)} if why else text


def stage_name(kind: str) -> str:
    return _(STAGE_LABELS[StageKind(kind)]) if kind in STAGE_LABELS else kind


def group_name(group: str) -> str:
    return _(GROUP_LABELS[group]) if group in GROUP_LABELS else group
