"""The irreversible steps of a selection, each behind a confirmation page: publish, open or close a
stage, withdraw an applicant (with an undo for a few minutes), invite evaluators or speech raters.

GET shows what the step will do, found by rehearsing it (engage/selections/steps/rehearsal.py): who is
affected, how many texts go out in which language, at what cost, what becomes final. The form on that
page POSTs to the same address, which does the step, keeps the result as a message for the next page
(engage/web/flash.py) and goes back to the selection (303)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from litestar import MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.accounts.guards import OrganizerPages, staff
from engage.audit.services import organizer_actor
from engage.errors import EngageError, InvalidInput
from engage.i18n import current_locale, ngettext
from engage.i18n import gettext as _
from engage.jobs import After
from engage.selections import labels, services, stages
from engage.selections.models import StageKind, StageStatus
from engage.selections.steps.rehearsal import Rehearsal, rehearse
from engage.selections.web.api import after_commit, run
from engage.selections.web.organizer import detail_page
from engage.selections.wizard.forms import stage_labels
from engage.settings import Settings
from engage.web.deps import DB
from engage.web.flash import flash
from engage.web.money import money as format_money

BASE = "/organizer/selections/{selection_id:int}"


def plural(singular: str, many: str, n: int, **values: Any) -> str:
    """`ngettext` with its `%(num)s` (and any other value) filled in."""
    return ngettext(singular, many, n) % ({"num": n} | values)


def sentences(*parts: str) -> str:
    """Sentences side by side: a space in English, nothing after a Chinese full stop."""
    return ("" if current_locale.get() == "zh_CN" else " ").join(part for part in parts if part)


def money(amount: Decimal, currency: str) -> str:
    """An amount with the currency the settings name, as the reader's language writes it."""
    return format_money(amount, currency)


async def _rehearse(
    db: AsyncSession,
    selection_id: int,
    settings: Settings,
    work: Callable[[Session], tuple[Any, After]],
    outcome: Callable[[Session, Any], dict[str, Any]] | None = None,
) -> Rehearsal:
    try:
        return await db.run_sync(lambda s: rehearse(s, selection_id, settings, work, outcome))
    finally:
        await db.rollback()


def texts_lines(rehearsal: Rehearsal) -> list[str]:
    lines = []
    if rehearsal.texts:
        lines.append(
            plural(
                "%(num)s personal text is sent at once.",
                "%(num)s personal texts are sent at once.",
                rehearsal.texts,
            )
        )
    for titles, languages in rehearsal.notices:
        count = sum(language.recipients for language in languages)
        lines.append(
            plural(
                "The notice “%(title)s” is texted to %(num)s subscriber.",
                "The notice “%(title)s” is texted to %(num)s subscribers.",
                count,
                title=titles["en" if current_locale.get() == "en" else "zh_CN"],
            )
        )
    total = rehearsal.texts + rehearsal.notice_texts
    if total:
        lines.append(
            _("In all %(texts)s texts, %(segments)s segments, about %(cost)s.")
            % {
                "texts": total,
                "segments": rehearsal.segments,
                "cost": money(rehearsal.cost, rehearsal.currency),
            }
        )
    else:
        lines.append(_("No text is sent."))
    return lines


def changed_lines(rehearsal: Rehearsal) -> list[dict[str, str]]:
    return [
        {
            "name": name,
            "before": labels.applicant_status(before) if before else "",
            "after": labels.applicant_status(after),
        }
        for name, before, after in rehearsal.changed
    ]


