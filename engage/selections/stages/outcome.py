"""The end of a selection: the final ranking (result stage), the appointment notice with its public
notice period (public-notice stage), and the open-data view of everything, with personal data left out."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engage.audit.services import record
from engage.csvcells import safe_cell
from engage.errors import Conflict
from engage.i18n import gettext as _
from engage.jobs import After
from engage.notices import period as periods
from engage.notices import period_events
from engage.notices.models import Notice
from engage.notices.objections.models import NoticePeriod
from engage.notices.period_events import PeriodEvent
from engage.residents.notice_kinds import NoticeKind
from engage.selections import services
from engage.selections.models import Applicant, ApplicantStatus, Selection, Stage, StageKind, StageStatus
from engage.selections.stages import nomination as nominating
from engage.settings import Settings


def _interview_posts(selection: Selection) -> list[dict[str, Any]]:
    outcome = selection.stage(StageKind.INTERVIEW).outcome or {}
    return list(outcome.get("posts", []))


def open_result(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    """The top `seats` of each post are proposed (拟任), not appointed: the appointment notice's period,
    in which an objection can still stop them, comes first."""
    posts = _interview_posts(selection)
    if not posts:
        raise Conflict("stage", _("There are no interview scores to rank."))
    seats = {post.id: post.seats for post in selection.posts}
    titles = {post.id: (post.title_zh, post.title_en) for post in selection.posts}
    chosen_zh, chosen_en = [], []
    for post in posts:
        for entry in post["ranking"]:
            applicant = services.get_applicant(session, selection.id, entry["applicant_id"])
            if entry["rank"] <= seats[post["post_id"]]:
                applicant.status = ApplicantStatus.PROPOSED
                applicant.status_reason = "ranked_within_seats"
            else:
                applicant.status = ApplicantStatus.NOT_APPOINTED
                applicant.status_reason = "ranked_below_seats"
        names = [e["name"] for e in post["ranking"] if e["rank"] <= seats[post["post_id"]]]
        zh, en = titles[post["post_id"]]
        chosen_zh.append(f"{zh}：{'、'.join(names)}")
        chosen_en.append(f"{en}: {', '.join(names)}")
    notice = services.issue_notice(
        session,
        actor,
        settings,
        NoticeKind.FINAL_RESULT,
        (f"{selection.title_zh}：最终结果", f"{selection.title_en}: final result"),
        [
            (
                f"拟任人选：{'；'.join(chosen_zh)}。各组得分、权重、去除最高最低分规则及评分矩阵见页面。",
                f"Proposed: {'; '.join(chosen_en)}. Scores per group, weights, trim rule and matrix on the page.",
            ),
            (f"拟任人选：{'；'.join(chosen_zh)}。", f"Proposed: {'; '.join(chosen_en)}."),
        ],
    )
    selection.stage(StageKind.RESULT).notice_id = notice.id
    selection.stage(StageKind.RESULT).outcome = {"proposed": chosen_en}
    record(session, actor, "selection.result", "selection", selection.id, {"notice_id": notice.id})
    return After(notices=[notice.id])


def selection_link(settings: Settings, selection_id: int) -> str:
    return f"{settings.public_base_url.rstrip('/')}/selections/{selection_id}"


def local_moment(moment: datetime, settings: Settings) -> str:
    """How texts and notices state a moment: local time, to the minute, no zone suffix to decode."""
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


def appointment_bodies(proposed: list[tuple[str, str, str]], closes: str, link: str) -> list[tuple[str, str]]:
    """The appointment notice, longest first: in each language the first that fits the SMS limit is
    the notice's text, texted and shown on its page. `proposed` is (name, post in Chinese, post in
    English). Every version states the closing moment of the objection period and links the
    selection's page, which names everyone with their post whatever length was chosen."""
    with_posts_zh = "；".join(f"{name}（{post_zh}）" for name, post_zh, _en in proposed)
    with_posts_en = "; ".join(f"{name} ({post_en})" for name, _zh, post_en in proposed)
    names_zh = "、".join(name for name, _zh, _en in proposed)
    names_en = ", ".join(name for name, _zh, _en in proposed)
    return [
        (
            f"拟任：{with_posts_zh}。异议受理至{closes}（公示期截止）。选拔全过程：{link}",
            f"Proposed for appointment: {with_posts_en}. Objections until {closes} (end of the notice "
            f"period). The whole selection: {link}",
        ),
        (
            f"拟任：{names_zh}。异议受理至{closes}。详见{link}",
            f"Proposed: {names_en}. Objections until {closes}. See {link}",
        ),
        (
            f"拟任{len(proposed)}人，异议受理至{closes}。详见{link}",
            f"{len(proposed)} proposed; objections until {closes}. See {link}",
        ),
        (f"异议受理至{closes}：{link}", f"Objections until {closes}: {link}"),
    ]


