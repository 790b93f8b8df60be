"""``switchboard simulate --forecast TEAM --day YYYY-MM-DD``: replay a forecast day in
the routing simulator (docs/workforce.md).

The day's forecast (made at that day's local midnight, or today's for a day ahead)
becomes Poisson arrivals, half hour by half hour at the forecast rate, with exponential
handle times of the team's handle time and, when abandonment was measured, exponential
patience; the simulator's agents follow the plan: in each half hour as many are
available as it requires (Erlang C or A, as ``--model``), the others away, and one stays
the half hour after a busy one to answer whoever still waits. The report is
the simulator's, plus a ``forecast`` section.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from hub.context import Hub
from hub.models import ReportSlot, Team
from hub.projections import core
from hub.reports import forecast as fc
from hub.reports import planning
from hub.services.errors import ServiceError
from routing.scenario import Arrival, single_queue
from routing.simulator import simulate

_slots = ReportSlot.__table__  # type: ignore[attr-defined]


class ReplayError(Exception):
    """A bad ``--forecast`` request, with a message for the terminal."""


async def _team(hub: Hub, ref: str) -> Team:
    async with hub.db.session() as s:
        if ref.isdigit():
            team = await s.get(Team, int(ref))
        else:
            team = (await s.exec(select(Team).where(col(Team.name) == ref))).first()
    if team is None:
        raise ReplayError(f"no team {ref!r} (give its id or name)")
    return team


async def _busiest_channel(hub: Hub, team_id: int) -> str:
    async with hub.db.session() as s:
        stmt = (
            sa.select(_slots.c.channel, sa.func.sum(_slots.c.conversations).label("n"))
            .where(_slots.c.team_id == team_id, _slots.c.channel != "")
            .group_by(_slots.c.channel)
            .order_by(sa.desc("n"), _slots.c.channel)
            .limit(1)
        )
        row = (await core(s, stmt)).first()
    if row is None or not row.n:
        raise ReplayError("the team has no arrivals yet: give --channel")
    return str(row.channel)


def arrivals_from_forecast(
    rates: list[tuple[float, float]], *, aht: float, patience: float | None, seed: int, channel: str
) -> list[Arrival]:
    """Poisson arrivals: ``rates`` is (start second in the day, expected arrivals in the
    next half hour) per interval."""
    rng = random.Random(seed)
    out = []
    for start, expected in rates:
        if expected <= 0:
            continue
        rate = expected / fc.SLOT_SECONDS
        t = start + rng.expovariate(rate)
        while t < start + fc.SLOT_SECONDS:
            out.append(
                Arrival(
                    time=t,
                    handle_time=rng.expovariate(1.0 / aht),
                    channel=channel,
                    patience=rng.expovariate(1.0 / patience) if patience else None,
                )
            )
            t += rng.expovariate(rate)
    return out


async def run_forecast_day(hub: Hub, args: argparse.Namespace) -> dict[str, Any]:
    team = await _team(hub, str(args.forecast))
    assert team.id is not None
    channel = args.channel or await _busiest_channel(hub, team.id)
    zone = planning.zone_of(None, team)
    today = hub.now().astimezone(zone).date()
    try:
        day = date.fromisoformat(args.day) if args.day else today
    except ValueError:
        raise ReplayError(f"--day {args.day!r}: expected YYYY-MM-DD") from None
    start_day = min(day, today)  # a past day: the forecast made at its midnight
    days = (day - start_day).days + 1
    if days > planning.MAX_DAYS:
        raise ReplayError(f"--day is at most {planning.MAX_DAYS - 1} days ahead")
    origin = datetime(start_day.year, start_day.month, start_day.day, tzinfo=zone)
    model = getattr(args, "model", None) or "erlang_c"
    try:
        async with hub.db.session() as s:
            plan = await planning.build(s, team.id, channel, now=origin, days=days, model=model)
    except ServiceError as exc:
        raise ReplayError(exc.message) from None
    day_start = datetime(day.year, day.month, day.day, tzinfo=zone)
    intervals = [i for i in plan["intervals"] if datetime.fromisoformat(i["start"]).date() == day]
    rates = [
        ((datetime.fromisoformat(i["start"]) - day_start).total_seconds(), i["forecast_arrivals"])
        for i in intervals
    ]
    settings = plan["settings"]
    arrivals = arrivals_from_forecast(
        rates,
        aht=settings["handle_seconds"],
        patience=settings["patience_seconds"],
        seed=args.seed,
        channel=channel,
    )
    agents = max((i["required_agents"] for i in intervals), default=0)
    length = ((day_start + timedelta(days=1)).astimezone(UTC) - day_start.astimezone(UTC)).total_seconds()
    scenario = single_queue(
        agents=max(1, agents),
        arrival_rate=1.0,  # unused: the arrivals are replayed
        aht=settings["handle_seconds"],
        duration=length,
        seed=args.seed,
        target_seconds=settings["threshold_seconds"],
        warmup=0.0,
        channel=channel,
    )
    # Each half hour staffs what it requires; after a busy one, one agent stays a half
    # hour to answer whoever still waits (the forecast puts no one after closing time).
    need = [i["required_agents"] for i in intervals]
    schedule = [
        (start, n or (1 if k and need[k - 1] else 0))
        for k, ((start, _), n) in enumerate(zip(rates, need, strict=True))
    ]
    result = simulate(scenario, arrivals, schedule)
    result["forecast"] = {
        "team_id": team.id,
        "channel": channel,
        "day": day.isoformat(),
        "timezone": plan["timezone"],
        "method": plan["method"],
        "mape": plan["backtest"]["mape"],
        "forecast_arrivals": round(sum(i["forecast_arrivals"] for i in intervals), 3),
        "arrivals": len(arrivals),
        "agents": max(1, agents),  # at the peak; each half hour has its required number
        "agent_hours": sum(i["required_agents"] for i in intervals) / 2,
        "service_level_target": settings["service_level_target"],
        **{k: settings[k] for k in ("model", "handle_seconds", "handle_source", "patience_seconds")},
    }
    return result
