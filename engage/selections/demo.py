"""The demo district's selections: one finished (every stage filled in, from nominations to the
appointment notice) and one in progress (the democratic assessment open, ballots coming in), so a
newcomer sees each stage's public page. Everything goes through the same services as real use;
participants are simulated by reading their personal links from the texts the services queued.
The texts stay queued in the demo: nobody is sent anything."""

from __future__ import annotations

import asyncio
import random
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.audit.services import record
from engage.db import async_session_factory, make_async_engine, make_sync_engine, utcnow
from engage.notices.models import Notice, NoticeStatus
from engage.notices.objections.models import NoticePeriod
from engage.panels import services as panels
from engage.panels.models import MemberStatus, PanelMember
from engage.residents.models import Resident, ResidentRole, ResidentRoleKind
from engage.selections import services, stages
from engage.selections.models import ApplicantStatus, ConsentStatus, InvitationStage, Selection, StageKind
from engage.selections.rules.config import EVALUATOR_GROUPS
from engage.selections.stages import assessment as balloting
from engage.selections.stages import interview as interviews
from engage.selections.stages import nomination as nominating
from engage.selections.stages import outcome
from engage.settings import Settings
from engage.sms.models import SmsMessage

ACTOR = "system:demo"
RUBRIC = [
    {"code": "knowledge", "name_zh": "专业知识", "name_en": "Knowledge", "max_points": 40},
    {"code": "judgement", "name_zh": "分析判断", "name_en": "Judgement", "max_points": 30},
    {"code": "communication", "name_zh": "沟通表达", "name_en": "Communication", "max_points": 30},
]
STAGES = [kind.value for kind in StageKind]


@dataclass(frozen=True)
class DemoSelections:
    finished_id: int
    in_progress_id: int