def confirm_page(
    *,
    title: str,
    button: str,
    back: str,
    consequences: list[str],
    rehearsal: Rehearsal | None = None,
    cannot_undo: str = "",
    undo: str = "",
    fields: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Template:
    context = {
        "title": title,
        "button": button,
        "back": back,
        "consequences": consequences,
        "texts": texts_lines(rehearsal) if rehearsal else [],
        "notices": rehearsal.notices if rehearsal else [],
        "changed": changed_lines(rehearsal) if rehearsal else [],
        "cannot_undo": cannot_undo,
        "undo": undo,
        "fields": fields or {},
        "locale": current_locale.get(),
        "language_names": {"zh_CN": _("Chinese"), "en": _("English")},
    }
    return Template("pages/organizer/selections/confirm.html", context=context | (extra or {}))


def _back(selection_id: int) -> str:
    return f"/organizer/selections/{selection_id}"


def result_lines(rehearsal: Rehearsal) -> str:
    total = rehearsal.texts + rehearsal.notice_texts
    return plural("%(num)s text queued.", "%(num)s texts queued.", total) if total else ""


class SelectionSteps(OrganizerPages):
    path = BASE
    guards = [staff]

    # --- publish ---------------------------------------------------------------------------------
    @get("/publish")
    async def publish_page(
        self, request: Request[Any, Any, Any], db: DB, state: State, selection_id: FromPath[int]
    ) -> Template:
        actor = organizer_actor(request.user.id)
        settings = state.settings
        try:
            rehearsal = await _rehearse(
                db,
                selection_id,
                settings,
                lambda s: services.publish(s, actor, selection_id, settings),
                lambda s, selection: {
                    "title": selection.title(current_locale.get()),
                    "first": (lambda f: {"kind": f.kind, "opens_at": f.opens_at})(
                        min(selection.stages, key=lambda stage: stage.position)
                    ),
                },
            )
        except EngageError as problem:
            return await detail_page(request, db, selection_id, problem)
        first = rehearsal.outcome["first"]
        stages = stage_labels()
        return confirm_page(
            title=_("Publish “%(title)s”?") % {"title": rehearsal.outcome["title"]},
            button=_("Publish now"),
            back=_back(selection_id),
            consequences=[
                _(
                    "The public page of the selection appears for everyone, with its posts, seats, eligibility, rules and timetable."
                ),
                _(
                    "From then on each stage opens and closes on its dates by itself; the first, %(stage)s, opens on %(day)s."
                )
                % {
                    "stage": stages[first["kind"]],
                    "day": first["opens_at"].astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"),
                },
            ],
            rehearsal=rehearsal,
            cannot_undo=_(
                "A published selection cannot return to draft: its posts, seats, rules and timetable are fixed, and the texts cannot be called back."
            ),
        )

    @post("/publish", media_type=MediaType.HTML, status_code=303)
    async def publish(
        self, request: Request[Any, Any, Any], db: DB, state: State, selection_id: FromPath[int]
    ) -> Template | Redirect:
        actor = organizer_actor(request.user.id)
        try:
            rehearsal = await _rehearse(
                db,
                selection_id,
                state.settings,
                lambda s: services.publish(s, actor, selection_id, state.settings),
            )
            _s, after = await run(db, lambda s: services.publish(s, actor, selection_id, state.settings))
        except EngageError as problem:
            await db.rollback()
            return await detail_page(request, db, selection_id, problem)
        await after_commit(state, after)
        flash(request, sentences(_("Published. The public page is up."), result_lines(rehearsal)))
        return Redirect(_back(selection_id), status_code=303)

    # --- open or close a stage ----------------------------------------------------------------------
    @get("/stages/{kind:str}/{move:str}")
    async def stage_page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        selection_id: FromPath[int],
        kind: FromPath[str],
        move: FromPath[str],
    ) -> Template:
        settings = state.settings
        actor = organizer_actor(request.user.id)
        try:
            work = _stage_work(actor, selection_id, kind, move, settings)
            rehearsal = await _rehearse(
                db,
                selection_id,
                settings,
                work,
                outcome=lambda s, _r: _stage_outcome(s, selection_id, kind, move),
            )
        except EngageError as problem:
            return await detail_page(request, db, selection_id, problem)
        name = stage_labels()[kind]
        planned = rehearsal.outcome["planned"].astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        lines = [
            (
                _("The %(stage)s stage opens now instead of at %(planned)s.")
                if move == "open"
                else _("The %(stage)s stage closes now instead of at %(planned)s.")
            )
            % {"stage": name, "planned": planned},
            *WHAT_HAPPENS.get((kind, move), lambda: [])(),
        ]
        verdicts = rehearsal.outcome.get("verdicts") or []
        return confirm_page(
            title=(
                _("Open the %(stage)s stage now?") if move == "open" else _("Close the %(stage)s stage now?")
            )
            % {"stage": name},
            button=_("Open now") if move == "open" else _("Close now"),
            back=_back(selection_id),
            consequences=lines,
            rehearsal=rehearsal,
            cannot_undo=_(
                "A stage that has opened cannot return to waiting, and a closed stage cannot reopen; what it decided stands."
            ),
            extra={"verdicts": verdicts, "threshold": rehearsal.outcome.get("threshold", "")},
        )

    @post("/stages/{kind:str}/{move:str}", media_type=MediaType.HTML, status_code=303)
    async def stage(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        selection_id: FromPath[int],
        kind: FromPath[str],
        move: FromPath[str],
    ) -> Template | Redirect:
        settings = state.settings
        actor = organizer_actor(request.user.id)
        try:
            work = _stage_work(actor, selection_id, kind, move, settings)
            rehearsal = await _rehearse(db, selection_id, settings, work)
            _s, after = await run(db, work)
        except EngageError as problem:
            await db.rollback()
            return await detail_page(request, db, selection_id, problem)
        await after_commit(state, after)
        name = stage_labels()[kind]
        done = _("The %(stage)s stage is open.") if move == "open" else _("The %(stage)s stage is closed.")
        out = [n for n, _b, a in rehearsal.changed if a == "disqualified"]
        names = ("、" if current_locale.get() == "zh_CN" else ", ").join(out)
        below = _("Out below the approval line: %(names)s.") % {"names": names} if out else ""
        flash(request, sentences(done % {"stage": name}, below, result_lines(rehearsal)))
        return Redirect(_back(selection_id), status_code=303)

    # --- withdraw an applicant, and undo it ---------------------------------------------------------
    @get("/applicants/{applicant_id:int}/withdraw")
    async def withdraw_page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        selection_id: FromPath[int],
        applicant_id: FromPath[int],
        objection: FromQuery[str] = "",
    ) -> Template:
        actor = organizer_actor(request.user.id)
        reference = objection.strip()[:20] or None
        try:
            rehearsal = await _rehearse(
                db,
                selection_id,
                state.settings,
                _withdraw_work(actor, selection_id, applicant_id, reference),
                lambda s, applicant: {"name": applicant.name},
            )
        except EngageError as problem:
            return await detail_page(request, db, selection_id, problem)
        name = rehearsal.outcome["name"]
        minutes = int(services.UNDO_WITHDRAWAL.total_seconds() // 60)
        lines = [
            _("%(name)s leaves the selection: no more ballots, scores or places for them.") % {"name": name}
        ]
        if reference:
            lines.append(
                _("On the upheld objection %(ref)s, which goes on the record.") % {"ref": reference.upper()}
            )
        return confirm_page(
            title=_("Withdraw %(name)s?") % {"name": name},
            button=_("Withdraw"),
            back=_back(selection_id),
            consequences=lines,
            rehearsal=rehearsal,
            undo=""
            if reference
            else _(
                "You can undo this from the selection's page for %(n)s minutes, as long as no stage opens or closes meanwhile."
            )
            % {"n": minutes},
            cannot_undo=_("A withdrawal on an upheld objection is final.") if reference else "",
            fields={"objection": reference or ""},
        )

    @post("/applicants/{applicant_id:int}/withdraw", media_type=MediaType.HTML, status_code=303)
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        selection_id: FromPath[int],
        applicant_id: FromPath[int],
    ) -> Template | Redirect:
        actor = organizer_actor(request.user.id)
        form = await request.form()
        reference = str(form.get("objection") or "").strip()[:20] or None
        try:
            applicant = await run(
                db, lambda s: services.withdraw_applicant(s, actor, selection_id, applicant_id, reference)
            )
        except EngageError as problem:
            await db.rollback()
            return await detail_page(request, db, selection_id, problem)
        undo = "" if reference else _("You can undo it below for a few minutes.")
        flash(request, sentences(_("%(name)s is withdrawn.") % {"name": applicant.name}, undo))
        return Redirect(_back(selection_id), status_code=303)

    @post("/applicants/{applicant_id:int}/restore", media_type=MediaType.HTML, status_code=303)
    async def restore(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        selection_id: FromPath[int],
        applicant_id: FromPath[int],
    ) -> Template | Redirect:
        actor = organizer_actor(request.user.id)
        try:
            applicant = await run(
                db, lambda s: services.undo_withdrawal(s, actor, selection_id, applicant_id)
            )
        except EngageError as problem:
            await db.rollback()
            return await detail_page(request, db, selection_id, problem)
        flash(request, _("Undone: %(name)s is back in the running.") % {"name": applicant.name})
        return Redirect(_back(selection_id), status_code=303)


