"""Reports (docs/reports.md): the summary, a time series, per-team, per-agent and
per-channel tables; CSV for every table (``format=csv`` or ``Accept: text/csv``).
Supervisors read their own teams, admins everything."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import Id
from hub.context import Hub
from hub.crm.export import safe_cell
from hub.models import Contact, Conversation
from hub.reports import query
from hub.services.access import Actor, can_view

router = APIRouter(prefix="/reports", tags=["reports"])


def _scope(
    actor: Actor,
    since: datetime,
    until: datetime,
    team_id: int | None,
    channel: str | None,
    agent_id: int | None,
) -> query.Scope:
    return query.scope_for(actor, since, until, team_id=team_id, channel=channel, agent_id=agent_id)


def _wants_csv(request: Request, fmt: str | None) -> bool:
    return fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))


def _flat(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif isinstance(v, list):
            continue
        else:
            out[f"{prefix}{k}"] = v.isoformat() if isinstance(v, datetime) else v
    return out


def _csv(rows: list[dict[str, Any]], name: str) -> Response:
    flat = [_flat(r) for r in rows]
    columns: list[str] = []
    for r in flat:
        columns += [k for k in r if k not in columns]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for r in flat:
        writer.writerow([safe_cell("" if r.get(c) is None else r.get(c)) for c in columns])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )


class Dimensions:
    """Customer dimensions: the figures of the matching conversations only."""

    def __init__(
        self,
        segment_id: Id | None = Query(default=None, description="conversations of the segment's contacts"),
        tier: str | None = Query(default=None, max_length=40, description="contacts in this tier now"),
        tag: str | None = Query(default=None, max_length=50, description="conversations with this tag"),
        category: str | None = Query(
            default=None, max_length=20, description="conversations of this category"
        ),
    ) -> None:
        self.segment_id, self.tier, self.tag, self.category = segment_id, tier, tag, category

    async def apply(self, s: Any, hub: Hub, actor: Actor, scope: query.Scope) -> query.Scope:
        return await query.dimension_scope(
            s,
            actor,
            scope,
            segment_id=self.segment_id,
            tier=self.tier,
            tag=self.tag,
            category=self.category,
            is_sqlite=hub.db.is_sqlite,
            region=hub.settings.default_phone_region,
        )


Since = Query(description="start, ISO 8601 with an offset (rounded down to the half hour)")
Until = Query(description="end, ISO 8601 with an offset (rounded up to the half hour)")
Format = Query(default=None, pattern="^(json|csv)$")
Channel = Query(default=None, max_length=20)


@router.get("/summary")
async def summary(
    request: Request,
    since: datetime = Since,
    until: datetime = Until,
    team_id: Id | None = None,
    channel: str | None = Channel,
    agent_id: Id | None = None,
    format: str | None = Format,
    dims: Dimensions = Depends(),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Any:
    """The headline figures of the range (definitions: docs/reports.md)."""
    scope = _scope(actor, since, until, team_id, channel, agent_id)
    async with hub.db.session() as s:
        out = await query.summary(s, await dims.apply(s, hub, actor, scope))
    return _csv([out], "summary") if _wants_csv(request, format) else out


@router.get("/timeseries")
async def timeseries(
    request: Request,
    since: datetime = Since,
    until: datetime = Until,
    metric: str = Query(default="conversations", max_length=40),
    group_by: str = Query(default="day", max_length=8),
    timezone: str = Query(default="UTC", max_length=64, description="IANA zone the buckets start in"),
    team_id: Id | None = None,
    channel: str | None = Channel,
    agent_id: Id | None = None,
    format: str | None = Format,
    dims: Dimensions = Depends(),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Any:
    scope = _scope(actor, since, until, team_id, channel, agent_id)
    async with hub.db.session() as s:
        scope = await dims.apply(s, hub, actor, scope)
        points = await query.timeseries(s, scope, metric, group_by, timezone)
    return _csv(points, f"{metric}-by-{group_by}") if _wants_csv(request, format) else points


@router.get("/heatmap")
async def heatmap(
    request: Request,
    since: datetime = Since,
    until: datetime = Until,
    metric: str = Query(default="conversations", max_length=20),
    timezone: str = Query(default="UTC", max_length=64),
    team_id: Id | None = None,
    channel: str | None = Channel,
    format: str | None = Format,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Arrivals by day of week (Monday first) × hour of day in ``timezone``."""
    scope = _scope(actor, since, until, team_id, channel, None)
    async with hub.db.session() as s:
        grid = await query.heatmap(s, scope, timezone, metric)
    if _wants_csv(request, format):
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        return _csv(
            [
                {"day": d, **{f"{h:02d}": v for h, v in enumerate(row)}}
                for d, row in zip(days, grid, strict=True)
            ],
            "heatmap",
        )
    return {"timezone": timezone, "metric": metric, "rows": grid}


