"""/notices and /notices/{id}: every published notice is a public page, readable without signing in,
in the reader's language (the other language is one tap away through the switch)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, MediaType, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Template
from sqlalchemy import select

from engage.i18n import current_locale
from engage.notices import services
from engage.notices.objections.web.public import period_context
from engage.selections.models import Selection, Stage
from engage.web.deps import DB, MAX_ID


class NoticePages(Controller):
    path = "/notices"
    include_in_schema = False

    @get(media_type=MediaType.HTML)
    async def index(self, db: DB) -> Template:
        notices = await services.public_notices(db)
        return Template(
            "pages/notices/index.html", context={"notices": notices, "locale": current_locale.get()}
        )

    @get("/{notice_id:int}", media_type=MediaType.HTML)
    async def show(
        self, db: DB, state: State, notice_id: Annotated[int, Parameter(ge=1, le=MAX_ID)]
    ) -> Template:
        notice = await services.public_notice(db, notice_id)
        box = await period_context(db, state, notice)  # the notice period and its objections, if any
        selection_id = await _selection_of(db, notice_id)
        context = {"notice": notice, "locale": current_locale.get(), "box": box, "selection_id": selection_id}
        return Template("pages/notices/show.html", context=context)


async def _selection_of(db: DB, notice_id: int) -> int | None:
    """The selection a notice belongs to (its posts notice, or a stage's), so the page can link it."""
    by_stage = select(Stage.selection_id).where(Stage.notice_id == notice_id)
    by_posts = select(Selection.id).where(Selection.posts_notice_id == notice_id)
    found = (await db.execute(by_stage.union(by_posts).limit(1))).scalar_one_or_none()
    return int(found) if found is not None else None
