"""The panel's irreversible steps on the organizer pages: freeze, draw, send the invitations, call a
reserve. Each is a GET that explains in plain words what becomes fixed, who is texted and what it costs
(`engage.web.confirm`), and a POST to the same address that performs the step, leaves the result as a
one-time message (`engage.web.flash`) and answers 303 back to the panel. One click on the panel page
only opens the explanation; nothing changes until the organizer confirms."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from litestar import MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from engage.accounts.guards import OrganizerPages, staff
from engage.audit.services import organizer_actor
from engage.db import utcnow
from engage.errors import Conflict, EngageError, InvalidInput
from engage.i18n import gettext as _
from engage.i18n import ngettext
from engage.panels import services
from engage.panels.labels import title_in_invitation
from engage.panels.models import MemberStatus, Panel, PanelMember, PanelStatus
from engage.panels.seats import services as seats
from engage.panels.seats.schedule import replacement_reminders
from engage.panels.web import api
from engage.panels.web.organizer import detail_page, seed_parts
from engage.residents.labels import N_
from engage.residents.models import Resident
from engage.settings import Settings
from engage.sms.segments import count_segments
from engage.sms.texts import render
from engage.web.confirm import Confirmation, confirmation_page
from engage.web.deps import DB
from engage.web.flash import flash
from engage.web.money import money

LANGUAGE_NAMES = {"zh_CN": N_("Chinese"), "en": N_("English")}


def _page(panel_id: int) -> str:
    return f"/organizer/panels/{panel_id}"


def price(settings: Settings, amount: Decimal) -> str:
    """An amount with the currency the settings name, as the reader writes it (¥0.95, CN¥0.95)."""
    return money(amount, settings.sms_price_currency)


async def invitation_texts(
    db: DB, settings: Settings, panel: Panel, members: list[PanelMember]
) -> Counter[str]:
    """Segments per language of the invitations `members` would get now: {locale: segments}, with
    the count of texts under the key "<locale>:texts"."""
    ids = [m.resident_id for m in members if m.resident_id is not None]
    rows = await db.execute(select(Resident.id, Resident.locale).where(Resident.id.in_(ids)))
    locale_of: dict[int, str] = {resident_id: locale for resident_id, locale in rows.all()}
    tally: Counter[str] = Counter()
    for member in members:
        locale = locale_of.get(member.resident_id or 0, "zh_CN")
        body = render(
            "panel_invite",
            locale,
            settings.sms_signature,
            title=title_in_invitation(panel.title),
            date=panel.event_date,
            place=panel.place,
            link=seats.member_link(settings, member),
        )
        tally[locale] += count_segments(body).segments
        tally[f"{locale}:texts"] += 1
    return tally


def cost_table(settings: Settings, tally: Counter[str]) -> tuple[list[str], list[list[str]], int, Decimal]:
    """Head and rows of the texts per language, with the total texts and cost."""
    head = [_("Language"), _("Texts"), _("SMS segments"), _("Cost")]
    rows = []
    texts, total = 0, Decimal(0)
    for locale in ("zh_CN", "en"):
        n = tally.get(f"{locale}:texts", 0)
        if not n:
            continue
        segments = tally[locale]
        amount = settings.sms_price_per_segment * segments
        texts, total = texts + n, total + amount
        rows.append([_(LANGUAGE_NAMES[locale]), str(n), str(segments), price(settings, amount)])
    return head, rows, texts, total


def freeze_confirmation(panel: Panel, pool: int, excluded: int) -> Confirmation:
    return Confirmation(
        title=_("Freeze the pool of “%(title)s”?") % {"title": panel.title},
        button=_("Freeze the pool"),
        back=_page(panel.id),
        consequences=[
            _(
                "The pool is fixed as it is now: %(pool)s volunteers, of whom %(excluded)s are excluded. "
                "Each enters the lottery under a pseudonym and a ticket number; nobody can join or leave "
                "the pool afterwards."
            )
            % {"pool": pool, "excluded": excluded},
            _("The %(size)s seats and the quotas are fixed and can no longer be changed.")
            % {"size": panel.size},
            _(
                "The service computes now every panel the lottery may choose and each volunteer's "
                "chance, and publishes a commitment: a fingerprint (SHA-256) of the pool, the quotas "
                "and those panels. Anyone can later check that the draw used exactly what was committed."
            ),
            _(
                "Publish the commitment (it is on the public record page) before the seed parts are "
                "revealed: then no one, the service included, can steer the draw."
            ),
        ],
        cannot_undo=_(
            "The panel cannot return to a draft: the pool, the seats and the quotas stay as they are."
        ),
    )


def invite_confirmation(
    settings: Settings, panel: Panel, head: list[str], rows: list[list[str]], texts: int, cost: Decimal
) -> Confirmation:
    return Confirmation(
        title=_("Send the invitations of “%(title)s”?") % {"title": panel.title},
        button=ngettext("Send %(num)s invitation", "Send %(num)s invitations", texts) % {"num": texts},
        back=_page(panel.id),
        consequences=[
            ngettext(
                "%(num)s seated member is texted the date, the place and their personal link.",
                "%(num)s seated members are texted the date, the place and their personal link.",
                texts,
            )
            % {"num": texts},
            _("The texts cost about %(cost)s in all (%(price)s per SMS segment).")
            % {"cost": price(settings, cost), "price": price(settings, settings.sms_price_per_segment)},
            _(
                "They answer 1 to confirm or 2 to decline, by text or on their link; the replies show on the panel page as they arrive."
            ),
        ],
        table_head=head,
        table_rows=rows,
        table_caption=_("Texts per language"),
        cannot_undo=_("A text cannot be recalled once sent."),
    )


class PanelSteps(OrganizerPages):
    path = "/organizer/panels/{panel_id:int}"
    guards = [staff]

    @get("/freeze", name="panels:freeze", media_type=MediaType.HTML)
    async def freeze_page(self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]) -> Template:
        panel = await services.get_panel(db, panel_id)
        services.require_status(panel, PanelStatus.DRAFT)
        live = await services.live_pool(db, panel, api.candidate_source(request.app.state))
        return confirmation_page(freeze_confirmation(panel, len(live.pool.people), len(live.excluded)))

    @post("/freeze", media_type=MediaType.HTML, status_code=303)
    async def freeze(
        self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]
    ) -> Redirect | Template:
        try:
            panel = await services.freeze(
                db, organizer_actor(request.user.id), panel_id, api.candidate_source(request.app.state)
            )
        except services.LotteryFailed as problem:
            await db.rollback()
            headline = _("The lottery could not be computed; the panel stays a draft.")
            return await detail_page(request, db, panel_id, problem, headline)
        except (InvalidInput, Conflict) as problem:
            await db.rollback()
            return await detail_page(request, db, panel_id, problem)
        flash(request, _("The pool is frozen. Commitment: %(c)s") % {"c": panel.commitment})
        return Redirect(_page(panel_id), status_code=303)

    @get("/draw", name="panels:draw", media_type=MediaType.HTML)
    async def draw_page(self, db: DB, panel_id: FromPath[int]) -> Template:
        panel = await services.get_panel(db, panel_id)
        services.require_status(panel, PanelStatus.FROZEN)
        return _draw_template(panel)

    @post("/draw", media_type=MediaType.HTML, status_code=303)
    async def draw(
        self, request: Request[Any, Any, Any], db: DB, panel_id: FromPath[int]
    ) -> Redirect | Template:
        raw = str((await request.form()).get("seed_parts") or "")
        try:
            parts = seed_parts(raw)
            panel = await services.draw(db, organizer_actor(request.user.id), panel_id, parts)
        except (InvalidInput, Conflict) as problem:
            await db.rollback()
            panel = await services.get_panel(db, panel_id)
            if panel.status != PanelStatus.FROZEN:
                return await detail_page(request, db, panel_id, problem)
            return _draw_template(panel, problem, raw)
        seated = sum(1 for m in panel.members if m.status == MemberStatus.DRAWN)
        reserve = sum(1 for m in panel.members if m.reserve_position is not None)
        flash(
            request,
            _("The panel is drawn: %(seated)s seated, %(reserve)s on the reserve list, in drawn order.")
            % {"seated": seated, "reserve": reserve},
        )
        return Redirect(_page(panel_id), status_code=303)

    @get("/invite", name="panels:invite", media_type=MediaType.HTML)
    async def invite_page(self, db: DB, state: State, panel_id: FromPath[int]) -> Template:
        panel = await services.get_panel(db, panel_id)
        services.require_status(panel, PanelStatus.DRAWN)
        waiting = [m for m in panel.members if m.status == MemberStatus.DRAWN]
        if not waiting:
            raise Conflict("status", _("Every seated member has been invited already."))
        head, rows, texts, cost = cost_table(
            state.settings, await invitation_texts(db, state.settings, panel, waiting)
        )
        return confirmation_page(invite_confirmation(state.settings, panel, head, rows, texts, cost))

    @post("/invite", media_type=MediaType.HTML, status_code=303)
    async def invite(
        self, request: Request[Any, Any, Any], db: DB, state: State, panel_id: FromPath[int]
    ) -> Redirect | Template:
        try:
            messages = await seats.invite(db, state.settings, organizer_actor(request.user.id), panel_id)
        except Conflict as problem:
            await db.rollback()
            return await detail_page(request, db, panel_id, problem)
        await api.send_texts(state, messages)
        await api.schedule_deadline(state, await services.get_panel(db, panel_id))
        flash(
            request,
            ngettext(
                "%(num)s invitation is being sent.", "%(num)s invitations are being sent.", len(messages)
            )
            % {"num": len(messages)},
        )
        return Redirect(_page(panel_id), status_code=303)

    @get("/members/{member_id:int}/no-answer", name="panels:no-answer", media_type=MediaType.HTML)
    async def reserve_page(
        self, db: DB, state: State, panel_id: FromPath[int], member_id: FromPath[int]
    ) -> Template:
        panel = await services.get_panel(db, panel_id)
        services.require_status(panel, PanelStatus.DRAWN)
        member = seats.member_of(panel, member_id)
        if member.status not in seats.DROPS_FROM[MemberStatus.REPLACED]:
            raise Conflict("member_id", _("Only a member still waiting to answer can be replaced."))
        alternate = seats.next_reserve(panel, member)
        lines = [
            _("%(who)s (ticket %(ticket)s) has not answered the invitation. Their seat is taken from them.")
            % {"who": member.pseudonym, "ticket": member.ticket},
        ]
        head: list[str] = []
        rows: list[list[str]] = []
        if alternate is None:
            lines.append(_("No reserve can take the seat within the quotas: the seat stays empty."))
        else:
            head, rows, _texts, cost = cost_table(
                state.settings, await invitation_texts(db, state.settings, panel, [alternate])
            )
            lines.append(
                _(
                    "The first reserve whose place keeps every quota, %(who)s (ticket %(ticket)s, reserve "
                    "number %(n)s), is texted an invitation at once, for about %(cost)s."
                )
                % {
                    "who": alternate.pseudonym,
                    "ticket": alternate.ticket,
                    "n": alternate.reserve_position,
                    "cost": price(state.settings, cost),
                }
            )
        return confirmation_page(
            Confirmation(
                title=_("Call a reserve for %(who)s?") % {"who": member.pseudonym},
                button=_("Call the reserve"),
                back=_page(panel.id),
                consequences=lines,
                table_head=head,
                table_rows=rows,
                table_caption=_("Texts per language"),
                cannot_undo=_(
                    "%(who)s can no longer answer their invitation, and the text to the reserve cannot be recalled."
                )
                % {"who": member.pseudonym},
            )
        )

    @post("/members/{member_id:int}/no-answer", media_type=MediaType.HTML, status_code=303)
    async def call_reserve(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state: State,
        panel_id: FromPath[int],
        member_id: FromPath[int],
    ) -> Redirect | Template:
        actor = organizer_actor(request.user.id)
        try:
            member, messages = await seats.mark(
                db, state.settings, actor, panel_id, member_id, MemberStatus.REPLACED
            )
        except (Conflict, InvalidInput) as problem:
            await db.rollback()
            return await detail_page(request, db, panel_id, problem)
        await api.send_texts(state, messages)
        panel = await services.get_panel(db, panel_id)
        await api.schedule_reminders(state, panel_id, replacement_reminders(panel, utcnow()))
        called = next((m for m in panel.members if m.replacement_for_id == member.id), None)
        if called is None:
            flash(
                request,
                _("%(who)s is replaced; no reserve fits the quotas, so the seat stays empty.")
                % {"who": member.pseudonym},
            )
        else:
            flash(
                request,
                _("%(who)s is replaced by the reserve %(alt)s, who is being invited.")
                % {"who": member.pseudonym, "alt": called.pseudonym},
            )
        return Redirect(_page(panel_id), status_code=303)


def _draw_template(panel: Panel, problem: EngageError | None = None, typed: str = "") -> Template:
    context = {
        "panel": panel,
        "problem": problem,
        "typed": typed,
        "max_seed_parts": services.MAX_SEED_PARTS,
        "seated": panel.size,
        "pool": sum(1 for m in panel.members if m.status != MemberStatus.EXCLUDED),
    }
    status = problem.status_code if problem else 200
    return Template("pages/organizer/panels/draw.html", context=context, status_code=status)
