"""The personal link in an invitation, `/j/<token>`: a page for the phone, without signing in, with the
panel's date and place and the Confirm / Decline buttons (Withdraw once confirmed). The signed token
(`engage.panels.seats.links`) is the capability; the forms still carry the CSRF token (a cookie, no session).
The buttons call `engage.panels.seats.answers.answer`, the same code as a "1" or "2" by text.

A link that is malformed or not signed by us: 404. An invitation that can no longer be answered
(declined, withdrawn, replaced at the deadline, checked in, or the panel closed): 410 saying why."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engage.i18n import for_resident
from engage.i18n import gettext as _
from engage.keys import Purpose
from engage.panels.models import MemberStatus, Panel, PanelMember, PanelStatus
from engage.panels.seats import links
from engage.panels.seats.answers import Answer, answer, open_to_answers
from engage.panels.web import api
from engage.residents.models import Resident
from engage.sms.services import queue_message_async
from engage.sms.texts import render
from engage.web.deps import DB

TEMPLATE = "pages/panels/link.html"
# The token in the address is the capability: keep it out of caches, search engines and Referer headers.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


async def _load(db: DB, keys: tuple[str, ...], token: str) -> tuple[Panel, PanelMember] | None:
    member_id = links.read_token(keys, token)
    if member_id is None:
        return None
    member = (
        await db.execute(
            select(PanelMember)
            .where(PanelMember.id == member_id)
            .options(selectinload(PanelMember.panel).selectinload(Panel.members))
        )
    ).scalar_one_or_none()
    if member is None or member.invited_at is None or member.resident_id is None:
        return None
    for_resident(
        (await db.execute(select(Resident.locale).where(Resident.id == member.resident_id))).scalar()
    )
    return member.panel, member


def _closed_reason(panel: Panel, member: PanelMember) -> str:
    status = member.status
    if status == MemberStatus.DECLINED:
        return _("You declined this invitation. Thank you for telling us; your seat went to someone else.")
    if status == MemberStatus.WITHDRAWN:
        return _("You withdrew from this panel. Thank you for telling us; your seat went to someone else.")
    if status == MemberStatus.REPLACED:
        return _(
            "This invitation expired: there was no answer by the deadline, so the seat went to someone else."
        )
    if status == MemberStatus.ATTENDED:
        return _("You have checked in for this panel. Thank you for taking part.")
    if panel.status != PanelStatus.DRAWN:
        return _("This panel is closed; the link no longer works.")
    return _("This invitation can no longer be answered.")


def _page(
    token: str,
    found: tuple[Panel, PanelMember] | None,
    *,
    done: Answer | None = None,
    status: int | None = None,
) -> Template:
    if found is None:
        context: dict[str, Any] = {"state": "invalid"}
        return Template(TEMPLATE, context=context, status_code=status or 404, headers=PRIVATE)
    panel, member = found
    context = {"state": member.status, "panel": panel, "member": member, "token": token, "done": done}
    if not open_to_answers(panel, member):
        context.update(state="closed", reason=_closed_reason(panel, member))
        code = status or (200 if done else 410)
        return Template(TEMPLATE, context=context, status_code=code, headers=PRIVATE)
    return Template(TEMPLATE, context=context, status_code=status or 200, headers=PRIVATE)


async def _text_the_code(db: DB, state: State, panel: Panel, member: PanelMember) -> int | None:
    """A confirmation on the page also comes by text: the check-in code is needed on the day."""
    resident = await db.get(Resident, member.resident_id) if member.resident_id else None
    if resident is None or resident.phone is None or resident.sms_opt_out_at is not None:
        return None
    settings = state.settings
    body = render(
        "panel_confirmed",
        resident.locale,
        settings.sms_signature,
        title=panel.title,
        date=panel.event_date,
        place=panel.place,
        code=member.reply_code,
    )
    actor = f"resident:{resident.pseudonym}"
    message = await queue_message_async(db, actor, resident.phone, body, settings.default_region)
    return message.id


class InvitationLinkPages(Controller):
    path = "/j"
    include_in_schema = False

    @get("/{token:str}", name="panels:link")
    async def show(self, db: DB, state: State, token: FromPath[str]) -> Template:
        return _page(token, await _load(db, state.settings.verifying_keys(Purpose.PERSONAL_LINK), token))

    @post("/{token:str}", media_type=MediaType.HTML, status_code=200)
    async def answer(
        self, request: Request[Any, Any, Any], db: DB, state: State, token: FromPath[str]
    ) -> Template:
        found = await _load(db, state.settings.verifying_keys(Purpose.PERSONAL_LINK), token)
        if found is None:
            return _page(token, None)
        form = await request.form()
        raw = str(form.get("answer") or "")
        if raw not in {a.value for a in Answer}:
            page = _page(token, found, status=400)
            page.context["problem"] = _("Choose one of the buttons.")
            return page
        panel, member = found
        if not open_to_answers(panel, member):
            return _page(token, found)
        outcome = await answer(
            db,
            state.settings,
            panel.id,
            member.id,
            Answer(raw),
            actor=f"resident:{member.pseudonym}",
            via="web",
        )
        confirmation = None
        if outcome.changed and outcome.member.status == MemberStatus.CONFIRMED:
            confirmation = await _text_the_code(db, state, outcome.panel, outcome.member)
        await db.commit()
        if confirmation is not None:
            await api.send_texts_by_id(state, [confirmation])
        await api.send_texts(state, outcome.messages)
        await api.schedule_reminders(state, outcome.panel.id, outcome.reminders)
        return _page(token, (outcome.panel, outcome.member), done=Answer(raw) if outcome.changed else None)
