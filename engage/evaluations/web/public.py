"""The residents' side: rating a service through the personal link of an invitation (/e/<token>),
rating officials online when signed in (/evaluations/<id>), and the published results.

Every rating endpoint counts hits per client address (engage.ratelimit): a personal link cannot be
guessed, and a script gets 429 long before it could try. Bulk patterns that stay under the limit are
flagged by the rating service, not refused."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from engage import ratelimit
from engage.db import utcnow
from engage.errors import EngageError, NotFound, RateLimited
from engage.evaluations import ratings, results, services
from engage.evaluations.models import Campaign, Mode, Rating, ServiceContact, Subject, Via
from engage.evaluations.rules import eligibility, stats
from engage.i18n import current_locale, for_resident
from engage.i18n import gettext as _
from engage.keys import Purpose
from engage.residents.labels import N_
from engage.residents.models import Resident
from engage.residents.signup import load_resident
from engage.residents.web.public import RESIDENT  # the session key the sign-in at /join sets
from engage.web.deps import DB

HITS_PER_IP = 60  # rating pages and posts per client address ...
WINDOW = 10 * 60  # ... per 10 minutes
SCALE_LABELS = {
    1: N_("Very dissatisfied"),
    2: N_("Dissatisfied"),
    3: N_("Neutral"),
    4: N_("Satisfied"),
    5: N_("Very satisfied"),
}


def client_of(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def limit_hits(request: Request[Any, Any, Any], state: State) -> None:
    wait = await ratelimit.hit(state.redis, f"eval:ip:{client_of(request)}", HITS_PER_IP, WINDOW)
    if wait:
        raise RateLimited("rating", _("Too many requests from this address. Please try again later."), wait)


def scores_from(form: Any, questions: int) -> tuple[list[int], dict[str, str]]:
    scores, errors = [], {}
    for at in range(questions):
        raw = str(form.get(f"q{at + 1}") or "")
        if raw not in ("1", "2", "3", "4", "5"):
            errors[f"q{at + 1}"] = _("Choose an answer to question %(n)s.") % {"n": at + 1}
        else:
            scores.append(int(raw))
    return scores, errors


def _office(subject: Subject) -> str:
    return (
        f"{subject.unit} {subject.name}".strip()
        if current_locale.get() == "en"
        else f"{subject.unit}{subject.name}"
    )


def rating_page(
    campaign: Campaign,
    subject: Subject,
    action: str,
    *,
    contact: ServiceContact | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    done: ratings.Submitted | None = None,
    refusal: str = "",
    rated: bool = False,
    status: int = 200,
) -> Template:
    locale = current_locale.get()
    context = {
        "campaign": campaign,
        "title": campaign.title(locale),
        "office": _office(subject),
        "contact": contact,
        "questions": [q["en"] if locale == "en" else q["zh"] for q in campaign.questions],
        "scale": [(score, _(label)) for score, label in SCALE_LABELS.items()],
        "action": action,
        "values": values or {},
        "errors": errors or {},
        "done": done,
        "refusal": refusal,
        "rated": rated or done is not None,
        "open": campaign.is_open(utcnow()),
    }
    return Template("pages/evaluations/rate.html", context=context, status_code=status)


def _values(form: Any, questions: int) -> dict[str, Any]:
    values = {f"q{i + 1}": str(form.get(f"q{i + 1}") or "") for i in range(questions)}
    values["comment"] = str(form.get("comment") or "")
    return values


async def _existing(db: Any, slot: str, questions: int) -> dict[str, Any]:
    rating = (await db.execute(select(Rating).where(Rating.slot == slot))).scalar_one_or_none()
    if rating is None:
        return {}
    values: dict[str, Any] = {f"q{i + 1}": str(s) for i, s in enumerate(rating.scores[:questions])}
    values["comment"] = rating.comment
    return values


async def _submit(
    request: Request[Any, Any, Any],
    db: DB,
    state: State,
    campaign: Campaign,
    subject: Subject,
    resident: Resident,
    contact: ServiceContact | None,
    action: str,
) -> Template:
    form = await request.form()
    questions = len(campaign.questions)
    scores, errors = scores_from(form, questions)
    values = _values(form, questions)
    if errors:
        return rating_page(
            campaign, subject, action, contact=contact, values=values, errors=errors, status=400
        )
    source = ratings.source_hash(state.settings.key(Purpose.CLIENT_HASH), client_of(request))
    try:
        done = await ratings.submit(
            db,
            campaign=campaign,
            subject=subject,
            resident=resident,
            contact=contact,
            scores=scores,
            comment=values["comment"],
            via=Via.WEB,
            source=source,
        )
    except ratings.Refused as refused:
        return rating_page(campaign, subject, action, contact=contact, refusal=refused.detail, status=403)
    except EngageError as problem:
        await db.rollback()
        errors = {problem.field or "rating": problem.detail}
        return rating_page(
            campaign,
            subject,
            action,
            contact=contact,
            values=values,
            errors=errors,
            status=problem.status_code,
        )
    values["comment"] = done.rating.comment  # as stored: personal data removed
    return rating_page(campaign, subject, action, contact=contact, values=values, done=done)


async def _signed_in(request: Request[Any, Any, Any], db: DB) -> Resident | None:
    resident_id = request.session.get(RESIDENT) if request.session else None
    return await load_resident(db, resident_id) if isinstance(resident_id, int) else None


class RatingPages(Controller):
    include_in_schema = False

    async def _by_token(self, db: DB, token: str) -> tuple[ServiceContact, Campaign, Subject, Resident]:
        contact = await services.contact_by_token(db, token)
        if contact is None:
            raise NotFound("token", _("This link is not valid. Use the link from your text message."))
        campaign = await services.get_campaign(db, contact.campaign_id)
        resident = await db.get(Resident, contact.resident_id)
        if resident is None:
            raise NotFound("token", _("This link is not valid. Use the link from your text message."))
        for_resident(resident.locale)
        return contact, campaign, contact.subject, resident

    @get("/e/{token:str}", media_type=MediaType.HTML)
    async def by_link(
        self, request: Request[Any, Any, Any], db: DB, state: State, token: FromPath[str]
    ) -> Template:
        await limit_hits(request, state)
        contact, campaign, subject, _resident = await self._by_token(db, token)
        values = await _existing(db, f"contact:{contact.id}", len(campaign.questions))
        return rating_page(
            campaign, subject, f"/e/{token}", contact=contact, values=values, rated=bool(values)
        )

    @post("/e/{token:str}", media_type=MediaType.HTML, status_code=200)
    async def rate_by_link(
        self, request: Request[Any, Any, Any], db: DB, state: State, token: FromPath[str]
    ) -> Template:
        await limit_hits(request, state)
        contact, campaign, subject, resident = await self._by_token(db, token)
        return await _submit(request, db, state, campaign, subject, resident, contact, f"/e/{token}")

    @get("/evaluations/{campaign_id:int}", media_type=MediaType.HTML)
    async def online(self, request: Request[Any, Any, Any], db: DB, campaign_id: FromPath[int]) -> Any:
        resident = await _signed_in(request, db)
        if resident is None:
            return Redirect("/signin")
        campaign = await services.get_campaign(db, campaign_id)
        context = {"campaign": campaign, "title": campaign.title(current_locale.get()), "office": _office}
        return Template("pages/evaluations/subjects.html", context=context)

    @get("/evaluations/{campaign_id:int}/subjects/{subject_id:int}", media_type=MediaType.HTML)
    async def online_form(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        campaign_id: FromPath[int],
        subject_id: FromPath[int],
    ) -> Any:
        await limit_hits(request, state)
        resident = await _signed_in(request, db)
        if resident is None:
            return Redirect("/signin")
        campaign = await services.get_campaign(db, campaign_id)
        subject = services.subject_of(campaign, subject_id)
        action = f"/evaluations/{campaign.id}/subjects/{subject.id}"
        slot = f"online:{subject.id}:{resident.id}"
        if campaign.mode == Mode.REVERSE:
            contact = await ratings.entitling_contact(db, campaign, subject, resident)
            if contact is None:
                refusal = ratings.refusal_text(eligibility.Refusal.NO_CONTACT)
                return rating_page(campaign, subject, action, refusal=refusal, status=403)
            slot = f"contact:{contact.id}"
        values = await _existing(db, slot, len(campaign.questions))
        return rating_page(campaign, subject, action, values=values, rated=bool(values))

    @post(
        "/evaluations/{campaign_id:int}/subjects/{subject_id:int}", media_type=MediaType.HTML, status_code=200
    )
    async def rate_online(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        campaign_id: FromPath[int],
        subject_id: FromPath[int],
    ) -> Any:
        await limit_hits(request, state)
        resident = await _signed_in(request, db)
        if resident is None:
            return Redirect("/signin", status_code=303)
        campaign = await services.get_campaign(db, campaign_id)
        subject = services.subject_of(campaign, subject_id)
        action = f"/evaluations/{campaign.id}/subjects/{subject.id}"
        return await _submit(request, db, state, campaign, subject, resident, None, action)

    @get("/evaluations/{campaign_id:int}/results", media_type=MediaType.HTML)
    async def public_results(self, db: DB, campaign_id: FromPath[int]) -> Template:
        found = await results.campaign_results(db, campaign_id)
        if found.campaign.notice_id is None:
            raise NotFound("campaign_id", _("These results are not published yet."))
        return Template("pages/evaluations/results.html", context=results_context(found, public=True))


def results_context(found: results.CampaignResults, *, public: bool) -> dict[str, Any]:
    locale = current_locale.get()
    return {
        "found": found,
        "campaign": found.campaign,
        "title": found.campaign.title(locale),
        "percent": stats.percent,
        "public": public,
        "locale": locale,
        "office": _office,
    }
