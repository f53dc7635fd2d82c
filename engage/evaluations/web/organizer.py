"""Organizer pages of evaluations: the list, a new campaign, and one campaign with its results, the
service contacts (one by one or a CSV), the SMS invitations, the review of flagged ratings, comment
moderation and publishing. Staff write; auditors read. The buttons call the same services as the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from engage import jobs
from engage.accounts.guards import OrganizerPages, staff
from engage.accounts.models import Role
from engage.audit.services import organizer_actor
from engage.errors import EngageError, InvalidInput
from engage.evaluations import ratings, results, services
from engage.evaluations.models import CommentStatus, Mode
from engage.evaluations.web import api
from engage.evaluations.web.public import results_context
from engage.i18n import gettext as _
from engage.settings import Settings
from engage.web.deps import DB

STAFF_ROLES = (Role.ADMIN.value, Role.ORGANIZER.value)


def _lines(raw: str, field: str, parts: int) -> list[list[str]]:
    """One item per line, its parts separated by "|"."""
    rows = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > parts:
            raise InvalidInput(field, _('Too many "|" in: %(line)s') % {"line": line.strip()})
        rows.append(cells + [""] * (parts - len(cells)))
    return rows


def _local_time(raw: str, field: str, settings: Settings) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(field, _("Enter a date and time.")) from None
    return moment.replace(tzinfo=settings.tz) if moment.tzinfo is None else moment


def _int(raw: str, field: str, default: int) -> int:
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(field, _("Enter a whole number.")) from None
    if not 1 <= value <= 100000:
        raise InvalidInput(field, _("Enter a whole number.")) from None
    return value


def draft_from_form(form: Any, settings: Settings) -> services.CampaignDraft:
    def get(name: str) -> str:
        return str(form.get(name) or "")

    questions = [services.Question(zh, en) for zh, en in _lines(get("questions"), "questions", 2)]
    subjects = [services.SubjectIn(name, unit) for name, unit in _lines(get("subjects"), "subjects", 2)]
    codes = [c.strip() for c in get("community_codes").replace("，", ",").split(",") if c.strip()]
    return services.CampaignDraft(
        title_zh=get("title_zh"),
        title_en=get("title_en"),
        mode=get("mode"),
        opens_at=_local_time(get("opens_at"), "opens_at", settings),
        closes_at=_local_time(get("closes_at"), "closes_at", settings),
        questions=questions,
        subjects=subjects,
        community_codes=codes,
        threshold=get("threshold") or "2/3",
        min_answers=_int(get("min_answers"), "min_answers", 1),
        bulk_limit=_int(get("bulk_limit"), "bulk_limit", 10),
        bulk_minutes=_int(get("bulk_minutes"), "bulk_minutes", 10),
    )


async def _detail(
    request: Request[Any, Any, Any],
    db: DB,
    campaign_id: int,
    problem: EngageError | None = None,
    message: str = "",
    row_errors: list[services.RowError] | None = None,
) -> Template:
    found = await results.campaign_results(db, campaign_id)
    context = {
        **results_context(found, public=False),
        "flagged": await results.flagged_ratings(db, campaign_id),
        "may_write": request.user.role in STAFF_ROLES,
        "problem": problem,
        "message": message,
        "row_errors": row_errors or [],
        "reverse": found.campaign.mode == Mode.REVERSE,
        "today": date.today().isoformat(),
    }
    status = problem.status_code if problem else 200
    return Template("pages/organizer/evaluations/detail.html", context=context, status_code=status)


class EvaluationPages(OrganizerPages):
    path = "/organizer/evaluations"

    @get("/", name="evaluations:list")
    async def list_page(self, request: Request[Any, Any, Any], db: DB) -> Template:
        campaigns = await services.list_campaigns(db)
        context = {"campaigns": campaigns, "may_write": request.user.role in STAFF_ROLES}
        return Template("pages/organizer/evaluations/list.html", context=context)

    @get("/new", guards=[staff])
    async def new_form(self) -> Template:
        return Template("pages/organizer/evaluations/new.html", context={"values": {}, "problem": None})

    @post("/new", guards=[staff], media_type=MediaType.HTML, status_code=303)
    async def create(self, request: Request[Any, Any, Any], db: DB, state: State) -> Redirect | Template:
        form = await request.form()
        try:
            draft = draft_from_form(form, state.settings)
            campaign = await services.create_campaign(
                db, organizer_actor(request.user.id), draft, state.settings
            )
        except EngageError as problem:
            await db.rollback()
            context = {"values": {k: str(v) for k, v in form.items()}, "problem": problem}
            return Template(
                "pages/organizer/evaluations/new.html", context=context, status_code=problem.status_code
            )
        return Redirect(f"/organizer/evaluations/{campaign.id}", status_code=303)

    @get("/{campaign_id:int}", name="evaluations:detail")
    async def detail(self, request: Request[Any, Any, Any], db: DB, campaign_id: FromPath[int]) -> Template:
        return await _detail(request, db, campaign_id)

    @get("/{campaign_id:int}/ratings.csv")
    async def export(self, db: DB, campaign_id: FromPath[int]) -> Response[bytes]:
        content = (await results.export(db, campaign_id)).encode()
        disposition = f'attachment; filename="evaluation-{campaign_id}-ratings.csv"'
        return Response(content, media_type="text/csv", headers={"Content-Disposition": disposition})

    @post("/{campaign_id:int}/contacts", guards=[staff], media_type=MediaType.HTML, status_code=200)
    async def add_contact(
        self, request: Request[Any, Any, Any], db: DB, state: State, campaign_id: FromPath[int]
    ) -> Template:
        form = await request.form()
        try:
            try:
                served_on = date.fromisoformat(str(form.get("served_on") or ""))
                subject_id = int(str(form.get("subject_id") or "0"))
            except ValueError:
                raise InvalidInput("served_on", _("Enter the date of the service.")) from None
            contact = services.ContactIn(
                subject_id, str(form.get("phone") or ""), served_on, str(form.get("matter") or "")
            )
            await services.record_contact(
                db, organizer_actor(request.user.id), campaign_id, contact, state.settings
            )
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, campaign_id, problem)
        return await _detail(request, db, campaign_id, message=_("The service contact is recorded."))

    @post("/{campaign_id:int}/contacts/import", guards=[staff], media_type=MediaType.HTML, status_code=200)
    async def import_contacts(
        self, request: Request[Any, Any, Any], db: DB, state: State, campaign_id: FromPath[int]
    ) -> Template:
        form = await request.form()
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise InvalidInput("file", _("Choose a CSV file to upload."))
            try:
                text = (await upload.read()).decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput("file", _("The file is not UTF-8 text.")) from None
            rows = await services.import_contacts(
                db, organizer_actor(request.user.id), campaign_id, text, state.settings
            )
        except services.ImportRejected as rejected:
            await db.rollback()
            return await _detail(request, db, campaign_id, rejected, row_errors=rejected.rows)
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, campaign_id, problem)
        return await _detail(
            request, db, campaign_id, message=_("%(n)s service contacts imported.") % {"n": len(rows)}
        )

    @post("/{campaign_id:int}/invite", guards=[staff], media_type=MediaType.HTML, status_code=200)
    async def invite(
        self, request: Request[Any, Any, Any], db: DB, state: State, campaign_id: FromPath[int]
    ) -> Template:
        try:
            messages = await services.invite(
                db, state.settings, organizer_actor(request.user.id), campaign_id
            )
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, campaign_id, problem)
        await api.send_texts(state, messages)
        return await _detail(
            request, db, campaign_id, message=_("%(n)s invitations queued.") % {"n": len(messages)}
        )

    @post(
        "/{campaign_id:int}/ratings/{rating_id:int}/{decision:str}",
        guards=[staff],
        media_type=MediaType.HTML,
        status_code=303,
    )
    async def review(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: FromPath[int],
        rating_id: FromPath[int],
        decision: FromPath[str],
    ) -> Redirect | Template:
        try:
            if decision not in ("accept", "reject"):
                raise InvalidInput("decision", "accept or reject")
            await ratings.review(
                db, organizer_actor(request.user.id), campaign_id, rating_id, decision == "accept"
            )
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, campaign_id, problem)
        return Redirect(f"/organizer/evaluations/{campaign_id}#flagged", status_code=303)

    @post(
        "/{campaign_id:int}/comments/{rating_id:int}/{decision:str}",
        guards=[staff],
        media_type=MediaType.HTML,
        status_code=303,
    )
    async def moderate(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: FromPath[int],
        rating_id: FromPath[int],
        decision: FromPath[str],
    ) -> Redirect | Template:
        try:
            if decision not in ("approve", "hide"):
                raise InvalidInput("decision", "approve or hide")
            status = CommentStatus.APPROVED if decision == "approve" else CommentStatus.HIDDEN
            await ratings.set_comment_status(
                db, organizer_actor(request.user.id), campaign_id, rating_id, status
            )
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, campaign_id, problem)
        return Redirect(f"/organizer/evaluations/{campaign_id}#comments", status_code=303)

    @post("/{campaign_id:int}/publish", guards=[staff], media_type=MediaType.HTML, status_code=200)
    async def publish(
        self, request: Request[Any, Any, Any], db: DB, state: State, campaign_id: FromPath[int]
    ) -> Template:
        try:
            notice = await results.publish(db, organizer_actor(request.user.id), campaign_id, state.settings)
        except EngageError as problem:
            await db.rollback()
            return await _detail(request, db, campaign_id, problem)
        await jobs.after_commit(state.redis_url, jobs.After(notices_at=[(notice.id, notice.publish_at)]))
        return await _detail(
            request,
            db,
            campaign_id,
            message=_("The results are published as notice %(id)s.") % {"id": notice.id},
        )
