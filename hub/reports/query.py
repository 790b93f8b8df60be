"""Report figures read from the rollups (docs/reports.md for every definition).

Ranges are whole half hours (the rollups' slots): ``since`` is rounded down and
``until`` up to a slot boundary. Percentiles are exact, nearest-rank, over the
duration samples in range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import (
    OPEN_COMPLAINT,
    SLOT_SECONDS,
    Complaint,
    ReportSample,
    ReportSlot,
    SurveyRequest,
)
from hub.projections import core
from hub.reports.rollup import COUNTERS, slot_of, slot_start
from hub.services.access import Actor
from hub.services.errors import Forbidden, Invalid
from hub.timeutil import ensure_utc

_slots = ReportSlot.__table__  # type: ignore[attr-defined]
_samples = ReportSample.__table__  # type: ignore[attr-defined]
MAX_DAYS = 400
GROUPS = ("hour", "day", "week", "month")
DURATIONS = {
    "first_response_seconds": "frt",
    "first_assignment_seconds": "fat",
    "resolution_seconds": "res",
    "handle_seconds": "handle",
    "abandon_wait_seconds": "aban",
}


@dataclass(frozen=True, slots=True)
class Scope:
    since: datetime
    until: datetime
    team_ids: tuple[int, ...] | None = None  # None: every team (admins)
    channel: str | None = None
    agent_id: int | None = None

    @property
    def slots(self) -> tuple[int, int]:
        lo = int(ensure_utc(self.since).timestamp()) // SLOT_SECONDS
        hi = math.ceil(ensure_utc(self.until).timestamp() / SLOT_SECONDS)
        return lo, hi


def scope_for(
    actor: Actor,
    since: datetime,
    until: datetime,
    *,
    team_id: int | None = None,
    channel: str | None = None,
    agent_id: int | None = None,
) -> Scope:
    """Supervisors read their own teams; admins everything; agents no reports."""
    if not actor.is_supervisor:
        raise Forbidden("reports are for supervisors and admins", code="role_required")
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid(
            "since and until need a time zone offset, e.g. 2026-01-05T00:00:00+03:00", code="bad_range"
        )
    if until <= since or until - since > timedelta(days=MAX_DAYS):
        raise Invalid(f"until must be after since, at most {MAX_DAYS} days later", code="bad_range")
    teams: tuple[int, ...] | None = None
    if team_id is not None:
        if not actor.is_admin and team_id not in actor.team_ids:
            raise Forbidden("you may not see this team's reports", code="not_your_team")
        teams = (team_id,)
    elif not actor.is_admin:
        teams = tuple(sorted(actor.team_ids))
    return Scope(since, until, teams, channel, agent_id)


def _where(table: Any, scope: Scope) -> list[Any]:
    lo, hi = scope.slots
    out = [table.c.slot >= lo, table.c.slot < hi]
    if scope.team_ids is not None:
        out.append(table.c.team_id.in_(scope.team_ids))
    if scope.channel is not None:
        out.append(table.c.channel == scope.channel)
    if scope.agent_id is not None:
        out.append(table.c.agent_id == scope.agent_id)
    return out


SAMPLE_SUMS = ("fat", "frt", "res", "handle", "aban")
SURVEY_SUMS = (
    "csat_count",
    "csat_sum",
    "csat_satisfied",
    "nps_count",
    "nps_promoters",
    "nps_detractors",
    "ces_count",
    "ces_sum",
)
ALL_SUMS = (
    *COUNTERS,
    "answered",
    "answered_in_sl",
    "first_contact",
    *(f"{m}_{x}" for m in SAMPLE_SUMS for x in ("count", "sum", "bh_sum")),
    *SURVEY_SUMS,
)


async def totals(s: AsyncSession, scope: Scope, group: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Sums per group (``slot``, ``team_id``, ``agent_id``, ``channel``) from the three
    sources: event counts, duration samples, survey answers."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}

    def row(key: tuple[Any, ...]) -> dict[str, Any]:
        if key not in out:
            out[key] = {**dict(zip(group, key, strict=True)), **dict.fromkeys(ALL_SUMS, 0)}
        return out[key]

    cols = [_slots.c[g] for g in group]
    sums = [sa.func.coalesce(sa.func.sum(_slots.c[c]), 0).label(c) for c in COUNTERS]
    stmt = sa.select(*cols, *sums).where(*_where(_slots, scope))
    if cols:
        stmt = stmt.group_by(*cols)
    for r in (await core(s, stmt)).all():
        m = r._mapping
        target = row(tuple(m[g] for g in group))
        for c in COUNTERS:
            target[c] += m[c] or 0
    scols = [_samples.c[g] for g in group]
    stmt = (
        sa.select(
            *scols,
            _samples.c.metric,
            sa.func.count().label("n"),
            sa.func.sum(_samples.c.seconds).label("sum"),
            sa.func.sum(_samples.c.business_seconds).label("bh"),
            sa.func.sum(sa.case((_samples.c.in_target, 1), else_=0)).label("in_sl"),
        )
        .where(*_where(_samples, scope))
        .group_by(*scols, _samples.c.metric)
    )
    for r in (await core(s, stmt)).all():
        m = r._mapping
        target = row(tuple(m[g] for g in group))
        metric = m["metric"]
        target[f"{metric}_count"] += int(m["n"])
        target[f"{metric}_sum"] += float(m["sum"] or 0)
        target[f"{metric}_bh_sum"] += float(m["bh"] or 0)
        if metric == "fat":
            target["answered"] += int(m["n"])
            target["answered_in_sl"] += int(m["in_sl"] or 0)
        elif metric == "res":
            target["first_contact"] += int(m["in_sl"] or 0)
    for answer in await _answers(s, scope):
        key = tuple(answer[g] for g in group)
        target = row(key)
        score, kind = answer["score"], answer["kind"]
        if kind == "csat":
            target["csat_count"] += 1
            target["csat_sum"] += score
            target["csat_satisfied"] += 1 if score >= 4 else 0
        elif kind == "nps":
            target["nps_count"] += 1
            target["nps_promoters"] += 1 if score >= 9 else 0
            target["nps_detractors"] += 1 if score <= 6 else 0
        elif kind == "ces":
            target["ces_count"] += 1
            target["ces_sum"] += score
    if not group and not out:
        row(())
    return list(out.values())


async def _answers(s: AsyncSession, scope: Scope) -> list[dict[str, Any]]:
    """Survey answers in range, with the rollups' dimensions (0: none)."""
    since, until = slot_start(scope.slots[0]), slot_start(scope.slots[1])
    stmt = select(SurveyRequest).where(
        col(SurveyRequest.answered_at) >= since,
        col(SurveyRequest.answered_at) < until,
        col(SurveyRequest.score).is_not(None),
    )
    if scope.team_ids is not None:
        stmt = stmt.where(col(SurveyRequest.team_id).in_(scope.team_ids))
    if scope.channel is not None:
        stmt = stmt.where(SurveyRequest.channel == scope.channel)
    if scope.agent_id is not None:
        stmt = stmt.where(SurveyRequest.agent_id == scope.agent_id)
    return [
        {
            "slot": slot_of(r.answered_at),  # type: ignore[arg-type]
            "team_id": r.team_id or 0,
            "agent_id": r.agent_id or 0,
            "channel": r.channel,
            "kind": r.kind,
            "score": int(r.score or 0),
        }
        for r in (await s.exec(stmt)).all()
    ]