def _withdraw_work(
    actor: str, selection_id: int, applicant_id: int, reference: str | None
) -> Callable[[Session], tuple[Any, After]]:
    return lambda s: (services.withdraw_applicant(s, actor, selection_id, applicant_id, reference), After())


MOVES = ("open", "close")


def _stage_work(
    actor: str, selection_id: int, kind: str, move: str, settings: Settings
) -> Callable[[Session], tuple[Any, After]]:
    if kind not in list(StageKind) or move not in MOVES:
        raise InvalidInput("stage", _("Unknown stage or step."))
    step = stages.open_stage if move == "open" else stages.close_stage
    return lambda s: step(s, actor, selection_id, kind, settings)


def _stage_outcome(session: Session, selection_id: int, kind: str, move: str) -> dict[str, Any]:
    """What the stage decided, as far as the confirmation page shows it: when it was due, and the
    assessment's verdicts against the approval line."""
    selection = services.get_selection(session, selection_id)
    stage = selection.stage(StageKind(kind))
    found: dict[str, Any] = {"planned": stage.opens_at if move == "open" else stage.closes_at}
    if kind == StageKind.ASSESSMENT and stage.status == StageStatus.CLOSED and stage.outcome:
        found["verdicts"] = stage.outcome.get("verdicts", [])
        found["threshold"] = stage.outcome["rule"]["threshold"]
    return found


