"""/api/v1/communities (anyone reads; staff create and rename) and /api/v1/vocabulary: every value a
field that names something accepts, so an integrator never has to guess a code."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, put
from litestar.params import JSONBody, Parameter
from msgspec import Meta, Struct

from engage.accounts.guards import staff
from engage.audit.services import organizer_actor
from engage.residents.communities import services as communities
from engage.residents.models import Community
from engage.web.deps import DB, problems
from engage.web.openapi import BEARER
from engage.web.routes import ONE, change
from engage.web.text import Line

Code = Annotated[str, Parameter(max_length=32, description="the community's code, e.g. wulihe")]
Name = Annotated[Line, Meta(min_length=1, max_length=communities.NAME_MAX)]


class CommunityIn(Struct):
    code: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=32,
            pattern=r"^[a-z][a-z0-9_-]*$",
            description="permanent: residents, subscriptions and quotas refer to it",
        ),
    ]
    name_zh: Name
    name_en: Name


class CommunityNames(Struct):
    name_zh: Name
    name_en: Name


class CommunityOut(Struct):
    code: str
    name_zh: str
    name_en: str


class Option(Struct):
    value: str
    label_zh: str
    label_en: str


class QuotaValues(Struct):
    participant_type: list[str]
    community: list[str]
    gender: list[str]
    age_band: list[str]


class Vocabulary(Struct):
    communities: list[Option]
    age_bands: list[Option]
    genders: list[Option]
    occupations: list[Option]
    participant_types: list[Option]
    roles: list[Option]
    notice_kinds: list[Option]
    quota_values: QuotaValues


def _out(community: Community) -> CommunityOut:
    return CommunityOut(community.code, community.name_zh, community.name_en)


def _actor(request: Request[Any, Any, Any]) -> str:
    return organizer_actor(request.user.id)


class CommunityController(Controller):
    path = "/api/v1/communities"
    tags = ["communities"]

    @get(summary="Every community (public: the sign-up form offers them)", responses=problems(500))
    async def list_all(self, db: DB) -> list[CommunityOut]:
        """Codes and names in both languages. Sign-up, rosters and quotas name a community by its code."""
        return [_out(c) for c in await communities.list_communities(db)]

    @change(
        summary="Create a community",
        guards=[staff],
        status_code=201,
        fails=(400, 401, 403, 409),
        security=BEARER,
    )
    async def create(
        self, db: DB, request: Request[Any, Any, Any], data: JSONBody[CommunityIn]
    ) -> CommunityOut:
        """The code is permanent (residents and quotas refer to it); names can change later. 409 when the code
        exists."""
        given = communities.CommunityIn(data.code, data.name_zh, data.name_en)
        return _out(await communities.create_community(db, _actor(request), given))

    @change(
        "/{code:str}",
        summary="Rename a community (its code stays)",
        guards=[staff],
        method=put,
        fails=ONE,
        security=BEARER,
    )
    async def rename(
        self, db: DB, request: Request[Any, Any, Any], code: Code, data: JSONBody[CommunityNames]
    ) -> CommunityOut:
        """Only the names change; the code and everything referring to it stay."""
        renamed = await communities.rename_community(db, _actor(request), code, data.name_zh, data.name_en)
        return _out(renamed)


class VocabularyApi(Controller):
    path = "/api/v1/vocabulary"
    tags = ["communities"]

    @get(
        summary="The values accepted where a field names something: communities, age bands, genders, "
        "occupations, participant types, roles, notice kinds, and quota values per category",
        responses=problems(500),
    )
    async def vocabulary(self, db: DB) -> Vocabulary:
        """Read it before sending sign-ups, rosters or quotas: every value those fields accept, so no value
        has to be learnt from an error message."""
        found = communities.vocabulary(await communities.list_communities(db))
        options = {k: [Option(**o) for o in v] for k, v in found.items() if k != "quota_values"}
        return Vocabulary(**options, quota_values=QuotaValues(**found["quota_values"]))
