"""Nomination by SMS, for residents without a smartphone: "推荐 <post number> <name> [work unit]"
(or "NOMINATE ..."). The post number is the one on the selection's page and in its notice. The same
service as the phone page records it, so one nomination per nominator per post holds either way."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy.orm import Session

from engage.errors import EngageError, NotFound
from engage.i18n import gettext as _
from engage.selections import services
from engage.selections.models import Post, StageKind
from engage.selections.stages import nomination as nominating
from engage.sms.inbound import Dispatcher, InboundContext

# The keyword, a post number, a name, and optionally the work unit after it.
PATTERN = re.compile(r"^(推荐|提名|NOMINATE)\s*(\d{1,9})\s+(\S.*?)(?:\s+[/／]\s*(\S.*))?$", re.IGNORECASE)
WORDS = ("推荐", "提名", "NOMINATE")


def parse(text: str) -> tuple[int, str, str] | None:
    """(post id, name, work unit) from a nomination text, or None when it does not read as one."""
    folded = " ".join(unicodedata.normalize("NFKC", text).split())
    found = PATTERN.match(folded)
    if found is None:
        return None
    return int(found.group(2)), found.group(3).strip(), (found.group(4) or "").strip()


def _starts_like_a_nomination(text: str) -> bool:
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    return folded.startswith(WORDS)


async def answer(context: InboundContext) -> bool:
    if not _starts_like_a_nomination(context.text):
        return False
    locale = context.locale_for("zh_CN" if re.search(r"[\u3400-\u9fff]", context.text) else "en")
    parsed = parse(context.text)
    if parsed is None:
        context.reply("selection_nomination_format", locale)
        return True
    post_id, name, work_unit = parsed
    if context.resident is None:
        context.reply("selection_nomination_unknown", locale)
        return True
    resident_id = context.resident.id

    def work(session: Session) -> tuple[str, str, str]:
        # A savepoint: a refusal undoes only this, and leaves the inbound context's objects loaded.
        with session.begin_nested():
            return _nominate(session)

    def _nominate(session: Session) -> tuple[str, str, str]:
        post = session.get(Post, post_id)
        if post is None:
            raise NotFound("post_id", _("There is no post %(number)s.") % {"number": post_id})
        nominating.nominate(
            session, resident_id, post.selection_id, nominating.NominationIn(post_id, name, work_unit)
        )
        selection = services.get_selection(session, post.selection_id)
        closes = selection.stage(StageKind.NOMINATION).closes_at
        return post.title(locale), closes.astimezone(context.settings.tz).strftime("%m-%d %H:%M"), name

    try:
        post_title, closes, who = await context.db.run_sync(work)
    except EngageError as error:
        context.reply("selection_nomination_refused", locale, reason=error.detail)
        return True
    context.reply("selection_nominated", locale, nominee=who, post=post_title, closes=closes)
    return True


def register(dispatcher: Dispatcher) -> None:
    dispatcher.conversation("selection-nomination", answer)
