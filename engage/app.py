"""The one factory: create_app(settings) wires everything; nothing else reads the environment."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import ASGIMiddleware
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.stores.redis import RedisStore
from litestar.template import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.asyncio import Redis

from engage import i18n, phones
from engage.accounts.guards import IdentifyOrganizer
from engage.accounts.web.api import MeController
from engage.accounts.web.organizer import SecondFactorPages, SignInPages
from engage.audit.web.api import AuditController
from engage.db import async_session_factory, make_async_engine
from engage.errors import EXCEPTION_HANDLERS
from engage.evaluations import sms_replies as evaluation_replies
from engage.evaluations.web.api import EvaluationController
from engage.evaluations.web.organizer import EvaluationPages
from engage.evaluations.web.public import RatingPages
from engage.health.web.api import healthz, readyz
from engage.home.web.organizer import DeskPages
from engage.home.web.public import PublicPages
from engage.keys import Purpose
from engage.links import GuessingGuard
from engage.metrics import TimeRequests, metrics
from engage.notices.deliveries.web.api import DeliveryController
from engage.notices.deliveries.web.organizer import NoticeDeliveryPages
from engage.notices.objections.services import forget_objector
from engage.notices.objections.web.api import ObjectionController, PublicObjectionApi
from engage.notices.objections.web.public import ObjectionPages, OrganizerObjectionPages
from engage.notices.web.api import NoticeController
from engage.notices.web.organizer import OrganizerNoticePages
from engage.notices.web.public import NoticePages
from engage.panels.conflicts.web.api import DeclaredConflictController
from engage.panels.conflicts.web.public import MyConflictPages
from engage.panels.editor.web.organizer import PanelEditor
from engage.panels.seats import sms_replies as panel_replies
from engage.panels.seats.web.public import InvitationLinkPages
from engage.panels.steps.web.organizer import PanelSteps
from engage.panels.web.api import PanelController
from engage.panels.web.organizer import PanelPages
from engage.panels.web.public import PublicPanelFiles, PublicPanelPages
from engage.queues import connection_options
from engage.residents import sms_signup
from engage.residents.communities.web.api import CommunityController, VocabularyApi
from engage.residents.communities.web.organizer import CommunityPages
from engage.residents.web import api as organizer_api
from engage.residents.web import organizer as organizer_pages
from engage.residents.web.public import JoinPages, MePages
from engage.residents.web.public_api import SignupApi
from engage.selections import sms_replies as selection_replies
from engage.selections.applicants.web.organizer import SelectionApplicants
from engage.selections.candidates import candidate_facts, notice_origin
from engage.selections.invitations.web.organizer import SelectionInvitations
from engage.selections.panel_choice import SELECTION_LINKS
from engage.selections.steps.web.organizer import SelectionSteps
from engage.selections.web.api import ParticipationApi, SelectionController
from engage.selections.web.organizer import SelectionPages
from engage.selections.web.public import LinkPages, NominationPages, PublicSelectionPages
from engage.selections.wizard.web.organizer import SelectionWizard
from engage.settings import ROOT, Settings
from engage.sms import inbound
from engage.sms.web.api import InboundMessageController, MessageController
from engage.sms.web.organizer import outbox
from engage.sms.web.organizer import reply as outbox_reply
from engage.sms.web.public_api import twilio_inbound, twilio_status
from engage.web.bodies import StrictBodyRequest, StructSchemas
from engage.web.deps import provide_db
from engage.web.flash import flashes
from engage.web.headers import before_send_hook
from engage.web.light import HeadAsGet, static_router, static_url_function
from engage.web.money import money
from engage.web.openapi import openapi_config
from engage.web.options import AnswerOptions
from engage.web.sessions import SESSIONLESS, RedisGate, RotatingSessionConfig

TEMPLATES = ROOT / "templates"


class ChooseLocale(ASGIMiddleware):
    """The page language: the `lang` cookie set by the switch, else Accept-Language (a personal-link
    page puts its resident's language before Accept-Language: `i18n.for_resident`)."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        cookie = accept = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    if key == "lang":
                        cookie = i18n.parse_locale(val)
            elif name == b"accept-language":
                accept = value.decode("latin-1")
        locale = cookie or i18n.negotiate(accept)
        scope.setdefault("state", {})["locale"] = locale
        token = i18n.current_locale.set(locale)
        chose = i18n.visitor_chose.set(cookie is not None)
        # Not reset when the request fails: the error page is rendered outside this middleware and must
        # speak the reader's language too. Each request runs in its own task, so nothing leaks.
        await next_app(scope, receive, send)
        i18n.visitor_chose.reset(chose)
        i18n.current_locale.reset(token)


def _jinja(settings: Settings) -> JinjaTemplateEngine:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        auto_reload=settings.is_dev,
    )
    environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.globals.update(
        locales=i18n.LOCALES,
        locale_names=i18n.LOCALE_NAMES,
        current_locale=i18n.current_locale.get,
        html_lang=i18n.html_lang,
        is_dev=settings.is_dev,
        static_url=static_url_function(fresh=settings.is_dev),
        # Chinese text takes the full-width colon, with no space after it.
        colon=lambda: "：" if i18n.current_locale.get() == "zh_CN" else ": ",
        # Two sentences side by side: a space in English, nothing after a Chinese full stop.
        gap=lambda: "" if i18n.current_locale.get() == "zh_CN" else " ",
        # The step results waiting for this page (engage/web/flash.py), shown once.
        flashes=flashes,
        money=money,
    )
    environment.filters["local"] = lambda moment, fmt="%Y-%m-%d %H:%M": moment.astimezone(
        settings.tz
    ).strftime(fmt)
    # Views that carry times as ISO strings (open data, the organizer view) are shown in local time too.
    environment.filters["local_iso"] = lambda text, fmt="%Y-%m-%d %H:%M": (
        datetime.fromisoformat(text).astimezone(settings.tz).strftime(fmt) if text else ""
    )
    return JinjaTemplateEngine.from_environment(environment)


