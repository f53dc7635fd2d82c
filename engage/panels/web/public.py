"""What anyone may read once a panel is frozen, without signing in: the public record page
(`/panels/<id>`: quotas in words, the commitment, exclusions with their reasons by ticket, the seed
parts and the seated tickets), the draw record and the frozen pool (pseudonyms, tickets, quota
categories; no names, no numbers). With the two files, anyone replays the draw:
`engage panel verify record.json --respondents pool.csv`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.params import FromPath
from litestar.response import Template

from engage.errors import Conflict, NotFound
from engage.i18n import gettext as _
from engage.panels import pool as pools
from engage.panels import services
from engage.panels.models import MemberStatus, PanelStatus
from engage.panels.web.organizer import label_context, panel_status_label, quota_rows
from engage.web.deps import DB


class PublicPanelPages(Controller):
    path = "/panels"
    include_in_schema = False

    @get("/{panel_id:int}", name="panels:public")
    async def record_page(self, db: DB, panel_id: FromPath[int]) -> Template:
        panel = await services.get_panel(db, panel_id)
        if panel.status == PanelStatus.DRAFT:
            raise NotFound(
                "panel_id", _("This panel is not published yet: its record appears once it is frozen.")
            )
        record = panel.record or panel.prepared or {}
        seated = sorted(
            m.ticket
            for m in panel.members
            if m.status
            in (MemberStatus.DRAWN, MemberStatus.INVITED, MemberStatus.CONFIRMED, MemberStatus.ATTENDED)
        )
        context = {
            "panel": panel,
            "record": record,
            "panel_status_label": panel_status_label,
            "quotas": quota_rows(panel),
            "conflicts": services.conflict_exclusions(panel),
            "excluded": len(record.get("exclusions", [])),
            "prior_service": len(panel.exclusions.get("prior_service", [])),
            "seated": seated,
            **label_context(await services.community_names(db)),
        }
        return Template("pages/panels/public.html", context=context)


class PublicPanelFiles(Controller):
    path = "/panels"
    include_in_schema = False

    @get("/{panel_id:int}/record.json")
    async def record(self, db: DB, panel_id: FromPath[int]) -> Response[dict[str, Any]]:
        panel = await services.get_panel(db, panel_id)
        record = panel.record or panel.prepared
        if record is None:
            raise Conflict("status", "the record is published once the panel is frozen")
        headers = {"Content-Disposition": f'inline; filename="panel-{panel.id}-record.json"'}
        return Response(record, media_type=MediaType.JSON, headers=headers)

    @get("/{panel_id:int}/pool.csv", media_type="text/csv")
    async def pool_csv(self, db: DB, panel_id: FromPath[int]) -> Response[bytes]:
        panel = await services.get_panel(db, panel_id)
        if panel.record is None and panel.prepared is None:
            raise Conflict("status", "the pool is published once the panel is frozen")
        content = pools.pool_csv(services.frozen_pool(panel)).encode()
        headers = {"Content-Disposition": f'attachment; filename="panel-{panel.id}-pool.csv"'}
        return Response(content, media_type="text/csv", headers=headers)
