"""The resident's pages: join by phone and code, profile, roles with consent, confirmation, and /me.

Nothing is stored until the last step: the profile waits in the server-side session, so an abandoned
sign-up leaves no partial record.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from engage.errors import Conflict, InvalidInput, RateLimited
from engage.i18n import current_locale, for_resident
from engage.i18n import gettext as _
from engage.notices.kinds import NoticeKind
from engage.phones import mask
from engage.residents import labels
from engage.residents.models import AGE_BANDS, GENDERS, OCCUPATION_GROUPS, ParticipantType, ResidentRoleKind
from engage.residents.profile import Choices, Problems, Profile, check_choices, check_profile
from engage.residents.signup import (
    check_code,
    communities,
    delete_resident,
    load_resident,
    register,
    resident_by_phone,
    send_code,
    update_choices,
    update_profile,
)
from engage.web.deps import DB
from engage.web.sessions import rotate_session

VERIFIED_FOR = 30 * 60  # seconds a verified phone may take to finish the sign-up
PHONE, VERIFIED, PROFILE, RESIDENT = "join_phone", "verified_phone", "join_profile", "resident_id"


def _client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _translated(problems: Problems) -> dict[str, str]:
    return {name: _(message) for name, message in problems.by_field.items()}


def _verified_phone(request: Request[Any, Any, Any]) -> str | None:
    verified = request.session.get(VERIFIED) if request.session else None
    if not isinstance(verified, dict) or time.time() - float(verified.get("at", 0)) > VERIFIED_FOR:
        return None
    phone = verified.get("phone")
    return phone if isinstance(phone, str) else None


def _options(db_communities: list[Any]) -> dict[str, Any]:
    zh = current_locale.get() == "zh_CN"
    return {
        "communities": [(c.code, c.name_zh if zh else c.name_en) for c in db_communities],
        "age_bands": [(band, _(labels.AGE_BAND_LABELS[band])) for band in AGE_BANDS],
        "genders": [(g, _(labels.GENDER_LABELS[g])) for g in GENDERS],
        "occupations": [(o, _(labels.OCCUPATION_LABELS[o])) for o in OCCUPATION_GROUPS],
        "participant_types": [(p.value, _(labels.PARTICIPANT_TYPE_LABELS[p.value])) for p in ParticipantType],
        "roles": [
            (
                r.value,
                _(labels.ROLE_LABELS[r.value]),
                _(labels.ROLE_DESCRIPTIONS[r.value]),
                _(labels.CONSENT_TEXTS[r.value]),
            )
            for r in ResidentRoleKind
        ],
        "notice_kinds": [(k.value, _(labels.NOTICE_KIND_LABELS[k.value])) for k in NoticeKind],
    }


def _profile_values(profile: Profile | dict[str, Any] | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return dict(profile.__dict__) if isinstance(profile, Profile) else dict(profile)


async def _form(request: Request[Any, Any, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    form = await request.form()
    single = {key: str(form.get(key, "")) for key in form}
    multi = {key: [str(v) for v in form.getall(key)] for key in form}
    return single, multi


def _choices_from(multi: dict[str, list[str]], community_codes: list[str]) -> Choices | Problems:
    return check_choices(
        multi.get("roles", []),
        [name.removeprefix("consent_") for name in multi if name.startswith("consent_")],
        multi.get("notice_kinds", []),
        multi.get("communities", []),
        community_codes,
    )


class JoinPages(Controller):
    include_in_schema = False

    @get("/join", media_type=MediaType.HTML)
    async def phone_form(self, request: Request[Any, Any, Any]) -> Template:
        return Template("pages/join/phone.html", context={"errors": {}, "phone": ""})

    @post("/join", media_type=MediaType.HTML)
    async def phone(self, request: Request[Any, Any, Any], db: DB, state: State) -> Any:
        single, _multi = await _form(request)
        raw = single.get("phone", "")
        try:
            sent = await send_code(db, state.redis, state.settings, raw, _client_ip(request))
        except (InvalidInput, RateLimited) as error:
            headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
            context = {"errors": {"phone": error.detail}, "phone": raw}
            return Template(
                "pages/join/phone.html", context=context, status_code=error.status_code, headers=headers
            )
        request.session[PHONE] = sent.phone
        return Redirect("/join/code")

    @get("/join/code", media_type=MediaType.HTML)
    async def code_form(self, request: Request[Any, Any, Any]) -> Any:
        phone = request.session.get(PHONE) if request.session else None
        if not phone:
            return Redirect("/join")
        return Template("pages/join/code.html", context={"errors": {}, "masked": mask(phone)})

    @post("/join/code", media_type=MediaType.HTML)
    async def code(self, request: Request[Any, Any, Any], db: DB) -> Any:
        phone = request.session.get(PHONE) if request.session else None
        if not phone:
            return Redirect("/join")
        single, _multi = await _form(request)
        try:
            state = request.app.state
            await check_code(
                db, state.redis, state.settings, phone, single.get("code", ""), _client_ip(request)
            )
        except InvalidInput as error:
            context = {"errors": {"code": error.detail}, "masked": mask(phone)}
            return Template("pages/join/code.html", context=context, status_code=400)
        request.session.pop(PHONE, None)
        rotate_session(request)  # the phone is proven: whoever held the old session id must not share it
        resident = await resident_by_phone(db, phone)
        if resident is not None:
            request.session[RESIDENT] = resident.id
            return Redirect("/me?welcome=back")
        request.session[VERIFIED] = {"phone": phone, "at": time.time()}
        return Redirect("/join/profile")

    @get("/join/profile", media_type=MediaType.HTML)
    async def profile_form(self, request: Request[Any, Any, Any], db: DB) -> Any:
        if _verified_phone(request) is None:
            return Redirect("/join")
        context = {
            "errors": {},
            "values": _profile_values(request.session.get(PROFILE)),
            **_options(await communities(db)),
        }
        return Template("pages/join/profile.html", context=context)

    @post("/join/profile", media_type=MediaType.HTML)
    async def profile(self, request: Request[Any, Any, Any], db: DB) -> Any:
        if _verified_phone(request) is None:
            return Redirect("/join")
        single, _multi = await _form(request)
        known = await communities(db)
        checked = check_profile(single, [c.code for c in known])
        if isinstance(checked, Problems):
            context = {"errors": _translated(checked), "values": single, **_options(known)}
            return Template("pages/join/profile.html", context=context, status_code=400)
        request.session[PROFILE] = _profile_values(checked)
        return Redirect("/join/roles")

    @get("/join/roles", media_type=MediaType.HTML)
    async def roles_form(self, request: Request[Any, Any, Any], db: DB) -> Any:
        if _verified_phone(request) is None or not request.session.get(PROFILE):
            return Redirect("/join")
        own = request.session[PROFILE]["community"]
        values = {
            "roles": [],
            "notice_kinds": [k.value for k in NoticeKind],
            "communities": [own],
            "consents": [],
        }
        context = {"errors": {}, "values": values, **_options(await communities(db))}
        return Template("pages/join/roles.html", context=context)

    @post("/join/roles", media_type=MediaType.HTML)
    async def roles(self, request: Request[Any, Any, Any], db: DB) -> Any:
        phone = _verified_phone(request)
        profile_data = request.session.get(PROFILE) if request.session else None
        if phone is None or not profile_data:
            return Redirect("/join")
        _single, multi = await _form(request)
        known = await communities(db)
        checked = _choices_from(multi, [c.code for c in known])
        if isinstance(checked, Problems):
            return self._roles_again(multi, _translated(checked), known)
        try:
            resident = await register(db, phone, Profile(**profile_data), checked, current_locale.get())
        except (InvalidInput, Conflict) as error:
            await db.rollback()
            return self._roles_again(multi, {error.field or "roles": error.detail}, known)
        for key in (VERIFIED, PROFILE):
            request.session.pop(key, None)
        request.session[RESIDENT] = resident.id
        return Redirect("/join/done")

    @staticmethod
    def _roles_again(multi: dict[str, list[str]], errors: dict[str, str], known: list[Any]) -> Template:
        values = {
            "roles": multi.get("roles", []),
            "notice_kinds": multi.get("notice_kinds", []),
            "communities": multi.get("communities", []),
            "consents": [name.removeprefix("consent_") for name in multi if name.startswith("consent_")],
        }
        context = {"errors": errors, "values": values, **_options(known)}
        return Template("pages/join/roles.html", context=context, status_code=400)

    @get("/join/done", media_type=MediaType.HTML)
    async def done(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident_id = request.session.get(RESIDENT) if request.session else None
        resident = await load_resident(db, resident_id) if isinstance(resident_id, int) else None
        if resident is None:
            return Redirect("/join")
        return Template(
            "pages/join/done.html", context={"resident": resident, **_options(await communities(db))}
        )


class MePages(Controller):
    """A resident's own page: change profile, roles and subscriptions; withdraw; delete everything."""

    include_in_schema = False

    @staticmethod
    async def _resident(request: Request[Any, Any, Any], db: Any) -> Any:
        resident_id = request.session.get(RESIDENT) if request.session else None
        resident = await load_resident(db, resident_id) if isinstance(resident_id, int) else None
        if resident is not None:
            for_resident(resident.locale)  # their own pages, in their own language
        return resident

    @staticmethod
    def _page(
        resident: Any,
        known: list[Any],
        errors: dict[str, str] | None = None,
        notice: str = "",
        status: int = 200,
    ) -> Template:
        values = _profile_values(
            {
                "name": resident.name,
                "community": resident.community.code if resident.community else "",
                "age_band": resident.age_band,
                "gender": resident.gender,
                "occupation": resident.occupation,
                "participant_type": resident.participant_type,
                "expertise": resident.expertise,
                "work_unit": resident.work_unit,
            }
        )
        active = resident.active_roles()
        choice_values = {
            "roles": sorted(active),
            "consents": sorted(active),
            "notice_kinds": [s.value for s in resident.subscriptions if s.kind == "notice"],
            "communities": [s.value for s in resident.subscriptions if s.kind == "community"],
        }
        context = {
            "resident": resident,
            "masked": mask(resident.phone or ""),
            "values": values,
            "choice_values": choice_values,
            "errors": errors or {},
            "notice": notice,
            **_options(known),
        }
        return Template("pages/me/index.html", context=context, status_code=status)

    @get("/me", media_type=MediaType.HTML)
    async def show(
        self, request: Request[Any, Any, Any], db: DB, welcome: FromQuery[str | None] = None
    ) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/join")
        notice = _("This number is already registered. Here are your details.") if welcome == "back" else ""
        return self._page(resident, await communities(db), notice=notice)

    @post("/me/profile", media_type=MediaType.HTML)
    async def change_profile(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/join")
        single, _multi = await _form(request)
        known = await communities(db)
        checked = check_profile(single, [c.code for c in known])
        if isinstance(checked, Problems):
            return self._page(resident, known, _translated(checked), status=400)
        await update_profile(db, resident, checked)
        resident = await load_resident(db, resident.id)
        return self._page(resident, known, notice=_("Your details are saved."))

    @post("/me/roles", media_type=MediaType.HTML)
    async def change_roles(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/join")
        _single, multi = await _form(request)
        known = await communities(db)
        checked = _choices_from(multi, [c.code for c in known])
        if isinstance(checked, Problems):
            return self._page(resident, known, _translated(checked), status=400)
        await update_choices(db, resident, checked)
        resident = await load_resident(db, resident.id)
        return self._page(resident, known, notice=_("Your roles and subscriptions are saved."))

    @get("/me/delete", media_type=MediaType.HTML)
    async def confirm_delete(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/join")
        return Template("pages/me/delete.html", context={"masked": mask(resident.phone or "")})

    @post("/me/delete", media_type=MediaType.HTML)
    async def delete(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/join")
        await delete_resident(db, resident)
        request.clear_session()
        return Template("pages/me/deleted.html")

    @post("/me/signout")
    async def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        request.session.pop(RESIDENT, None)
        return Redirect("/")
