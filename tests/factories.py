"""What tests in more than one module build or do, in one place: organizers and their tokens, a resident
signed up through the pages, residents inserted in bulk, notices, objections, panels, evaluations and
selections made through the API, and the checks every phone page must pass. Fixtures live in the
conftest.py files; test modules import helpers from here and never from each other
(tests/app/test_tests_mirror_the_domains.py checks it)."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from engage.accounts.services import create_organizer, create_token
from engage.audit.models import AuditEntry
from engage.db import make_sync_engine, sync_session
from engage.panels.models import PanelMember
from engage.residents.models import (
    AGE_BANDS,
    Community,
    ParticipantType,
    Resident,
    ResidentRole,
    ResidentRoleKind,
    Source,
    Subscription,
)
from engage.residents.notice_kinds import NoticeKind
from engage.selections import services as selection_services
from engage.selections import stages as selection_stages
from engage.selections.models import StageKind
from engage.settings import Settings
from engage.sms.models import SmsMessage
from engage.testing.fake_twilio import FakeTwilio, WebhookResponse
from tests.support import TWILIO_TOKEN, run_jobs

OUR_NUMBER = "+8610690000"  # the district's number residents text
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")  # a six-digit code in a text


# Organizers, tokens and forms.


def organizer(settings: Settings, email: str, role: str) -> str:
    """Create an organizer; returns the generated password."""
    with sync_session(make_sync_engine(settings.database_url)) as session:
        return create_organizer(session, email, role)[1]


def token_for(settings: Settings, email: str, role: str) -> str:
    organizer(settings, email, role)
    with sync_session(make_sync_engine(settings.database_url)) as session:
        return create_token(session, email)


def csrf_token(client: TestClient, path: str = "/login") -> str:  # type: ignore[type-arg]
    page = client.get(path)
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, "form without a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str) -> None:  # type: ignore[type-arg]
    response = client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": csrf_token(client), "next": "/organizer"},
        follow_redirects=False,
    )
    assert response.status_code in (301, 302, 303), response.text


def count(db: Session, model: Any) -> int:
    db.expire_all()
    return int(db.execute(select(func.count()).select_from(model)).scalar_one())


# One resident signing up on the pages (/join), as a person types it.

SIGNUP_PHONE = "138 0013 8000"  # as typed on the form
SIGNUP_E164 = "+8613800138000"  # as stored and texted
SIGNUP_PROFILE = {
    "name": "王秀英",
    "community": "wulihe",
    "age_band": "60-74",
    "gender": "female",
    "occupation": "retired",
    "participant_type": "resident",
    "expertise": "",
    "work_unit": "",
}


def forget_code_limits(settings: Settings) -> None:
    """As if the per-number windows had passed (they are minutes to a day long)."""
    connection = redis.Redis.from_url(str(settings.redis_url))
    for key in connection.scan_iter("engage:rl:code:*"):
        connection.delete(key)


def post(client: TestClient, path: str, data: dict[str, Any], form_page: str | None = None) -> Any:  # type: ignore[type-arg]
    """Submit a form as a browser does: with the CSRF token of the page that holds it."""
    found = re.search(r'name="_csrf_token" value="([^"]+)"', client.get(form_page or path).text)
    assert found, f"no CSRF token on {form_page or path}"
    payload = dict(data, _csrf_token=found.group(1))
    return client.post(path, data=payload, follow_redirects=False)


def last_code(settings: Settings, phone: str = SIGNUP_E164) -> str:
    """The last code texted to exactly this number, after the worker has sent the queue."""
    run_jobs(settings)
    texts = [json.loads(line) for line in settings.outbox_path.read_text().splitlines()]
    mine = [text["body"] for text in texts if text["to"] == phone]
    return CODE.search(mine[-1]).group(1)  # type: ignore[union-attr]


def texted_code(settings: Settings, phone: str) -> str:
    """The last code in a text whose outbox line mentions `phone` (any spelling of the number that the
    line contains), after the worker has sent the queue."""
    run_jobs(settings)
    bodies = [
        json.loads(line)["body"] for line in settings.outbox_path.read_text().splitlines() if phone in line
    ]
    found = CODE.search(bodies[-1])
    assert found
    return found.group(1)


def request_code(client: TestClient, phone: str = SIGNUP_PHONE) -> Any:  # type: ignore[type-arg]
    return post(client, "/join", {"phone": phone})


def sign_up(
    client: TestClient,  # type: ignore[type-arg]
    settings: Settings,
    phone: str = SIGNUP_PHONE,
    roles: tuple[str, ...] = ("judge", "subscriber"),
) -> Any:
    """Every step of /join with SIGNUP_PROFILE in the 五里河 community; returns the answer to the last."""
    assert request_code(client, phone).status_code in (302, 303)
    code = last_code(settings, "+86" + phone.replace(" ", ""))
    assert post(client, "/join/code", {"code": code}).status_code in (302, 303)
    assert post(client, "/join/profile", SIGNUP_PROFILE).status_code in (302, 303)
    data: dict[str, Any] = {
        "roles": list(roles),
        "notice_kinds": ["appointment", "final_result"],
        "communities": ["wulihe"],
    }
    data.update({f"consent_{role}": "yes" for role in roles})
    checked = post(client, "/join/roles", data)
    assert checked.headers["location"] == "/join/check"
    return post(client, "/join/check", {})


# Residents texting the district's number through the fake gateway (sms_district).

TEXTING_PHONE = SIGNUP_E164
OTHER_TEXTING_PHONE = "+8613900139000"
TEXTING_COMMUNITIES = [
    ("wulihe", "五里河社区", "Wulihe"),
    ("dongxing", "东兴社区", "Dongxing"),
    ("dongxingbei", "东兴北社区", "Dongxing North"),
]


class Texting:
    """Phones texting our number through the fake Twilio, and what they get back."""

    def __init__(self, fake: FakeTwilio, settings: Settings, base_url: str) -> None:
        self.fake = fake
        self.settings = settings
        self.base_url = base_url
        self.webhook = f"{base_url}/webhooks/twilio/inbound"

    def send(self, body: str, phone: str = TEXTING_PHONE) -> WebhookResponse:
        return self.fake.send_inbound(self.webhook, phone, OUR_NUMBER, body)

    def text(self, body: str, phone: str = TEXTING_PHONE) -> str:
        """Text us and return the one reply that arrives once the worker has run."""
        before = len(self.fake.messages_to(phone))
        answered = self.send(body, phone)
        assert (answered.status, answered.body) == (200, '<?xml version="1.0" encoding="UTF-8"?><Response/>')
        run_jobs(self.settings)
        replies = self.fake.messages_to(phone)[before:]
        assert len(replies) == 1, [r.body for r in replies]
        assert replies[0].num_segments <= 3, replies[0].body
        return replies[0].body

    def post_signed(self, params: dict[str, str]) -> httpx.Response:
        """POST exactly these parameters, signed as Twilio signs them (to redeliver a MessageSid)."""
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(self.webhook, params)
        return httpx.post(self.webhook, data=params, headers={"X-Twilio-Signature": signature})


def all_residents(db: Session) -> list[Resident]:
    db.expire_all()
    return list(db.execute(select(Resident)).scalars())


def audit_entries(db: Session, action: str) -> list[AuditEntry]:
    return list(db.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def add_resident(db: Session, phone: str = TEXTING_PHONE, **fields: Any) -> Resident:
    """One verified resident of 五里河 (the community must exist), signed up on the web."""
    community = db.execute(select(Community).where(Community.code == "wulihe")).scalar_one()
    values: dict[str, Any] = {
        "locale": "zh_CN",
        "source": Source.WEB.value,
        "verified_at": datetime.now(UTC),
        "community_id": community.id,
    }
    resident = Resident(phone=phone, **{**values, **fields})
    db.add(resident)
    db.commit()
    return resident


def is_help(reply: str) -> bool:
    return "Text JOIN to sign up" in reply or "回复“参加”报名" in reply


# Notices and their subscribers (notice_district).

SUBSCRIBED_AT = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class NoticeDistrict:
    settings: Settings
    url: str
    api: httpx.Client
    fake: FakeTwilio

    def notice(self, **fields: Any) -> dict[str, Any]:
        body = {
            "kind": NoticeKind.STAGE_RESULT.value,
            "title_zh": "民主测评结果",
            "title_en": "Assessment results",
            "body_zh": "五里河社区主任候选人民主测评结果已公示，欢迎监督。",
            "body_en": "The assessment results for the Wulihe director are public.",
            **fields,
        }
        answer = self.api.post("/api/v1/notices", json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def publish(self, notice_id: int) -> dict[str, Any]:
        answer = self.api.post(f"/api/v1/notices/{notice_id}/publish", json={})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def text_us(self, phone: str, body: str) -> None:
        answer = self.fake.send_inbound(f"{self.url}/webhooks/twilio/inbound", phone, OUR_NUMBER, body)
        assert answer.status == 200, answer.body


@dataclass(frozen=True)
class Plan:
    """One resident to insert: who they are and what they asked for."""

    phone: str
    locale: str = "zh_CN"
    subscriber: bool = True
    withdrawn: bool = False
    opted_out: bool = False
    kinds: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()


def add_subscribers(db: Session, plans: list[Plan]) -> dict[str, int]:
    """Insert residents, roles and subscriptions in bulk (executemany); returns {phone: id}."""
    db.execute(
        insert(Resident),
        [
            {
                "phone": p.phone,
                "locale": p.locale,
                "verified_at": SUBSCRIBED_AT,
                "sms_opt_out_at": SUBSCRIBED_AT if p.opted_out else None,
            }
            for p in plans
        ],
    )
    ids: dict[str, int] = {
        str(number): id_ for number, id_ in db.execute(select(Resident.phone, Resident.id))
    }
    roles = [
        {
            "resident_id": ids[p.phone],
            "role": "subscriber",
            "withdrawn_at": SUBSCRIBED_AT if p.withdrawn else None,
        }
        for p in plans
        if p.subscriber
    ]
    if roles:
        db.execute(insert(ResidentRole), roles)
    subscriptions = [
        {"resident_id": ids[p.phone], "kind": kind, "value": value}
        for p in plans
        for kind, values in (("notice", p.kinds), ("community", p.communities))
        for value in values
    ]
    if subscriptions:
        db.execute(insert(Subscription), subscriptions)
    db.commit()
    return {p.phone: ids[p.phone] for p in plans}


def phone(n: int) -> str:
    """The n-th subscriber's number (+86138...)."""
    return f"+86138{n:08d}"


