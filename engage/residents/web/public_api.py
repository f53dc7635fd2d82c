"""The sign-up flow as a JSON API (`/api/v1/signup`), for apps and load tests: the same services,
rules and limits as the pages. Public: a resident has no token yet."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.params import JSONBody
from msgspec import Meta, Struct

from engage.errors import Conflict, InvalidInput, NotFound, UnknownValue, explain_pattern
from engage.i18n import current_locale
from engage.i18n import gettext as _
from engage.keys import Purpose
from engage.phones import MobileNumber, api_mobile_number, mask
from engage.residents import tokens
from engage.residents.codes import API_CODE_PATTERN, CODE_FORM, CODE_LIFETIME, is_api_code
from engage.residents.models import AgeBand, Gender, Occupation, ParticipantType, ResidentRoleKind
from engage.residents.notice_kinds import NoticeKind
from engage.residents.profile import Problems, check_choices, check_profile
from engage.residents.signup import (
    check_code,
    community_ids,
    register,
    send_code,
)
from engage.web.deps import DB, problems
from engage.web.text import Line

TOKEN_PURPOSE = "signup"  # noqa: S105 - a label, not a secret
TOKEN_LIFETIME = 30 * 60

Short = Annotated[Line, Meta(max_length=200)]


class CodeRequest(Struct):
    phone: MobileNumber


class SignupCodeSent(Struct):
    phone: str
    expires_in_seconds: int


class VerifyRequest(Struct):
    phone: MobileNumber
    code: Annotated[str, Meta(pattern=explain_pattern(API_CODE_PATTERN, CODE_FORM), description="as texted")]


class Verified(Struct):
    token: str
    registered: bool


CommunityCode = Annotated[
    str, Meta(max_length=32, description="a community's code: GET /api/v1/communities lists them")
]


class Registration(Struct):
    token: Annotated[Line, Meta(max_length=1000)]
    name: Short
    community: CommunityCode
    age_band: AgeBand
    gender: Gender
    occupation: Occupation
    participant_type: ParticipantType
    roles: Annotated[list[ResidentRoleKind], Meta(max_length=10)]
    consents: Annotated[list[ResidentRoleKind], Meta(max_length=10, description="the roles consented to")]
    expertise: Short | None = None
    work_unit: Short | None = None
    notice_kinds: Annotated[list[NoticeKind], Meta(max_length=20)] = []
    communities: Annotated[list[CommunityCode], Meta(max_length=50)] = []


class Registered(Struct):
    pseudonym: str
    roles: list[str]
    resident_id: int


def _first(found: Problems) -> InvalidInput:
    name, message = next(iter(found.by_field.items()))
    # The form has a consent box per role; this body has one list of them.
    return InvalidInput("consents" if name.startswith("consent_") else name, _(message))


class SignupApi(Controller):
    path = "/api/v1/signup"
    tags = ["sign-up"]

    @post(
        "/code",
        status_code=202,
        summary="Text a 6-digit code to a mobile number",
        responses=problems(400, 429),
    )
    async def code(
        self, data: JSONBody[CodeRequest], db: DB, state: State, request: Request[Any, Any, Any]
    ) -> SignupCodeSent:
        """The first step of sign-up (and of a nomination): a code to the number, valid 10 minutes. Limited
        per number, per address and for the district: 429 `rate_limited` with Retry-After."""
        client = request.client.host if request.client else "unknown"
        phone = api_mobile_number(data.phone, state.settings, "phone")
        sent = await send_code(db, state.redis, state.settings, phone, client)
        return SignupCodeSent(phone=mask(sent.phone), expires_in_seconds=int(CODE_LIFETIME.total_seconds()))

    @post(
        "/verify",
        status_code=200,
        summary="Check the code; returns a token for the next step",
        responses=problems(400, 403, 429),
    )
    async def verify(
        self, data: JSONBody[VerifyRequest], db: DB, state: State, request: Request[Any, Any, Any]
    ) -> Verified:
        """A right code gives a token for /api/v1/signup/complete and /api/v1/nominations, valid about 30
        minutes; `registered` says whether the number is already a resident. Wrong, used and expired codes
        get the same answer, 403 `code_spent`: ask for a new code."""
        phone = api_mobile_number(data.phone, state.settings, "phone")
        if not is_api_code(data.code):
            raise InvalidInput("code", _(CODE_FORM))
        client = request.client.host if request.client else "unknown"
        registered = await check_code(db, state.redis, state.settings, phone, data.code, client)
        token = tokens.sign(
            state.settings.key(Purpose.SIGNUP_TOKEN), TOKEN_PURPOSE, {"phone": phone}, TOKEN_LIFETIME
        )
        return Verified(token=token, registered=registered)

    @post(
        "/complete",
        status_code=201,
        summary="Register with profile, roles and consents",
        responses=problems(400, 404, 409, 422),
    )
    async def complete(self, data: JSONBody[Registration], db: DB, state: State) -> Registered:
        """The profile (community, age band, gender, occupation, participant type), the roles and one consent
        per role. 409 when the number is registered."""
        payload = tokens.unsign(
            state.settings.verifying_keys(Purpose.SIGNUP_TOKEN), TOKEN_PURPOSE, data.token
        )
        if payload is None:
            raise NotFound("token", _("This sign-up has expired. Start again with a new code."))
        ids = await community_ids(db)
        known = sorted(ids)
        named = [("community", data.community)]
        named += [(f"communities[{i}]", code) for i, code in enumerate(data.communities)]
        for name, code in named:
            if code not in ids:
                raise UnknownValue(name, code, known)
        profile = check_profile(
            {
                "name": data.name,
                "community": data.community,
                "age_band": data.age_band,
                "gender": data.gender,
                "occupation": data.occupation,
                "participant_type": data.participant_type,
                "expertise": data.expertise or "",
                "work_unit": data.work_unit or "",
            },
            known,
        )
        if isinstance(profile, Problems):
            raise _first(profile)
        choices = check_choices(data.roles, data.consents, data.notice_kinds, data.communities, known)
        if isinstance(choices, Problems):
            raise _first(choices)
        try:
            resident = await register(
                db,
                str(payload["phone"]),
                profile,
                choices,
                current_locale.get(),
                community_id=ids[profile.community],
            )
        except Conflict:
            await db.rollback()
            raise
        return Registered(pseudonym=resident.pseudonym, roles=list(choices.roles), resident_id=resident.id)