@router.get("/conversations")
async def conversations(
    since: datetime = Since,
    until: datetime = Until,
    metric: str = Query(max_length=20, description=", ".join(query.DRILL)),
    team_id: Id | None = None,
    channel: str | None = Channel,
    agent_id: Id | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: Id | None = Query(default=None, description="next_cursor of the previous page"),
    dims: Dimensions = Depends(),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Drill-down: the conversations counted in a figure, newest first. A conversation
    since moved to a team the reader may not see is left out of the page."""
    scope = _scope(actor, since, until, team_id, channel, agent_id)
    async with hub.db.session() as s:
        scope = await dims.apply(s, hub, actor, scope)
        ids, next_cursor = await query.drill(s, scope, metric, limit, cursor)
        rows = (
            await s.exec(
                select(Conversation, Contact.name)
                .join(Contact, col(Contact.id) == Conversation.contact_id)
                .where(col(Conversation.id).in_(ids))
                .order_by(col(Conversation.id).desc())
            )
        ).all()
    items = [
        {
            "id": c.id,
            "channel": c.channel,
            "status": str(c.status),
            "team_id": c.team_id,
            "assignee_id": c.assignee_id,
            "contact_id": c.contact_id,
            "contact_name": name,
            "created_at": c.created_at,
            "resolved_at": c.resolved_at,
            "abandoned_at": c.abandoned_at,
        }
        for c, name in rows
        if can_view(actor, c)
    ]
    return {"items": items, "next_cursor": str(next_cursor) if next_cursor is not None else None}


@router.get("/breakdown")
async def breakdown(
    request: Request,
    since: datetime = Since,
    until: datetime = Until,
    by: str = Query(max_length=12, description=", ".join(query.DIMENSIONS)),
    team_id: Id | None = None,
    channel: str | None = Channel,
    agent_id: Id | None = None,
    format: str | None = Format,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Any:
    """The figures per category, tier, tag (the 20 most used) or segment: each from the
    conversations of that dimension (message counts are not kept per customer: null)."""
    scope = _scope(actor, since, until, team_id, channel, agent_id)
    async with hub.db.session() as s:
        rows = await query.breakdown(
            s, actor, scope, by, is_sqlite=hub.db.is_sqlite, region=hub.settings.default_phone_region
        )
    return _csv(rows, f"by-{by}") if _wants_csv(request, format) else rows


def _table_route(by: str) -> None:
    """``GET /reports/{by}s``: the figures per team, agent or channel (one handler each,
    so the OpenAPI names each table)."""

    async def table(
        request: Request,
        since: datetime = Since,
        until: datetime = Until,
        team_id: Id | None = None,
        channel: str | None = Channel,
        agent_id: Id | None = None,
        format: str | None = Format,
        dims: Dimensions = Depends(),
        actor: Actor = Depends(current_actor),
        hub: Hub = Depends(get_hub),
    ) -> Any:
        scope = _scope(actor, since, until, team_id, channel, agent_id)
        async with hub.db.session() as s:
            scope = await dims.apply(s, hub, actor, scope)
            rows = await query.table(s, scope, by, hub.now())
        return _csv(rows, f"{by}s") if _wants_csv(request, format) else rows

    table.__name__ = f"{by}s"
    router.add_api_route(f"/{by}s", table, methods=["GET"], name=f"report_{by}s")


for _by in ("team", "agent", "channel"):
    _table_route(_by)
