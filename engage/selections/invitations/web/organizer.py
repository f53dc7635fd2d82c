"""Inviting evaluators (democratic assessment) and speech raters from the console.

The organizer picks a group for each person who holds the evaluator role, or pastes a roster
(`phone, group`, one a line), then sees, before anything is sent, the text in each language, how many
texts go out and what they cost. The list waits in the organizer's session between the two pages;
the confirming POST invites them all through `balloting.invite` (all or nothing)."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.accounts.guards import OrganizerPages, staff
from engage.audit.services import organizer_actor
from engage.errors import EngageError
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.phones import normalise
from engage.residents.models import Resident, ResidentRole, ResidentRoleKind
from engage.selections import services
from engage.selections.figures import group_names
from engage.selections.models import Invitation, InvitationStage, StageKind
from engage.selections.rules.config import EVALUATOR_GROUPS, RATER_GROUPS
from engage.selections.stages import assessment as balloting
from engage.selections.steps.rehearsal import LanguageTexts
from engage.selections.steps.web.organizer import _rehearse, confirm_page, plural, sentences
from engage.selections.web.api import after_commit, run
from engage.selections.web.organizer import detail_page
from engage.sms.segments import count_segments
from engage.sms.texts import render
from engage.web.deps import DB
from engage.web.flash import flash

SESSION_KEY = "selection_invite"
STAGES = (InvitationStage.ASSESSMENT, InvitationStage.SPEECH)


def _groups(stage: str) -> tuple[str, ...]:
    return EVALUATOR_GROUPS if stage == InvitationStage.ASSESSMENT else RATER_GROUPS


def _group_names() -> dict[str, str]:
    return group_names() | {"resident": _("Residents")}


def _candidates(session: Session, selection_id: int, stage: str) -> list[dict[str, Any]]:
    """Verified residents with the evaluator role who are not invited to this stage yet."""
    invited = select(Invitation.resident_id).where(
        Invitation.selection_id == selection_id, Invitation.stage == stage
    )
    rows = session.execute(
        select(Resident)
        .join(ResidentRole, ResidentRole.resident_id == Resident.id)
        .where(
            ResidentRole.role == ResidentRoleKind.EVALUATOR,
            ResidentRole.withdrawn_at.is_(None),
            Resident.verified_at.is_not(None),
            Resident.phone.is_not(None),
            Resident.id.not_in(invited),
        )
        .order_by(Resident.id)
        .limit(500)
    ).scalars()
    return [
        {
            "id": r.id,
            "name": r.name or r.pseudonym,
            "work_unit": r.work_unit or "",
            "stopped": r.sms_opt_out_at is not None,
        }
        for r in rows
    ]


def _group_code(raw: str, stage: str) -> str | None:
    """A group as typed in a roster: its code or its name in either language."""
    wanted = raw.strip().lower()
    for code in _groups(stage):
        names = {code}
        for locale in ("zh_CN", "en"):
            from engage import i18n

            with i18n.use_locale(locale):
                names.add(_group_names()[code].lower())
        if wanted in names:
            return code
    return None


def _parse(
    session: Session, form: dict[str, Any], stage: str, candidates: list[dict[str, Any]], region: str
) -> tuple[list[list[Any]], dict[str, str]]:
    errors: dict[str, str] = {}
    chosen: dict[int, str] = {}
    for person in candidates:
        group = str(form.get(f"group-{person['id']}") or "")
        if group in _groups(stage):
            chosen[person["id"]] = group
    roster = str(form.get("roster") or "")
    problems = []
    for number, line in enumerate((line for line in roster.splitlines() if line.strip()), start=1):
        parts = [part.strip() for part in line.replace("，", ",").split(",")]
        if len(parts) != 2:
            problems.append(_("line %(n)s: write “phone, group”") % {"n": number})
            continue
        try:
            phone = normalise(parts[0], region)
        except EngageError:
            problems.append(_("line %(n)s: not a phone number") % {"n": number})
            continue
        code = _group_code(parts[1], stage)
        if code is None:
            problems.append(_("line %(n)s: unknown group") % {"n": number})
            continue
        resident_id = session.execute(select(Resident.id).where(Resident.phone == phone)).scalar_one_or_none()
        allowed = {p["id"] for p in candidates}
        if resident_id is None or resident_id not in allowed:
            problems.append(
                _("line %(n)s: not a verified evaluator who is still to be invited") % {"n": number}
            )
            continue
        chosen[resident_id] = code
    if problems:
        errors["roster"] = _("Roster: %(problems)s.") % {"problems": "; ".join(problems)}
    if not chosen and not errors:
        errors["invitees"] = _("Invitees: choose a group for at least one person, or paste a roster.")
    return [[rid, group] for rid, group in chosen.items()], errors


def _back(selection_id: int) -> str:
    return f"/organizer/selections/{selection_id}"


class SelectionInvitations(OrganizerPages):
    path = "/organizer/selections/{selection_id:int}/invite"
    guards = [staff]

    async def _form(
        self, db: DB, selection_id: int, stage: str, values: dict[str, Any], errors: dict[str, str]
    ) -> Template:
        def load(session: Session) -> dict[str, Any]:
            selection = services.get_selection(session, selection_id)
            rules = services.rules_of(selection)
            return {
                "title": selection.title(current_locale.get()),
                "candidates": _candidates(session, selection_id, stage),
                "suggested": rules.evaluator_groups if stage == InvitationStage.ASSESSMENT else RATER_GROUPS,
            }

        context = await db.run_sync(load)
        context.update(
            selection_id=selection_id,
            stage=stage,
            stages=STAGES,
            # The groups the wizard chose for the assessment (all of them for an older selection).
            groups=context.pop("suggested"),
            group_names=_group_names(),
            values=values,
            errors=errors,
        )
        return Template(
            "pages/organizer/selections/invite.html", context=context, status_code=400 if errors else 200
        )

    @get("/")
    async def choose(
        self, db: DB, selection_id: FromPath[int], stage: FromQuery[str] = "assessment"
    ) -> Template:
        stage = stage if stage in STAGES else InvitationStage.ASSESSMENT
        return await self._form(db, selection_id, stage, {}, {})

    @post("/", media_type=MediaType.HTML, status_code=303)
    async def review(
        self, request: Request[Any, Any, Any], db: DB, state: State, selection_id: FromPath[int]
    ) -> Template | Redirect:
        form = dict(await request.form())
        stage = str(form.get("stage") or "")
        if stage not in STAGES:
            stage = InvitationStage.ASSESSMENT
        invitees, errors = await db.run_sync(
            lambda s: _parse(
                s, form, stage, _candidates(s, selection_id, stage), state.settings.default_region
            )
        )
        if errors:
            return await self._form(db, selection_id, stage, form, errors)
        request.session[SESSION_KEY] = {"selection_id": selection_id, "stage": stage, "invitees": invitees}
        return Redirect(f"/organizer/selections/{selection_id}/invite/confirm", status_code=303)

    def _pending(self, request: Request[Any, Any, Any], selection_id: int) -> dict[str, Any] | None:
        pending = request.session.get(SESSION_KEY)
        return pending if pending and pending.get("selection_id") == selection_id else None

    @get("/confirm")
    async def confirm(
        self, request: Request[Any, Any, Any], db: DB, state: State, selection_id: FromPath[int]
    ) -> Template | Redirect:
        pending = self._pending(request, selection_id)
        if pending is None:
            return Redirect(f"/organizer/selections/{selection_id}/invite")
        settings = state.settings
        actor = organizer_actor(request.user.id)
        stage = InvitationStage(pending["stage"])
        invitees = [balloting.Invitee(rid, group) for rid, group in pending["invitees"]]

        def describe(session: Session, _result: Any) -> dict[str, Any]:
            selection = services.get_selection(session, selection_id)
            residents = session.execute(
                select(Resident).where(Resident.id.in_([i.resident_id for i in invitees]))
            ).scalars()
            by_locale: dict[str, int] = {}
            stopped = 0
            for resident in residents:
                if resident.sms_opt_out_at is not None:
                    stopped += 1
                    continue
                key = "en" if resident.locale == "en" else "zh_CN"
                by_locale[key] = by_locale.get(key, 0) + 1
            closes = (
                selection.stage(StageKind(stage)).closes_at.astimezone(settings.tz).strftime("%m-%d %H:%M")
            )
            sample = balloting.link(settings, balloting.LINK_PATHS[stage], secrets.token_urlsafe(16))
            previews = []
            for locale in ("zh_CN", "en"):
                text = render(
                    f"selection_{stage}_invite",
                    locale,
                    settings.sms_signature,
                    title=selection.title(locale),
                    closes=closes,
                    link=sample,
                )
                previews.append(
                    LanguageTexts(locale, by_locale.get(locale, 0), count_segments(text).segments, text)
                )
            per_group: dict[str, int] = {}
            for invitee in invitees:
                per_group[invitee.group] = per_group.get(invitee.group, 0) + 1
            return {
                "previews": previews,
                "stopped": stopped,
                "per_group": per_group,
                "title": selection.title(current_locale.get()),
            }

        try:
            rehearsal = await _rehearse(
                db,
                selection_id,
                settings,
                lambda s: balloting.invite(s, actor, selection_id, stage, invitees, settings),
                describe,
            )
        except EngageError as problem:
            request.session.pop(SESSION_KEY, None)
            return await detail_page(request, db, selection_id, problem)
        found = rehearsal.outcome
        names = _group_names()
        separator = "、" if current_locale.get() == "zh_CN" else ", "
        lines = [
            plural(
                "%(num)s person is invited: %(groups)s.",
                "%(num)s people are invited: %(groups)s.",
                len(invitees),
                groups=separator.join(f"{names[g]} {n}" for g, n in found["per_group"].items()),
            ),
            _("Each gets a personal link by SMS at once; the link works once, for one secret ballot."),
        ]
        if found["stopped"]:
            lines.append(
                plural(
                    "%(num)s of them stopped texts: invited, but gets no text.",
                    "%(num)s of them stopped texts: invited, but get no text.",
                    found["stopped"],
                )
            )
        return confirm_page(
            title=_("Invite %(n)s people to “%(title)s”?") % {"n": len(invitees), "title": found["title"]},
            button=_("Send the invitations"),
            back=_back(selection_id),
            consequences=lines,
            rehearsal=rehearsal,
            cannot_undo=_(
                "Sent texts cannot be called back, and an invitation cannot be withdrawn: it counts towards the group's quorum."
            ),
            extra={"previews": found["previews"]},
        )

    @post("/confirm", media_type=MediaType.HTML, status_code=303)
    async def send(
        self, request: Request[Any, Any, Any], db: DB, state: State, selection_id: FromPath[int]
    ) -> Template | Redirect:
        pending = self._pending(request, selection_id)
        if pending is None:
            return Redirect(f"/organizer/selections/{selection_id}/invite", status_code=303)
        actor = organizer_actor(request.user.id)
        stage = InvitationStage(pending["stage"])
        invitees = [balloting.Invitee(rid, group) for rid, group in pending["invitees"]]
        try:
            invitations, after = await run(
                db, lambda s: balloting.invite(s, actor, selection_id, stage, invitees, state.settings)
            )
        except EngageError as problem:
            await db.rollback()
            request.session.pop(SESSION_KEY, None)
            return await detail_page(request, db, selection_id, problem)
        request.session.pop(SESSION_KEY, None)
        await after_commit(state, after)
        flash(
            request,
            sentences(
                plural("%(num)s person invited.", "%(num)s people invited.", len(invitations)),
                plural("%(num)s text queued.", "%(num)s texts queued.", len(after.texts)),
            ),
        )
        return Redirect(_back(selection_id), status_code=303)
