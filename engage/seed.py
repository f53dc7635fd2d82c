"""A demo district for `make run`: communities, a few hundred residents, one admin organizer.

Deterministic (fixed random seed) so every laptop shows the same district. Phone numbers are in a
range no real subscriber holds in the demo (+86 139 0000 xxxx), and names are generated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.accounts.models import Organizer, Role
from engage.accounts.services import create_organizer
from engage.audit.services import SYSTEM, record
from engage.db import utcnow
from engage.residents.models import (
    AGE_BANDS,
    OCCUPATION_GROUPS,
    Community,
    ParticipantType,
    Resident,
    ResidentRole,
    ResidentRoleKind,
    Source,
)

DEMO_ADMIN_EMAIL = "admin@demo.engage.local"

COMMUNITIES = [
    ("wulihe", "五里河社区", "Wulihe"),
    ("dongxing", "东兴社区", "Dongxing"),
    ("qingnian", "青年社区", "Qingnian"),
    ("fengyutan", "风雨坛社区", "Fengyutan"),
    ("shiyilu", "十一纬路社区", "Shiyiwei Road"),
    ("zhongjie", "中街社区", "Zhongjie"),
    ("nanta", "南塔社区", "Nanta"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰红梅志强海燕晓东春梅文博欣怡子涵浩然"
WORK_UNITS = [
    "沈河区人民医院", "沈阳市第二中学", "五里河街道办事处", "东兴商贸有限公司", "沈河区税务局",
    "青年大街小学", "辽宁某建设集团", "个体经营", "中街商业集团", "沈阳某科技公司",
]  # fmt: skip
EXPERTISE = ["public administration", "law", "education", "health", "urban planning", "finance"]


@dataclass(frozen=True)
class SeedResult:
    created: bool
    communities: int
    residents: int
    admin_email: str
    admin_password: str | None


def _name(rng: random.Random) -> str:
    given_length = rng.choice((1, 2, 2))
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(given_length))


def _participant_type(rng: random.Random) -> ParticipantType:
    roll = rng.random()
    if roll < 0.08:
        return ParticipantType.EXPERT
    if roll < 0.12:
        return ParticipantType.DEPUTY_PC
    if roll < 0.15:
        return ParticipantType.DEPUTY_PARTY
    if roll < 0.17:
        return ParticipantType.DEPUTY_CPPCC
    return ParticipantType.RESIDENT


def _age_band(rng: random.Random) -> str:
    return rng.choices(AGE_BANDS, weights=(14, 26, 28, 22, 10))[0]


def _occupation(rng: random.Random, age_band: str) -> str:
    if age_band in ("60-74", "75+"):
        return rng.choices(("retired", "self_employed", "not_working"), weights=(80, 10, 10))[0]
    if age_band == "18-29":
        return rng.choices(("student", "employed", "self_employed", "not_working"), weights=(25, 50, 15, 10))[
            0
        ]
    return rng.choices((*OCCUPATION_GROUPS[:3], "not_working"), weights=(55, 20, 15, 10))[0]


def _resident(rng: random.Random, number: int, communities: list[Community]) -> Resident:
    age_band = _age_band(rng)
    occupation = _occupation(rng, age_band)
    kind = _participant_type(rng)
    resident = Resident(
        phone=f"+86139{number:08d}",
        name=_name(rng),
        community_id=rng.choice(communities).id,
        age_band=age_band,
        gender=rng.choice(("female", "male")),
        occupation=occupation,
        participant_type=kind.value,
        expertise=rng.choice(EXPERTISE) if kind is ParticipantType.EXPERT else None,
        work_unit=None if occupation in ("retired", "student", "not_working") else rng.choice(WORK_UNITS),
        locale=rng.choices(("zh_CN", "en"), weights=(95, 5))[0],
        verified_at=utcnow(),
        source=Source.DEMO.value,
    )
    roles = [ResidentRoleKind.SUBSCRIBER] if rng.random() < 0.9 else []
    if rng.random() < 0.6:
        roles.append(ResidentRoleKind.JUDGE)
    if rng.random() < 0.3:
        roles.append(ResidentRoleKind.EVALUATOR)
    resident.roles = [ResidentRole(role=role.value) for role in roles]
    return resident


def seed_demo(session: Session, residents: int = 300, rng_seed: int = 2026) -> SeedResult:
    """Seed once: a second call finds the communities and changes nothing."""
    existing = session.execute(select(func.count(Community.id))).scalar_one()
    if existing:
        count = session.execute(select(func.count(Resident.id))).scalar_one()
        return SeedResult(False, existing, count, DEMO_ADMIN_EMAIL, None)
    rng = random.Random(rng_seed)
    communities = [Community(code=code, name_zh=zh, name_en=en) for code, zh, en in COMMUNITIES]
    session.add_all(communities)
    session.flush()
    session.add_all(_resident(rng, 1000 + n, communities) for n in range(residents))
    password: str | None = None
    if session.execute(select(Organizer.id).where(Organizer.email == DEMO_ADMIN_EMAIL)).first() is None:
        _, password = create_organizer(session, DEMO_ADMIN_EMAIL, Role.ADMIN.value)
    record(
        session,
        SYSTEM,
        "demo.seed",
        "district",
        "demo",
        {"communities": len(communities), "residents": residents},
    )
    return SeedResult(True, len(communities), residents, DEMO_ADMIN_EMAIL, password)