async def percentiles(
    s: AsyncSession, scope: Scope, metric: str, ps: Sequence[float] = (0.5, 0.9)
) -> dict[str, float | None]:
    """Nearest-rank percentiles of one duration metric (and its business-hours variant)."""
    where = [*_where(_samples, scope), _samples.c.metric == metric]
    n = (await core(s, sa.select(sa.func.count()).select_from(_samples).where(*where))).scalar() or 0
    out: dict[str, float | None] = {}
    for column, suffix in (("seconds", ""), ("business_seconds", "_business")):
        for p in ps:
            name = f"p{round(p * 100)}{suffix}"
            if n == 0:
                out[name] = None
                continue
            rank = max(1, math.ceil(p * n))
            stmt = (
                sa.select(_samples.c[column])
                .where(*where)
                .order_by(_samples.c[column])
                .limit(1)
                .offset(rank - 1)
            )
            out[name] = round(float((await core(s, stmt)).scalar() or 0.0), 3)
    return out


def _avg(total: float, count: float) -> float | None:
    return round(total / count, 3) if count else None


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(t: Mapping[str, Any]) -> dict[str, Any]:
    """The headline figures of one totals row (stable names: docs/reports.md)."""
    return {
        "conversations": int(t["conversations"]),
        "inbound_messages": int(t["inbound"]),
        "outbound_messages": int(t["outbound"]),
        "agent_replies": int(t["agent_replies"]),
        "resolved": int(t["resolved"]),
        "reopened": int(t["reopened"]),
        "reopen_rate": _share(t["reopened"], t["resolved"]),
        "transfers": int(t["transfers"]),
        "transfers_per_conversation": _share(t["transfers"], t["conversations"]),
        "first_contact_resolution": _share(t["first_contact"], t["res_count"]),
        "answered": int(t["answered"]),
        "answered_in_target": int(t["answered_in_sl"]),
        "abandoned": int(t["abandoned"]),
        "abandoned_late": int(t["abandoned_late"]),
        "abandon_rate": _share(t["abandoned"], t["answered"] + t["abandoned"]),
        # answered in target ÷ (answered + abandoned after the target)
        "service_level": _share(t["answered_in_sl"], t["answered"] + t["abandoned_late"]),
        "service_level_answered": _share(t["answered_in_sl"], t["answered"]),
        "offers": int(t["offers"]),
        "offers_missed": int(t["offers_missed"]),
        "handled": int(t["handled"]),
        "surveys_sent": int(t["surveys_sent"]),
        "csat": {
            "responses": int(t["csat_count"]),
            "average": _avg(t["csat_sum"], t["csat_count"]),
            "satisfied_share": _share(t["csat_satisfied"], t["csat_count"]),
        },
        "nps": {
            "responses": int(t["nps_count"]),
            "score": round(100 * (t["nps_promoters"] - t["nps_detractors"]) / t["nps_count"], 1)
            if t["nps_count"]
            else None,
        },
        "ces": {"responses": int(t["ces_count"]), "average": _avg(t["ces_sum"], t["ces_count"])},
    }


