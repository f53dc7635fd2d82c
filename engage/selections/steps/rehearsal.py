"""What an irreversible step would do, found by doing it and rolling it back.

The confirmation pages must state exactly who is affected and how many texts go out at what cost. The
only way to be exact is the step's own code: `rehearse` runs the service in the request's session,
reads what changed (applicants' statuses, texts queued, notices and their recipients) and the caller
rolls the session back. Nothing is committed and nothing is enqueued (services leave that to `After`,
which a rehearsal drops)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engage.jobs import After
from engage.notices import fanout
from engage.notices.models import Notice
from engage.selections.models import Applicant
from engage.settings import Settings
from engage.sms.models import SmsMessage
from engage.sms.segments import cost, count_segments


@dataclass(frozen=True)
class LanguageTexts:
    locale: str
    recipients: int
    segments: int  # per text
    text: str


@dataclass
class Rehearsal:
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (name, status before, after)
    texts: int = 0  # personal texts (invitations)
    text_segments: int = 0
    notices: list[tuple[dict[str, str], list[LanguageTexts]]] = field(default_factory=list)  # titles, texts
    outcome: dict[str, Any] = field(default_factory=dict)
    price_per_segment: Decimal = Decimal(0)
    currency: str = "CNY"

    @property
    def notice_texts(self) -> int:
        return sum(language.recipients for _, languages in self.notices for language in languages)

    @property
    def segments(self) -> int:
        notice_segments = sum(t.recipients * t.segments for _, languages in self.notices for t in languages)
        return self.text_segments + notice_segments

    @property
    def cost(self) -> Decimal:
        return cost(self.segments, self.price_per_segment)


def notice_languages(session: Session, notice: Notice, settings: Settings) -> list[LanguageTexts]:
    """The notice's text in each language and how many of today's recipients get it."""
    recipients = fanout.recipients_of(notice).order_by(None).subquery()
    by_locale: dict[str, int] = {}
    for locale, count in session.execute(
        select(recipients.c.locale, func.count()).group_by(recipients.c.locale)
    ):
        key = fanout.text_locale(locale)
        by_locale[key] = by_locale.get(key, 0) + int(count)
    languages = []
    for locale in ("zh_CN", "en"):
        text = fanout.sms_text(notice, locale, settings)
        languages.append(LanguageTexts(locale, by_locale.get(locale, 0), count_segments(text).segments, text))
    return languages


def rehearse(
    session: Session,
    selection_id: int,
    settings: Settings,
    work: Callable[[Session], tuple[Any, After]],
    outcome: Callable[[Session, Any], dict[str, Any]] | None = None,
) -> Rehearsal:
    """Run `work` and describe what it did. The caller must roll the session back afterwards."""

    def statuses() -> dict[int, tuple[str, str]]:
        rows = session.execute(
            select(Applicant.id, Applicant.name, Applicant.status).where(
                Applicant.selection_id == selection_id
            )
        )
        return {int(i): (str(name), str(status)) for i, name, status in rows}

    before = statuses()
    result, after = work(session)
    session.flush()
    rehearsal = Rehearsal(
        price_per_segment=settings.sms_price_per_segment, currency=settings.sms_price_currency
    )
    for applicant_id, (name, status) in sorted(statuses().items()):
        old = before.get(applicant_id, (name, ""))[1]
        if old != status:
            rehearsal.changed.append((name, old, status))
    if after.texts:
        bodies = session.execute(select(SmsMessage.body).where(SmsMessage.id.in_(after.texts))).scalars()
        counts = [count_segments(body).segments for body in bodies]
        rehearsal.texts, rehearsal.text_segments = len(counts), sum(counts)
    for notice_id in [*after.notices, *(n for n, _ in after.notices_at)]:
        notice = session.get(Notice, notice_id)
        if notice is not None:
            titles = {"zh_CN": notice.title_zh, "en": notice.title_en}
            rehearsal.notices.append((titles, notice_languages(session, notice, settings)))
    if outcome is not None:
        # Read now: the rollback that follows expires every object the step touched.
        rehearsal.outcome = outcome(session, result)
    return rehearsal
