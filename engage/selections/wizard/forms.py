"""The selection wizard's steps, pure: a step's form in, its cleaned values and its problems out.

Each problem is keyed by the form field it concerns and says, in the reader's language, which field it
is ("Post 2, seats: ..."), so the page can show it beside the field and in the summary at the top. The
wizard keeps the cleaned values of each step (in the organizer's server-side session) until the review
step turns them into one `SelectionSpec`: the same spec the API takes, checked again by the service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from engage.calendar import CalendarError, WorkingCalendar
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.selections.models import STAGE_ORDER, StageKind
from engage.selections.rules.config import EVALUATOR_GROUPS
from engage.selections.services import MAX_SEATS, PostSpec, SelectionSpec, StageSpec
from engage.web.text import problem as text_problem

STEPS = ("basics", "posts", "timetable", "rubric", "evaluators", "review")
POST_ROWS = 5
CRITERION_ROWS = 6
UNIT_CATEGORIES = ("street", "community")
STAGE_OPENS = time(9, 0)
STAGE_CLOSES = time(17, 30)
# The shortest a stage may run, in working days, and why (shown on the timetable step). The public
# notice stage takes its length from the notice period the settings name.
MIN_WORKING_DAYS = {
    StageKind.NOMINATION: 5,
    StageKind.ASSESSMENT: 3,
    StageKind.SPEECH: 1,
    StageKind.INTERVIEW: 1,
    StageKind.RESULT: 1,
}

Errors = dict[str, str]


def _of(label: str, part: str) -> str:
    """A field inside a row, named in the reader's language: "Post 2, seats" or "第2个岗位（名额）"."""
    return f"{label}（{part}）" if current_locale.get() == "zh_CN" else f"{label}, {part}"


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name) or "").strip()


def check_text(errors: Errors, name: str, label: str, value: str, *, required: bool, limit: int) -> None:
    found = text_problem(value, lines=limit > 200)
    if required and not value:
        errors[name] = _("%(field)s: required.") % {"field": label}
    elif len(value) > limit:
        errors[name] = _("%(field)s: at most %(n)s characters.") % {"field": label, "n": limit}
    elif found is not None:
        errors[name] = f"{label}{'：' if current_locale.get() == 'zh_CN' else ': '}{_(found)}"


def _check_both(
    errors: Errors,
    names: Mapping[str, str],
    raw: Mapping[str, str],
    key: str,
    labels: tuple[str, str],
    *,
    required: bool,
    limit: int,
) -> None:
    """A text asked in Chinese and in English (`<key>_zh`, `<key>_en` of a row), both checked alike."""
    for suffix, label in zip(("zh", "en"), labels, strict=True):
        name = f"{key}_{suffix}"
        check_text(errors, names[name], label, raw[name], required=required, limit=limit)


