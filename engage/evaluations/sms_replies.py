"""Ratings by SMS reply: a resident invited to rate a service answers with one digit per question.

The handler takes a text of digits (and separators) from a resident who holds an invitation in a
reverse evaluation. With several open invitations, the reply rates the latest one not rated yet (or,
when all are rated, changes the latest). A reply that cannot be read gets a clear answer with an
example; a resident with nothing to rate while an evaluation is open is told so. Anyone else's digits
go on to the other handlers (panel replies "1" / "2" are registered before this one and keep working).
"""

from __future__ import annotations

from sqlalchemy import exists, select

from engage.db import utcnow
from engage.evaluations.models import Campaign, Mode, Rating, ServiceContact, Subject, Via
from engage.evaluations.ratings import Refused, submit
from engage.evaluations.rules import replies
from engage.sms.inbound import Dispatcher, InboundContext

EXAMPLES = {1: "5", 2: "5 4", 3: "5 4 5"}


def example(questions: int) -> str:
    return EXAMPLES.get(questions, " ".join("5" if i % 2 == 0 else "4" for i in range(questions)))


async def answer_rating(context: InboundContext) -> bool:
    resident = context.resident
    if resident is None or not replies.looks_like_rating(context.text):
        return False
    db, now = context.db, utcnow()
    rows = (
        await db.execute(
            select(ServiceContact, Campaign)
            .join(Campaign, Campaign.id == ServiceContact.campaign_id)
            .where(
                ServiceContact.resident_id == resident.id,
                ServiceContact.invited_at.is_not(None),
                Campaign.mode == Mode.REVERSE.value,
            )
            .order_by(ServiceContact.invited_at.desc(), ServiceContact.id.desc())
        )
    ).all()
    locale = resident.locale
    open_rows = [(contact, campaign) for contact, campaign in rows if campaign.is_open(now)]
    if not open_rows:
        if rows:
            context.reply("eval_refused", locale, reason="closed")
            return True
        any_open = await db.execute(
            select(
                exists().where(
                    Campaign.mode == Mode.REVERSE.value, Campaign.opens_at <= now, Campaign.closes_at > now
                )
            )
        )
        if any_open.scalar():
            context.reply("eval_refused", locale, reason="no_contact")
            return True
        return False
    slots = [f"contact:{contact.id}" for contact, _ in open_rows]
    rated = set((await db.execute(select(Rating.slot).where(Rating.slot.in_(slots)))).scalars())
    contact, campaign = next(((c, k) for c, k in open_rows if f"contact:{c.id}" not in rated), open_rows[0])
    questions = len(campaign.questions)
    parsed = replies.parse(context.text, questions)
    if parsed.scores is None:
        problem = parsed.problem.value if parsed.problem else "count"
        context.reply("eval_bad_reply", locale, problem=problem, n=questions, example=example(questions))
        return True
    subject = await db.get(Subject, contact.subject_id)
    assert subject is not None
    try:
        done = await submit(
            db,
            campaign=campaign,
            subject=subject,
            resident=resident,
            contact=contact,
            scores=parsed.scores,
            comment="",
            via=Via.SMS,
            source=None,
            commit=False,  # receive() commits the rating with the reply
        )
    except Refused as refused:
        context.reply("eval_refused", locale, reason=refused.reason.value)
        return True
    office = f"{subject.unit} {subject.name}".strip() if locale == "en" else f"{subject.unit}{subject.name}"
    closes = campaign.closes_at.astimezone(context.settings.tz).strftime("%Y-%m-%d %H:%M")
    scores = " ".join(map(str, parsed.scores))
    context.reply("eval_thanks", locale, replaced=done.replaced, office=office, scores=scores, closes=closes)
    return True


def register(dispatcher: Dispatcher) -> None:
    """Digits from a resident invited to rate a service (after panel replies, which take 1 / 2 first)."""
    dispatcher.conversation("evaluation-reply", answer_rating)