def make_dispatcher() -> inbound.Dispatcher:
    """Every handler of incoming texts, in one place. A feature that waits for replies adds a line."""
    dispatcher = inbound.Dispatcher()
    inbound.register_basics(dispatcher)  # STOP / TD / 退订, START, HELP / 帮助, the help fallback
    sms_signup.register(dispatcher)  # JOIN / 参加, the sign-up dialogue, roster confirmation with "1"
    panel_replies.register(dispatcher)  # 1 / 2 answering a grand-jury panel invitation
    selection_replies.register(dispatcher)  # 推荐 / NOMINATE <post> <name>: a nomination
    evaluation_replies.register(dispatcher)  # digits rating a service (after panel replies)
    return dispatcher


def create_app(settings: Settings, *, redis_url: str | None = None) -> Litestar:
    """Build the app. `redis_url` overrides settings.redis_url (used when an embedded server was started)."""
    resolved_redis_url = redis_url or settings.redis_url
    if not resolved_redis_url:
        raise ValueError("create_app needs a Redis URL: set REDIS_URL or start the embedded server")
    settings = settings.model_copy(update={"redis_url": resolved_redis_url})
    engine = make_async_engine(settings.database_url, settings.db_pool_size)
    redis = Redis.from_url(resolved_redis_url, **connection_options(asynchronous=True))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await engine.dispose()
            await redis.aclose()

    session_store = RedisStore(redis, namespace="engage")
    session_config = RotatingSessionConfig(
        store="sessions",
        max_age=int(timedelta(hours=8).total_seconds()),
        secure=not settings.is_dev and settings.public_base_url.startswith("https://"),
        samesite="lax",
        httponly=True,
        # Only pages use sessions; the API, health checks and files must not touch the session store.
        exclude=list(SESSIONLESS),
    )
    csrf = CSRFConfig(
        secret=settings.key(Purpose.CSRF),
        cookie_secure=session_config.secure,
        cookie_samesite="lax",
        # The JSON API authenticates with bearer tokens, never cookies, so a forged cross-site form
        # cannot use it; gateway webhooks are checked by their own signature.
        exclude=["/api/", "/webhooks/"],
    )
    route_handlers: list[Any] = [
        healthz,
        readyz,
        metrics,
        MeController,
        AuditController,
        MessageController,
        InboundMessageController,
        twilio_inbound,
        twilio_status,
        NoticeController,
        SelectionController,
        ParticipationApi,
        PublicSelectionPages,
        SelectionPages,
        SelectionWizard,
        SelectionSteps,
        SelectionInvitations,
        SelectionApplicants,
        NominationPages,
        LinkPages,
        DeliveryController,
        NoticeDeliveryPages,
        NoticePages,
        OrganizerNoticePages,
        PublicObjectionApi,
        ObjectionController,
        ObjectionPages,
        OrganizerObjectionPages,
        PublicPages,
        SignInPages,
        SecondFactorPages,
        DeskPages,
        JoinPages,
        MePages,
        SignupApi,
        CommunityController,
        VocabularyApi,
        CommunityPages,
        organizer_api.ResidentController,
        organizer_pages.ResidentPages,
        PanelController,
        PublicPanelFiles,
        PanelPages,
        PanelEditor,
        PanelSteps,
        PublicPanelPages,
        InvitationLinkPages,
        DeclaredConflictController,
        MyConflictPages,
        EvaluationController,
        EvaluationPages,
        RatingPages,
        static_router(fresh=settings.is_dev),
    ]
    if settings.is_dev:
        route_handlers += [outbox, outbox_reply]

    app = Litestar(
        route_handlers=route_handlers,
        state=State(
            {
                "settings": settings,
                "db_sessions": async_session_factory(engine),
                "redis": redis,
                "redis_url": resolved_redis_url,
                # Lower domains ask higher ones through these, never by importing them: the panel
                # service asks for a panel's candidates at freeze, the notice page for its selection,
                # "delete my data" for every table that stores a number, the SMS webhook for the
                # handlers of incoming texts.
                "candidate_source": candidate_facts,
                "notice_origin": notice_origin,
                "erasers": (forget_objector,),
                "dispatcher": make_dispatcher(),
                # the panel form, for the selection a panel may serve
                "selection_links": SELECTION_LINKS,
            }
        ),
        dependencies={"db": Provide(provide_db)},
        stores={"sessions": session_store.with_namespace("sessions")},
        middleware=[
            AnswerOptions(),
            ChooseLocale(),
            RedisGate(),
            GuessingGuard(),
            session_config.middleware,
            IdentifyOrganizer(),
        ],
        csrf_config=csrf,
        template_config=TemplateConfig(engine=_jinja(settings)),
        # Live parts of organizer pages: handlers take HTMXRequest and answer a fragment to htmx. /schema
        # shows the mobile numbers these settings allow (SMS_ALLOWED_REGIONS) where API types have a slot.
        plugins=[HTMXPlugin(), StructSchemas(phones.slots(phones.mobile_rule(settings)))],
        request_class=StrictBodyRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        logging_config=LoggingConfig(log_exceptions="debug"),
        lifespan=[lifespan],
        # Pages are text and mostly Chinese: gzip makes them several times smaller on a slow network.
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=6),
        before_send=[before_send_hook(settings)],
        debug=False,
    )
    # Outside routing: every GET route answers HEAD. Timing sits inside it so that a HEAD is labelled
    # with its route (HeadAsGet hands on a copy of the scope, where the router writes the route).
    app.asgi_handler = HeadAsGet(TimeRequests(app.asgi_handler))
    return app


def request_locale(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("locale", i18n.DEFAULT_LOCALE))
