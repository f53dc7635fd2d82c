"""/organizer/notices: the organizer's notices on a laptop. The list, a form to write one in both
languages (kind, audience, communities, the public period, urgency), and one notice with its SMS preview
(segments, encoding and cost per language and in total, before anything is sent), publish now or at a
time, close; its delivery counts and objections are the sections of their own modules, linked here.
The buttons call the same services as /api/v1/notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from engage import jobs
from engage.accounts.guards import any_organizer, staff
from engage.accounts.models import Role
from engage.audit.services import organizer_actor
from engage.errors import EngageError, InvalidInput
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.notices import fanout, services
from engage.notices.models import Audience
from engage.notices.objections.web import api as objections_api
from engage.residents.notice_kinds import NoticeKind
from engage.settings import Settings
from engage.web.deps import DB

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


class OrganizerNoticePages(Controller):
    path = "/organizer/notices"
    include_in_schema = False
    guards = [any_organizer]

    @get("/", media_type=MediaType.HTML)
    async def list_page(self, request: Request[Any, Any, Any], db: DB) -> Template:
        return await _list(request, db)

    @post("/", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def create(self, request: Request[Any, Any, Any], db: DB, state: State) -> Redirect | Template:
        form = dict(await request.form())
        try:
            notice = await services.create_draft(
                db, organizer_actor(request.user.id), draft_from_form(form), state.settings
            )
        except EngageError as problem:
            await db.rollback()
            return await _list(request, db, problem, form)
        return Redirect(f"/organizer/notices/{notice.id}", status_code=303)

    @get("/{notice_id:int}", media_type=MediaType.HTML)
    async def detail(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Template:
        return await _detail(request, db, state, notice_id)

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
        return Redirect(f"/organizer/notices/{notice_id}", status_code=303)

    @post("/{notice_id:int}/close", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def close(
        self, request: Request[Any, Any, Any], db: DB, state: State, notice_id: FromPath[int]
    ) -> Redirect | Template:
        try:
            await services.close(db, organizer_actor(request.user.id), notice_id)
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, state, notice_id, problem)
        return Redirect(f"/organizer/notices/{notice_id}", status_code=303)


async def _list(
    request: Request[Any, Any, Any],
    db: DB,
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
    preview = await services.preview(db, notice, state.settings)
    context = {
        "notice": notice,
        "preview": preview,
        "texts": {locale: fanout.sms_text(notice, locale, state.settings) for locale in ("zh_CN", "en")},
        "price": fanout.PRICE_PER_SEGMENT,
        "locale": current_locale.get(),
        "may_write": request.user.role in STAFF_ROLES,
        "problem": problem,
    }
    return Template(
        "pages/organizer/notices/detail.html",
        context=context,
        status_code=problem.status_code if problem else 200,
    )