def clean_basics(form: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    values = {
        name: _text(form, name)
        for name in ("title_zh", "title_en", "unit", "unit_category", "eligibility_zh", "eligibility_en")
    }
    check_text(errors, "title_zh", _("Title (Chinese)"), values["title_zh"], required=True, limit=200)
    check_text(errors, "title_en", _("Title (English)"), values["title_en"], required=True, limit=200)
    check_text(errors, "unit", _("Unit"), values["unit"], required=True, limit=200)
    if values["unit_category"] not in UNIT_CATEGORIES:
        errors["unit_category"] = _("%(field)s: choose one.") % {"field": _("Unit category")}
    for name, label in (
        ("eligibility_zh", _("Eligibility (Chinese)")),
        ("eligibility_en", _("Eligibility (English)")),
    ):
        check_text(errors, name, label, values[name], required=True, limit=2000)
    return values, errors


def clean_posts(form: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    posts: list[dict[str, Any]] = []
    for row in range(POST_ROWS):
        names = {key: f"posts-{row}-{key}" for key in ("title_zh", "title_en", "seats", "conditions_zh")}
        names["conditions_en"] = f"posts-{row}-conditions_en"
        raw = {key: _text(form, name) for key, name in names.items()}
        if not any(raw.values()):
            continue
        number = len(posts) + 1
        label = _("Post %(n)s") % {"n": row + 1}
        titles = (_of(label, _("title (Chinese)")), _of(label, _("title (English)")))
        _check_both(errors, names, raw, "title", titles, required=True, limit=200)
        conditions = (_of(label, _("conditions (Chinese)")), _of(label, _("conditions (English)")))
        _check_both(errors, names, raw, "conditions", conditions, required=False, limit=1000)
        seats = int(raw["seats"]) if raw["seats"].isdecimal() else 0
        if not 1 <= seats <= MAX_SEATS:
            errors[names["seats"]] = _("%(field)s: a whole number from 1 to %(max)s.") % {
                "field": _of(label, _("seats")),
                "max": MAX_SEATS,
            }
        posts.append(dict(raw, seats=seats, number=number))
    if not posts and not errors:
        errors["posts-0-title_zh"] = _("Posts: name at least one post.")
    return {"posts": posts}, errors


@dataclass(frozen=True)
class Day:
    """One day of the calendar shown beside the date pickers."""

    day: date
    working: bool
    in_month: bool


def month_grid(calendar: WorkingCalendar, first: date) -> list[list[Day]]:
    """The weeks (Monday first) of the month holding `first`, each day marked working or not; days the
    calendar does not cover are shown as not working rather than guessed."""
    start = first.replace(day=1)
    start -= timedelta(days=start.weekday())
    weeks: list[list[Day]] = []
    day = start
    while not weeks or day.month == first.month:
        week = []
        for _offset in range(7):
            try:
                working = calendar.is_working_day(day)
            except CalendarError:
                working = False
            week.append(Day(day, working, day.month == first.month))
            day += timedelta(days=1)
        weeks.append(week)
    return weeks


def _working_days_between(calendar: WorkingCalendar, first: date, last: date) -> int:
    count, day = 0, first
    while day <= last:
        count += 1 if calendar.is_working_day(day) else 0
        day += timedelta(days=1)
    return count


def minimum_days(kind: str, notice_period_days: int) -> int:
    if kind == StageKind.PUBLIC_NOTICE:
        return notice_period_days
    return MIN_WORKING_DAYS[StageKind(kind)]


def clean_timetable(
    form: Mapping[str, Any], calendar: WorkingCalendar, today: date, notice_period_days: int
) -> tuple[dict[str, Any], Errors]:
    """Two dates per stage; each a working day the calendar covers, not in the past, the close at least
    the stage's minimum of working days after the opening (counting both), the next stage opening on a
    later day than this one closes."""
    errors: Errors = {}
    stages: list[dict[str, str]] = []
    previous_close: date | None = None
    names = stage_labels()
    for kind in STAGE_ORDER:
        label = names[kind]
        days: dict[str, date | None] = {}
        for edge, what in (("opens", _("opens")), ("closes", _("closes"))):
            name = f"{kind}-{edge}"
            field = _of(label, what)
            raw = _text(form, name)
            days[edge] = None
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                errors[name] = _("%(field)s: choose a date.") % {"field": field}
                continue
            try:
                working = calendar.is_working_day(day)
            except CalendarError:
                errors[name] = _("%(field)s: the working-day calendar does not cover %(year)s.") % {
                    "field": field,
                    "year": day.year,
                }
                continue
            if day < today:
                errors[name] = _("%(field)s: the date has passed.") % {"field": field}
            elif not working:
                errors[name] = _("%(field)s: %(day)s is not a working day.") % {"field": field, "day": raw}
            days[edge] = day
        opens, closes = days["opens"], days["closes"]
        if opens and previous_close and opens <= previous_close and f"{kind}-opens" not in errors:
            errors[f"{kind}-opens"] = _("%(field)s: must be after the previous stage closes.") % {
                "field": _of(label, _("opens"))
            }
        if opens and closes and f"{kind}-closes" not in errors:
            need = minimum_days(kind, notice_period_days)
            if closes < opens:
                errors[f"{kind}-closes"] = _("%(field)s: must not be before the opening.") % {
                    "field": _of(label, _("closes"))
                }
            elif _working_days_between(calendar, opens, closes) < need:
                errors[f"{kind}-closes"] = _(
                    "%(field)s: this stage needs at least %(n)s working days, the opening day included."
                ) % {"field": _of(label, _("closes")), "n": need}
        previous_close = closes or previous_close
        stages.append(
            {"kind": kind, "opens": _text(form, f"{kind}-opens"), "closes": _text(form, f"{kind}-closes")}
        )
    return {"stages": stages}, errors


def suggest_timetable(calendar: WorkingCalendar, start: date, notice_period_days: int) -> dict[str, str]:
    """Dates that pass the checks: each stage starts on the next working day and lasts its minimum."""
    suggested: dict[str, str] = {}
    day = start
    try:
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
        for kind in STAGE_ORDER:
            opens = day
            closes = (
                calendar.nth_working_day_after(opens, minimum_days(kind, notice_period_days) - 1)
                if minimum_days(kind, notice_period_days) > 1
                else opens
            )
            suggested[f"{kind}-opens"], suggested[f"{kind}-closes"] = opens.isoformat(), closes.isoformat()
            day = calendar.next_working_day(closes)
    except CalendarError:
        return {}
    return suggested


def clean_rubric(form: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    criteria: list[dict[str, Any]] = []
    for row in range(CRITERION_ROWS):
        names = {key: f"rubric-{row}-{key}" for key in ("name_zh", "name_en", "max_points")}
        raw = {key: _text(form, name) for key, name in names.items()}
        if not any(raw.values()):
            continue
        label = _("Criterion %(n)s") % {"n": row + 1}
        criterion = (_of(label, _("name (Chinese)")), _of(label, _("name (English)")))
        _check_both(errors, names, raw, "name", criterion, required=True, limit=100)
        points = int(raw["max_points"]) if raw["max_points"].isdecimal() else 0
        if not 1 <= points <= 100:
            errors[names["max_points"]] = _("%(field)s: a whole number from 1 to 100.") % {
                "field": _of(label, _("maximum points"))
            }
        # The code only links scores to the criterion; organizers never see it.
        criteria.append(
            {
                "code": f"c{len(criteria) + 1}",
                "name_zh": raw["name_zh"],
                "name_en": raw["name_en"],
                "max_points": points,
            }
        )
    if not criteria and not errors:
        errors["rubric-0-name_zh"] = _("Rubric: name at least one criterion.")
    return {"rubric": criteria}, errors


def clean_evaluators(form: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    groups = [g for g in EVALUATOR_GROUPS if form.get(f"group-{g}")]
    if not groups:
        errors["group-leadership"] = _("Evaluator groups: choose at least one group.")
    raw = _text(form, "threshold")
    threshold = int(raw) if raw.isdecimal() else 0
    if not 50 <= threshold <= 100:
        errors["threshold"] = _("%(field)s: a whole percentage from 50 to 100.") % {
            "field": _("Approval line")
        }
    return {
        "groups": groups,
        "threshold": threshold,
        "basically_counts": bool(form.get("basically_counts")),
    }, errors


def stage_labels() -> dict[str, str]:
    return {
        StageKind.NOMINATION: _("Nomination"),
        StageKind.ASSESSMENT: _("Democratic assessment"),
        StageKind.SPEECH: _("Speech evaluation"),
        StageKind.INTERVIEW: _("Interview by the grand jury"),
        StageKind.RESULT: _("Result"),
        StageKind.PUBLIC_NOTICE: _("Public notice period"),
    }


def missing_step(draft: Mapping[str, Any]) -> str | None:
    """The first step whose values the draft lacks (the review needs them all)."""
    return next((step for step in STEPS[:-1] if step not in draft), None)


def to_spec(draft: Mapping[str, Any], zone: ZoneInfo) -> SelectionSpec:
    basics = draft["basics"]
    evaluators = draft["evaluators"]
    stages = [
        StageSpec(
            s["kind"],
            datetime.combine(date.fromisoformat(s["opens"]), STAGE_OPENS, zone),
            datetime.combine(date.fromisoformat(s["closes"]), STAGE_CLOSES, zone),
        )
        for s in draft["timetable"]["stages"]
    ]
    threshold = Fraction(evaluators["threshold"], 100)
    return SelectionSpec(
        title_zh=basics["title_zh"],
        title_en=basics["title_en"],
        unit=basics["unit"],
        unit_category=basics["unit_category"],
        eligibility_zh=basics["eligibility_zh"],
        eligibility_en=basics["eligibility_en"],
        posts=[
            PostSpec(p["title_zh"], p["title_en"], p["seats"], None, p["conditions_zh"], p["conditions_en"])
            for p in draft["posts"]["posts"]
        ],
        stages=stages,
        rubric=list(draft["rubric"]["rubric"]),
        rules={
            "threshold": f"{threshold.numerator}/{threshold.denominator}",
            "basically_counts": evaluators["basically_counts"],
            "evaluator_groups": evaluators["groups"],
        },
    )
