"""Pages of a selection: the public page (every stage as it happened) and its open data, and the
phone pages behind personal links: the assessment ballot (/b/...), the speech rating (/r/...) and the
juror's scoring sheet (/s/...). The link's token is the capability; forms still carry the CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from engage import links
from engage.errors import EngageError, NotFound
from engage.i18n import current_locale, for_resident
from engage.i18n import gettext as _
from engage.panels.models import PanelMember
from engage.residents.models import Resident
from engage.residents.web.public import RESIDENT
from engage.selections import labels, services
from engage.selections.models import Invitation, InvitationStage, Juror, StageKind
from engage.selections.rules import red_line as assessment
from engage.selections.stages import assessment as balloting
from engage.selections.stages import interview as interviews
from engage.selections.stages import nomination as nominating
from engage.selections.stages import outcome
from engage.selections.web.api import run
from engage.web.deps import DB, MAX_ID

SelectionId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
Token = Annotated[str, Parameter(min_length=8, max_length=64)]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class PublicSelectionPages(Controller):
    path = "/selections"
    include_in_schema = False

    @get(media_type=MediaType.HTML)
    async def index(self, db: DB) -> Template:
        rows = await db.run_sync(lambda s: services.list_selections(s, public=True))
        return Template(
            "pages/selections/index.html", context={"selections": rows, "locale": current_locale.get()}
        )

    @get("/{selection_id:int}", media_type=MediaType.HTML)
    async def show(self, db: DB, selection_id: SelectionId) -> Template:
        locale = current_locale.get()
        view = await db.run_sync(lambda s: _public(s, selection_id, locale))
        context = {
            "v": view,
            "locale": locale,
            "selection_status": labels.selection_status,
            "stage_status": labels.stage_status,
            "applicant_status": labels.applicant_status,
        }
        return Template("pages/selections/show.html", context=context)

    @get("/{selection_id:int}/open-data.json")
    async def open_json(self, db: DB, selection_id: SelectionId) -> dict[str, Any]:
        return await db.run_sync(lambda s: _public(s, selection_id, "en"))

    @get("/{selection_id:int}/open-data.csv")
    async def open_csv(self, db: DB, selection_id: SelectionId) -> Response[bytes]:
        view = await db.run_sync(lambda s: _public(s, selection_id, "en"))
        return Response(
            ("\ufeff" + outcome.open_data_csv(view)).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="selection-{selection_id}.csv"'},
        )


def _public(session: Session, selection_id: int, locale: str) -> dict[str, Any]:
    selection = services.get_selection(session, selection_id)
    if selection.status == "draft":
        raise NotFound("selection_id", f"no selection {selection_id}")
    view = outcome.public_view(session, selection, locale)
    view["margins"] = [c.__dict__ for c in balloting.margin_report(session, selection)]
    view["blocked"] = {s.kind: (s.outcome or {}).get("blocked") for s in selection.stages if s.outcome}
    return view


class NominationPages(Controller):
    """A signed-in resident (phone + code, as for /me) nominates one person per post, and may change it
    until the nomination closes."""

    path = "/selections/{selection_id:int}/nominate"
    include_in_schema = False

    @get(media_type=MediaType.HTML)
    async def form(
        self, request: Request[Any, Any, Any], db: DB, selection_id: SelectionId
    ) -> Template | Redirect:
        resident_id = _signed_in(request)
        if resident_id is None:
            return Redirect("/join")
        return await _nomination_page(
            db, selection_id, resident_id, {}, {}, saved=request.query_params.get("saved")
        )

    @post(media_type=MediaType.HTML)
    async def submit(
        self, request: Request[Any, Any, Any], db: DB, selection_id: SelectionId, data: Form
    ) -> Template | Redirect:
        resident_id = _signed_in(request)
        if resident_id is None:
            return Redirect("/join")
        errors: dict[str, str] = {}
        try:
            post_id = int(data.get("post_id", ""))
        except ValueError:
            post_id = 0
        entry = nominating.NominationIn(
            post_id,
            data.get(f"name-{post_id}", ""),
            data.get(f"work_unit-{post_id}", ""),
            data.get(f"reason-{post_id}", ""),
        )
        try:
            await run(db, lambda s: nominating.nominate(s, resident_id, selection_id, entry))
        except EngageError as error:
            await db.rollback()
            if error.status_code == 404:
                raise
            errors[f"{error.field}-{post_id}" if error.field in ("name", "reason") else "form"] = error.detail
        if errors:
            return await _nomination_page(db, selection_id, resident_id, data, errors, status=400)
        return Redirect(f"/selections/{selection_id}/nominate?saved={post_id}")


def _signed_in(request: Request[Any, Any, Any]) -> int | None:
    resident_id = request.session.get(RESIDENT) if request.session else None
    return resident_id if isinstance(resident_id, int) else None


async def _nomination_page(
    db: Any,
    selection_id: int,
    resident_id: int,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    saved: str | None = None,
    status: int = 200,
) -> Template:
    locale = current_locale.get()

    def load(s: Session) -> dict[str, Any]:
        selection = services.get_selection(s, selection_id)
        if selection.status == "draft":
            raise NotFound("selection_id", f"no selection {selection_id}")
        mine = nominating.nominations_of(s, selection_id, resident_id)
        return {
            "locale": locale,
            "selection": selection,
            "stage": selection.stage(StageKind.NOMINATION),
            "posts": [(post, mine.get(post.id)) for post in selection.posts],
        }

    context = await db.run_sync(load)
    context.update(values=values, errors=errors, saved=saved)
    return Template("pages/selections/nominate.html", context=context, status_code=status)


RATING_LABELS = {
    assessment.Rating.COMPETENT: "Competent",
    assessment.Rating.BASICALLY_COMPETENT: "Basically competent",
    assessment.Rating.NOT_COMPETENT: "Not competent",
}


class LinkPages(Controller):
    """Personal links, opened from an SMS on a phone."""

    include_in_schema = False

    @get("/b/{token:str}", media_type=MediaType.HTML)
    async def ballot(self, db: DB, token: Token) -> Template:
        await _speak_as_holder(db, token, InvitationStage.ASSESSMENT)
        return await _ballot_page(db, token, {}, {})

    @post("/b/{token:str}", media_type=MediaType.HTML)
    async def cast(self, db: DB, token: Token, data: Form) -> Template | Redirect:
        await _speak_as_holder(db, token, InvitationStage.ASSESSMENT)
        ballot = await db.run_sync(lambda s: balloting.open_link(s, InvitationStage.ASSESSMENT, token))
        ratings = {a.id: data[f"a{a.id}"] for a in ballot.applicants if data.get(f"a{a.id}")}
        errors = {
            f"a{a.id}": _("Choose a rating for this applicant.")
            for a in ballot.applicants
            if a.id not in ratings
        }
        if not errors:
            await _submit(db, lambda s: balloting.cast_ballot(s, token, ratings), errors)
        if errors:
            return await _ballot_page(db, token, data, errors, 400)
        return Redirect(f"/b/{token}")

    @get("/r/{token:str}", media_type=MediaType.HTML)
    async def speech(self, db: DB, token: Token) -> Template:
        await _speak_as_holder(db, token, InvitationStage.SPEECH)
        return await _speech_page(db, token, {}, {})

    @post("/r/{token:str}", media_type=MediaType.HTML)
    async def rate(self, db: DB, token: Token, data: Form) -> Template | Redirect:
        await _speak_as_holder(db, token, InvitationStage.SPEECH)

        def load(s: Session) -> tuple[balloting.Ballot, int]:
            ballot = balloting.open_link(s, InvitationStage.SPEECH, token)
            return ballot, services.rules_of(ballot.selection).speech_max_points

        ballot, top = await db.run_sync(load)
        points: dict[int, int] = {}
        errors: dict[str, str] = {}
        for applicant in ballot.applicants:
            name = f"a{applicant.id}"
            value = _whole(data.get(name, ""), top)
            if value is None:
                errors[name] = _("Enter a whole number from 0 to %(max)s.") % {"max": top}
            else:
                points[applicant.id] = value
        if not errors:
            await _submit(db, lambda s: balloting.submit_speech_scores(s, token, points), errors)
        if errors:
            return await _speech_page(db, token, data, errors, 400)
        return Redirect(f"/r/{token}")

    @get("/s/{token:str}", media_type=MediaType.HTML)
    async def sheet(self, db: DB, token: Token) -> Template:
        await _speak_as_holder(db, token, None)
        return await _sheet_page(db, token, {}, {})

    @post("/s/{token:str}", media_type=MediaType.HTML)
    async def score(self, db: DB, token: Token, data: Form) -> Template | Redirect:
        await _speak_as_holder(db, token, None)
        sheet = await db.run_sync(lambda s: interviews.open_sheet(s, token))
        scores: dict[int, dict[str, Any]] = {}
        errors: dict[str, str] = {}
        for applicant in sheet.candidates:
            for criterion in sheet.rubric:
                name = f"a{applicant.id}-{criterion.code}"
                value = _whole(data.get(name, ""), criterion.max_points)
                if value is None:
                    errors[name] = _("Enter a whole number from 0 to %(max)s.") % {
                        "max": criterion.max_points
                    }
                else:
                    scores.setdefault(applicant.id, {})[criterion.code] = value
        if not errors:
            await _submit(db, lambda s: interviews.submit(s, token, scores), errors)
        if errors:
            return await _sheet_page(db, token, data, errors, 400)
        return Redirect(f"/s/{token}")


async def _submit(db: DB, work: Callable[[Session], object], errors: dict[str, str]) -> None:
    """Records a sheet once; a refusal about one of its fields joins `errors`, to show on the form.
    Refusals of the link itself (used, expired, closed) are errors pages."""
    try:
        await run(db, work)
    except EngageError as error:
        await db.rollback()
        if error.status_code in (403, 404, 409):
            raise
        errors[_anchor(error.field)] = error.detail


async def _speak_as_holder(db: DB, token: str, stage: InvitationStage | None) -> None:
    """A link's page speaks its holder's language (i18n.for_resident): a ballot's or a speech sheet's
    invited resident, or (stage None) the juror holding an interview sheet."""
    hashed = links.token_hash(token)
    if stage is None:
        query = (
            select(Resident.locale)
            .join(PanelMember, PanelMember.resident_id == Resident.id)
            .join(Juror, Juror.member_id == PanelMember.id)
            .where(Juror.token_hash == hashed)
        )
    else:
        query = (
            select(Resident.locale)
            .join(Invitation, Invitation.resident_id == Resident.id)
            .where(Invitation.token_hash == hashed, Invitation.stage == stage)
        )
    for_resident((await db.execute(query)).scalar())


def _whole(text: str, top: int) -> int | None:
    """A whole number from 0 to top typed into a phone's number field, or None."""
    text = text.strip()
    if not text.isdecimal() or len(text) > 6:
        return None
    value = int(text)
    return value if value <= top else None