def _proposed_texts(selection: Selection, proposed: list[Applicant]) -> list[tuple[str, str, str]]:
    posts = {post.id: post for post in selection.posts}
    return [(a.name, posts[a.post_id].title_zh, posts[a.post_id].title_en) for a in proposed]


def open_public_notice(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    """The appointment notice names the proposed appointees, links the selection and states when its
    objection period closes: the calendar's answer for this publication moment, computed once and used
    for the text, the period and the stage alike."""
    proposed = services.applicants_of(session, selection.id, ApplicantStatus.PROPOSED)
    if not proposed:
        raise Conflict("stage", _("No one is proposed for appointment."))
    now = periods.clock()
    closes = services.appointment_period_closes(settings, now)
    bodies = appointment_bodies(
        _proposed_texts(selection, proposed),
        local_moment(closes, settings),
        selection_link(settings, selection.id),
    )
    notice = services.issue_notice(
        session,
        actor,
        settings,
        NoticeKind.APPOINTMENT,
        (f"{selection.title_zh}：任前公示", f"{selection.title_en}: appointment notice"),
        bodies,
        now=now,
    )
    stage = selection.stage(StageKind.PUBLIC_NOTICE)
    stage.notice_id = notice.id
    period = session.get(NoticePeriod, notice.id)
    assert period is not None and period.closes_at == closes
    # The stage is the period: one pair of dates on every page, not the timetable's guess.
    stage.opens_at, stage.closes_at = now, closes
    details = {"stage": stage.kind, "opens_at": now.isoformat(), "closes_at": closes.isoformat()}
    record(session, actor, "selection.stage.reschedule", "selection", selection.id, details)
    return After(notices=[notice.id], periods=[(notice.id, closes)])


def close_public_notice(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    """The selection ends only once the appointment notice's period has run out, unsuspended. Then the
    proposed become appointed, and a notice says so."""
    stage = selection.stage(StageKind.PUBLIC_NOTICE)
    notice = session.get(Notice, stage.notice_id) if stage.notice_id is not None else None
    period = session.get(NoticePeriod, stage.notice_id) if stage.notice_id is not None else None
    if notice is None or period is None:
        return After()
    current = periods.state_of(period, periods.clock())
    if current == periods.PeriodState.SUSPENDED:
        raise Conflict("stage", _("The appointment notice is suspended after an upheld objection."))
    if current != periods.PeriodState.CLOSED:
        closes = local_moment(period.closes_at, settings) if period.closes_at else "?"
        raise Conflict(
            "stage", _("The appointment notice's public period runs until %(closes)s.") % {"closes": closes}
        )
    return _appoint(session, actor, selection, settings)


def _appoint(session: Session, actor: str, selection: Selection, settings: Settings) -> After:
    proposed = services.applicants_of(session, selection.id, ApplicantStatus.PROPOSED)
    for applicant in proposed:
        applicant.status = ApplicantStatus.APPOINTED
        applicant.status_reason = "notice_period_closed"
    names = _proposed_texts(selection, proposed)
    link = selection_link(settings, selection.id)
    zh = "；".join(f"{name}（{post}）" for name, post, _en in names) or "无"
    en = "; ".join(f"{name} ({post})" for name, _zh, post in names) or "nobody"
    notice = services.issue_notice(
        session,
        actor,
        settings,
        NoticeKind.FINAL_RESULT,
        (f"{selection.title_zh}：任命", f"{selection.title_en}: appointed"),
        [
            (
                f"任前公示期满。任命：{zh}。详见{link}",
                f"The notice period has closed. Appointed: {en}. See {link}",
            ),
            (f"公示期满，任命：{zh}。", f"Notice period over. Appointed: {en}."),
        ],
    )
    stage = selection.stage(StageKind.PUBLIC_NOTICE)
    stage.outcome = {"appointed": [a.id for a in proposed], "appointed_notice_id": notice.id}
    details = {"applicants": [a.id for a in proposed], "notice_id": notice.id}
    record(session, actor, "selection.appoint", "selection", selection.id, details)
    return After(notices=[notice.id])


def _on_period_event(
    session: Session, actor: str, notice_id: int, event: PeriodEvent, reference: str | None
) -> None:
    """An upheld objection suspends the proposed appointees of the notice's selection; a resumed or
    extended period moves the stage's closing with it. Each change is on the audit record."""
    stage = session.execute(
        select(Stage).where(Stage.notice_id == notice_id, Stage.kind == StageKind.PUBLIC_NOTICE)
    ).scalar_one_or_none()
    if stage is None or stage.status != StageStatus.OPEN:
        return
    period = session.get(NoticePeriod, notice_id)
    moves = {
        PeriodEvent.SUSPENDED: (ApplicantStatus.PROPOSED, ApplicantStatus.SUSPENDED, "objection_upheld"),
        PeriodEvent.RESUMED: (ApplicantStatus.SUSPENDED, ApplicantStatus.PROPOSED, "notice_resumed"),
    }
    changed = []
    if event in moves:
        before, after, reason = moves[event]
        for applicant in services.applicants_of(session, stage.selection_id, before):
            applicant.status, applicant.status_reason = after, reason
            changed.append(applicant.id)
    if period is not None and period.closes_at is not None and event != PeriodEvent.SUSPENDED:
        stage.closes_at = period.closes_at
    details = {"event": event.value, "objection": reference, "applicants": changed}
    record(session, actor, f"selection.notice_{event.value}", "selection", stage.selection_id, details)


period_events.listen(_on_period_event)


def public_view(session: Session, selection: Selection, locale: str) -> dict[str, Any]:
    """Everything that can be public, as one document: the page renders it, the open data serves it.
    No phone numbers, no resident ids, no evaluator or juror identities (pseudonyms only)."""
    stages = {stage.kind: stage for stage in selection.stages}
    applicants = services.applicants_of(session, selection.id)
    view: dict[str, Any] = {
        "id": selection.id,
        "title": selection.title(locale),
        "title_zh": selection.title_zh,
        "title_en": selection.title_en,
        "unit": selection.unit,
        "unit_category": selection.unit_category,
        "status": selection.status,
        "eligibility": selection.eligibility_en if locale == "en" else selection.eligibility_zh,
        "rules": {k: v for k, v in selection.rules.items()},
        "rubric": selection.rubric,
        "posts": [
            {
                "id": post.id,
                "title": post.title(locale),
                "seats": post.seats,
                "conditions": post.conditions_en if locale == "en" else post.conditions_zh,
            }
            for post in selection.posts
        ],
        "stages": [
            {
                "kind": stage.kind,
                "status": stage.status,
                "opens_at": stage.opens_at.isoformat(),
                "closes_at": stage.closes_at.isoformat(),
                "opened_at": stage.opened_at.isoformat() if stage.opened_at else None,
                "closed_at": stage.closed_at.isoformat() if stage.closed_at else None,
                "notice_id": stage.notice_id,
                "appointed_notice_id": (stage.outcome or {}).get("appointed_notice_id"),
            }
            for stage in selection.stages
        ],
        "applicants": [
            {
                "id": a.id,
                "post_id": a.post_id,
                "name": a.name,
                "status": a.status,
                "reason": a.status_reason,
            }
            for a in applicants
        ],
        "posts_notice_id": selection.posts_notice_id,
        "panel_id": selection.panel_id,
    }
    if stages[StageKind.NOMINATION].status == StageStatus.CLOSED:
        view["nominations"] = {
            **(stages[StageKind.NOMINATION].outcome or {}),
            "tallies": nominating.public_tallies(session, selection),
        }
    for kind in (StageKind.ASSESSMENT, StageKind.SPEECH, StageKind.INTERVIEW, StageKind.RESULT):
        outcome = stages[kind].outcome
        if outcome is not None and stages[kind].status != StageStatus.PENDING:
            view[kind.value] = {k: v for k, v in outcome.items() if k != "private"}
    return view


CSV_COLUMNS = ["section", "post_id", "applicant_id", "name", "item", "value"]


def open_data_csv(view: dict[str, Any]) -> str:
    """One long table: a row per published number, so any spreadsheet can take it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)

    def row(section: str, post_id: Any, applicant_id: Any, name: Any, item: str, value: Any) -> None:
        cells = [section, post_id, applicant_id, name, item, value]
        writer.writerow([safe_cell(cell) for cell in cells])

    for post in view["posts"]:
        row("post", post["id"], "", post["title"], "seats", post["seats"])
    for applicant in view["applicants"]:
        row(
            "applicant",
            applicant["post_id"],
            applicant["id"],
            applicant["name"],
            "status",
            applicant["status"],
        )
    for tally in view.get("nominations", {}).get("tallies", []):
        if tally.get("withheld"):
            row("nomination", tally["post_id"], "", "", "withheld_nominees", tally["nominees"])
            row("nomination", tally["post_id"], "", "", "withheld_nominations", tally["nominations"])
        else:
            for item in ("deputies", "residents", "total"):
                row("nomination", tally["post_id"], "", tally["name"], item, tally[item])
    for verdict in view.get("assessment", {}).get("verdicts", []):
        for item in (
            "competent",
            "basically_competent",
            "not_competent",
            "ballots",
            "approvals",
            "rate",
            "passes",
        ):
            row(
                "assessment",
                verdict["post_id"],
                verdict["applicant_id"],
                verdict["name"],
                item,
                verdict[item],
            )
    for post in view.get("speech", {}).get("posts", []):
        for entry in post["ranking"]:
            for item in ("rank", "score", "advances"):
                row("speech", post["post_id"], entry["applicant_id"], entry["name"], item, entry[item])
    for post in view.get("interview", {}).get("posts", []):
        for entry in post["ranking"]:
            row("interview", post["post_id"], entry["applicant_id"], entry["name"], "rank", entry["rank"])
            row(
                "interview",
                post["post_id"],
                entry["applicant_id"],
                entry["name"],
                "combined",
                entry["combined"],
            )
            for group in entry["groups"]:
                row(
                    "interview",
                    post["post_id"],
                    entry["applicant_id"],
                    entry["name"],
                    f"{group['group']}_trimmed_mean",
                    group["trimmed_mean"],
                )
        names = post["matrix"]["candidates"]
        for matrix_row in post["matrix"]["rows"]:
            for name, cell, dropped in zip(names, matrix_row["cells"], matrix_row["dropped"], strict=True):
                item = f"score:{matrix_row['judge']}:{matrix_row['group']}" + (":dropped" if dropped else "")
                row("interview_matrix", post["post_id"], "", name, item, "" if cell is None else cell)
    return out.getvalue()
