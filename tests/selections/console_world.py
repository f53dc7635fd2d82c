"""A small selection to drive the console with: two posts, three applicants, six evaluators with the
evaluator role (one reads English), four subscribers (one reads English). Built through the services,
as an organizer would have it after the wizard."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.residents.models import Resident, ResidentRole, ResidentRoleKind
from engage.selections import services, stages
from engage.selections.models import InvitationStage, StageKind
from engage.selections.stages import assessment as balloting
from engage.selections.web.organizer import DEFAULT_RUBRIC
from engage.settings import Settings
from engage.sms.models import SmsMessage

ACTOR = "organizer:1"
APPLICANTS = ["王明", "李华", "张伟"]


@dataclass
class World:
    selection_id: int
    applicant_ids: list[int]
    evaluator_ids: list[int]


def residents(db: Session, prefix: str, count: int, role: ResidentRoleKind, english: int = -1) -> list[int]:
    now = datetime.now(UTC)
    ids = []
    for n in range(count):
        resident = Resident(
            phone=f"+86139{prefix}{n:06d}",
            name=f"评议员{prefix}{n}" if role == ResidentRoleKind.EVALUATOR else None,
            verified_at=now,
            locale="en" if n == english else "zh_CN",
        )
        db.add(resident)
        db.flush()
        db.add(ResidentRole(resident_id=resident.id, role=role.value, consented_at=now))
        ids.append(resident.id)
    db.commit()
    return ids


def spec(start: datetime) -> services.SelectionSpec:
    stages = [
        services.StageSpec(kind.value, start + timedelta(days=7 * i), start + timedelta(days=7 * i + 4))
        for i, kind in enumerate(StageKind)
    ]
    return services.SelectionSpec(
        title_zh="街道副主任公开选拔",
        title_en="Street deputy director: open selection",
        unit="五里河街道",
        unit_category="street",
        posts=[
            services.PostSpec("党建办副主任", "Party office deputy", 1),
            services.PostSpec("社区服务副主任", "Community services deputy", 1),
        ],
        stages=stages,
        rubric=DEFAULT_RUBRIC,
    )


def build(db: Session, settings: Settings, *, until: str = "draft") -> World:
    """A selection in the state `until` names: draft, published, assessment (open, nobody invited) or
    invited (assessment open, all six evaluators invited: two per group)."""
    evaluators = residents(db, "10", 6, ResidentRoleKind.EVALUATOR, english=5)
    residents(db, "20", 4, ResidentRoleKind.SUBSCRIBER, english=3)
    selection = services.create_selection(db, ACTOR, spec(datetime.now(UTC) + timedelta(days=3)))
    db.flush()
    post_ids = [p.id for p in selection.posts]
    applicants = services.add_applicants(
        db,
        ACTOR,
        selection.id,
        [services.ApplicantSpec(post_ids[min(i, 1)], name) for i, name in enumerate(APPLICANTS)],
    )
    world = World(selection.id, [a.id for a in applicants], evaluators)
    db.commit()
    if until == "draft":
        return world
    services.publish(db, ACTOR, selection.id, settings)
    db.commit()
    if until == "published":
        return world
    stages.open_stage(db, ACTOR, selection.id, "nomination", settings)
    stages.close_stage(db, ACTOR, selection.id, "nomination", settings)
    stages.open_stage(db, ACTOR, selection.id, "assessment", settings)
    db.commit()
    if until == "assessment":
        return world
    groups = ["leadership", "leadership", "staff", "staff", "resident_rep", "resident_rep"]
    balloting.invite(
        db,
        ACTOR,
        selection.id,
        InvitationStage.ASSESSMENT,
        [balloting.Invitee(r, g) for r, g in zip(evaluators, groups, strict=True)],
        settings,
    )
    db.commit()
    return world


RATINGS = [
    {0: "competent", 1: "competent", 2: "competent"},
    {0: "competent", 1: "basically_competent", 2: "competent"},
    {0: "basically_competent", 1: "competent", 2: "competent"},
    {0: "competent", 1: "not_competent", 2: "basically_competent"},
    {0: "competent", 1: "not_competent", 2: "competent"},
    {0: "competent", 1: "not_competent", 2: "competent"},
]


def tokens(db: Session) -> list[str]:
    bodies = db.execute(
        select(SmsMessage.body).where(SmsMessage.body.contains("/b/")).order_by(SmsMessage.id)
    )
    return [m.group(1) for (b,) in bodies if (m := re.search(r"/b/([A-Za-z0-9_-]+)", b))]


def cast_ballots(db: Session, world: World, count: int = 6) -> None:
    for token, ratings in zip(tokens(db)[:count], RATINGS, strict=False):
        balloting.cast_ballot(db, token, {world.applicant_ids[i]: r for i, r in ratings.items()})
        db.commit()
