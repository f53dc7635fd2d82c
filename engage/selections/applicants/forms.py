"""The applicants forms, pure: a form in, the applicants to add and the problems out.

Each problem is keyed by the form field it concerns and names that field in the reader's language, so
the page shows it beside the field and in the summary at the top. Nothing is added when anything is
wrong: a pasted list goes in whole or not at all. `services.add_applicants` checks the result again."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.selections.services import ApplicantSpec
from engage.selections.wizard.forms import Errors, check_text
from engage.web.text import problem as text_problem

MAX_NAME = 100  # the columns' widths (selection_applicants)
MAX_WORK_UNIT = 200
MAX_LINES = 200
# What separates the name from the work unit on a pasted line: a comma of either width, or the tab a
# spreadsheet puts between two cells.
SEPARATORS = ("，", "\t")


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name) or "").strip()


def _post(errors: Errors, name: str, form: Mapping[str, Any], posts: Collection[int]) -> int:
    raw = _text(form, name)
    post_id = int(raw) if raw.isdecimal() else 0
    if post_id not in posts:
        errors[name] = _("%(field)s: choose one of this selection's posts.") % {"field": _("Post")}
    return post_id


def clean_one(form: Mapping[str, Any], posts: Collection[int]) -> tuple[list[ApplicantSpec], Errors]:
    """The single form (`post_id`, `name`, `work_unit`): one applicant, or none and the problems."""
    errors: Errors = {}
    post_id = _post(errors, "post_id", form, posts)
    name, work_unit = _text(form, "name"), _text(form, "work_unit")
    check_text(errors, "name", _("Name"), name, required=True, limit=MAX_NAME)
    check_text(errors, "work_unit", _("Work unit"), work_unit, required=False, limit=MAX_WORK_UNIT)
    if errors:
        return [], errors
    return [ApplicantSpec(post_id, " ".join(name.split()), " ".join(work_unit.split()))], errors


def _line(line: str) -> tuple[str, str, str | None]:
    """(name, work unit, what is wrong) of one pasted line."""
    for separator in SEPARATORS:
        line = line.replace(separator, ",")
    name, _comma, work_unit = (" ".join(part.split()) for part in line.partition(","))
    if not name:
        return name, work_unit, _("no name before the comma")
    if len(name) > MAX_NAME:
        return name, work_unit, _("the name is longer than %(n)s characters") % {"n": MAX_NAME}
    if len(work_unit) > MAX_WORK_UNIT:
        return name, work_unit, _("the work unit is longer than %(n)s characters") % {"n": MAX_WORK_UNIT}
    return name, work_unit, None


def clean_several(form: Mapping[str, Any], posts: Collection[int]) -> tuple[list[ApplicantSpec], Errors]:
    """The pasted list: `several_post_id`, and `several` with one "name, work unit" a line."""
    errors: Errors = {}
    post_id = _post(errors, "several_post_id", form, posts)
    raw = str(form.get("several") or "")
    label = _("Applicants, one a line")
    found = text_problem(raw.replace("\t", ""), lines=True)
    lines = [(number, line) for number, line in enumerate(raw.splitlines(), start=1) if line.strip()]
    if found is not None:
        errors["several"] = _("%(field)s: %(problem)s") % {"field": label, "problem": _(found)}
    elif not lines:
        errors["several"] = _("%(field)s: write at least one line, “name, work unit”.") % {"field": label}
    elif len(lines) > MAX_LINES:
        errors["several"] = _("%(field)s: at most %(n)s lines at a time.") % {"field": label, "n": MAX_LINES}
    specs, problems = [], []
    for number, line in lines if not errors.get("several") else []:
        name, work_unit, wrong = _line(line)
        if wrong is not None:
            problems.append(_("line %(n)s: %(problem)s") % {"n": number, "problem": wrong})
        specs.append(ApplicantSpec(post_id, name, work_unit))
    if problems:
        separator = "；" if current_locale.get() == "zh_CN" else "; "
        errors["several"] = _("%(field)s: %(problem)s") % {
            "field": label,
            "problem": separator.join(problems),
        }
    return ([] if errors else specs), errors
