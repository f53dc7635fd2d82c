"""Texts people send us: one dispatcher routes each to the handler it belongs to.

Routing, in this order:
1. keywords (STOP, HELP, JOIN...), matched on the whole text after `normalise_keyword`: they work
   whatever else is going on, so STOP always stops;
2. conversations: handlers that are waiting for an answer from this sender (the sign-up dialogue,
   later jury invitations and nominations); each says whether the text was for it, first come first;
3. the fallback, which answers everything else (the help text).

A number that opted out (resident or not, `engage.sms.opt_outs`) hears nothing until it opts back in:
only the keywords registered `while_opted_out` (START, HELP / 帮助, and STOP, which answers only the
first time) reach their handlers; any other text, 参加 / JOIN included, is recorded and left unanswered.
The answer to HELP tells such a number to send START first.

Features register their handlers explicitly on the one dispatcher that `engage.sms.web.public_api` builds.
A handler never sends anything itself: it adds replies to the context, and `receive` turns them into
queued messages in the same transaction as the handler's own changes.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from engage import i18n
from engage.audit.services import record_async
from engage.errors import InvalidInput
from engage.phones import normalise
from engage.residents.models import Resident
from engage.settings import Settings
from engage.sms import opt_outs
from engage.sms.models import InboundMessage, SmsMessage
from engage.sms.services import build_message
from engage.sms.texts import render

log = logging.getLogger(__name__)

# Twilio's own opt-out and opt-in words are included (CANCEL too: Twilio blocks the number after it), so
# our record matches what Twilio enforces. An open sign-up dialogue ends with the opt-out.
STOP_WORDS = {
    "STOP": "en",
    "CANCEL": "en",
    "STOPALL": "en",
    "UNSUBSCRIBE": "en",
    "END": "en",
    "QUIT": "en",
    "TD": "zh_CN",
    "退订": "zh_CN",
}
START_WORDS = {"START": "en", "UNSTOP": "en"}
HELP_WORDS = {"HELP": "en", "INFO": "en", "帮助": "zh_CN"}

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def normalise_keyword(text: str) -> str:
    """The form keywords and menu answers are compared in: full-width folded to ASCII (NFKC), every
    space removed, punctuation trimmed from both ends, upper case. "Ｓｔｏｐ。" and " s t o p" are STOP."""
    folded = "".join(unicodedata.normalize("NFKC", text).split())
    start, end = 0, len(folded)
    while start < end and unicodedata.category(folded[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(folded[end - 1]).startswith("P"):
        end -= 1
    return folded[start:end].upper()


def guess_locale(text: str) -> str:
    """For a sender we do not know: Chinese characters mean Chinese, Latin letters English."""
    if _CJK.search(text):
        return "zh_CN"
    if _LATIN.search(text):
        return "en"
    return i18n.DEFAULT_LOCALE


@dataclass(frozen=True)
class Reply:
    template: str  # templates/sms/<template>.txt
    locale: str
    params: dict[str, Any]


@dataclass
class InboundContext:
    """One incoming text and what handling it produces. `after_commit` callbacks run once the
    transaction has committed (Redis state that must not move ahead of the database)."""

    db: AsyncSession
    redis: Redis
    settings: Settings
    phone: str  # E.164; never log it
    text: str
    word: str  # normalise_keyword(text)
    resident: Resident | None  # the resident with this number, roles loaded
    opted_out: bool = False  # the number had opted out when the text arrived
    replies: list[Reply] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def reply(self, template: str, locale: str, **params: Any) -> None:
        self.replies.append(Reply(template, locale, params))

    def locale_for(self, keyword_locale: str) -> str:
        """A known resident hears their own language; anyone else the language of the word they used."""
        return self.resident.locale if self.resident is not None else keyword_locale

    @property
    def who(self) -> str:
        """How logs name the sender: the resident's pseudonym, never the number."""
        return self.resident.pseudonym if self.resident is not None else "unknown sender"


KeywordHandler = Callable[[InboundContext], Awaitable[None]]
ConversationHandler = Callable[[InboundContext], Awaitable[bool]]  # True: the text was for it


class Dispatcher:
    def __init__(self) -> None:
        self._keywords: dict[str, tuple[str, KeywordHandler]] = {}
        self._while_opted_out: set[str] = set()  # keywords an opted-out number may still use
        self._conversations: list[tuple[str, ConversationHandler]] = []
        self._fallback: tuple[str, KeywordHandler] | None = None
        self._opt_out_hooks: list[KeywordHandler] = []

    def keyword(
        self,
        name: str,
        words: list[str] | dict[str, str],
        handler: KeywordHandler,
        *,
        while_opted_out: bool = False,
    ) -> None:
        """`handler` answers any text that is exactly one of `words` (after normalise_keyword); with
        `while_opted_out`, also from a number that opted out (the handler must then honour that)."""
        for word in words:
            key = normalise_keyword(word)
            if key in self._keywords:
                raise ValueError(f"keyword {key!r} is already handled by {self._keywords[key][0]}")
            self._keywords[key] = (name, handler)
            if while_opted_out:
                self._while_opted_out.add(key)

    def conversation(self, name: str, handler: ConversationHandler) -> None:
        """`handler` is asked, in registration order, whether a non-keyword text answers it."""
        self._conversations.append((name, handler))

    def fallback(self, name: str, handler: KeywordHandler) -> None:
        self._fallback = (name, handler)

    def on_opt_out(self, hook: KeywordHandler) -> None:
        """`hook` runs when a sender opts out, so that open conversations end with it."""
        self._opt_out_hooks.append(hook)

    async def opted_out(self, context: InboundContext) -> None:
        for hook in self._opt_out_hooks:
            await hook(context)

    async def dispatch(self, context: InboundContext) -> str:
        """Hand the text to its handler; returns the handler's name."""
        if context.opted_out and context.word not in self._while_opted_out:
            return "opted-out"
        if context.word in self._keywords:
            name, keyword_handler = self._keywords[context.word]
            await keyword_handler(context)
            return name
        for name, conversation in self._conversations:
            if await conversation(context):
                return name
        if self._fallback is None:
            return "unhandled"
        name, fallback = self._fallback
        await fallback(context)
        return name