def _duration_avgs(t: Mapping[str, Any], metric: str) -> dict[str, Any]:
    c = metric
    return {
        "count": int(t[f"{c}_count"]),
        "avg": _avg(t[f"{c}_sum"], t[f"{c}_count"]),
        "avg_business": _avg(t[f"{c}_bh_sum"], t[f"{c}_count"]),
    }


async def summary(s: AsyncSession, scope: Scope) -> dict[str, Any]:
    (t,) = await totals(s, scope)
    out = figures(t)
    for name, metric in DURATIONS.items():
        out[name] = {**_duration_avgs(t, metric), **await percentiles(s, scope, metric)}
    out["complaints"] = await complaint_figures(s, scope)
    out["since"], out["until"] = slot_start(scope.slots[0]), slot_start(scope.slots[1])
    return out


async def complaint_figures(s: AsyncSession, scope: Scope) -> dict[str, Any]:
    """Read from the register itself (complaints are few; no rollup needed)."""
    since, until = slot_start(scope.slots[0]), slot_start(scope.slots[1])
    base = [col(Complaint.created_at) >= since, col(Complaint.created_at) < until]
    if scope.team_ids is not None:
        base.append(col(Complaint.team_id).in_(scope.team_ids))
    rows = (await s.exec(select(Complaint).where(*base))).all()
    resolved = [c for c in rows if c.resolved_at is not None]
    acked = [c for c in rows if c.acknowledged_at is not None]
    now_open = [c for c in rows if str(c.status) in OPEN_COMPLAINT]
    overdue = [
        c
        for c in now_open
        if (c.resolution_due_at is not None and ensure_utc(c.resolution_due_at) < until)
        or (
            c.responded_at is None and c.response_due_at is not None and ensure_utc(c.response_due_at) < until
        )
    ]

    def by(field: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in rows:
            key = getattr(c, field) or "none"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    def mean(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    return {
        "opened": len(rows),
        "resolved": len(resolved),
        "open": len(now_open),
        "overdue": len(overdue),
        "acknowledge_seconds_avg": mean(
            [(ensure_utc(c.acknowledged_at) - ensure_utc(c.created_at)).total_seconds() for c in acked]  # type: ignore[arg-type]
        ),
        "resolve_seconds_avg": mean(
            [(ensure_utc(c.resolved_at) - ensure_utc(c.created_at)).total_seconds() for c in resolved]  # type: ignore[arg-type]
        ),
        "by_category": by("category"),
        "by_severity": by("severity"),
        "by_root_cause": by("root_cause"),
    }


async def table(s: AsyncSession, scope: Scope, by: str) -> list[dict[str, Any]]:
    """Per team or per agent: the headline figures and average durations."""
    column = {"team": "team_id", "agent": "agent_id", "channel": "channel"}[by]
    rows = await totals(s, scope, (column,))
    out = []
    for t in sorted(rows, key=lambda r: (r[column] in (0, None), r[column] or 0)):
        value = t[column]
        row = {column: (value or None) if column != "channel" else value, **figures(t)}
        for name, metric in DURATIONS.items():
            row[name] = _duration_avgs(t, metric)
        out.append(row)
    return out


async def timeseries(
    s: AsyncSession, scope: Scope, metric: str, group_by: str, timezone: str
) -> list[dict[str, Any]]:
    """One value per hour, day, week (from Monday) or month in ``timezone``."""
    if group_by not in GROUPS:
        raise Invalid(f"group_by is one of {', '.join(GROUPS)}", code="bad_group")
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        raise Invalid(f"unknown time zone {timezone!r}", code="bad_timezone") from None
    rows = await totals(s, scope, ("slot",))
    buckets: dict[datetime, dict[str, float]] = {}
    for t in rows:
        local = slot_start(int(t["slot"])).astimezone(zone)
        start = _bucket(local, group_by)
        acc = buckets.setdefault(start, dict.fromkeys(ALL_SUMS, 0.0))
        for c in ALL_SUMS:
            acc[c] += float(t[c] or 0)
    out = []
    for start in sorted(buckets):
        out.append({"start": start.isoformat(), "value": value_of(metric, buckets[start])})
    return out


async def heatmap(
    s: AsyncSession, scope: Scope, timezone: str, metric: str = "conversations"
) -> list[list[int]]:
    """Arrivals by day of week (Monday first) × hour of day in ``timezone``: 7 rows of 24."""
    if metric not in ("conversations", "inbound"):
        raise Invalid("metric is conversations or inbound", code="bad_metric")
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        raise Invalid(f"unknown time zone {timezone!r}", code="bad_timezone") from None
    grid = [[0] * 24 for _ in range(7)]
    stmt = (
        sa.select(_slots.c.slot, sa.func.sum(_slots.c[metric]).label("n"))
        .where(*_where(_slots, scope))
        .group_by(_slots.c.slot)
    )
    for r in (await core(s, stmt)).all():
        local = slot_start(int(r.slot)).astimezone(zone)
        grid[local.weekday()][local.hour] += int(r.n or 0)
    return grid


def _bucket(local: datetime, group_by: str) -> datetime:
    if group_by == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if group_by == "day":
        return day
    if group_by == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


SERIES = (
    "conversations",
    "inbound_messages",
    "outbound_messages",
    "resolved",
    "service_level",
    "csat_average",
    "first_response_avg",
    "resolution_avg",
)


def value_of(metric: str, t: Mapping[str, float]) -> float | None:
    if metric not in SERIES:
        raise Invalid(f"metric is one of {', '.join(SERIES)}", code="bad_metric")
    f = figures(t)
    if metric == "csat_average":
        return f["csat"]["average"]  # type: ignore[no-any-return]
    if metric == "first_response_avg":
        return _avg(t["frt_sum"], t["frt_count"])
    if metric == "resolution_avg":
        return _avg(t["res_sum"], t["res_count"])
    return f[metric]  # type: ignore[no-any-return]