WHAT_HAPPENS: dict[tuple[str, str], Callable[[], list[str]]] = {
    ("nomination", "open"): lambda: [
        _("Verified residents and deputies can nominate from now on, on the page and by SMS.")
    ],
    ("nomination", "close"): lambda: [_("No nomination is taken after this; the tallies are final.")],
    ("assessment", "open"): lambda: [
        _(
            "Invited evaluators can cast their secret ballots from now on; the applicants in the running now are the ones rated."
        )
    ],
    ("assessment", "close"): lambda: [
        _(
            "No ballot is taken after this. The approval line is applied: each applicant below it is out, and the result is published as a notice."
        )
    ],
    ("speech", "open"): lambda: [
        _(
            "Opens only when every post has enough candidates (the margin rule); raters can score the speeches."
        )
    ],
    ("speech", "close"): lambda: [
        _("The speech scores are ranked; those not among the first of each post do not advance.")
    ],
    ("interview", "open"): lambda: [
        _("Every confirmed member of the linked grand-jury panel gets a scoring sheet by SMS.")
    ],
    ("interview", "close"): lambda: [
        _("The scores are unsealed and ranked; the anonymised score matrix is published.")
    ],
    ("result", "open"): lambda: [
        _(
            "The first of each post within the seats become proposed for appointment; the result notice is published."
        )
    ],
    ("public_notice", "open"): lambda: [
        _("The appointment notice is published and its objection period starts.")
    ],
    ("public_notice", "close"): lambda: [
        _("The proposed become appointed, unless an upheld objection suspended them.")
    ],
}
