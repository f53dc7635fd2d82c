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
from engage.phones import mask, mask_for_reading
from engage.residents import labels
from engage.residents.labels import N_
from engage.residents.models import AGE_BANDS, GENDERS, OCCUPATION_GROUPS, ParticipantType, ResidentRoleKind
from engage.residents.notice_kinds import NoticeKind
from engage.residents.profile import Choices, Problems, Profile, check_choices, check_profile
from engage.residents.signup import (
    CodeSpent,
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
RESEND_AFTER = 60  # seconds before "send a new code" works (the per-number limit: one a minute)
PHONE, VERIFIED, PROFILE, RESIDENT = "join_phone", "verified_phone", "join_profile", "resident_id"
CHOICES, SENT_AT, INTENT = "join_choices", "join_sent_at", "join_intent"


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
    checked = check_choices(
        multi.get("roles", []),
        [name.removeprefix("consent_") for name in multi if name.startswith("consent_")],
        multi.get("notice_kinds", []),
        multi.get("communities", []),
        community_codes,
    )
    # Nothing is pre-ticked on the pages, so a subscriber who ticks no kind of notice would get none.
    subscriber = ResidentRoleKind.SUBSCRIBER.value
    if isinstance(checked, Choices) and subscriber in checked.roles and not checked.notice_kinds:
        problems = Problems()
        problems.add("notice_kinds", N_("Subscribers: choose at least one kind of notice."))
        return problems
    return checked


async def _send_first_code(request: Request[Any, Any, Any], db: Any, state: State, *, signin: bool) -> Any:
    single, _multi = await _form(request)
    raw = single.get("phone", "")
    try:
        sent = await send_code(db, state.redis, state.settings, raw, _client_ip(request))
    except (InvalidInput, RateLimited) as error:
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
        context = {"errors": {"phone": error.detail}, "phone": raw, "signin": signin}
        return Template(
            "pages/join/phone.html", context=context, status_code=error.status_code, headers=headers
        )
    request.session[PHONE] = sent.phone
    request.session[SENT_AT] = time.time()
    request.session[INTENT] = "signin" if signin else "join"
    return Redirect("/join/code")


def _code_page(
    request: Request[Any, Any, Any],
    phone: str,
    errors: dict[str, str],
    status: int = 200,
    headers: dict[str, str] | None = None,
    notice: str = "",
    *,
    spent: bool = False,
) -> Template:
    sent_at = float(request.session.get(SENT_AT) or 0)
    context = {
        "errors": errors,
        "masked": mask_for_reading(phone),
        "signin": request.session.get(INTENT) == "signin",
        "notice": notice,
        "spent": spent,
        "resend_in": max(0, int(sent_at + RESEND_AFTER - time.time() + 0.999)),
    }
    return Template("pages/join/code.html", context=context, status_code=status, headers=headers)


def _check_page(
    phone: str,
    profile: dict[str, Any],
    chosen: dict[str, list[str]],
    known: list[Any],
    errors: dict[str, str],
    status: int = 200,
) -> Template:
    options = _options(known)
    names = dict(options["communities"])

    def word(pairs: list[tuple[str, str]], code: str | None) -> str:
        return dict(pairs).get(code or "", code or "")

    rows = [
        ("phone", _("Mobile number"), mask_for_reading(phone), ""),
        ("name", _("Name"), profile.get("name") or "", "/join/profile#name"),
        ("community", _("Community"), names.get(profile.get("community") or "", ""), "/join/profile#community"),
        ("age_band", _("Age group"), word(options["age_bands"], profile.get("age_band")), "/join/profile#age_band"),
        ("gender", _("Gender"), word(options["genders"], profile.get("gender")), "/join/profile#gender"),
        ("occupation", _("Occupation group"), word(options["occupations"], profile.get("occupation")), "/join/profile#occupation"),
        ("participant_type", _("You take part as"), word(options["participant_types"], profile.get("participant_type")), "/join/profile#participant_type"),
    ]  # fmt: skip
    if profile.get("expertise"):
        rows.append(("expertise", _("Field of expertise"), profile["expertise"], "/join/profile#expertise"))
    if profile.get("work_unit"):
        rows.append(("work_unit", _("Work unit"), profile["work_unit"], "/join/profile#work_unit"))
    separator = "、" if current_locale.get() == "zh_CN" else ", "
    role_names = {code: label for code, label, _description, _consent in options["roles"]}
    rows.append(("roles", _("Roles"), separator.join(role_names[r] for r in chosen["roles"]), "/join/roles"))
    if chosen["notice_kinds"]:
        kinds = separator.join(word(options["notice_kinds"], k) for k in chosen["notice_kinds"])
        rows.append(("notice_kinds", _("Notices by SMS"), kinds, "/join/roles#notice_kinds"))
        where = separator.join(names.get(c, c) for c in chosen["communities"]) or _("The whole district")
        rows.append(("communities", _("For communities"), where, "/join/roles#communities"))
    context = {"rows": rows, "errors": errors}
    return Template("pages/join/check.html", context=context, status_code=status)


class JoinPages(Controller):
    include_in_schema = False

    @get("/join", media_type=MediaType.HTML)
    async def phone_form(self) -> Template:
        return Template("pages/join/phone.html", context={"errors": {}, "phone": "", "signin": False})

    @get("/signin", media_type=MediaType.HTML)
    async def signin_form(self) -> Template:
        return Template("pages/join/phone.html", context={"errors": {}, "phone": "", "signin": True})

    @post("/join", media_type=MediaType.HTML)
    async def phone(self, request: Request[Any, Any, Any], db: DB, state: State) -> Any:
        return await _send_first_code(request, db, state, signin=False)

    @post("/signin", media_type=MediaType.HTML)
    async def signin(self, request: Request[Any, Any, Any], db: DB, state: State) -> Any:
        return await _send_first_code(request, db, state, signin=True)

    @get("/join/code", media_type=MediaType.HTML)
    async def code_form(self, request: Request[Any, Any, Any]) -> Any:
        phone = request.session.get(PHONE) if request.session else None
        if not phone:
            return Redirect("/join")
        return _code_page(request, phone, {})

    @post("/join/code/new", media_type=MediaType.HTML)
    async def new_code(self, request: Request[Any, Any, Any], db: DB, state: State) -> Any:
        """Send another code to the number of this sign-up, without typing it again."""
        phone = request.session.get(PHONE) if request.session else None
        if not phone:
            return Redirect("/join")
        try:
            await send_code(db, state.redis, state.settings, phone, _client_ip(request))
        except (InvalidInput, RateLimited) as error:
            headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
            return _code_page(request, phone, {"resend": error.detail}, error.status_code, headers)
        request.session[SENT_AT] = time.time()
        return _code_page(request, phone, {}, notice=_("A new code is on its way."))

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
            spent = isinstance(error, CodeSpent)
            return _code_page(request, phone, {"code": error.detail}, 400, spent=spent)
        signin = request.session.get(INTENT) == "signin"
        for key in (PHONE, SENT_AT, INTENT):
            request.session.pop(key, None)
        rotate_session(request)  # the phone is proven: whoever held the old session id must not share it
        resident = await resident_by_phone(db, phone)
        if resident is not None:
            request.session[RESIDENT] = resident.id
            return Redirect("/me" if signin else "/me?welcome=back")
        request.session[VERIFIED] = {"phone": phone, "at": time.time()}
        return Redirect("/join/profile?new=1" if signin else "/join/profile")

    @get("/join/profile", media_type=MediaType.HTML)
    async def profile_form(
        self, request: Request[Any, Any, Any], db: DB, new: FromQuery[str | None] = None
    ) -> Any:
        if _verified_phone(request) is None:
            return Redirect("/join")
        context = {
            "notice": _("This number is not registered yet. Sign up below: it takes two minutes.")
            if new
            else "",
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
        return Redirect("/join/check" if request.session.get(CHOICES) else "/join/roles")

    @get("/join/roles", media_type=MediaType.HTML)
    async def roles_form(self, request: Request[Any, Any, Any], db: DB) -> Any:
        if _verified_phone(request) is None or not request.session.get(PROFILE):
            return Redirect("/join")
        kept = request.session.get(CHOICES) or {}
        # Nothing is ticked for the resident: each role, consent and subscription is their own choice.
        values = {
            "roles": kept.get("roles", []),
            "notice_kinds": kept.get("notice_kinds", []),
            "communities": kept.get("communities", []),
            "consents": kept.get("roles", []),
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
        request.session[CHOICES] = {
            "roles": list(checked.roles),
            "notice_kinds": list(checked.notice_kinds),
            "communities": list(checked.communities),
        }
        return Redirect("/join/check")

    @get("/join/check", media_type=MediaType.HTML)
    async def check_form(self, request: Request[Any, Any, Any], db: DB) -> Any:
        phone = _verified_phone(request)
        if phone is None or not request.session.get(PROFILE):
            return Redirect("/join")
        if not request.session.get(CHOICES):
            return Redirect("/join/roles")
        return _check_page(
            phone, request.session[PROFILE], request.session[CHOICES], await communities(db), {}
        )

    @post("/join/check", media_type=MediaType.HTML)
    async def finish(self, request: Request[Any, Any, Any], db: DB) -> Any:
        phone = _verified_phone(request)
        profile_data = request.session.get(PROFILE) if request.session else None
        chosen = request.session.get(CHOICES) if request.session else None
        if phone is None or not profile_data:
            return Redirect("/join")
        if not chosen:
            return Redirect("/join/roles")
        choices = Choices(
            roles=tuple(chosen["roles"]),
            notice_kinds=tuple(chosen["notice_kinds"]),
            communities=tuple(chosen["communities"]),
        )
        try:
            resident = await register(db, phone, Profile(**profile_data), choices, current_locale.get())
        except (InvalidInput, Conflict) as error:
            await db.rollback()
            errors = {error.field or "roles": error.detail}
            return _check_page(phone, profile_data, chosen, await communities(db), errors, 400)
        for key in (VERIFIED, PROFILE, CHOICES):
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
    """A resident's own page: a summary with change links; one form per change (post, redirect, get);
    withdraw from a role; delete everything."""

    include_in_schema = False

    @staticmethod
    async def _resident(request: Request[Any, Any, Any], db: Any) -> Any:
        resident_id = request.session.get(RESIDENT) if request.session else None
        resident = await load_resident(db, resident_id) if isinstance(resident_id, int) else None
        if resident is not None:
            for_resident(resident.locale)  # their own pages, in their own language
        return resident

    @staticmethod
    def _values(resident: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        values = {
            "name": resident.name,
            "community": resident.community.code if resident.community else "",
            "age_band": resident.age_band,
            "gender": resident.gender,
            "occupation": resident.occupation,
            "participant_type": resident.participant_type,
            "expertise": resident.expertise,
            "work_unit": resident.work_unit,
        }
        active = resident.active_roles()
        choice_values = {
            "roles": sorted(active),
            "consents": sorted(active),
            "notice_kinds": [s.value for s in resident.subscriptions if s.kind == "notice"],
            "communities": [s.value for s in resident.subscriptions if s.kind == "community"],
        }
        return values, choice_values

    def _form_page(
        self, template: str, resident: Any, known: list[Any], errors: dict[str, str], status: int = 200
    ) -> Template:
        values, choice_values = self._values(resident)
        context = {
            "values": values,
            "choice_values": choice_values,
            "errors": errors,
            **_options(known),
        }
        return Template(template, context=context, status_code=status)

    @get("/me", media_type=MediaType.HTML)
    async def show(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        welcome: FromQuery[str | None] = None,
        saved: FromQuery[str | None] = None,
    ) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/signin")
        notices = {
            "profile": _("Your details are saved."),
            "roles": _("Your roles and subscriptions are saved."),
        }
        notice = notices.get(saved or "", "")
        if welcome == "back":
            notice = _("This number is already registered. Here are your details.")
        known = await communities(db)
        values, choice_values = self._values(resident)
        context = {
            "resident": resident,
            "masked": mask_for_reading(resident.phone or ""),
            "values": values,
            "choice_values": choice_values,
            "notice": notice,
            **_options(known),
        }
        return Template("pages/me/index.html", context=context)

    @get("/me/profile", media_type=MediaType.HTML)
    async def profile_form(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/signin")
        return self._form_page("pages/me/profile.html", resident, await communities(db), {})

    @post("/me/profile", media_type=MediaType.HTML)
    async def change_profile(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/signin")
        single, _multi = await _form(request)
        known = await communities(db)
        checked = check_profile(single, [c.code for c in known])
        if isinstance(checked, Problems):
            page = self._form_page("pages/me/profile.html", resident, known, _translated(checked), 400)
            page.context["values"] = single  # what was typed stays, mistakes and all
            return page
        await update_profile(db, resident, checked)
        return Redirect("/me?saved=profile", status_code=303)

    @get("/me/roles", media_type=MediaType.HTML)
    async def roles_form(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/signin")
        return self._form_page("pages/me/roles.html", resident, await communities(db), {})

    @post("/me/roles", media_type=MediaType.HTML)
    async def change_roles(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/signin")
        _single, multi = await _form(request)
        known = await communities(db)
        checked = _choices_from(multi, [c.code for c in known])
        if isinstance(checked, Problems):
            page = self._form_page("pages/me/roles.html", resident, known, _translated(checked), 400)
            page.context["choice_values"] = {
                "roles": multi.get("roles", []),
                "notice_kinds": multi.get("notice_kinds", []),
                "communities": multi.get("communities", []),
                "consents": [n.removeprefix("consent_") for n in multi if n.startswith("consent_")],
            }
            return page
        await update_choices(db, resident, checked)
        return Redirect("/me?saved=roles", status_code=303)

    @get("/me/delete", media_type=MediaType.HTML)
    async def confirm_delete(self, request: Request[Any, Any, Any], db: DB) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/signin")
        return Template("pages/me/delete.html", context={"masked": mask(resident.phone or "")})

    @post("/me/delete", media_type=MediaType.HTML)
    async def delete(self, request: Request[Any, Any, Any], db: DB, state: State) -> Any:
        resident = await self._resident(request, db)
        if resident is None:
            return Redirect("/signin")
        await delete_resident(db, resident, state.erasers)
        request.clear_session()
        return Template("pages/me/deleted.html")

    @post("/me/signout")
    async def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        request.session.pop(RESIDENT, None)
        return Redirect("/")
