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
from hub.services.errors import Invalid

router = APIRouter(prefix="/reports", tags=["reports"])


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


class Report:
    """The parameters every report takes — range, team, channel, agent, format — with
    the reader and the hub; ``scope()`` checks the reader's rights on them."""

    def __init__(
        self,
        request: Request,
        since: datetime = Since,
        until: datetime = Until,
        team_id: Id | None = None,
        channel: str | None = Channel,
        agent_id: Id | None = None,
        format: str | None = Format,
        actor: Actor = Depends(current_actor),
        hub: Hub = Depends(get_hub),
    ) -> None:
        self.request, self.since, self.until = request, since, until
        self.team_id, self.channel, self.agent_id, self.format = team_id, channel, agent_id, format
        self.actor, self.hub = actor, hub

    def scope(self, *, by_agent: bool = True) -> query.Scope:
        return query.scope_for(
            self.actor,
            self.since,
            self.until,
            team_id=self.team_id,
            channel=self.channel,
            agent_id=self.agent_id if by_agent else None,
        )

    @property
    def csv(self) -> bool:
        return _wants_csv(self.request, self.format)


@router.get("/summary")
async def summary(r: Report = Depends(), dims: Dimensions = Depends()) -> Any:
    """The headline figures of the range (definitions: docs/reports.md)."""
    scope = r.scope()
    async with r.hub.db.session() as s:
        out = await query.summary(s, await dims.apply(s, r.hub, r.actor, scope))
    return _csv([out], "summary") if r.csv else out


@router.get("/timeseries")
async def timeseries(
    r: Report = Depends(),
    metric: list[str] = Query(
        default=["conversations"],
        description=f"{', '.join(query.SERIES)}; several as a,b or repeated (at most {query.MAX_SERIES})",
    ),
    group_by: str = Query(default="day", max_length=8),
    timezone: str = Query(default="UTC", max_length=64, description="IANA zone the buckets start in"),
    dims: Dimensions = Depends(),
) -> Any:
    """One value per bucket for one metric (``value``), or one key per metric for several."""
    if len(metric) > query.MAX_SERIES or any(len(m) > 200 for m in metric):
        raise Invalid(f"at most {query.MAX_SERIES} metrics per request", code="bad_metric")
    scope = r.scope()
    async with r.hub.db.session() as s:
        scope = await dims.apply(s, r.hub, r.actor, scope)
        points = await query.timeseries(s, scope, metric, group_by, timezone)
    name = "-".join(query.parse_metrics(metric))
    return _csv(points, f"{name}-by-{group_by}") if r.csv else points


@router.get("/heatmap")
async def heatmap(
    r: Report = Depends(),
    metric: str = Query(default="conversations", max_length=20),
    timezone: str = Query(default="UTC", max_length=64),
) -> Any:
    """Arrivals by day of week (Monday first) × hour of day in ``timezone`` (every
    agent's: arrivals are not per agent)."""
    scope = r.scope(by_agent=False)
    async with r.hub.db.session() as s:
        grid = await query.heatmap(s, scope, timezone, metric)
    if r.csv:
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
    r: Report = Depends(),
    metric: str = Query(max_length=20, description=", ".join(query.DRILL)),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: Id | None = Query(default=None, description="next_cursor of the previous page"),
    dims: Dimensions = Depends(),
) -> Any:
    """Drill-down: the conversations counted in a figure, newest first. A conversation
    since moved to a team the reader may not see is left out of the page."""
    scope = r.scope()
    async with r.hub.db.session() as s:
        scope = await dims.apply(s, r.hub, r.actor, scope)
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
        if can_view(r.actor, c)
    ]
    if r.csv:
        return _csv(items, f"conversations-{metric}")
    return {"items": items, "next_cursor": str(next_cursor) if next_cursor is not None else None}


@router.get("/verbatims")
async def verbatims(
    r: Report = Depends(),
    kind: str | None = Query(default=None, pattern="^(csat|nps|ces)$", description="one survey kind"),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=40, description="next_cursor of the previous page"),
    dims: Dimensions = Depends(),
) -> Any:
    """What customers wrote: the comments of the survey answers in the range, by the
    report's filters (the survey's team, channel and agent; dimensions by its
    conversation), newest first, paged."""
    scope = r.scope()
    async with r.hub.db.session() as s:
        scope = await dims.apply(s, r.hub, r.actor, scope)
        items, next_cursor = await query.verbatims(s, scope, kind, limit, cursor)
    if r.csv:
        return _csv(items, "verbatims")
    return {"items": items, "next_cursor": next_cursor}


@router.get("/breakdown")
async def breakdown(
    r: Report = Depends(), by: str = Query(max_length=12, description=", ".join(query.DIMENSIONS))
) -> Any:
    """The figures per category, tier, tag (the 20 most used) or segment: each from the
    conversations of that dimension (message counts are not kept per customer: null)."""
    scope = r.scope()
    async with r.hub.db.session() as s:
        rows = await query.breakdown(
            s, r.actor, scope, by, is_sqlite=r.hub.db.is_sqlite, region=r.hub.settings.default_phone_region
        )
    return _csv(rows, f"by-{by}") if r.csv else rows


def _table_route(by: str) -> None:
    """``GET /reports/{by}s``: the figures per team, agent or channel (one handler each,
    so the OpenAPI names each table)."""

    async def table(r: Report = Depends(), dims: Dimensions = Depends()) -> Any:
        scope = r.scope()
        async with r.hub.db.session() as s:
            scope = await dims.apply(s, r.hub, r.actor, scope)
            rows = await query.table(s, scope, by, r.hub.now())
        return _csv(rows, f"{by}s") if r.csv else rows

    table.__name__ = f"{by}s"
    router.add_api_route(f"/{by}s", table, methods=["GET"], name=f"report_{by}s")


for _by in ("team", "agent", "channel"):
    _table_route(_by)
