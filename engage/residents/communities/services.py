"""Communities, the district's neighbourhoods: organizers create and rename them (API and page), so a
district runs without the demo seed. A code is permanent once made: residents, subscriptions and
panel quotas refer to it. Also the vocabulary the API accepts, readable by any caller."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import record_async
from engage.errors import Conflict, InvalidInput, NotFound
from engage.i18n import gettext as _
from engage.i18n import translated
from engage.residents import labels
from engage.residents.categories import quota_values
from engage.residents.models import AgeBand, Community, Gender, Occupation, ParticipantType, ResidentRoleKind
from engage.residents.notice_kinds import NoticeKind
from engage.web.text import storable

CODE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
NAME_MAX = 100


@dataclass(frozen=True)
class CommunityIn:
    code: str
    name_zh: str
    name_en: str


def check_code(raw: str) -> str:
    code = raw.strip()
    if not CODE.fullmatch(code):
        raise InvalidInput(
            "code", _("The code is 1 to 32 lower-case letters, digits, - or _, starting with a letter.")
        )
    return code


def code_from_name(name_en: str) -> str:
    """A code made from the English name (lower case, words joined by -), for an organizer who leaves
    the code empty; "c" when the name gives no letter to start with."""
    words = re.findall(r"[a-z0-9]+", name_en.casefold())
    code = "-".join(words)[:32].strip("-")
    return code if code[:1].isalpha() else ("c-" + code)[:32].strip("-")


async def free_code(db: AsyncSession, name_en: str) -> str:
    """`code_from_name`, with -2, -3... added when another community has it already."""
    base = code_from_name(name_en)
    taken = set((await db.execute(select(Community.code).where(Community.code.startswith(base)))).scalars())
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base[: 32 - len(str(n)) - 1]}-{n}"
    return code


def check_names(name_zh: str, name_en: str) -> tuple[str, str]:
    names = []
    for field, raw in (("name_zh", name_zh), ("name_en", name_en)):
        name = " ".join(storable(field, raw).split())
        if not name:
            raise InvalidInput(field, _("Enter the community's name."))
        if len(name) > NAME_MAX:
            raise InvalidInput(field, _("The name is too long (at most 100 characters)."))
        names.append(name)
    return names[0], names[1]


async def list_communities(db: AsyncSession) -> list[Community]:
    return list((await db.execute(select(Community).order_by(Community.code))).scalars())


async def get_community(db: AsyncSession, code: str) -> Community:
    found = (await db.execute(select(Community).where(Community.code == code))).scalar_one_or_none()
    if found is None:
        raise NotFound("code", _("There is no such community."))
    return found


async def create_community(db: AsyncSession, actor: str, given: CommunityIn) -> Community:
    name_zh, name_en = check_names(given.name_zh, given.name_en)  # first: the page may leave the code out
    code = check_code(given.code)
    if (await db.execute(select(Community.id).where(Community.code == code))).first() is not None:
        raise Conflict("code", _("A community with this code exists already."))
    community = Community(code=code, name_zh=name_zh, name_en=name_en)
    db.add(community)
    try:
        await db.flush()
    except IntegrityError:  # made by someone else between the check and the insert
        await db.rollback()
        raise Conflict("code", _("A community with this code exists already.")) from None
    details = {"code": code, "name_zh": name_zh, "name_en": name_en}
    await record_async(db, actor, "community.create", "community", community.id, details)
    await db.commit()
    return community


async def rename_community(db: AsyncSession, actor: str, code: str, name_zh: str, name_en: str) -> Community:
    community = await get_community(db, code)
    new_zh, new_en = check_names(name_zh, name_en)
    details = {"code": code, "from": [community.name_zh, community.name_en], "to": [new_zh, new_en]}
    community.name_zh, community.name_en = new_zh, new_en
    await record_async(db, actor, "community.rename", "community", community.id, details)
    await db.commit()
    return community


def _options(values: Any, table: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"value": str(v), "label_zh": translated(table[str(v)], "zh_CN"), "label_en": table[str(v)]}
        for v in values
    ]


def vocabulary(communities: list[Community]) -> dict[str, Any]:
    """Every value the API accepts where a field names something, with its words in both languages."""
    return {
        "communities": [{"value": c.code, "label_zh": c.name_zh, "label_en": c.name_en} for c in communities],
        "age_bands": _options(AgeBand, labels.AGE_BAND_LABELS),
        "genders": _options(Gender, labels.GENDER_LABELS),
        "occupations": _options(Occupation, labels.OCCUPATION_LABELS),
        "participant_types": _options(ParticipantType, labels.PARTICIPANT_TYPE_LABELS),
        "roles": _options(ResidentRoleKind, labels.ROLE_LABELS),
        "notice_kinds": _options(NoticeKind, labels.NOTICE_KIND_LABELS),
        "quota_values": quota_values([c.code for c in communities]),
    }