def seed_selections(settings: Settings, rng_seed: int = 2026) -> DemoSelections | None:
    """Once: a second call finds a selection and does nothing."""
    engine = make_sync_engine(settings.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            if session.execute(select(func.count(Selection.id))).scalar_one():
                return None
        rng = random.Random(rng_seed)
        panel_id = _drawn_panel_now(settings)
        with Session(engine, expire_on_commit=False) as session:
            _confirm_members(session, panel_id, rng)
            finished = _finished(session, settings, rng, panel_id)
            in_progress = _in_progress(session, settings, rng)
            session.commit()
            return DemoSelections(finished, in_progress)
    finally:
        engine.dispose()


def _drawn_panel_now(settings: Settings) -> int:
    """The panel services are async; run them on a thread of their own, so this also works where the
    calling thread already runs an event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _drawn_panel(settings)).result()


async def _drawn_panel(settings: Settings) -> int:
    engine = make_async_engine(settings.database_url, 2)
    try:
        async with async_session_factory(engine)() as db:
            panel = await panels.create_panel(
                db,
                ACTOR,
                title="五里河街道副主任选拔面试大评审团",
                size=25,
                algorithm="leximin",
                event_date="2026-10-20 09:00",
                place="区政务服务中心三楼",
                reply_deadline=None,
            )
            await panels.freeze(db, ACTOR, panel.id)
            await panels.draw(db, ACTOR, panel.id, ["演示见证人：3141", "演示公证员：5926"])
            return panel.id
    finally:
        await engine.dispose()


def _confirm_members(session: Session, panel_id: int, rng: random.Random) -> None:
    members = session.execute(
        select(PanelMember).where(PanelMember.panel_id == panel_id, PanelMember.status == MemberStatus.DRAWN)
    ).scalars()
    for member in members:
        member.status = MemberStatus.CONFIRMED.value
        member.replied_at = utcnow()
    session.commit()


def _verified_with(session: Session, role: ResidentRoleKind) -> list[Resident]:
    return list(
        session.execute(
            select(Resident)
            .join(ResidentRole, ResidentRole.resident_id == Resident.id)
            .where(
                ResidentRole.role == role,
                ResidentRole.withdrawn_at.is_(None),
                Resident.verified_at.is_not(None),
                Resident.phone.is_not(None),
            )
            .order_by(Resident.id)
        ).scalars()
    )


def _spec(title_zh: str, title_en: str, start_days: int) -> services.SelectionSpec:
    start = utcnow().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=start_days)
    return services.SelectionSpec(
        title_zh=title_zh,
        title_en=title_en,
        unit="沈河区五里河街道",
        unit_category="street",
        eligibility_zh="本区户籍，40周岁以下，大学本科以上学历，两年以上基层工作经历",
        eligibility_en="Registered in the district, under 40, a university degree, two years in community work",
        posts=[
            services.PostSpec("党建工作办公室副主任", "Deputy head, party-building office", 1),
            services.PostSpec("社区服务中心副主任", "Deputy head, community service centre", 2),
        ],
        stages=[
            services.StageSpec(kind, start + timedelta(days=7 * i), start + timedelta(days=7 * i + 5))
            for i, kind in enumerate(STAGES)
        ],
        rubric=RUBRIC,
        rules={},
    )


APPLICANTS = [
    (0, "周敏", "区民政局"),
    (1, "吴刚", "丰乐街道"),
    (1, "郑丽", "大东街道"),
    (1, "孙强", "区城管局"),
    (1, "冯雪", "区教育局"),
]
NOMINEES = [["王建国", "李秀英", "陈立"], ["张伟", "刘洋", "陈静", "杨帆"]]


def _tokens(session: Session, path: str) -> list[str]:
    bodies = session.execute(select(SmsMessage.body).where(SmsMessage.body.contains(f"/{path}/"))).scalars()
    return [m.group(1) for body in bodies if (m := re.search(rf"/{path}/([A-Za-z0-9_-]+)", body))]


def _start(
    session: Session, settings: Settings, rng: random.Random, spec: services.SelectionSpec
) -> Selection:
    selection = services.create_selection(session, ACTOR, spec)
    services.publish(session, ACTOR, selection.id, settings)
    stages.open_stage(session, ACTOR, selection.id, StageKind.NOMINATION, settings)
    nominators = [
        r
        for r in _verified_with(session, ResidentRoleKind.SUBSCRIBER)
        if nominating.nominator_category(r.participant_type)
    ]
    for resident in rng.sample(nominators, min(120, len(nominators))):
        for post, names in zip(selection.posts, NOMINEES, strict=True):
            name = rng.choices(names, weights=range(len(names) * 3, 0, -3))[0]
            entry = nominating.NominationIn(post.id, name, "五里河街道", "群众基础好")
            nominating.nominate(session, resident.id, selection.id, entry)
    stages.close_stage(session, ACTOR, selection.id, StageKind.NOMINATION, settings)
    for tally in nominating.tallies(session, selection.id):
        if tally.name in ("王建国", "张伟"):
            nominating.record_consent(session, ACTOR, selection.id, tally.nominee_id, ConsentStatus.GIVEN)
            nominating.admit(session, ACTOR, selection.id, tally.nominee_id)
    posts = [post.id for post in selection.posts]
    services.add_applicants(
        session,
        ACTOR,
        selection.id,
        [services.ApplicantSpec(posts[p], name, unit) for p, name, unit in APPLICANTS],
    )
    evaluators = _verified_with(session, ResidentRoleKind.EVALUATOR)[:30]
    balloting.invite(
        session,
        ACTOR,
        selection.id,
        InvitationStage.ASSESSMENT,
        [balloting.Invitee(r.id, EVALUATOR_GROUPS[i % 3]) for i, r in enumerate(evaluators)],
        settings,
    )
    stages.open_stage(session, ACTOR, selection.id, StageKind.ASSESSMENT, settings)
    return selection


def _vote(session: Session, selection: Selection, rng: random.Random, share: float) -> None:
    applicants = services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)
    # One applicant is much less liked: the red line shows what it does.
    weak = next(a.id for a in applicants if a.name == "冯雪")
    for token in _tokens(session, "b"):
        if rng.random() > share:
            continue
        ballot = balloting.open_link(session, InvitationStage.ASSESSMENT, token)
        if ballot.selection.id != selection.id or ballot.invitation.voted_at is not None:
            continue
        ratings = {}
        for a in applicants:
            approve = 0.6 if a.id == weak else 0.95
            ratings[a.id] = (
                ("competent" if rng.random() < 0.7 else "basically_competent")
                if rng.random() < approve
                else "not_competent"
            )
        balloting.cast_ballot(session, token, ratings)


def _in_progress(session: Session, settings: Settings, rng: random.Random) -> int:
    spec = _spec("沈河区社区党组织书记公开选拔", "Shenhe community party secretaries: open selection", -10)
    selection = _start(session, settings, rng, spec)
    _vote(session, selection, rng, share=0.6)
    return selection.id


def interview_open(settings: Settings, rng_seed: int = 7) -> int:
    """A selection with its interview open and no score in yet (for trying the scoring sheet)."""
    engine = make_sync_engine(settings.database_url)
    try:
        rng = random.Random(rng_seed)
        panel_id = _drawn_panel_now(settings)
        with Session(engine, expire_on_commit=False) as session:
            _confirm_members(session, panel_id, rng)
            spec = _spec("五里河街道副主任公开选拔", "Wulihe street deputy directors: open selection", -30)
            selection = _to_interview(session, settings, rng, spec, panel_id)
            session.commit()
            return selection.id
    finally:
        engine.dispose()


def _to_interview(
    session: Session, settings: Settings, rng: random.Random, spec: services.SelectionSpec, panel_id: int
) -> Selection:
    selection = _start(session, settings, rng, spec)
    _vote(session, selection, rng, share=1.0)
    stages.close_stage(session, ACTOR, selection.id, StageKind.ASSESSMENT, settings)

    raters = _verified_with(session, ResidentRoleKind.EVALUATOR)[30:36]
    balloting.invite(
        session,
        ACTOR,
        selection.id,
        InvitationStage.SPEECH,
        [balloting.Invitee(r.id, "staff" if i % 2 else "resident") for i, r in enumerate(raters)],
        settings,
    )
    stages.open_stage(session, ACTOR, selection.id, StageKind.SPEECH, settings)
    active = services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)
    strength = {a.id: rng.randint(70, 90) for a in active}
    for token in _tokens(session, "r"):
        ballot = balloting.open_link(session, InvitationStage.SPEECH, token)
        if ballot.selection.id == selection.id:
            points = {a.id: min(100, strength[a.id] + rng.randint(-6, 6)) for a in ballot.applicants}
            balloting.submit_speech_scores(session, token, points)
    stages.close_stage(session, ACTOR, selection.id, StageKind.SPEECH, settings)

    interviews.link_panel(session, ACTOR, selection.id, panel_id)
    stages.open_stage(session, ACTOR, selection.id, StageKind.INTERVIEW, settings)
    return selection


def _finished(session: Session, settings: Settings, rng: random.Random, panel_id: int) -> int:
    spec = _spec("五里河街道副主任公开选拔", "Wulihe street deputy directors: open selection", -60)
    selection = _to_interview(session, settings, rng, spec, panel_id)
    jurors = interviews.jurors(session, selection.id)
    interviews.mark_absent(session, ACTOR, selection.id, jurors[-1].id)
    finalists = services.applicants_of(session, selection.id, ApplicantStatus.ACTIVE)
    interviews.declare_conflict(session, ACTOR, selection.id, jurors[0].id, finalists[0].id, "same work unit")
    level = {a.id: rng.uniform(0.6, 0.9) for a in finalists}
    for token in _tokens(session, "s"):
        sheet = interviews.open_sheet(session, token)
        if sheet.selection.id != selection.id or sheet.juror.absent:
            continue
        scores = {
            a.id: {
                c.code: max(
                    0, min(c.max_points, round(c.max_points * (level[a.id] + rng.uniform(-0.12, 0.12))))
                )
                for c in sheet.rubric
            }
            for a in sheet.candidates
        }
        interviews.submit(session, token, scores)
    stages.close_stage(session, ACTOR, selection.id, StageKind.INTERVIEW, settings)
    _checked_in(session, selection.id, panel_id)
    stages.open_stage(session, ACTOR, selection.id, StageKind.RESULT, settings)
    stages.close_stage(session, ACTOR, selection.id, StageKind.RESULT, settings)
    published = selection.stage(StageKind.PUBLIC_NOTICE).opens_at  # on the (past) timetable
    stages.open_stage(session, ACTOR, selection.id, StageKind.PUBLIC_NOTICE, settings)
    _period_over(session, settings, selection, published)
    stages.close_stage(session, ACTOR, selection.id, StageKind.PUBLIC_NOTICE, settings)
    return selection.id


def _checked_in(session: Session, selection_id: int, panel_id: int) -> None:
    """On the interview day every juror who came checked in, so the panel's record agrees with the
    selection's: those who scored attended, the absent one did not."""
    for juror in interviews.jurors(session, selection_id):
        member = session.get(PanelMember, juror.member_id)
        if juror.absent or member is None or member.status != MemberStatus.CONFIRMED:
            continue
        member.status, member.checked_in_at = MemberStatus.ATTENDED.value, utcnow()
        record(session, ACTOR, "panel.check_in", "panel", panel_id, {"member": member.pseudonym})


def _period_over(session: Session, settings: Settings, selection: Selection, published: datetime) -> None:
    """The demo's appointment notice ran its period without objection in the past: it is moved back to
    its timetable's opening, and the period, the stage and the notice's text follow the calendar from
    there, so every date shown agrees with every other."""
    stage = selection.stage(StageKind.PUBLIC_NOTICE)
    assert stage.notice_id is not None
    notice, period = session.get(Notice, stage.notice_id), session.get(NoticePeriod, stage.notice_id)
    assert notice is not None and period is not None
    closes = services.appointment_period_closes(settings, published)
    proposed = services.applicants_of(session, selection.id, ApplicantStatus.PROPOSED)
    posts = {post.id: post for post in selection.posts}
    named = [(a.name, posts[a.post_id].title_zh, posts[a.post_id].title_en) for a in proposed]
    link = outcome.selection_link(settings, selection.id)
    bodies = outcome.appointment_bodies(named, outcome.local_moment(closes, settings), link)
    services.write_body(notice, bodies, settings)
    notice.publish_at = notice.published_at = period.opens_at = stage.opens_at = published
    period.closes_at = period.closed_at = notice.closed_at = stage.closes_at = closes
    notice.status = NoticeStatus.CLOSED