async def receive(
    db: AsyncSession,
    redis: Redis,
    settings: Settings,
    dispatcher: Dispatcher,
    *,
    message_sid: str,
    sender: str,
    body: str,
) -> list[int]:
    """Handle one incoming text exactly once; returns the ids of the replies to enqueue.

    The MessageSid row is inserted first: a redelivery (or a concurrent duplicate, which waits on the
    unique index) fails there and does nothing. It commits with the handler's changes and the replies,
    so a text is either handled completely or not at all and may then be redelivered.
    """
    db.add(seen := InboundMessage(message_sid=message_sid))
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        log.info("inbound %s: already handled, ignoring the redelivery", message_sid)
        return []
    try:
        phone = normalise(sender, settings.default_region, "From")
    except InvalidInput:
        seen.handler = "unanswerable"  # a short code or an alphanumeric sender: nobody to answer
        await db.commit()
        log.info("inbound %s: the sender is not a phone number we can text", message_sid)
        return []
    resident = (
        await db.execute(
            select(Resident).where(Resident.phone == phone).options(selectinload(Resident.roles))
        )
    ).scalar_one_or_none()
    # Kept for organizers to read (/api/v1/inbound-messages); deleting the resident blanks both.
    seen.sender, seen.body = phone, body.strip()
    seen.resident_id = resident.id if resident is not None else None
    context = InboundContext(db, redis, settings, phone, body.strip(), normalise_keyword(body), resident)
    context.opted_out = await opt_outs.opted_out(db, phone, resident)
    seen.handler = await dispatcher.dispatch(context)
    messages = _reply_messages(context)
    db.add_all(messages)
    await db.commit()
    log.info("inbound %s from %s: %s, %d replies", message_sid, context.who, seen.handler, len(messages))
    for callback in context.after_commit:
        try:
            await callback()
        except Exception:  # the text is handled and answered; a lost dialogue state only means a re-ask
            log.exception("inbound %s: an after-commit step failed", message_sid)
    return [message.id for message in messages]


def _reply_messages(context: InboundContext) -> list[SmsMessage]:
    settings = context.settings
    return [
        build_message(
            context.phone,
            render(
                reply.template,
                reply.locale,
                settings.sms_signature,
                url=settings.public_base_url,
                **reply.params,
            ),
            settings.default_region,
        )
        for reply in context.replies
    ]


# -- the basics: opting out and in, help ---------------------------------------------------------


async def audit_resident(db: AsyncSession, resident: Resident, action: str, **details: Any) -> None:
    """An audit entry for something a resident did by text: named by pseudonym, never by number."""
    actor = f"resident:{resident.pseudonym}"
    await record_async(db, actor, action, "resident", resident.pseudonym, {"via": "sms", **details})


async def opt_in(context: InboundContext) -> None:
    """START: texts again for a number that had stopped them; from any other number, the same
    confirmation (it asked for texts, and gets them)."""
    resident = context.resident
    resident_was_out = resident is not None and resident.sms_opt_out_at is not None
    await opt_outs.start(context.db, context.phone, resident)
    if resident is not None and resident_was_out:
        await audit_resident(context.db, resident, "resident.sms_opt_in")
    context.reply("sms_start", context.locale_for(START_WORDS[context.word]))


async def help_keyword(context: InboundContext) -> None:
    locale = HELP_WORDS[context.word]  # asked in a language: answered in it
    context.reply("sms_help_stopped" if context.opted_out else "sms_help", locale)


async def help_text(context: InboundContext) -> None:
    context.reply("sms_help", context.locale_for(guess_locale(context.text)))


def register_basics(dispatcher: Dispatcher) -> None:
    """STOP / TD / 退订, START, HELP / 帮助, and the help text for anything nobody else takes."""

    async def opt_out(context: InboundContext) -> None:
        resident = context.resident
        resident_was_in = resident is not None and resident.sms_opt_out_at is None
        await opt_outs.stop(context.db, context.phone, resident)
        if resident is not None and resident_was_in:
            await audit_resident(context.db, resident, "resident.sms_opt_out")
        await dispatcher.opted_out(context)  # open conversations end with it
        if context.opted_out:
            return  # told once already; a stopped number hears nothing more
        # Twilio itself blocks texts after its STOP words; the reply is recorded all the same.
        context.reply("sms_stop", context.locale_for(STOP_WORDS[context.word]))

    dispatcher.keyword("stop", STOP_WORDS, opt_out, while_opted_out=True)
    dispatcher.keyword("start", START_WORDS, opt_in, while_opted_out=True)
    dispatcher.keyword("help", HELP_WORDS, help_keyword, while_opted_out=True)
    dispatcher.fallback("help", help_text)
