"""Workforce plan of one team and channel: the forecast, its backtest, the staffing and
the last week's arrivals against the agents who were signed in (docs/workforce.md).
Used by ``GET /api/v1/reports/forecast`` and ``switchboard simulate --forecast``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import SLOT_SECONDS, Team, TeamMember
from hub.reports import forecast as fc
from hub.reports import query
from hub.reports import staffing as st
from hub.services.errors import Invalid, NotFound
from routing.policy import policy_from_settings

DEFAULT_HANDLE_SECONDS = 300.0  # when nothing is measured and the team sets no handle_seconds
DEFAULT_SHRINKAGE = 0.3
MEASURE_DAYS = 28  # handle time and patience are measured over the last four weeks
HISTORY_DAYS = 7
MAX_DAYS = 28


@dataclass(frozen=True, slots=True)
class Inputs:
    team: Team
    channel: str
    zone: ZoneInfo
    origin: int  # first forecast slot: the local midnight that starts today
    end: int  # after the last forecast slot
    now_slot: int


def zone_of(name: str | None, team: Team) -> ZoneInfo:
    name = name or (team.business_hours or {}).get("timezone") or "UTC"
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # OSError: a folder of zones, e.g. "Europe"
        raise Invalid(f"unknown time zone {name!r}", code="bad_timezone") from None


async def load_team(s: AsyncSession, team_id: int) -> Team:
    team = await s.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found", code="team_not_found")
    return team


async def measured(
    s: AsyncSession, team_id: int, since: datetime, until: datetime
) -> tuple[float | None, float | None]:
    """Mean handle seconds and mean seconds abandoned customers waited, from the rollups
    (the whole team's, every channel)."""
    return await query.handle_and_patience(s, team_id, since, until)


async def signed_in(s: AsyncSession, team_id: int, lo: int, hi: int) -> dict[int, float]:
    """Average number of the team's members signed in per slot."""
    agents = (await s.exec(select(TeamMember.user_id).where(col(TeamMember.team_id) == team_id))).all()
    return await query.signed_in_by_slot(s, sorted(agents), lo, hi)


def staffing_settings(
    team: Team,
    channel: str,
    *,
    handle: float | None,
    patience: float | None,
    shrinkage: float,
    model: str,
) -> tuple[st.StaffingSettings, str]:
    """The team's target and threshold for the channel, the handle time (measured, else
    the team's ``routing.handle_seconds`` for the channel, else 300 s) and its source."""
    policy = policy_from_settings(str(team.id), team.routing or {})
    source = "measured"
    if handle is None or handle <= 0:
        planned = policy.handle_seconds.get(channel)
        handle, source = (float(planned), "team_setting") if planned else (DEFAULT_HANDLE_SECONDS, "default")
    if model == "erlang_a" and not (patience and patience > 0):
        raise Invalid("Erlang A needs a measured patience: no abandonment recorded yet", code="no_patience")
    return (
        st.StaffingSettings(
            service_level_target=policy.service_level_target_for(channel),
            threshold_seconds=policy.sla_for(channel),
            handle_seconds=handle,
            shrinkage=shrinkage,
            patience_seconds=patience if patience and patience > 0 else None,
            model=model,
        ),
        source,
    )


def inputs(team: Team, channel: str, now: datetime, days: int, timezone: str | None) -> Inputs:
    zone = zone_of(timezone, team)
    midnight = fc.local_midnight(now, zone)
    origin, end = fc.day_slots(midnight, days, zone)
    return Inputs(team, channel, zone, origin, end, fc.slot_of(now))


async def build(
    s: AsyncSession,
    team_id: int,
    channel: str,
    *,
    now: datetime,
    days: int = fc.HORIZON_DAYS,
    timezone: str | None = None,
    shrinkage: float = DEFAULT_SHRINKAGE,
    model: str = "erlang_c",
) -> dict[str, Any]:
    """The whole plan as the API returns it (rights are the caller's business)."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"days must be 1 to {MAX_DAYS}", code="bad_range")
    team = await load_team(s, team_id)
    inp = inputs(team, channel, now, days, timezone)
    calendar = dict(team.business_hours or {})
    weeks = fc.TRAIN_WEEKS + fc.BACKTEST_WEEKS
    lo = inp.origin - weeks * fc.WEEK
    y = await fc.history(s, team_id, channel, lo, inp.now_slot + 1)
    past = y[: inp.origin - lo]
    # Fitting is CPU work (about a second per team and channel the first time a day;
    # then cached): off the event loop.
    values, method = await asyncio.to_thread(fc.forecast, past, inp.origin, inp.end - inp.origin, calendar)
    backtest, _ = await asyncio.to_thread(fc.backtest, past, inp.origin, calendar)
    since = now - timedelta(days=MEASURE_DAYS)
    handle, patience = await measured(s, team_id, since, now)
    settings, source = staffing_settings(
        team, channel, handle=handle, patience=patience, shrinkage=shrinkage, model=model
    )
    staff = st.plan(values, settings)
    intervals = [
        {
            "start": _iso(inp.origin + i, inp.zone),
            "forecast_arrivals": round(float(v), 3),
            "required_agents": need,
            "required_scheduled": sched,
        }
        for i, (v, (need, sched)) in enumerate(zip(values, staff, strict=True))
    ]
    h_lo = fc.slot_of(fc.local_midnight(fc.slot_time(inp.origin) - timedelta(days=HISTORY_DAYS), inp.zone))
    h_hi = inp.now_slot + 1
    actual = y[h_lo - lo : h_hi - lo]
    present = await signed_in(s, team_id, h_lo, h_hi)
    history = [
        {
            "start": _iso(h_lo + i, inp.zone),
            "arrivals": int(a),
            "required_agents": need,
            "signed_in_agents": round(float(present.get(h_lo + i, 0.0)), 3),
        }
        for i, (a, (need, _)) in enumerate(zip(actual, st.plan(actual, settings), strict=True))
    ]
    return {
        "team_id": team_id,
        "channel": channel,
        "timezone": str(inp.zone.key),
        "interval_minutes": SLOT_SECONDS // 60,
        "method": method,
        "generated_at": now.isoformat(),
        "backtest": {
            "mape": backtest.mape,
            "wape": backtest.wape,
            "weeks": backtest.weeks,
            "intervals": backtest.intervals,
            "zero_intervals": backtest.zero_intervals,
        },
        "settings": {
            "model": settings.model,
            "service_level_target": settings.service_level_target,
            "threshold_seconds": settings.threshold_seconds,
            "handle_seconds": round(settings.handle_seconds, 3),
            "handle_source": source,
            "patience_seconds": None if patience is None else round(patience, 3),
            "shrinkage": settings.shrinkage,
        },
        "intervals": intervals,
        "history": history,
    }


def _iso(slot: int, zone: ZoneInfo) -> str:
    return fc.slot_time(slot).astimezone(zone).isoformat()
