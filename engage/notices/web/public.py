"""/notices and /notices/{id}: every published notice is a public page, readable without signing in,
in the reader's language (the other language is one tap away through the switch)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, MediaType, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Template

from engage.i18n import current_locale
from engage.notices import services
from engage.notices.objections.web.public import period_context
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
        selection_id = await state.notice_origin(db, notice_id)
        context = {"notice": notice, "locale": current_locale.get(), "box": box, "selection_id": selection_id}
        return Template("pages/notices/show.html", context=context)
