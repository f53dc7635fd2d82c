"""The notice composer's live count: as the organizer types, what each language's text will cost.

The page posts the unsaved form (htmx, on input); the count is the same `services.preview` a saved
notice gets, computed on a notice object that is never added to the session, so what the organizer
sees while typing is what publishing will send and bill."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.notices import fanout, services
from engage.notices.models import Audience, Notice
from engage.settings import Settings

LOCALES = ("zh_CN", "en")
# Room for the notice's address in the texts: the next id has at most this many digits more.
_LINK_ID_MARGIN = 1


@dataclass(frozen=True)
class Meter:
    preview: services.Preview
    texts: dict[str, str]  # the whole text per language, signature and link included
    price: Any  # Decimal, the price of one segment
    currency: str
    max_segments: int

    def language_cost(self, locale: str) -> Any:
        for language in self.preview.languages:
            if language.locale == locale:
                return language.count.segments * language.recipients * self.price
        return 0 * self.price


def unsaved_notice(form: Mapping[str, Any], next_id: int) -> Notice:
    """A notice from the form as it stands, unchecked (empty fields count as empty text)."""

    def field(name: str) -> str:
        return str(form.get(name) or "")

    audience = field("audience") if field("audience") in {a.value for a in Audience} else Audience.KIND.value
    notice = Notice(
        kind=field("kind"),
        title_zh=field("title_zh"),
        title_en=field("title_en"),
        body_zh=field("body_zh"),
        body_en=field("body_en"),
        audience=audience,
        community_codes=[c.strip() for c in field("community_codes").split(",") if c.strip()],
    )
    notice.id = next_id
    return notice


async def meter(db: AsyncSession, notice: Notice, settings: Settings) -> Meter:
    return Meter(
        preview=await services.preview(db, notice, settings),
        texts={locale: fanout.sms_text(notice, locale, settings) for locale in LOCALES},
        price=settings.sms_price_per_segment,
        currency=settings.sms_price_currency,
        max_segments=settings.sms_max_segments,
    )


async def meter_for_form(db: AsyncSession, form: Mapping[str, Any], settings: Settings) -> Meter:
    last = (await db.execute(select(func.max(Notice.id)))).scalar_one_or_none() or 0
    next_id = (last + 1) * 10**_LINK_ID_MARGIN  # one digit more than the next id: never an underestimate
    return await meter(db, unsaved_notice(form, next_id), settings)
