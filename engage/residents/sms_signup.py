"""Signing up by SMS: the dialogue's state in Redis, its handlers on the inbound dispatcher, and the
resident a finished dialogue creates. The rules of the dialogue are in `sms_dialogue` (pure).

State lives under a key derived from the phone number with an HMAC (a plain hash of a phone number is
easily reversed), expires 30 minutes after the last text, and is deleted when the dialogue ends. A small
marker outlives it by a day, only so that a late answer hears "timed out" rather than the help text.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import TypeGuard

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.audit.services import record_async
from engage.db import utcnow
from engage.keys import Purpose
from engage.residents import sms_dialogue
from engage.residents.models import (
    CONSENT_VERSION,
    Community,
    Resident,
    ResidentRole,
    ResidentRoleKind,
    Source,
    Subscription,
    SubscriptionKind,
)
from engage.residents.notice_kinds import NoticeKind
from engage.residents.signup import confirm
from engage.residents.sms_dialogue import CommunityChoice, Dialogue, Registration
from engage.sms.inbound import Dispatcher, InboundContext

DIALOGUE_SECONDS = 30 * 60
LAPSED_NOTICE_SECONDS = 24 * 3600


def dialogue_key(secret_key: str, phone: str) -> str:
    digest = hmac.new(secret_key.encode(), phone.encode(), hashlib.sha256).hexdigest()[:32]
    return f"engage:sms-signup:{digest}"


class DialogueStore:
    """Sign-up dialogues in Redis, one per phone number."""

    def __init__(self, redis: Redis, secret_key: str, *, seconds: int = DIALOGUE_SECONDS) -> None:
        self.redis = redis
        self.secret_key = secret_key
        self.seconds = seconds

    def key(self, phone: str) -> str:
        return dialogue_key(self.secret_key, phone)

    async def load(self, phone: str) -> Dialogue | None:
        raw = await self.redis.get(self.key(phone))
        return Dialogue.from_json(raw) if raw is not None else None

    async def save(self, phone: str, dialogue: Dialogue) -> None:
        key = self.key(phone)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, dialogue.to_json(), ex=self.seconds)
            pipe.set(f"{key}:lapsed", dialogue.locale, ex=LAPSED_NOTICE_SECONDS)
            await pipe.execute()

    async def clear(self, phone: str) -> None:
        key = self.key(phone)
        await self.redis.delete(key, f"{key}:lapsed")

    async def take_lapsed(self, phone: str) -> str | None:
        """The language of a dialogue that timed out (once: the marker is removed), or None."""
        key = self.key(phone)
        if await self.redis.exists(key):
            return None
        locale = await self.redis.getdel(f"{key}:lapsed")
        return locale.decode() if isinstance(locale, bytes) else locale


async def community_choices(db: AsyncSession) -> list[CommunityChoice]:
    # By id: numbers stay the same for everyone while communities are added at the end.
    rows = (await db.execute(select(Community).order_by(Community.id))).scalars()
    return [CommunityChoice(c.code, c.name_zh, c.name_en) for c in rows]


async def create_resident(
    db: AsyncSession, phone: str, registration: Registration, now: datetime
) -> Resident:
    """The resident, roles with their consent and subscriptions, and the audit entry, in the caller's
    transaction. The number proved itself by texting us, so the resident is verified."""
    community = (
        await db.execute(select(Community).where(Community.code == registration.community))
    ).scalar_one()
    resident = Resident(
        phone=phone,
        community_id=community.id,
        participant_type=registration.participant_type,
        expertise=registration.expertise,
        locale=registration.locale,
        source=Source.SMS.value,
        verified_at=now,
    )
    resident.roles = [
        ResidentRole(role=role, consented_at=now, consent_version=CONSENT_VERSION)
        for role in registration.roles
    ]
    if ResidentRoleKind.SUBSCRIBER.value in registration.roles:
        # A subscriber by SMS hears every kind of notice about their own community; the web page refines it.
        resident.subscriptions = [
            Subscription(kind=SubscriptionKind.NOTICE.value, value=kind.value) for kind in NoticeKind
        ] + [Subscription(kind=SubscriptionKind.COMMUNITY.value, value=community.code)]
    db.add(resident)
    await db.flush()
    details = {
        "roles": list(registration.roles),
        "consent_version": CONSENT_VERSION,
        "source": Source.SMS.value,
    }
    await record_async(
        db, f"resident:{resident.pseudonym}", "resident.register", "resident", resident.pseudonym, details
    )
    return resident


def awaits_confirmation(resident: Resident | None) -> TypeGuard[Resident]:
    """Imported from a roster and invited, not confirmed yet."""
    return resident is not None and resident.verified_at is None and resident.invited_at is not None


def _store(context: InboundContext) -> DialogueStore:
    return DialogueStore(context.redis, context.settings.key(Purpose.PHONE_HMAC))


def _keep(context: InboundContext, state: Dialogue | None) -> None:
    """Store the dialogue's next state (or forget it) once the text's transaction has committed."""
    dialogues, phone = _store(context), context.phone

    async def save() -> None:
        await (dialogues.save(phone, state) if state is not None else dialogues.clear(phone))

    context.after_commit.append(save)


async def join(context: InboundContext) -> None:
    """JOIN / 参加: start the dialogue in that language, unless the number is already known."""
    resident = context.resident
    if resident is not None:
        invited = awaits_confirmation(resident)
        context.reply("sms_join_invited" if invited else "sms_join_registered", resident.locale)
        _keep(context, None)
        return
    locale = sms_dialogue.join_locale(context.word) or "en"
    outcome = sms_dialogue.start(locale, await community_choices(context.db))
    context.reply(outcome.reply.template, locale, **outcome.reply.params)
    _keep(context, outcome.state)


async def continue_dialogue(context: InboundContext) -> bool:
    """An answer in an open dialogue (or to one that just timed out); False when none is open."""
    dialogues = _store(context)
    state = await dialogues.load(context.phone)
    if state is None:
        lapsed = await dialogues.take_lapsed(context.phone)
        if lapsed is None:
            return False
        context.reply("sms_join_expired", lapsed, minutes=DIALOGUE_SECONDS // 60)
        return True
    if context.resident is not None:  # signed up on the web meanwhile
        context.reply("sms_join_registered", context.resident.locale)
        _keep(context, None)
        return True
    outcome = sms_dialogue.answer(state, context.text, await community_choices(context.db))
    if outcome.registration is not None:
        context.resident = await create_resident(context.db, context.phone, outcome.registration, utcnow())
    context.reply(outcome.reply.template, state.locale, **outcome.reply.params)
    _keep(context, outcome.state)
    return True


async def confirm_roster(context: InboundContext) -> bool:
    """A "1" from a roster-invited resident confirms the invitation; False for anyone else."""
    resident = context.resident
    if context.word != "1" or not awaits_confirmation(resident):
        return False
    await confirm(context.db, resident, utcnow(), "sms")
    context.reply("sms_confirm_done", resident.locale)
    return True


async def forget_dialogue(context: InboundContext) -> None:
    _keep(context, None)


def register(dispatcher: Dispatcher) -> None:
    """JOIN / 参加, the open sign-up dialogue, and "1" from a roster-invited resident."""
    dispatcher.keyword("join", sms_dialogue.JOIN_WORDS, join)
    dispatcher.conversation("sign-up", continue_dialogue)  # before roster-confirm: an open dialogue owns "1"
    dispatcher.conversation("roster-confirm", confirm_roster)
    dispatcher.on_opt_out(forget_dialogue)
