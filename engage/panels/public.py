"""What anyone may download once a panel is frozen, without signing in: the draw record and the
frozen pool (pseudonyms, tickets, quota categories; no names, no numbers). With both, anyone replays
the draw: `engage panel verify record.json --respondents pool.csv`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.params import FromPath

from engage.errors import Conflict
from engage.panels import pool as pools
from engage.panels import services
from engage.web.deps import DB


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
