"""Workforce planning (docs/workforce.md): arrivals forecast per half hour for a team
and channel, its backtest error, required agents (Erlang C or A, shrinkage) and the
last week's required against signed-in agents. JSON or CSV (``format=csv`` or
``Accept: text/csv``). Rights as for reports: supervisors their own teams, admins all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from channels.registry import CHANNEL_TYPES
from hub.api.deps import current_actor, get_hub
from hub.api.routes_reports import Format, _csv, _wants_csv
from hub.api.schemas import Id
from hub.context import Hub
from hub.reports import planning, query
from hub.services.access import Actor
from hub.services.errors import Invalid

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/forecast")
async def forecast(
    request: Request,
    team_id: Id,
    channel: str = Query(max_length=20, description="channel kind, e.g. voice, webchat, whatsapp"),
    days: int = Query(default=14, ge=1, le=planning.MAX_DAYS, description="local days from today"),
    timezone: str | None = Query(
        default=None,
        max_length=64,
        description="IANA zone of the days (default: the team's hours' zone, else UTC)",
    ),
    shrinkage: float = Query(default=planning.DEFAULT_SHRINKAGE, ge=0, lt=1),
    model: str = Query(default="erlang_c", pattern="^(erlang_c|erlang_a)$"),
    format: str | None = Format,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Any:
    """Forecast arrivals and required agents per half hour (definitions: docs/workforce.md)."""
    now = hub.now()
    # The same rights as every report: agents 403, supervisors their own teams.
    query.scope_for(actor, now - timedelta(days=1), now, team_id=team_id)
    if channel not in CHANNEL_TYPES:
        raise Invalid(f"channel is one of {', '.join(sorted(CHANNEL_TYPES))}", code="bad_channel")
    async with hub.db.session() as s:
        plan = await planning.build(
            s, team_id, channel, now=now, days=days, timezone=timezone, shrinkage=shrinkage, model=model
        )
    if _wants_csv(request, format):
        rows = [{"kind": "forecast", **r, "mape": plan["backtest"]["mape"]} for r in plan["intervals"]]
        rows += [{"kind": "history", **r} for r in plan["history"]]
        return _csv(rows, f"forecast-team-{team_id}-{channel}")
    return plan
