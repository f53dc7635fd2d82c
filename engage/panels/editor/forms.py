"""The organizer's panel forms, parsed (pure: form fields in, values or errors out). Every error names
its field in the reader's language ("Seats: enter a whole number from 1 to 1000."), so the page can
put it beside the field and in the summary at the top."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engage.i18n import gettext as _
from engage.residents.labels import N_
from engage.web.text import problem

FIELD_LABELS = {
    "title": N_("Title"),
    "size": N_("Number of seats"),
    "event_date": N_("Date and time of the panel"),
    "place": N_("Place"),
    "reply_deadline": N_("Reply deadline"),
    "max_prior_service": N_("Cap on repeat service"),
    "selection_id": N_("Linked selection"),
}
MAX_SIZE = 1000
MAX_QUOTA = 1000


def field_label(name: str) -> str:
    return _(FIELD_LABELS[name])


def _named(name: str, message: str) -> str:
    """The message with the field's name in front, as the summary at the top of the page shows it."""
    return _("%(field)s: %(message)s") % {"field": field_label(name), "message": message}


@dataclass
class PanelForm:
    """What the form holds (as typed, to show it again) and, when it parses, the values."""

    raw: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _text(form: PanelForm, name: str, limit: int, *, required: bool = False) -> None:
    value = " ".join(form.raw.get(name, "").split())
    found = problem(value)
    if required and not value:
        form.errors[name] = _named(name, _("enter it."))
    elif found is not None:
        form.errors[name] = _named(name, _(found))
    elif len(value) > limit:
        form.errors[name] = _named(name, _("at most %(n)s characters.") % {"n": limit})
    else:
        form.values[name] = value


def _whole(form: PanelForm, name: str, low: int, high: int, *, required: bool) -> None:
    value = form.raw.get(name, "").strip()
    if not value and not required:
        form.values[name] = None
        return
    if not value.isdigit() or not low <= int(value) <= high:
        message = _("enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
        form.errors[name] = _named(name, message)
        return
    form.values[name] = int(value)


def _deadline(form: PanelForm, tz: ZoneInfo, now: datetime) -> None:
    value = form.raw.get("reply_deadline", "").strip()
    if not value:
        form.values["reply_deadline"] = None
        return
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        form.errors["reply_deadline"] = _named("reply_deadline", _("enter a date and a time."))
        return
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # the organizer types the district's local time
    if not 2000 <= moment.year <= 2200:
        form.errors["reply_deadline"] = _named("reply_deadline", _("enter a date and a time."))
    elif moment <= now:
        form.errors["reply_deadline"] = _named("reply_deadline", _("it must be in the future."))
    else:
        form.values["reply_deadline"] = moment


def panel_form(
    raw: Mapping[str, Any], tz: ZoneInfo, now: datetime, selection_ids: Sequence[int] = ()
) -> PanelForm:
    """Title, seats, date, place, reply deadline, the cap on repeat service and the linked selection."""
    names = ("title", "size", "event_date", "place", "reply_deadline", "max_prior_service", "selection_id")
    form = PanelForm({name: str(raw.get(name) or "") for name in names})
    _text(form, "title", 200, required=True)
    _whole(form, "size", 1, MAX_SIZE, required=True)
    _text(form, "event_date", 100)
    _text(form, "place", 200)
    _deadline(form, tz, now)
    _whole(form, "max_prior_service", 1, 100, required=False)
    chosen = form.raw["selection_id"].strip()
    if not chosen:
        form.values["selection_id"] = None
    elif not chosen.isdigit() or int(chosen) not in selection_ids:
        form.errors["selection_id"] = _named("selection_id", _("choose one of the list."))
    else:
        form.values["selection_id"] = int(chosen)
    return form


@dataclass
class QuotaForm:
    """The quota editor's rows: one (min, max) pair per category and value, blank for no quota."""

    raw: dict[str, str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def input_name(category: str, value: str, bound: str) -> str:
    return f"q-{category}-{value}-{bound}"


def quota_form(
    raw: Mapping[str, Any],
    values: Mapping[str, Sequence[str]],
    size: int,
    label: Any,
) -> QuotaForm:
    """Rows from the editor's inputs. A value with both boxes blank has no quota; one box blank means
    0 (min) or the panel size (max). `label(category, value)` names a row in the reader's words."""
    form = QuotaForm({str(k): str(v) for k, v in raw.items()})
    for category, options in values.items():
        for value in options:
            names = [input_name(category, value, bound) for bound in ("min", "max")]
            typed = [form.raw.get(name, "").strip() for name in names]
            if not any(typed):
                continue
            where = label(category, value)
            bounds = []
            for name, text, default in zip(names, typed, (0, size), strict=True):
                if not text:
                    bounds.append(default)
                elif text.isdigit() and int(text) <= MAX_QUOTA:
                    bounds.append(int(text))
                else:
                    message = _("enter a whole number from 0 to %(high)s.") % {"high": size}
                    form.errors[name] = _("%(field)s: %(message)s") % {"field": where, "message": message}
            if len(bounds) < 2:
                continue
            low, high = bounds
            if low > high:
                message = _("the minimum %(low)s is more than the maximum %(high)s.") % {
                    "low": low,
                    "high": high,
                }
                form.errors[names[0]] = _("%(field)s: %(message)s") % {"field": where, "message": message}
            elif low > size:
                message = _("the minimum %(low)s is more than the %(size)s seats.") % {
                    "low": low,
                    "size": size,
                }
                form.errors[names[0]] = _("%(field)s: %(message)s") % {"field": where, "message": message}
            else:
                form.rows.append({"category": category, "feature": value, "min": low, "max": high})
    return form


def quota_inputs(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The editor's inputs filled from stored rows."""
    filled: dict[str, str] = {}
    for row in rows:
        filled[input_name(row["category"], row["feature"], "min")] = str(row["min"])
        filled[input_name(row["category"], row["feature"], "max")] = str(row["max"])
    return filled
