"""/organizer/notices: the organizer's notices on a laptop. The list, a form to write one in both
languages (kind, audience, communities, the public period, urgency), and one notice with its SMS preview
(segments, encoding and cost per language and in total, before anything is sent), publish now or at a
time, close; its delivery counts and objections are the sections of their own modules, linked here.
The buttons call the same services as /api/v1/notices.

Publishing and closing are irreversible: their buttons lead to a confirmation page (GET, which changes
nothing) that states the recipients, the texts and their cost; its POST performs the step and reports
the result once on the notice's page. While typing, the composer's count comes from POST /meter (htmx);
the delivery funnel refreshes itself from GET /{id}/funnel while texts go out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from engage import jobs
from engage.accounts.guards import OrganizerPages, staff
from engage.accounts.models import Role
from engage.audit.services import organizer_actor
from engage.db import utcnow
from engage.errors import Conflict, EngageError, InvalidInput
from engage.i18n import LOCALE_NAMES, current_locale
from engage.i18n import gettext as _
from engage.notices import composer, fanout, services
from engage.notices.deliveries import funnel
from engage.notices.deliveries import services as delivery_services
from engage.notices.models import Audience
from engage.notices.objections.web import api as objections_api
from engage.residents.notice_kinds import NoticeKind
from engage.settings import Settings
from engage.web.confirm import Confirmation, confirmation_page
from engage.web.deps import DB
from engage.web.flash import flash
from engage.web.money import money

STAFF_ROLES = (Role.ADMIN.value, Role.ORGANIZER.value)


def draft_from_form(form: dict[str, Any]) -> services.Draft:
    def text(name: str, limit: int) -> str:
        value = str(form.get(name) or "").strip()
        if not value:
            raise InvalidInput(name, _("Required."))
        if len(value) > limit:
            raise InvalidInput(name, _("At most %(n)s characters.") % {"n": limit})
        return value

    kind = str(form.get("kind") or "")
    if kind not in {k.value for k in NoticeKind}:
        raise InvalidInput("kind", _("Choose the kind of notice."))
    audience = str(form.get("audience") or Audience.KIND.value)
    if audience not in {a.value for a in Audience}:
        raise InvalidInput("audience", _("Choose who receives it."))
    period = str(form.get("period_days") or "").strip()
    if period and not period.isdecimal():
        raise InvalidInput("period_days", _("Enter 0 to 60 working days, or leave it empty."))
    return services.Draft(
        kind=kind,
        title_zh=text("title_zh", 200),
        title_en=text("title_en", 200),
        body_zh=text("body_zh", 1600),
        body_en=text("body_en", 1600),
        audience=audience,
        community_codes=[c.strip() for c in str(form.get("community_codes") or "").split(",") if c.strip()],
        period_days=int(period) if period else None,
        urgent=form.get("urgent") == "yes",
    )


def publish_time(raw: str, settings: Settings) -> datetime | None:
    """Empty: now. Otherwise local date and time (YYYY-MM-DDTHH:MM from the page's input)."""
    if not raw.strip():
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(
            "publish_at", _("Enter a date and time, or leave it empty to publish now.")
        ) from None
    return moment.replace(tzinfo=settings.tz) if moment.tzinfo is None else moment


class OrganizerNoticePages(OrganizerPages):
    path = "/organizer/notices"

    @get("/", media_type=MediaType.HTML)
    async def list_page(self, request: Request[Any, Any, Any], db: DB, state: State) -> Template:
        return await _list(request, db, state)

    @post("/", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def create(self, request: Request[Any, Any, Any], db: DB, state: State) -> Redirect | Template:
        form = dict(await request.form())
        try:
            notice = await services.create_draft(
                db, organizer_actor(request.user.id), draft_from_form(form), state.settings
            )
        except EngageError as problem:
            await db.rollback()
            return await _list(request, db, state, problem, form)
        return Redirect(f"/organizer/notices/{notice.id}", status_code=303)

    @get("/{notice_id:int}", media_type=MediaType.HTML)
    async def detail(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Template:
        return await _detail(request, db, state, notice_id)

    @post("/meter", media_type=MediaType.HTML)
    async def meter(self, request: Request[Any, Any, Any], db: DB, state: State) -> Template:
        """The composer's live count (an htmx fragment): the unsaved form's texts, segments and cost."""
        form = dict(await request.form())
        counted = await composer.meter_for_form(db, form, state.settings)
        return Template("pages/organizer/notices/_meter.html", context={"m": counted})

    @get("/{notice_id:int}/publish", guards=[staff], media_type=MediaType.HTML)
    async def confirm_publish(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Template:
        raw = str(request.query_params.get("publish_at") or "")
        try:
            at = publish_time(raw, state.settings)
            notice = await services.get_notice(db, notice_id)
            if notice.status != "draft":
                raise Conflict("status", _("Only a draft can be published."))
        except EngageError as problem:
            return await _detail(request, db, state, notice_id, problem)
        counted = await composer.meter(db, notice, state.settings)
        return confirmation_page(_publish_confirmation(notice, counted, at, raw, state.settings))

    @post("/{notice_id:int}/publish", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def publish(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Redirect | Template:
        form = await request.form()
        try:
            at = publish_time(str(form.get("publish_at") or ""), state.settings)
            notice = await services.publish(
                db, organizer_actor(request.user.id), notice_id, at, state.settings
            )
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, state, notice_id, problem)
        at = notice.texts_held_until or notice.publish_at
        await jobs.after_commit(state.redis_url, jobs.After(notices_at=[(notice.id, at)]))
        await objections_api.schedule_close(db, state.redis_url, notice.id)
        if notice.status == "scheduled" and notice.publish_at is not None:
            flash(
                request,
                _("Notice scheduled: it is published at %(at)s.")
                % {"at": _local(notice.publish_at, state.settings)},
            )
        elif notice.texts_held_until:
            flash(
                request,
                _("Notice published. Quiet hours: its texts go out at %(at)s.")
                % {"at": _local(notice.texts_held_until, state.settings)},
            )
        else:
            flash(request, _("Notice published. Its texts are going out now."))
        return Redirect(f"/organizer/notices/{notice_id}", status_code=303)

    @get("/{notice_id:int}/close", guards=[staff], media_type=MediaType.HTML)
    async def confirm_close(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Template:
        notice = await services.get_notice(db, notice_id)
        page = f"/organizer/notices/{notice_id}"
        return confirmation_page(
            Confirmation(
                title=_("Close the notice “%(title)s”?") % {"title": notice.title(current_locale.get())},
                button=_("Close the notice"),
                back=page,
                consequences=[
                    _("The notice is marked closed on its public page."),
                    _("No text is sent."),
                ],
                cannot_undo=_("A closed notice cannot be published again or reopened."),
            )
        )

    @post("/{notice_id:int}/close", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def close(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Redirect | Template:
        try:
            await services.close(db, organizer_actor(request.user.id), notice_id)
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, state, notice_id, problem)
        flash(request, _("Notice closed."))
        return Redirect(f"/organizer/notices/{notice_id}", status_code=303)

    @get("/{notice_id:int}/funnel", media_type=MediaType.HTML)
    async def funnel_fragment(
        self, request: HTMXRequest, db: DB, notice_id: FromPath[int]
    ) -> Template | Redirect:
        """The funnel alone, for htmx's polling; a browser without htmx gets the whole notice page."""
        if not request.htmx:
            return Redirect(f"/organizer/notices/{notice_id}")
        return Template("pages/organizer/notices/_funnel.html", context=await funnel_context(db, notice_id))


async def funnel_context(db: DB, notice_id: int) -> dict[str, Any]:
    summary = await delivery_services.summary(db, notice_id)
    notice = await services.get_notice(db, notice_id)
    # Worth watching: texts still to be made (published, not fanned out yet), going out, or waiting for
    # the network's delivery report. A notice held by the quiet hours waits hours: no polling for it.
    to_make = notice.status == "published" and notice.fanned_out_at is None and not notice.texts_held_until
    return {
        "notice_id": notice_id,
        "summary": summary,
        "live": to_make or summary.in_progress or bool(summary.counts["sent"]),
        "progress": funnel.progress_chart(summary),
        "failures": funnel.failures_chart(summary),
        "done": funnel.finished_share(summary),
    }


def _local(moment: datetime, settings: Settings) -> str:
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


def _publish_confirmation(
    notice: Any, counted: composer.Meter, at: datetime | None, raw_at: str, settings: Settings
) -> Confirmation:
    p = counted.preview
    total = money(p.cost, counted.currency)
    when = _("now") if at is None else _local(at, settings)
    consequences = [
        _("The notice becomes public on the notices page at %(when)s.") % {"when": when},
        _("%(n)s residents get a text: %(s)s segments in all, costing about %(cost)s.")
        % {"n": p.recipients, "s": p.segments, "cost": total},
    ]
    held = fanout_hold(notice, settings)
    if held is not None and at is None:
        consequences.append(_("Quiet hours: the texts wait until %(at)s.") % {"at": _local(held, settings)})
    rows = [
        [
            _locale_name(lang.locale),
            counted.texts[lang.locale],
            str(lang.count.segments),
            str(lang.recipients),
            money(counted.language_cost(lang.locale), counted.currency),
        ]
        for lang in p.languages
    ]
    return Confirmation(
        title=_("Publish “%(title)s” and text %(n)s residents?")
        % {"title": notice.title(current_locale.get()), "n": p.recipients},
        button=_("Publish and send the texts"),
        back=f"/organizer/notices/{notice.id}",
        consequences=consequences,
        cannot_undo=_(
            "Texts that have gone cannot be called back, and their cost is billed. A published notice "
            "cannot return to draft: corrections need a new notice."
        ),
        table_caption=_("The texts as they will be sent"),
        table_head=[_("Language"), _("Text"), _("Segments per text"), _("Recipients"), _("Cost")],
        table_rows=rows,
        fields={"publish_at": raw_at},
    )


def fanout_hold(notice: Any, settings: Settings) -> datetime | None:
    return fanout.texts_held_until(notice, utcnow(), settings)


def _locale_name(locale: str) -> str:
    return LOCALE_NAMES.get(locale, locale)


async def _list(
    request: Request[Any, Any, Any],
    db: DB,
    state: State,
    problem: EngageError | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    _total, notices = await services.list_notices(db, None, 200, 0)
    context = {
        "notices": notices,
        "locale": current_locale.get(),
        "kinds": [k.value for k in NoticeKind],
        "audiences": [a.value for a in Audience],
        "may_write": request.user.role in STAFF_ROLES,
        "problem": problem,
        "values": values or {},
        "meter": await composer.meter_for_form(db, values or {}, state.settings),
    }
    return Template(
        "pages/organizer/notices/list.html",
        context=context,
        status_code=problem.status_code if problem else 200,
    )


async def _detail(
    request: Request[Any, Any, Any], db: DB, state: State, notice_id: int, problem: EngageError | None = None
) -> Template:
    notice = await services.get_notice(db, notice_id)
    context = {
        "notice": notice,
        "m": await composer.meter(db, notice, state.settings),
        "funnel": await funnel_context(db, notice_id),
        "locale": current_locale.get(),
        "may_write": request.user.role in STAFF_ROLES,
        "problem": problem,
    }
    return Template(
        "pages/organizer/notices/detail.html",
        context=context,
        status_code=problem.status_code if problem else 200,
    )
