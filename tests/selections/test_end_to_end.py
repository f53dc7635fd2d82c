"""A whole competitive selection through the API and the worker (issue 6): 2 posts, 7 applicants,
300 nominations, 41 invited evaluators (40 vote; one lost the role), one applicant just under the 80 %
red line (out, audited, disclosed) and one exactly on it (continues), the 1.5x rule refusing a short
list, speech ratings, a 55-member grand jury scoring with one absent and one conflicted member, the
trimmed means checked against an independent computation, and the result and appointment notices
sent by SMS to subscribers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from engage.audit.models import AuditEntry
from engage.keys import Purpose
from engage.notices.objections.models import NoticePeriod
from engage.notices.period import calendar_for
from engage.panels.models import Panel
from engage.residents import tokens
from engage.residents.models import (
    Resident,
    ResidentRole,
    ResidentRoleKind,
)
from engage.selections.models import AssessmentCount, InterviewScore, Nomination, Post
from engage.sms.models import SmsMessage
from tests.factories import (
    PanelDistrict,
    create_panel,
    phones_by_pseudonym,
    selection_body,
)
from tests.support import run_jobs
from workers import context
from workers.notices import close_period


class Api:
    def __init__(self, site: PanelDistrict) -> None:
        self.d = site

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.d.url}/api/v1{path}",
            headers={**self.d.headers, "Accept-Language": "en"},
            timeout=120,
            **kwargs,
        )

    def public(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.d.url}{path}", timeout=60, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self(method, path, **kwargs)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


def links(db: Any, path: str) -> dict[str, str]:
    """Phone -> personal link token, read from the texts the service queued."""
    db.expire_all()
    found = {}
    for message in db.execute(select(SmsMessage).order_by(SmsMessage.id)).scalars():
        match = re.search(rf"/{path}/([A-Za-z0-9_-]+)", message.body)
        if match:
            found[message.to] = match.group(1)
    return found


def give_role(db: Any, residents: list[Resident], role: ResidentRoleKind) -> None:
    now = datetime.now(UTC)
    for resident in residents:
        db.add(ResidentRole(resident_id=resident.id, role=role.value, consented_at=now))
    db.commit()


def expected_trimmed_mean(values: list[int]) -> Fraction:
    """The published rule, computed independently: one off each end for 3 to 9 raters, 10 % (rounded
    down) off each end above 9, nothing below 3."""
    values = sorted(values)
    n = len(values)
    cut = 0 if n < 3 else 1 if n <= 9 else n // 10
    kept = values[cut : n - cut]
    return Fraction(sum(kept), len(kept))


def points_for(juror_index: int, candidate_index: int) -> dict[str, int]:
    return {
        "knowledge": 25 + (juror_index * 7 + candidate_index * 11) % 26,
        "communication": 20 + (juror_index * 3 + candidate_index * 13) % 31,
    }


@pytest.mark.slow
def test_a_selection_runs_from_posts_to_appointment(panel_district: PanelDistrict) -> None:
    api, db, settings = Api(panel_district), panel_district.db, panel_district.settings
    residents = list(db.execute(select(Resident).order_by(Resident.id)).scalars())
    subscribers = residents[200:230]
    give_role(db, subscribers, ResidentRoleKind.SUBSCRIBER)
    evaluators = residents[:41]
    give_role(db, evaluators, ResidentRoleKind.EVALUATOR)
    raters = residents[41:47]
    give_role(db, raters, ResidentRoleKind.EVALUATOR)

    # 1. The selection: two posts, published with its posts-and-seats notice.
    created = api.ok(
        "POST",
        "/selections",
        json=selection_body(
            [
                {"title_zh": "党建办副主任", "title_en": "Party office deputy", "seats": 1},
                {"title_zh": "社区服务副主任", "title_en": "Community services deputy", "seats": 2},
            ]
        ),
    )
    sid = created["id"]
    post_a, post_b = (p["id"] for p in created["posts"])
    assert api("POST", f"/selections/{sid}/stages/nomination/open").status_code == 409  # a draft
    published = api.ok("POST", f"/selections/{sid}/publish")
    assert published["status"] == "published" and published["posts_notice_id"]
    run_jobs(settings)
    notice_texts = [m.body for p in subscribers for m in panel_district.fake.messages_to(p.phone)]
    assert len(notice_texts) == 30 and all("1" in t for t in notice_texts)

    # 2. Nomination: 150 residents and deputies name someone for each post (300 nominations).
    api.ok("POST", f"/selections/{sid}/stages/nomination/open")
    nominators = [r for r in residents if r.participant_type != "expert"][50:200]
    names_a = ["王建国", "李秀英", "王 建国"]  # the third is the first typed with a space
    names_b = ["张伟", "刘洋", "陈静", "杨帆"]
    for i, resident in enumerate(nominators):
        token = tokens.sign(settings.key(Purpose.SIGNUP_TOKEN), "signup", {"phone": resident.phone}, 600)
        for post_id, names in ((post_a, names_a), (post_b, names_b)):
            body = {
                "token": token,
                "selection_id": sid,
                "post_id": post_id,
                "name": names[i % len(names)],
                "work_unit": "五里河街道",
                "reason": "踏实肯干",
            }
            answered = api.public("POST", "/api/v1/nominations", json=body)
            assert answered.status_code == 200, answered.text
    # One nominator changes their mind: still one nomination per nominator per post.
    token = tokens.sign(settings.key(Purpose.SIGNUP_TOKEN), "signup", {"phone": nominators[0].phone}, 600)
    changed = api.public(
        "POST",
        "/api/v1/nominations",
        json={
            "token": token,
            "selection_id": sid,
            "post_id": post_a,
            "name": "李秀英",
            "work_unit": "五里河街道",
        },
    )
    assert changed.json()["changed"] is True
    db.expire_all()
    assert db.execute(select(func.count()).select_from(Nomination)).scalar_one() == 300
    tallies = api.ok("GET", f"/selections/{sid}/nominations")
    by_name = {(t["post_id"], t["name"]): t for t in tallies}
    assert by_name[(post_a, "王建国")]["total"] == 99  # 100 incl. the space variant, minus the change
    assert by_name[(post_a, "李秀英")]["total"] == 51
    assert sum(t["total"] for t in tallies) == 300
    assert sum(t["deputies"] for t in tallies) == 2 * sum(
        1 for r in nominators if r.participant_type != "resident"
    )
    api.ok("POST", f"/selections/{sid}/stages/nomination/close")
    # A nomination for a closed post is refused and changes nothing.
    late = api.public(
        "POST",
        "/api/v1/nominations",
        json={"token": token, "selection_id": sid, "post_id": post_b, "name": "赵六", "work_unit": ""},
    )
    assert late.status_code == 409 and late.json()["field"] == "post_id"
    assert sum(t["total"] for t in api.ok("GET", f"/selections/{sid}/nominations")) == 300
    # Consent: one nominee agrees and is admitted; a name without consent is never public.
    wang = by_name[(post_a, "王建国")]["nominee_id"]
    assert (
        api.public("GET", f"/selections/{sid}/open-data.json")
        .json()["nominations"]["tallies"][0]
        .get("withheld")
    )
    api.ok("POST", f"/selections/{sid}/nominees/{wang}/consent", json={"consent": "given"})
    admitted = api.ok("POST", f"/selections/{sid}/nominees/{wang}/admit")
    public_tallies = api.public("GET", f"/selections/{sid}/open-data.json").json()["nominations"]["tallies"]
    assert [t["name"] for t in public_tallies if t.get("name")] == ["王建国"]
    assert "刘洋" not in json.dumps(public_tallies, ensure_ascii=False)

    # 3. Seven applicants: the admitted nominee plus six who applied.
    applicants = [
        admitted,
        *api.ok(
            "POST",
            f"/selections/{sid}/applicants",
            json={
                "applicants": [
                    {"post_id": post_a, "name": "周敏", "work_unit": "区民政局"},
                    {"post_id": post_b, "name": "吴刚", "work_unit": "丰乐街道"},
                    {"post_id": post_b, "name": "郑丽", "work_unit": "大东街道"},
                    {"post_id": post_b, "name": "孙强", "work_unit": "区城管局"},
                    {"post_id": post_b, "name": "冯雪", "work_unit": "区教育局"},
                    {"post_id": post_b, "name": "韩梅", "work_unit": "单位7"},
                ]
            },
        ),
    ]
    ids = {a["name"]: a["id"] for a in applicants}
    assert len(ids) == 7

    # 4. Democratic assessment: 41 invited in three groups; 40 vote; the 41st lost the role.
    groups = ["leadership"] * 8 + ["staff"] * 12 + ["resident_rep"] * 21
    api.ok(
        "POST",
        f"/selections/{sid}/invitations",
        json={
            "stage": "assessment",
            "invitees": [{"resident_id": r.id, "group": g} for r, g in zip(evaluators, groups, strict=True)],
        },
    )
    outsider = residents[250]
    refused = api(
        "POST",
        f"/selections/{sid}/invitations",
        json={"stage": "assessment", "invitees": [{"resident_id": outsider.id, "group": "staff"}]},
    )
    # a resident without the evaluator role: the request is understood, the resident is not one to invite
    assert refused.status_code == 409 and refused.json()["field"] == "invitees[0].resident_id"
    api.ok("POST", f"/selections/{sid}/stages/assessment/open")
    ballots = links(db, "b")
    assert len(ballots) == 41
    early = api.public("GET", f"/api/v1/ballots/{ballots[evaluators[0].phone]}")
    assert early.status_code == 200 and len(early.json()["applicants"]) == 7

    def ratings_for(index: int) -> dict[str, str]:
        ratings = {str(i): "competent" for i in ids.values()}
        # 冯雪: 31 of 40 approve (77.5 %): out. 孙强: 32 of 40 (80 %, with 'basically'): continues.
        ratings[str(ids["冯雪"])] = "competent" if index < 31 else "not_competent"
        ratings[str(ids["孙强"])] = (
            "competent" if index < 20 else "basically_competent" if index < 32 else "not_competent"
        )
        return ratings

    for index, evaluator in enumerate(evaluators[:40]):
        cast = api.public(
            "POST", f"/api/v1/ballots/{ballots[evaluator.phone]}", json={"ratings": ratings_for(index)}
        )
        assert cast.status_code == 200, cast.text
    counts_before = db.execute(select(func.sum(AssessmentCount.count))).scalar_one()
    assert counts_before == 40 * 7
    # Bad ballots, each refused and changing nothing: a second ballot, a tampered link, a
    # non-evaluator's link (the 41st withdrew the role), an incomplete ballot.
    second = api.public(
        "POST", f"/api/v1/ballots/{ballots[evaluators[0].phone]}", json={"ratings": ratings_for(0)}
    )
    assert second.status_code == 409
    tampered_token = ballots[evaluators[1].phone][:-2] + (
        "AA" if not ballots[evaluators[1].phone].endswith("AA") else "BB"
    )
    tampered = api.public("POST", f"/api/v1/ballots/{tampered_token}", json={"ratings": ratings_for(0)})
    assert tampered.status_code == 404
    last = evaluators[40]
    db.execute(
        ResidentRole.__table__.update()
        .where(ResidentRole.resident_id == last.id, ResidentRole.role == "evaluator")
        .values(withdrawn_at=datetime.now(UTC))
    )
    db.commit()
    not_evaluator = api.public(
        "POST", f"/api/v1/ballots/{ballots[last.phone]}", json={"ratings": ratings_for(0)}
    )
    assert not_evaluator.status_code == 403
    partial = dict(ratings_for(0))
    partial.pop(str(ids["郑丽"]))
    db.execute(
        ResidentRole.__table__.update()
        .where(ResidentRole.resident_id == last.id, ResidentRole.role == "evaluator")
        .values(withdrawn_at=None)
    )
    db.commit()
    incomplete = api.public("POST", f"/api/v1/ballots/{ballots[last.phone]}", json={"ratings": partial})
    assert incomplete.status_code == 400 and incomplete.json()["field"] == f"ratings.{ids['郑丽']}"
    db.expire_all()
    assert db.execute(select(func.sum(AssessmentCount.count))).scalar_one() == counts_before

    closed = api.ok("POST", f"/selections/{sid}/stages/assessment/close")
    verdicts = {v["name"]: v for v in closed["assessment"]["verdicts"]}
    assert (verdicts["冯雪"]["approvals"], verdicts["冯雪"]["ballots"], verdicts["冯雪"]["passes"]) == (
        31,
        40,
        False,
    )
    assert (verdicts["孙强"]["approvals"], verdicts["孙强"]["ballots"], verdicts["孙强"]["passes"]) == (
        32,
        40,
        True,
    )
    assert verdicts["冯雪"]["percent"] == "77.50" and verdicts["孙强"]["percent"] == "80.00"
    status = {a["name"]: a["status"] for a in closed["applicants"]}
    assert status["冯雪"] == "disqualified" and status["孙强"] == "active"
    verdict_entries = db.execute(
        select(AuditEntry).where(AuditEntry.action == "selection.assessment.verdict")
    ).scalars()
    audited = {e.details["applicant_id"]: e.details for e in verdict_entries}
    assert audited[ids["冯雪"]]["rate"] == "31/40" and audited[ids["冯雪"]]["passes"] is False
    assert audited[ids["孙强"]]["rate"] == "4/5" and audited[ids["孙强"]]["passes"] is True
    run_jobs(settings)
    result_texts = [
        m.body for p in subscribers for m in panel_district.fake.messages_to(p.phone) if "冯雪" in m.body
    ]
    assert len(result_texts) == 30  # the stage result notice names who is out, and why

    # 5. Differential evaluation: 6 speech raters; post A keeps both, post B sends 3 of 4 on.
    api.ok(
        "POST",
        f"/selections/{sid}/invitations",
        json={
            "stage": "speech",
            "invitees": [
                {"resident_id": r.id, "group": "staff" if i < 3 else "resident"} for i, r in enumerate(raters)
            ],
        },
    )
    api.ok("POST", f"/selections/{sid}/stages/speech/open")
    base = {"王建国": 88, "周敏": 84, "吴刚": 91, "郑丽": 86, "孙强": 80, "韩梅": 72}
    speech_links = links(db, "r")
    for r_index, rater in enumerate(raters):
        points = {str(ids[name]): value + r_index for name, value in base.items()}
        rated = api.public("POST", f"/api/v1/speech/{speech_links[rater.phone]}", json={"points": points})
        assert rated.status_code == 200, rated.text
    speech = api.ok("POST", f"/selections/{sid}/stages/speech/close")["speech"]
    ranking_b = next(p for p in speech["posts"] if p["post_id"] == post_b)["ranking"]
    assert [(r["name"], r["advances"]) for r in ranking_b] == [
        ("吴刚", True),
        ("郑丽", True),
        ("孙强", True),
        ("韩梅", False),
    ]
    ranking_a = next(p for p in speech["posts"] if p["post_id"] == post_a)["ranking"]
    assert all(r["advances"] for r in ranking_a) and len(ranking_a) == 2

    # 6. The interview: a 55-member grand jury drawn, invited and confirmed by SMS reply.
    panel_id = create_panel(panel_district)
    # Linked before the freeze: the candidates' conflicts (here: whoever nominated 王建国) keep those
    # residents out of the pool.
    api.ok("PUT", f"/selections/{sid}/panel", json={"panel_id": panel_id})
    assert panel_district.api("POST", f"/{panel_id}/freeze").status_code == 200
    db.expire_all()
    wang_nominators = {
        n.resident_id for n in db.execute(select(Nomination).where(Nomination.nominee_id == wang)).scalars()
    }
    pseudonym_of = {r.id: r.pseudonym for r in residents}
    frozen = db.get(Panel, panel_id)
    assert frozen is not None
    conflicted_pool = {c["pseudonym"] for c in frozen.exclusions["conflicts"]}
    assert {pseudonym_of[r] for r in wang_nominators} <= conflicted_pool
    assert (
        panel_district.api(
            "POST", f"/{panel_id}/draw", json={"seed_parts": ["witness: 4711", "notary: 0815"]}
        ).status_code
        == 200
    )
    assert panel_district.api("POST", f"/{panel_id}/invite").json() == {"texts": 55}
    run_jobs(settings)
    phones = phones_by_pseudonym(db)
    seated = [m for m in panel_district.members(panel_id) if m.status == "invited"]
    for member in seated:
        panel_district.fake.send_inbound(
            f"{panel_district.url}/webhooks/twilio/inbound", phones[member.pseudonym], "+8610690000", "1"
        )
    run_jobs(settings)
    seated_members = [m for m in panel_district.members(panel_id) if m.status == "confirmed"]
    assert len(seated_members) == 55
    assert not {pseudonym_of[r] for r in wang_nominators} & {m.pseudonym for m in seated_members}
    api.ok("POST", f"/selections/{sid}/stages/interview/open")
    jurors = api.ok("GET", f"/selections/{sid}/jurors")
    assert len(jurors) == 55 and Counter(j["group"] for j in jurors) == {
        "resident": 40,
        "expert": 10,
        "deputy": 5,
    }
    sheets = links(db, "s")
    token_of = {j["id"]: sheets[phones[j["pseudonym"]]] for j in jurors}
    absent = next(j for j in jurors if j["group"] == "resident")
    conflicted = next(j for j in jurors if j["group"] == "expert")
    api.ok("POST", f"/selections/{sid}/jurors/{absent['id']}/absent")
    api.ok(
        "POST",
        f"/selections/{sid}/jurors/{conflicted['id']}/conflicts",
        json={"applicant_id": ids["吴刚"], "reason": "family"},
    )
    finalists = ["王建国", "周敏", "吴刚", "郑丽", "孙强"]
    given: dict[int, dict[str, dict[str, int]]] = {}
    for j_index, juror in enumerate(jurors):
        if juror is absent:
            continue
        sheet = api.public("GET", f"/api/v1/scores/{token_of[juror['id']]}").json()
        expected_names = [n for n in finalists if not (juror is conflicted and n == "吴刚")]
        assert sorted(c["name"] for c in sheet["candidates"]) == sorted(expected_names)
        scores = {str(ids[n]): points_for(j_index, finalists.index(n)) for n in expected_names}
        if juror is conflicted:
            wrong = dict(scores, **{str(ids["吴刚"]): points_for(0, 0)})
            refused = api.public("POST", f"/api/v1/scores/{token_of[juror['id']]}", json={"scores": wrong})
            assert refused.status_code == 400 and refused.json()["field"] == f"scores.{ids['吴刚']}"
        if not given and juror is not conflicted:
            outside = {k: dict(v, knowledge=51) for k, v in scores.items()}
            refused = api.public("POST", f"/api/v1/scores/{token_of[juror['id']]}", json={"scores": outside})
            assert refused.status_code == 400 and "knowledge" in refused.json()["detail"], refused.text
        if j_index == len(jurors) - 1:  # sealed: no close while a juror has not submitted
            sealed = api("POST", f"/selections/{sid}/stages/interview/close")
            assert sealed.status_code == 409 and "1 jurors" in sealed.json()["detail"]
        submitted = api.public("POST", f"/api/v1/scores/{token_of[juror['id']]}", json={"scores": scores})
        assert submitted.status_code == 200, submitted.text
        given[juror["id"]] = scores
    first = next(iter(given))
    again = api.public("POST", f"/api/v1/scores/{token_of[first]}", json={"scores": given[first]})
    assert again.status_code == 409
    db.expire_all()
    stored = db.execute(select(func.count()).select_from(InterviewScore)).scalar_one()
    assert stored == 54 * 5 - 1
    interview = api.ok("POST", f"/selections/{sid}/stages/interview/close")["interview"]
    late = api.public("POST", f"/api/v1/scores/{token_of[absent['id']]}", json={"scores": given[first]})
    assert late.status_code == 409  # the session is closed
    assert db.execute(select(func.count()).select_from(InterviewScore)).scalar_one() == stored

    # The trimmed means, recomputed here from the raw points by the published rule.
    weights = {"expert": Fraction(1, 2), "deputy": Fraction(1, 5), "resident": Fraction(3, 10)}
    group_of = {j["id"]: j["group"] for j in jurors}
    for post in interview["posts"]:
        for entry in post["ranking"]:
            key = str(entry["applicant_id"])
            combined = Fraction(0)
            for group_out in entry["groups"]:
                totals = [
                    sum(s[key].values())
                    for j, s in given.items()
                    if group_of[j] == group_out["group"] and key in s
                ]
                mean = expected_trimmed_mean(totals)
                assert Fraction(group_out["trimmed_mean_exact"]) == mean, (entry["name"], group_out)
                assert group_out["raters"] == len(totals)
                combined += weights[group_out["group"]] * mean
            assert Fraction(entry["combined_exact"]) == combined
    wu = next(e for p in interview["posts"] for e in p["ranking"] if e["name"] == "吴刚")
    assert next(g for g in wu["groups"] if g["group"] == "expert")["raters"] == 9  # the conflicted one
    assert next(g for g in wu["groups"] if g["group"] == "resident")["raters"] == 39  # the absent one
    assert next(g for g in wu["groups"] if g["group"] == "expert")["trimmed_each_side"] == 1
    assert next(g for g in wu["groups"] if g["group"] == "resident")["trimmed_each_side"] == 3
    assert "deviation" in api.ok("GET", f"/selections/{sid}")  # for organizers ...
    assert "private" not in json.dumps(api.public("GET", f"/selections/{sid}/open-data.json").json())

    # 7. The result proposes (拟任); nobody is appointed before the appointment notice's period.
    result = api.ok("POST", f"/selections/{sid}/stages/result/open")
    proposed = {a["name"] for a in result["applicants"] if a["status"] == "proposed"}
    winners = {p["ranking"][0]["name"] for p in interview["posts"]} | {
        p["ranking"][1]["name"] for p in interview["posts"] if p["post_id"] == post_b
    }
    assert proposed == winners and len(proposed) == 3
    assert not any(a["status"] == "appointed" for a in result["applicants"])
    api.ok("POST", f"/selections/{sid}/stages/result/close")
    opened = api.ok("POST", f"/selections/{sid}/stages/public_notice/open")
    run_jobs(settings)
    for subscriber in subscribers:
        bodies = [m.body for m in panel_district.fake.messages_to(subscriber.phone)]
        assert any("最终结果" in b or "final result" in b for b in bodies)
        assert any("任前公示" in b or "appointment notice" in b for b in bodies)

    # The appointment notice names each proposed appointee with the post, links the selection's page
    # and states the real closing moment: the calendar's answer for its publication, in local time.
    appointment_notice = opened["stages"][5]["notice_id"]
    notice = api.ok("GET", f"/notices/{appointment_notice}")
    period = api.public("GET", f"/api/v1/notices/{appointment_notice}/period").json()
    assert period["state"] == "open" and period["days"] == 5, period
    published = datetime.fromisoformat(period["opens_at"])
    closes = calendar_for(settings).add_working_days(published, 5)
    assert datetime.fromisoformat(period["closes_at"]) == closes > published
    closes_local = closes.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    assert closes_local.endswith(" 17:30")
    selection_url = f"{settings.public_base_url}/selections/{sid}"
    post_titles = {p.id: p.title_zh for p in db.execute(select(Post)).scalars()}
    named = [(a["name"], post_titles[a["post_id"]]) for a in result["applicants"] if a["name"] in winners]
    for name, post_title in named:
        assert f"{name}（{post_title}）" in notice["body_zh"], notice["body_zh"]
    assert closes_local in notice["body_zh"] and closes_local in notice["body_en"]
    assert selection_url in notice["body_zh"] and selection_url in notice["body_en"]
    texts = [
        m.body
        for p in subscribers
        for m in panel_district.fake.messages_to(p.phone)
        if "任前公示" in m.body or "appointment notice" in m.body
    ]
    assert len(texts) == len(subscribers) and any("任前公示" in body for body in texts)
    for body in texts:
        assert closes_local in body and selection_url in body, body
        assert "2027-" not in body  # not the stage's timetable guess
        if "任前公示" in body:  # the English title is longer: its text may leave the names to the page
            assert all(f"{name}（{post}）" in body for name, post in named), body
    page = api.public("GET", f"/notices/{appointment_notice}", headers={"Accept-Language": "zh-CN"})
    assert closes_local in page.text and f'href="/selections/{sid}"' in page.text
    stage = api.ok("GET", f"/selections/{sid}")["stages"][5]
    assert datetime.fromisoformat(stage["closes_at"]) == closes  # one closing moment everywhere
    shown = api.public("GET", f"/selections/{sid}", headers={"Accept-Language": "zh-CN"}).text
    assert closes_local in shown and shown.count("拟任人选") >= 3

    # An objection rejected changes nothing; one upheld with a suspension stops the period and puts
    # the proposed on hold, on the record; a proposed appointee is withdrawn on that objection.
    def file_objection(reason: str) -> tuple[str, int]:
        filed = api.public(
            "POST", f"/api/v1/notices/{appointment_notice}/objections", json={"reason": reason}
        )
        assert filed.status_code == 201, filed.text
        listed = api.ok("GET", f"/notices/{appointment_notice}/objections")
        return filed.json()["reference"], next(
            o["id"] for o in listed if o["reference"] == filed.json()["reference"]
        )

    reference, objection_id = file_objection("拟任人选的工作经历与公告条件不符，请核实。")
    answered = api.ok(
        "PUT",
        f"/notices/{appointment_notice}/objections/{objection_id}",
        json={"status": "rejected", "reply": "经核实，工作经历符合条件。"},
    )
    assert answered["objection"]["status"] == "rejected"
    public_status = api.public("GET", f"/api/v1/objections/{reference}").json()
    assert public_status["status"] == "rejected" and "符合条件" in public_status["reply"]
    early = api("POST", f"/selections/{sid}/stages/public_notice/close")
    assert early.status_code == 409 and closes_local in early.json()["detail"], early.text

    upheld_ref, upheld_id = file_objection("拟任人选隐瞒了兼职经历，有证明材料。")
    api.ok(
        "PUT",
        f"/notices/{appointment_notice}/objections/{upheld_id}",
        json={"status": "upheld", "reply": "经核实，情况属实，暂停公示。", "action": "suspend"},
    )
    held = api.ok("GET", f"/selections/{sid}")
    assert {a["name"] for a in held["applicants"] if a["status"] == "suspended"} == winners
    refused = api("POST", f"/selections/{sid}/stages/public_notice/close")
    assert refused.status_code == 409 and "suspended" in refused.json()["detail"]
    dropped = next(a for a in held["applicants"] if a["status"] == "suspended")
    no_reason = api("POST", f"/selections/{sid}/applicants/{dropped['id']}/withdraw")
    # a proposed appointee leaves only on an upheld objection: its status asks for one (409)
    assert no_reason.status_code == 409 and no_reason.json()["field"] == "objection"
    not_upheld = api(
        "POST", f"/selections/{sid}/applicants/{dropped['id']}/withdraw", json={"objection": reference}
    )
    assert not_upheld.status_code == 409  # the rejected objection cannot withdraw anyone
    gone = api.ok(
        "POST", f"/selections/{sid}/applicants/{dropped['id']}/withdraw", json={"objection": upheld_ref}
    )
    assert gone == {"id": dropped["id"], "status": "withdrawn", "reason": "objection_upheld"}
    db.expire_all()
    on_record = [
        e.details
        for e in db.execute(select(AuditEntry).where(AuditEntry.subject_id == str(sid))).scalars()
        if e.action in ("selection.notice_suspended", "selection.applicant.withdraw")
    ]
    assert {
        "event": "suspended",
        "objection": upheld_ref,
        "applicants": sorted(a["id"] for a in held["applicants"] if a["status"] == "suspended"),
    } in on_record
    assert {"applicant_id": dropped["id"], "objection": upheld_ref} in on_record
    shown = api.public("GET", f"/selections/{sid}", headers={"Accept-Language": "zh-CN"}).text
    assert "暂缓任命" in shown and "因异议成立" in shown

    resumed = api.ok("POST", f"/notices/{appointment_notice}/period/resume", json={"days": 2})
    assert resumed["state"] == "extended"
    back = api.ok("GET", f"/selections/{sid}")
    remaining = {a["name"] for a in back["applicants"] if a["status"] == "proposed"}
    assert remaining == winners - {dropped["name"]}
    assert datetime.fromisoformat(back["stages"][5]["closes_at"]) == datetime.fromisoformat(
        resumed["closes_at"]
    )

    # The period runs out: the proposed become appointed when it closes, and a notice says so.
    db.expire_all()
    notice_period = db.get(NoticePeriod, appointment_notice)
    assert notice_period is not None
    notice_period.closes_at = datetime.now(UTC) - timedelta(minutes=1)  # the working days pass
    db.commit()
    context.use(settings)
    assert close_period(appointment_notice) is True
    finished = api.ok("GET", f"/selections/{sid}")
    assert finished["status"] == "finished" and finished["stages"][5]["status"] == "closed"
    appointed = {a["name"] for a in finished["applicants"] if a["status"] == "appointed"}
    assert appointed == remaining and len(appointed) == 2
    disclosed = api.ok("GET", f"/notices/{finished['stages'][5]['appointed_notice_id']}")
    assert (
        all(name in disclosed["body_zh"] for name in appointed)
        and dropped["name"] not in disclosed["body_zh"]
    )
    assert disclosed["title_zh"].endswith("任命")

    # Every link in every text queued during the selection points at PUBLIC_BASE_URL.
    db.expire_all()
    sent = [m.body for m in db.execute(select(SmsMessage)).scalars()]
    urls = [url for body in sent for url in re.findall(r"https?://[^\s，。；：）]+", body)]
    assert urls and all(url.startswith(settings.public_base_url + "/") for url in urls)

    # 8. Open data: everything public, nothing personal.
    data = api.public("GET", f"/selections/{sid}/open-data.json").json()
    assert {"nominations", "assessment", "speech", "interview", "result"} <= set(data)
    table = api.public("GET", f"/selections/{sid}/open-data.csv")
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text.removeprefix("\ufeff"))))
    assert any(r["section"] == "interview_matrix" for r in rows)
    everything = json.dumps(data, ensure_ascii=False) + table.text
    assert "+86" not in everything and "志愿者" not in everything
    assert "resident_id" not in everything and "invitation" not in everything
    page = api.public("GET", f"/selections/{sid}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "冯雪" in page.text and "77.50" in page.text


@pytest.mark.slow
def test_the_speech_stage_refuses_a_short_list(panel_district: PanelDistrict) -> None:
    """1.5 candidates per seat: 2 seats need 3 candidates; with 2 the stage stays shut and says why."""
    api, db = Api(panel_district), panel_district.db
    residents = list(db.execute(select(Resident).order_by(Resident.id)).scalars())
    give_role(db, residents[:3], ResidentRoleKind.EVALUATOR)
    sid = api.ok(
        "POST", "/selections", json=selection_body([{"title_zh": "岗位", "title_en": "Post", "seats": 2}])
    )["id"]
    post = api.ok("GET", f"/selections/{sid}")["posts"][0]["id"]
    api.ok("POST", f"/selections/{sid}/publish")
    api.ok("POST", f"/selections/{sid}/stages/nomination/open")
    api.ok("POST", f"/selections/{sid}/stages/nomination/close")
    api.ok(
        "POST",
        f"/selections/{sid}/applicants",
        json={"applicants": [{"post_id": post, "name": "甲"}, {"post_id": post, "name": "乙"}]},
    )
    api.ok(
        "POST",
        f"/selections/{sid}/invitations",
        json={
            "stage": "assessment",
            "invitees": [{"resident_id": r.id, "group": "staff"} for r in residents[:3]],
        },
    )
    api.ok("POST", f"/selections/{sid}/stages/assessment/open")
    for token in links(db, "b").values():
        view = api.public("GET", f"/api/v1/ballots/{token}").json()
        ratings = {str(a["id"]): "competent" for a in view["applicants"]}
        assert api.public("POST", f"/api/v1/ballots/{token}", json={"ratings": ratings}).status_code == 200
    api.ok("POST", f"/selections/{sid}/stages/assessment/close")
    refused = api("POST", f"/selections/{sid}/stages/speech/open")
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"].endswith("Post has 2 candidates for 2 seats and needs at least 3")
    shown = api.ok("GET", f"/selections/{sid}")
    assert shown["stages"][2]["status"] == "pending"
    assert shown["margins"][0] == {"post_id": post, "seats": 2, "candidates": 2, "required": 3, "ok": False}