# Objections to an appointment notice.

OBJECTOR_PHONE = "13800138000"  # as typed on the objection form


def appointment(client: TestClient[Litestar], headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    """An appointment notice, published: its objection period is open."""
    body = {
        "kind": "appointment",
        "title_zh": "拟任职公示",
        "title_en": "Proposed appointment",
        "body_zh": "王芳同志拟任五里河社区主任，现予公示。",
        "body_en": "Wang Fang is proposed as director of Wulihe community.",
        **fields,
    }
    made = client.post("/api/v1/notices", json=body, headers=headers)
    assert made.status_code == 201, made.text
    published = client.post(f"/api/v1/notices/{made.json()['id']}/publish", json={}, headers=headers)
    assert published.status_code == 200, published.text
    return dict(published.json())


def closes_at(notice: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(notice["period"]["closes_at"])


def file_objection(client: TestClient[Litestar], notice_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/notices/{notice_id}/objections", json={"reason": "履历有误", **body})


# Grand-jury panels (panel_district, panel_staff).

PANEL_COMMUNITIES = [
    ("wulihe", "五里河社区", "Wulihe"),
    ("dongxing", "东兴社区", "Dongxing"),
    ("dongxingbei", "东兴北社区", "Dongxing North"),
    ("fengyutan", "风雨坛社区", "Fengyutan"),
    ("wanlian", "万莲社区", "Wanlian"),
]
DEPUTY_TYPES = [ParticipantType.DEPUTY_PC, ParticipantType.DEPUTY_PARTY, ParticipantType.DEPUTY_CPPCC]
QUOTAS = [  # a 55-seat panel drawn from add_volunteers' 300
    {"category": "participant_type", "feature": "resident", "min": 40, "max": 40},
    {"category": "participant_type", "feature": "deputy", "min": 5, "max": 5},
    {"category": "participant_type", "feature": "expert", "min": 10, "max": 10},
    {"category": "gender", "feature": "female", "min": 24, "max": 31},
    {"category": "gender", "feature": "male", "min": 24, "max": 31},
    *({"category": "age_band", "feature": band, "min": 4, "max": 20} for band in AGE_BANDS),
]
SEED_PARTS = ["district office: 7f3a91c2", "notary: 20261126-0815"]


def phone_of(n: int) -> str:
    """The n-th volunteer's or rater's number (+86139...)."""
    return f"+86139{n:08d}"


def add_volunteers(db: Session, count: int = 300) -> list[Resident]:
    """~250 residents, 30 deputies, 20 experts over five communities, both genders (a few other), all
    age bands; every one a verified volunteer judge."""
    rng = random.Random(20261126)
    communities = []
    for code, zh, en in PANEL_COMMUNITIES:
        community = Community(code=code, name_zh=zh, name_en=en)
        db.add(community)
        communities.append(community)
    db.flush()
    now = datetime.now(UTC)
    residents = []
    for n in range(count):
        kind = (
            ParticipantType.RESIDENT
            if n < 250
            else DEPUTY_TYPES[n % 3]
            if n < 280
            else ParticipantType.EXPERT
        )
        resident = Resident(
            phone=phone_of(n),
            name=f"志愿者{n}",
            community_id=rng.choice(communities).id,
            participant_type=kind.value,
            gender="other" if n % 97 == 5 else rng.choice(["female", "male"]),
            age_band=rng.choice(AGE_BANDS),
            expertise="城市规划" if kind == ParticipantType.EXPERT else None,
            work_unit=f"单位{n % 40}",
            locale="zh_CN" if n % 4 else "en",
            source=Source.IMPORT.value,
            verified_at=now,
        )
        resident.roles = [ResidentRole(role=ResidentRoleKind.JUDGE.value, consented_at=now)]
        residents.append(resident)
    db.add_all(residents)
    db.commit()
    return residents


@dataclass
class PanelDistrict:
    fake: FakeTwilio
    settings: Settings
    url: str
    headers: dict[str, str]
    db: Session

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}/api/v1/panels{path}", headers=self.headers, timeout=60, **kwargs
        )

    def text(self, phone: str, body: str) -> list[str]:
        """Text us from `phone`; returns what that phone received once the worker has run."""
        before = len(self.fake.messages_to(phone))
        answered = self.fake.send_inbound(f"{self.url}/webhooks/twilio/inbound", phone, OUR_NUMBER, body)
        assert answered.status == 200, answered.body
        run_jobs(self.settings)
        return [m.body for m in self.fake.messages_to(phone)[before:]]

    def members(self, panel_id: int) -> list[PanelMember]:
        self.db.expire_all()
        return list(self.db.execute(select(PanelMember).where(PanelMember.panel_id == panel_id)).scalars())


def create_panel(district: PanelDistrict) -> int:
    """The 55-seat panel with QUOTAS, through the API."""
    made = district.api(
        "POST",
        "",
        json={
            "title": "沈河区干部选任大评审团",
            "size": 55,
            "event_date": "2026-12-10 09:00",
            "place": "区政务中心三楼",
            "reply_deadline": "2026-12-05T12:00:00+08:00",
        },
    )
    assert made.status_code == 201, made.text
    panel_id = int(made.json()["id"])
    assert [p["id"] for p in district.api("GET", "").json()] == [panel_id]
    assert district.api("PUT", f"/{panel_id}/quotas", json={"quotas": QUOTAS}).status_code == 200
    return panel_id


def phones_by_pseudonym(db: Session) -> dict[str, str]:
    return {r.pseudonym: r.phone for r in db.execute(select(Resident)).scalars() if r.phone}


def assert_quotas_met(members: list[PanelMember], record: dict[str, Any]) -> None:
    categories = record["pool"]["categories"]
    seated = [m for m in members if m.status in ("invited", "confirmed", "attended", "drawn")]
    assert len(seated) == record["panel_size"]
    for category, value, low, high in record["quotas"]:
        seats = sum(1 for m in seated if m.values[categories.index(category)] == value)
        assert low <= seats <= high, (category, value, seats)


# A 12-seat panel invited through the test client, and its personal links (/j/...).

PANEL_DEADLINE = "2200-01-01T00:00:00+08:00"
SMALL_PANEL_QUOTAS = [
    {"category": "participant_type", "feature": "expert", "min": 2, "max": 3},
    {"category": "gender", "feature": "female", "min": 5, "max": 7},
    {"category": "community", "feature": "wulihe", "min": 0, "max": 12},
    {"category": "age_band", "feature": "60-74", "min": 0, "max": 12},
]
PANEL_LINK = re.compile(r"/j/([0-9a-z]+-[A-Za-z0-9_-]{12})")


def draft_small_panel(
    client: TestClient[Litestar], headers: dict[str, str], quotas: list[dict[str, Any]] = SMALL_PANEL_QUOTAS
) -> str:
    """A 12-seat panel with its quotas; returns its API path."""
    made = client.post(
        "/api/v1/panels",
        json={
            "title": "五里河改造评审团",
            "size": 12,
            "event_date": "2026-12-10 09:00",
            "place": "区政务中心三楼",
            "reply_deadline": PANEL_DEADLINE,
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    base = f"/api/v1/panels/{made.json()['id']}"
    assert client.put(f"{base}/quotas", json={"quotas": quotas}, headers=headers).status_code == 200
    return base


def invited_panel(client: TestClient[Litestar], headers: dict[str, str]) -> tuple[int, str]:
    """A small panel frozen, drawn and invited (12 texts); returns its id and API path."""
    base = draft_small_panel(client, headers)
    assert client.post(f"{base}/freeze", headers=headers).status_code == 200
    assert client.post(f"{base}/draw", json={"seed_parts": SEED_PARTS}, headers=headers).status_code == 200
    assert client.post(f"{base}/invite", headers=headers).json() == {"texts": 12}
    return int(base.rsplit("/", 1)[1]), base


def panel_members(db: Session, panel_id: int) -> list[PanelMember]:
    db.expire_all()
    return list(db.execute(select(PanelMember).where(PanelMember.panel_id == panel_id)).scalars())


def texts_to_resident(db: Session, resident_id: int | None) -> list[str]:
    """Every text queued for a resident, oldest first."""
    resident = db.get(Resident, resident_id)
    assert resident is not None and resident.phone
    rows = db.execute(select(SmsMessage).where(SmsMessage.to == resident.phone).order_by(SmsMessage.id))
    return [m.body for m in rows.scalars()]


def panel_link_token(db: Session, member: PanelMember) -> str:
    found = PANEL_LINK.search(texts_to_resident(db, member.resident_id)[0])
    assert found, "the invitation has no link"
    return found.group(1)


def press_panel_link(client: TestClient[Litestar], token: str, answer: str) -> Any:
    """Press a button on the member's link page."""
    return client.post(
        f"/j/{token}", data={"answer": answer, "_csrf_token": csrf_token(client, f"/j/{token}")}
    )


# Evaluations of service windows (evaluation_district).

EVALUATION_COMMUNITIES = [
    ("wulihe", "五里河社区", "Wulihe"),
    ("dongxing", "东兴社区", "Dongxing"),
    ("nanta", "南塔社区", "Nanta"),
]
WINDOW = "便民服务窗口"
QUESTIONS = [
    {"zh": "办事效率", "en": "Speed"},
    {"zh": "服务态度", "en": "Courtesy"},
    {"zh": "办理结果", "en": "Outcome"},
]
RATING_LINK = re.compile(r"/e/([A-Za-z0-9_-]{22})")


def typed_phone(n: int) -> str:
    """How an office clerk might type the number: three ways."""
    digits = f"139{n:08d}"
    return [
        f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}",
        digits,
    ][n % 3]


def api_phone(n: int) -> str:
    """How a system sends the number to the API: in E.164 or as written in China, digits only."""
    digits = f"139{n:08d}"
    return [f"+86{digits}", digits][n % 2]


def add_raters(db: Session, count: int = 1000) -> None:
    """1,000 verified residents over three communities, in one bulk insert; every fourth reads English."""
    db.add_all([Community(code=c, name_zh=zh, name_en=en) for c, zh, en in EVALUATION_COMMUNITIES])
    db.flush()
    ids = list(db.execute(select(Community.id).order_by(Community.id)).scalars())
    now = datetime.now(UTC)
    rows = [
        {
            "pseudonym": f"r-{n:012x}",
            "phone": phone_of(n),
            "name": f"居民{n}",
            "community_id": ids[n % len(ids)],
            "locale": "en" if n % 4 == 0 else "zh_CN",
            "source": "import",
            "verified_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    db.execute(insert(Resident), rows)
    db.commit()


def campaign_body(mode: str = "reverse", **extra: Any) -> dict[str, Any]:
    """An evaluation open from an hour ago for a week, of two service windows."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "title_zh": "2026年便民服务反向测评",
        "title_en": "2026 reverse evaluation of service windows",
        "mode": mode,
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
        "questions": QUESTIONS,
        "subjects": [{"name": WINDOW, "unit": "五里河社区"}, {"name": "社保窗口", "unit": "东兴社区"}],
        "threshold": "3/4",
        "bulk_limit": 1000,
    }
    body.update(extra)
    return body


@dataclass
class EvaluationDistrict:
    fake: FakeTwilio
    settings: Settings
    url: str
    headers: dict[str, str]
    db: Session

    def api(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        url = f"{self.url}/api/v1/evaluations{path}"
        return httpx.request(method, url, headers={**self.headers, **(headers or {})}, timeout=60, **kwargs)

    def text(self, phone: str, body: str) -> list[str]:
        """Text us from `phone`; returns what that phone received once the worker has run."""
        before = len(self.fake.messages_to(phone))
        answered = self.fake.send_inbound(f"{self.url}/webhooks/twilio/inbound", phone, OUR_NUMBER, body)
        assert answered.status == 200, answered.body
        run_jobs(self.settings)
        return [m.body for m in self.fake.messages_to(phone)[before:]]

    def link_of(self, n: int) -> str:
        bodies = [m.body for m in self.fake.messages_to(phone_of(n)) if RATING_LINK.search(m.body)]
        assert bodies, f"resident {n} got no invitation"
        found = RATING_LINK.search(bodies[-1])
        assert found
        return f"/e/{found.group(1)}"

    def rate(self, n: int, scores: list[int], comment: str = "", lang: str = "zh-CN") -> httpx.Response:
        """Rate through the personal link, as a browser would (CSRF cookie and field)."""
        with httpx.Client(base_url=self.url, headers={"Accept-Language": lang}, timeout=30) as browser:
            page = browser.get(self.link_of(n))
            assert page.status_code == 200, page.text
            # Any form carries the token (a closed evaluation's page has none).
            token = re.search(r'name="_csrf_token" value="([^"]+)"', browser.get("/join").text)
            assert token
            data = {"_csrf_token": token.group(1), "comment": comment}
            data.update({f"q{i + 1}": str(s) for i, s in enumerate(scores)})
            return browser.post(self.link_of(n), data=data)


def organizer_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(settings, 'qian@district.gov.cn', 'organizer')}"}


def outbox_links(settings: Settings) -> dict[str, str]:
    """{number: its rating link} from the console outbox."""
    links = {}
    for line in settings.outbox_path.read_text().splitlines():
        text = json.loads(line)
        found = RATING_LINK.search(text["body"])
        if found:
            links[text["to"]] = f"/e/{found.group(1)}"
    return links


def post_rating(client: TestClient[Litestar], path: str, scores: list[int]) -> Any:
    page = client.get(path)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    data = {"_csrf_token": token.group(1), **{f"q{i + 1}": str(s) for i, s in enumerate(scores)}}
    return client.post(path, data=data)


# Selections.

SELECTION_START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
SELECTION_RUBRIC = [
    {"code": "knowledge", "name_zh": "专业知识", "name_en": "Knowledge", "max_points": 50},
    {"code": "communication", "name_zh": "沟通表达", "name_en": "Communication", "max_points": 50},
]
SELECTION_STAGES = ["nomination", "assessment", "speech", "interview", "result", "public_notice"]


def timetable() -> list[dict[str, str]]:
    """Every stage three days after the one before, from SELECTION_START."""
    return [
        {
            "kind": kind,
            "opens_at": (SELECTION_START + timedelta(days=3 * i)).isoformat(),
            "closes_at": (SELECTION_START + timedelta(days=3 * i + 2)).isoformat(),
        }
        for i, kind in enumerate(SELECTION_STAGES)
    ]


def selection_body(posts: list[dict[str, Any]]) -> dict[str, Any]:
    """A street's open selection for these posts, as POSTed to /api/v1/selections."""
    return {
        "title_zh": "沈河区街道副主任公开选拔",
        "title_en": "Shenhe street deputy directors: open selection",
        "unit": "沈河区五里河街道",
        "unit_category": "street",
        "eligibility_zh": "本区户籍，35周岁以下，大学本科以上学历",
        "eligibility_en": "Registered in the district, under 35, a university degree",
        "posts": posts,
        "stages": timetable(),
        "rubric": SELECTION_RUBRIC,
        "rules": {"jury_weights": {"expert": "1/2", "deputy": "1/5", "resident": "3/10"}},
    }


def open_selection(db: Session, settings: Settings) -> tuple[int, int]:
    """A published one-post selection whose nomination is open now; returns its and the post's ids."""
    start = datetime.now(UTC)
    spec = selection_services.SelectionSpec(
        title_zh="街道副主任公开选拔",
        title_en="Street deputy director",
        unit="五里河街道",
        unit_category="street",
        posts=[selection_services.PostSpec("副主任", "Deputy director", 1)],
        stages=[
            selection_services.StageSpec(
                kind.value, start + timedelta(days=2 * i), start + timedelta(days=2 * i + 1)
            )
            for i, kind in enumerate(StageKind)
        ],
        rubric=[{"code": "overall", "max_points": 100}],
    )
    selection = selection_services.create_selection(db, "test", spec)
    selection_services.publish(db, "test", selection.id, settings)
    selection_stages.open_stage(db, "test", selection.id, StageKind.NOMINATION, settings)
    db.commit()
    return selection.id, selection.posts[0].id


# What every page must pass on a phone (a Playwright page at 390x844).

CONTRAST = (Path(__file__).parent / "js" / "contrast.js").read_text()


def no_horizontal_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def tap_targets_are_large(page: Any) -> None:
    small = page.evaluate(
        """() => [...document.querySelectorAll('a, button, input, select, textarea')]
            .filter(el => el.offsetParent !== null && el.type !== 'hidden')
            .map(el => [el.outerHTML.slice(0, 60), el.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == []


def fits_a_phone(page: Any) -> None:
    """No sideways scroll, enough contrast, 44 px targets (checkboxes and radios aside), every field labelled."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.evaluate(CONTRAST) == []
    small = page.evaluate(
        """() => [...document.querySelectorAll('a, button, input:not([type=hidden]), select, label.choice')]
            .filter(el => el.offsetParent !== null)
            .filter(el => !(el.tagName === 'INPUT' && (el.type === 'checkbox' || el.type === 'radio')))
            .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == []
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(el => !(el.labels && el.labels.length)).map(el => el.name)"""
    )
    assert unlabelled == []


# axe-core 4.14.1 from the npm registry (`npm pack axe-core@4.14.1`, package/axe.min.js), kept in the
# test tree so a clean clone runs it without a network.
AXE = (Path(__file__).parent / "js" / "axe.min.js").read_text()
SERIOUS = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.impact} ${v.id}: ${v.nodes.map(n => n.target.join(" ")).slice(0, 3).join(", ")}`);
}"""


def axe_problems(page: Any) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE)
    return list(page.evaluate(SERIOUS))


# Prometheus text as data: the metrics tests and the scale-out test read /metrics with these.
def samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(body: str, name: str, **labels: str) -> float | None:
    return samples(body).get((name, frozenset(labels.items())))


def drop_audit_guard(session: Session) -> None:
    """What someone with full database rights could do before editing the log by hand."""
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        session.execute(text("DROP TRIGGER audit_entries_append_only ON audit_entries"))
    else:
        session.execute(text("DROP TRIGGER audit_entries_no_update"))
        session.execute(text("DROP TRIGGER audit_entries_no_delete"))