def _anchor(field: str | None) -> str:
    """scores.12 / ratings.12 / points.12 -> the input's id on the page (a12)."""
    if not field:
        return "form"
    _head, _, tail = field.partition(".")
    return f"a{tail}" if tail.isdigit() else field


async def _ballot_page(
    db: Any, token: str, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    locale = current_locale.get()

    def load(s: Session) -> dict[str, Any]:
        ballot = balloting.open_link(s, InvitationStage.ASSESSMENT, token)
        return _link_context(ballot, StageKind.ASSESSMENT, locale)

    context = await db.run_sync(load)
    context.update(
        values=values, errors=errors, token=token, ratings=list(assessment.Rating), labels=RATING_LABELS
    )
    return Template("pages/selections/ballot.html", context=context, status_code=status)


async def _speech_page(
    db: Any, token: str, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    locale = current_locale.get()

    def load(s: Session) -> dict[str, Any]:
        ballot = balloting.open_link(s, InvitationStage.SPEECH, token)
        context = _link_context(ballot, StageKind.SPEECH, locale)
        context["max_points"] = services.rules_of(ballot.selection).speech_max_points
        return context

    context = await db.run_sync(load)
    context.update(values=values, errors=errors, token=token)
    return Template("pages/selections/speech.html", context=context, status_code=status)


def _link_context(ballot: balloting.Ballot, kind: StageKind, locale: str) -> dict[str, Any]:
    stage = ballot.selection.stage(kind)
    posts = {post.id: post.title(locale) for post in ballot.selection.posts}
    return {
        "locale": locale,
        "title": ballot.selection.title(locale),
        "selection_id": ballot.selection.id,
        "stage": stage,
        "applicants": [(a, posts[a.post_id]) for a in ballot.applicants],
        "used": ballot.invitation.voted_at is not None,
        "rules": ballot.selection.rules,
    }


async def _sheet_page(
    db: Any, token: str, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    locale = current_locale.get()

    def load(s: Session) -> dict[str, Any]:
        sheet = interviews.open_sheet(s, token)
        posts = {post.id: post.title(locale) for post in sheet.selection.posts}
        return {
            "locale": locale,
            "title": sheet.selection.title(locale),
            "selection_id": sheet.selection.id,
            "stage": sheet.selection.stage(StageKind.INTERVIEW),
            "candidates": [(a, posts[a.post_id]) for a in sheet.candidates],
            "conflicted": sheet.conflicted,
            "rubric": sheet.rubric,
            "juror": sheet.juror,
        }

    context = await db.run_sync(load)
    context.update(values=values, errors=errors, token=token)
    return Template("pages/selections/sheet.html", context=context, status_code=status)
