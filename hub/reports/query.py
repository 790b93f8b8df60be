"""Report figures read from the rollups (docs/reports.md for every definition).

Ranges are whole half hours (the rollups' slots): ``since`` is rounded down and
``until`` up to a slot boundary. A range (or each bucket of a time series) is read from
the coarsest rollup that fits it: whole UTC days from ``report_day``, whole UTC hours
from ``report_hour``, the half hours left from ``report_slot`` (``_cover``). Averages
are exact (sums and counts kept per slot); survey answers are folded into the same rows.
Percentiles are nearest-rank: exact over the samples when a metric has at most
``histogram.EXACT_MAX_SAMPLES`` in range, else from the duration histograms (within
``histogram.RELATIVE_ERROR``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import (
    OPEN_COMPLAINT,
    SLOT_SECONDS,
    Complaint,
    Conversation,
    EventLog,
    ReportAgentState,
    ReportDay,
    ReportHistogram,
    ReportHour,
    ReportSample,
    ReportSlot,
    SurveyRequest,
    TeamMember,
)
from hub.projections import core
from hub.reports import histogram
from hub.reports.agents import PRESENCE_COLUMN
from hub.reports.rollup import (
    COUNTERS,
    HOUR_SLOTS,
    SAMPLE_COLUMNS,
    SLOT_COLUMNS,
    SURVEY_COLUMNS,
    answer_columns,
    slot_of,
    slot_start,
)
from hub.services.access import Actor
from hub.services.errors import Forbidden, Invalid
from hub.timeutil import ensure_utc
from hub.timeutil import zone as tz_zone

_slots = ReportSlot.__table__  # type: ignore[attr-defined]
_samples = ReportSample.__table__  # type: ignore[attr-defined]
_hist = ReportHistogram.__table__  # type: ignore[attr-defined]
_days = ReportDay.__table__  # type: ignore[attr-defined]
_hours = ReportHour.__table__  # type: ignore[attr-defined]
_convs = Conversation.__table__  # type: ignore[attr-defined]
_surveys = SurveyRequest.__table__  # type: ignore[attr-defined]
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
    # Customer dimensions (segment, tier, tag, category): a select of the matching
    # conversation ids; figures are then conversation-based (docs/reports.md).
    conversations: Any = None

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


def _in_conversations(table: Any, scope: Scope) -> list[Any]:
    return [] if scope.conversations is None else [table.c.conversation_id.in_(scope.conversations)]


async def _conversation_counts(s: AsyncSession, scope: Scope, group: Sequence[str], row: Any) -> None:
    """Under a dimension filter: new conversations (their rows) and reopenings and
    transfers (their events), attributed as the rollups would; the rest comes from the
    samples."""
    lo, hi = scope.slots
    since, until = slot_start(lo), slot_start(hi)
    cv = _convs
    where = [cv.c.created_at >= since, cv.c.created_at < until, cv.c.id.in_(scope.conversations)]
    if scope.team_ids is not None:
        where.append(cv.c.team_id.in_(scope.team_ids))
    if scope.channel is not None:
        where.append(cv.c.channel == scope.channel)
    stmt = sa.select(cv.c.created_at, cv.c.team_id, cv.c.channel).where(*where)
    for r in (await core(s, stmt)).all():
        key = {"slot": slot_of(r.created_at), "team_id": r.team_id or 0, "channel": r.channel, "agent_id": 0}
        if scope.agent_id is None:
            row(tuple(key[g] for g in group))["conversations"] += 1
    ev = EventLog.__table__  # type: ignore[attr-defined]
    names = {"conversation.reopened": "reopened", "conversation.transferred": "transfers"}
    where = [
        ev.c.type.in_(sorted(names)),
        ev.c.ts >= since,
        ev.c.ts < until,
        ev.c.conversation_id.in_(scope.conversations),
    ]
    if scope.team_ids is not None:
        where.append(ev.c.team_id.in_(scope.team_ids))
    if scope.agent_id is not None:
        where.append(ev.c.user_id == scope.agent_id)
    stmt2 = (
        sa.select(ev.c.type, ev.c.ts, ev.c.team_id, ev.c.user_id, cv.c.channel)
        .join(cv, cv.c.id == ev.c.conversation_id)
        .where(*where)
    )
    if scope.channel is not None:
        stmt2 = stmt2.where(cv.c.channel == scope.channel)
    for r in (await core(s, stmt2)).all():
        key = {
            "slot": slot_of(r.ts),
            "team_id": r.team_id or 0,
            "channel": r.channel,
            "agent_id": r.user_id or 0,
        }
        row(tuple(key[g] for g in group))[names[r.type]] += 1


DIMENSIONS = ("category", "tag", "tier", "segment")


async def dimension_scope(
    s: AsyncSession,
    actor: Actor,
    scope: Scope,
    *,
    segment_id: int | None = None,
    tier: str | None = None,
    tag: str | None = None,
    category: str | None = None,
    is_sqlite: bool,
    region: str | None = None,
) -> Scope:
    """The scope narrowed to conversations of a segment's contacts (as the reader may see
    them), of contacts in a tier, with a tag, or of a category."""
    if segment_id is None and tier is None and tag is None and category is None:
        return scope
    from hub.crm.contact_query import json_list_has, where_clauses
    from hub.models import Category, Contact, ContactFigures, ContactTier
    from hub.services import segments

    cv = _convs
    ids = sa.select(cv.c.id)
    if category is not None:
        if category not in {c.value for c in Category}:
            raise Invalid(f"unknown category {category!r}", code="bad_category")
        ids = ids.where(cv.c.category == category)
    if tag is not None:
        ids = ids.where(json_list_has(cv.c.tags, tag, is_sqlite))
    if tier is not None:
        ids = ids.where(
            cv.c.contact_id.in_(sa.select(col(ContactTier.contact_id)).where(col(ContactTier.tier) == tier))
        )
    if segment_id is not None:
        seg = await segments.load_segment(s, actor, segment_id)
        f = segments.parse_filter(seg.filter)
        contact = Contact.__table__  # type: ignore[attr-defined]
        figures_t = ContactFigures.__table__  # type: ignore[attr-defined]
        members = (
            sa.select(contact.c.id)
            .select_from(contact.outerjoin(figures_t, figures_t.c.contact_id == contact.c.id))
            .where(*where_clauses(f, actor, is_sqlite=is_sqlite, region=region))
        )
        ids = ids.where(cv.c.contact_id.in_(members))
    return replace(scope, conversations=ids)


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


def _survey_scope(scope: Scope) -> list[Any]:
    """The report filters on survey answers (team, channel, agent, dimension's conversations)."""
    sr = _surveys
    out = []
    if scope.team_ids is not None:
        out.append(sr.c.team_id.in_(scope.team_ids))
    if scope.channel is not None:
        out.append(sr.c.channel == scope.channel)
    if scope.agent_id is not None:
        out.append(sr.c.agent_id == scope.agent_id)
    if scope.conversations is not None:
        out.append(sr.c.conversation_id.in_(scope.conversations))
    return out


SURVEY_SUMS = SURVEY_COLUMNS  # folded into the rollups (hub.reports.rollup.answer_columns)
ALL_SUMS = (*COUNTERS, *SAMPLE_COLUMNS, "answered", *SURVEY_SUMS)


# Counters a conversation filter cannot give (kept per team × channel × agent, not per
# customer): reported as null under a dimension filter.
NOT_PER_CONVERSATION = ("inbound", "outbound", "agent_replies", "surveys_sent", "offers", "offers_missed")


ALL_SOURCES = frozenset({"slots", "samples", "answers"})


async def totals(
    s: AsyncSession,
    scope: Scope,
    group: Sequence[str] = (),
    need: frozenset[str] = ALL_SOURCES,
    columns: Sequence[str] | None = None,
    runs: Sequence[tuple[int, int]] | None = None,
) -> list[dict[str, Any]]:
    """Sums per group (``slot``, ``team_id``, ``agent_id``, ``channel``) from the rollup
    (event counts, each duration's count and sums, survey answers) — of the rollup only
    ``columns`` if given (a time series reads only what it needs). Grouped by ``slot``
    with ``runs`` (stretches of slots that fall in one bucket of the caller's), a row
    may stand for a whole UTC hour or day inside a run: its ``slot`` is the first one.
    Under a dimension filter the figures come from the conversations: their rows,
    events, duration samples and survey answers."""
    if scope.conversations is not None:
        need = ALL_SOURCES
        columns = None
    out: dict[tuple[Any, ...], dict[str, Any]] = {}

    def row(key: tuple[Any, ...]) -> dict[str, Any]:
        if key not in out:
            out[key] = {**dict(zip(group, key, strict=True)), **dict.fromkeys(ALL_SUMS, 0)}
            if scope.conversations is not None:
                out[key].update(dict.fromkeys(NOT_PER_CONVERSATION))
        return out[key]

    if scope.conversations is None and "slots" in need:
        picked = SLOT_COLUMNS if columns is None else [c for c in SLOT_COLUMNS if c in columns]
        for stmt, unit, per in _rollup_statements(scope, group, picked, runs) if picked else ():
            for r in (await core(s, stmt)).all():
                m = r._mapping
                key = {g: m[g] for g in group if g != "slot"}
                if unit is not None:
                    key["slot"] = int(m[unit]) * per
                target = row(tuple(key[g] for g in group))
                for c in picked:
                    target[c] += m[c] or 0
                target["answered"] = target["fat_count"]
    elif scope.conversations is not None:
        await _conversation_counts(s, scope, group, row)
        await _sample_sums(s, scope, group, row)
        for answer in await _answers(s, scope, group):
            target = row(tuple(answer[g] for g in group))
            for c, v in answer_columns(answer["kind"], answer["score"]).items():
                target[c] += v * answer["n"]
    if not group and not out:
        row(())
    return list(out.values())


# The rollups by grain: (table, its unit column, slots per unit).
GRAINS = {
    "day": (_days, "day", histogram.DAY_SLOTS),
    "hour": (_hours, "hour", HOUR_SLOTS),
    "slot": (_slots, "slot", 1),
}
MAX_BRANCHES = 128  # ranges of one table read in one statement (UNION ALL); more: a coarser plan


def _push(ranges: list[tuple[int, int]], a: int, b: int) -> None:
    if a >= b:
        return
    if ranges and ranges[-1][1] == a:
        ranges[-1] = (ranges[-1][0], b)  # adjacent: one range
    else:
        ranges.append((a, b))


def _cover(pieces: Sequence[tuple[int, int]], grains: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """Each piece of slots [a, b) (in order) as whole UTC days, then whole UTC hours, then
    half hours — of the ``grains`` allowed; per grain the merged slot ranges it serves."""
    out: dict[str, list[tuple[int, int]]] = {g: [] for g in GRAINS}
    coarse = [g for g in ("day", "hour") if g in grains]

    def cut(a: int, b: int, level: int) -> None:
        if level == len(coarse):
            _push(out["slot"], a, b)
            return
        per = GRAINS[coarse[level]][2]
        u0, u1 = -(-a // per) * per, b // per * per
        if u0 >= u1:
            cut(a, b, level + 1)
            return
        cut(a, u0, level + 1)
        _push(out[coarse[level]], u0, u1)
        cut(u1, b, level + 1)

    for a, b in pieces:
        cut(a, b, 0)
    return out


def _plan(
    scope: Scope, group: Sequence[str], runs: Sequence[tuple[int, int]] | None
) -> dict[str, list[tuple[int, int]]]:
    """Which slot ranges each rollup serves: report_slot alone for an agent (or by half
    hour without ``runs``); else the coarsest cover, with fewer grains when one table
    would need more than ``MAX_BRANCHES`` ranges (a zone with half-hour days)."""
    lo, hi = scope.slots
    if scope.agent_id is not None or "agent_id" in group or ("slot" in group and runs is None):
        return {"slot": [(lo, hi)]}
    pieces = [(lo, hi)] if runs is None else runs
    for grains in (("day", "hour"), ("hour",)):
        cover = _cover(pieces, grains)
        if all(len(r) <= MAX_BRANCHES for r in cover.values()):
            return cover
    return {"slot": [(lo, hi)]}


def _rollup_statements(
    scope: Scope, group: Sequence[str], picked: Sequence[str], runs: Sequence[tuple[int, int]] | None
) -> list[tuple[Any, str | None, int]]:
    """One statement per rollup the plan reads (its ranges as UNION ALL branches, each a
    tight range on the table's key), with the unit column to read back (``slot``
    grouping) and its slots per unit."""
    out: list[tuple[Any, str | None, int]] = []
    for grain, ranges in _plan(scope, group, runs).items():
        if not ranges:
            continue
        table, unit, per = GRAINS[grain]
        dims = [table.c[g] for g in group if g != "slot"]
        keys = [*([table.c[unit]] if "slot" in group else []), *dims]
        sums = [sa.func.coalesce(sa.func.sum(table.c[c]), 0).label(c) for c in picked]
        branches = []
        for a, b in ranges:
            where = [table.c[unit] >= a // per, table.c[unit] < b // per]
            if scope.team_ids is not None:
                where.append(table.c.team_id.in_(scope.team_ids))
            if scope.channel is not None:
                where.append(table.c.channel == scope.channel)
            if scope.agent_id is not None:
                where.append(table.c.agent_id == scope.agent_id)
            stmt = sa.select(*keys, *sums).where(*where)
            branches.append(stmt.group_by(*keys) if keys else stmt)
        out.append(
            (
                branches[0] if len(branches) == 1 else sa.union_all(*branches),
                unit if "slot" in group else None,
                per,
            )
        )
    return out


def _part(scope: Scope, lo: int, hi: int) -> Scope:
    """The scope over the slots [lo, hi)."""
    return replace(scope, since=slot_start(lo), until=slot_start(hi))


async def _sample_sums(s: AsyncSession, scope: Scope, group: Sequence[str], row: Any) -> None:
    """Under a dimension filter: each duration's count and sums from the matching
    conversations' samples (and the counts that follow from them)."""
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
        .where(*_where(_samples, scope), *_in_conversations(_samples, scope))
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
            target["resolved"] += int(m["n"])
        elif metric == "aban":
            target["abandoned"] += int(m["n"])
            target["abandoned_late"] += int(m["in_sl"] or 0)
        elif metric == "handle":
            target["handled"] += int(m["n"])
            target["handle_s"] += float(m["sum"] or 0)


async def _answers(s: AsyncSession, scope: Scope, group: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Under a dimension filter (answers are folded into the rollups, not per customer):
    the matching conversations' survey answers in range counted per kind, score and the
    grouping columns (0: none), attributed as the fold does."""
    since, until = slot_start(scope.slots[0]), slot_start(scope.slots[1])
    sr = _surveys
    where = [sr.c.answered_at >= since, sr.c.answered_at < until, sr.c.score.is_not(None)]
    where += _survey_scope(scope)
    dims = [g for g in group if g != "slot"]
    cols = [sr.c[g] for g in dims]
    if "slot" in group:
        cols.append(sr.c.answered_at)
    stmt = (
        sa.select(*cols, sr.c.kind, sr.c.score, sa.func.count().label("n"))
        .where(*where)
        .group_by(*cols, sr.c.kind, sr.c.score)
    )
    out = []
    for r in (await core(s, stmt)).all():
        m = r._mapping
        row = {g: (m[g] or (0 if g != "channel" else "")) for g in dims}
        if "slot" in group:
            row["slot"] = slot_of(m["answered_at"])
        out.append({**row, "kind": m["kind"], "score": int(m["score"] or 0), "n": int(m["n"])})
    return out


async def exact_percentiles(
    s: AsyncSession, scope: Scope, metric: str, ps: Sequence[float] = (0.5, 0.9), n: int | None = None
) -> dict[str, float | None]:
    """Nearest-rank percentiles of one duration metric (and its business-hours variant):
    one ordered pass per column picks every rank (``n``: the sample count, if known)."""
    where = [*_where(_samples, scope), *_in_conversations(_samples, scope), _samples.c.metric == metric]
    if n is None:
        n = (await core(s, sa.select(sa.func.count()).select_from(_samples).where(*where))).scalar() or 0
    out: dict[str, float | None] = {}
    for column, suffix in (("seconds", ""), ("business_seconds", "_business")):
        names = {f"p{round(p * 100)}{suffix}": max(1, math.ceil(p * n)) for p in ps}
        if n == 0:
            out.update(dict.fromkeys(names))
            continue
        ranked = (
            sa.select(
                _samples.c[column].label("v"),
                sa.func.row_number().over(order_by=_samples.c[column]).label("rn"),
            )
            .where(*where)
            .subquery()
        )
        stmt = sa.select(ranked.c.rn, ranked.c.v).where(ranked.c.rn.in_(sorted(set(names.values()))))
        found = {int(rn): float(v or 0.0) for rn, v in (await core(s, stmt)).all()}
        for name, rank in names.items():
            out[name] = round(found.get(rank, 0.0), 3)
    return out


async def histograms(
    s: AsyncSession, scope: Scope, metrics: Sequence[str]
) -> dict[str, tuple[dict[int, int], dict[int, int]]]:
    """Bucket counts of each metric's samples in range (seconds, business seconds): whole
    UTC days from ``report_histogram`` (at the level of the scope's team and channel
    filters), the part-days at the ends and agent- or dimension-filtered scopes from
    the samples' own buckets."""
    out: dict[str, tuple[dict[int, int], dict[int, int]]] = {m: ({}, {}) for m in metrics}
    if not metrics:
        return out
    lo, hi = scope.slots
    per_day = histogram.DAY_SLOTS
    d0, d1 = -(-lo // per_day), hi // per_day
    edges = [(lo, hi)]
    if scope.agent_id is None and scope.conversations is None and d0 < d1:
        edges = [(lo, d0 * per_day), (d1 * per_day, hi)]
        team = (
            _hist.c.team_id == histogram.ALL_TEAMS
            if scope.team_ids is None
            else _hist.c.team_id.in_(scope.team_ids)
        )
        channel = _hist.c.channel == (histogram.ALL_CHANNELS if scope.channel is None else scope.channel)
        stmt = (
            sa.select(_hist.c.metric, _hist.c.bucket, sa.func.sum(_hist.c.n), sa.func.sum(_hist.c.n_bh))
            .where(_hist.c.metric.in_(list(metrics)), _hist.c.day >= d0, _hist.c.day < d1, team, channel)
            .group_by(_hist.c.metric, _hist.c.bucket)
        )
        for metric, b, n, n_bh in (await core(s, stmt)).all():
            histogram.merge(out[metric][0], [(b, n)])
            histogram.merge(out[metric][1], [(b, n_bh)])
    for a, b in edges:
        if a >= b:
            continue
        part = _part(scope, a, b)  # each end by itself: a tight range on the sample index
        stmt = (
            sa.select(_samples.c.metric, _samples.c.bucket, _samples.c.bh_bucket, sa.func.count())
            .where(
                *_where(_samples, part),
                *_in_conversations(_samples, part),
                _samples.c.metric.in_(list(metrics)),
            )
            .group_by(_samples.c.metric, _samples.c.bucket, _samples.c.bh_bucket)
        )
        for metric, bucket, bh_bucket, n in (await core(s, stmt)).all():
            histogram.merge(out[metric][0], [(bucket, n)])
            histogram.merge(out[metric][1], [(bh_bucket, n)])
    return out


async def percentiles(
    s: AsyncSession, scope: Scope, counts: Mapping[str, int], ps: Sequence[float] = (0.5, 0.9)
) -> dict[str, dict[str, Any]]:
    """p50 and p90 (and their business-hours variants) of each metric whose sample count
    is given: exact when it has at most ``histogram.EXACT_MAX_SAMPLES`` in range, else
    from the histograms (``exact`` says which)."""
    out: dict[str, dict[str, Any]] = {}
    many = [m for m, n in counts.items() if n > histogram.EXACT_MAX_SAMPLES]
    for m, n in counts.items():
        if m not in many:
            out[m] = {**await exact_percentiles(s, scope, m, ps, n=n), "exact": True}
    for m, (secs, bh) in (await histograms(s, scope, many)).items():
        out[m] = {
            **histogram.percentiles(secs, ps),
            **histogram.percentiles(bh, ps, "_business"),
            "exact": False,
        }
    return out


def _avg(total: float, count: float) -> float | None:
    return round(total / count, 3) if count else None


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _n(value: Any) -> int | None:
    return None if value is None else int(value)


def figures(t: Mapping[str, Any]) -> dict[str, Any]:
    """The headline figures of one totals row (stable names: docs/reports.md)."""
    return {
        "conversations": int(t["conversations"]),
        "inbound_messages": _n(t["inbound"]),
        "outbound_messages": _n(t["outbound"]),
        "agent_replies": _n(t["agent_replies"]),
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
        "offers": _n(t["offers"]),
        "offers_missed": _n(t["offers_missed"]),
        "handled": int(t["handled"]),
        "surveys_sent": _n(t["surveys_sent"]),
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
    ranks = await percentiles(s, scope, {m: int(t[f"{m}_count"]) for m in DURATIONS.values()})
    for name, metric in DURATIONS.items():
        out[name] = {**_duration_avgs(t, metric), **ranks[metric]}
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


async def table(s: AsyncSession, scope: Scope, by: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per team, agent or channel: the headline figures and average durations; per
    agent also their time (presence, busy, handle: occupancy and utilisation)."""
    column = {"team": "team_id", "agent": "agent_id", "channel": "channel"}[by]
    rows = await totals(s, scope, (column,))
    per_agent = by == "agent" and scope.conversations is None  # time is not per customer
    times = await agent_time(s, scope, now) if per_agent else {}
    if times:
        have = {r["agent_id"] for r in rows}
        rows += [{"agent_id": a, **dict.fromkeys(ALL_SUMS, 0)} for a in sorted(times) if a not in have]
    out = []
    for t in sorted(rows, key=lambda r: (r[column] in (0, None), r[column] or 0)):
        value = t[column]
        row = {column: (value or None) if column != "channel" else value, **figures(t)}
        for name, metric in DURATIONS.items():
            row[name] = _duration_avgs(t, metric)
        if per_agent and value:
            row.update(_agent_figures(t, times.get(value, {})))
        out.append(row)
    return out


def _agent_figures(t: Mapping[str, Any], time: Mapping[str, float]) -> dict[str, Any]:
    signed_in = time.get("signed_in_s", 0.0)
    return {
        "signed_in_seconds": round(signed_in, 3),
        "presence_seconds": {
            state: round(time.get(column, 0.0), 3) for state, column in PRESENCE_COLUMN.items()
        },
        "busy_seconds": round(time.get("busy_s", 0.0), 3),
        "handle_seconds_total": round(float(t["handle_s"]), 3),
        # share of signed-in time with at least one conversation
        "occupancy": _share(time.get("busy_s", 0.0), signed_in),
        # conversation-time held (concurrent ones add up) per signed-in second
        "utilisation": _share(float(t["handle_s"]), signed_in),
    }


TIME_COLUMNS = ("signed_in_s", "busy_s", *PRESENCE_COLUMN.values())


async def _scope_agents(s: AsyncSession, scope: Scope) -> list[int] | None:
    """The agents whose time a scope covers (None: everyone)."""
    if scope.agent_id is not None:
        return [scope.agent_id]
    if scope.team_ids is None:
        return None
    rows = await s.exec(
        select(TeamMember.user_id).where(col(TeamMember.team_id).in_(scope.team_ids)).distinct()
    )
    return sorted(rows.all())


async def agent_time(
    s: AsyncSession, scope: Scope, now: datetime | None = None
) -> dict[int, dict[str, float]]:
    """Seconds per agent in each presence state, signed in and busy, over the range:
    closed intervals from the rollups plus the open ones (from the fold's state) up to
    ``now``. Presence is not per team or channel: a supervisor sees their teams' members."""
    agents = await _scope_agents(s, scope)
    lo, hi = scope.slots
    where = [_slots.c.slot >= lo, _slots.c.slot < hi, _slots.c.team_id == 0, _slots.c.channel == ""]
    if agents is not None:
        where.append(_slots.c.agent_id.in_(agents))
    stmt = (
        sa.select(_slots.c.agent_id, *(sa.func.sum(_slots.c[c]).label(c) for c in TIME_COLUMNS))
        .where(*where, _slots.c.agent_id != 0)
        .group_by(_slots.c.agent_id)
    )
    out: dict[int, dict[str, float]] = {}
    for r in (await core(s, stmt)).all():
        m = r._mapping
        if any(m[c] for c in TIME_COLUMNS):
            out[int(m["agent_id"])] = {c: float(m[c] or 0) for c in TIME_COLUMNS}
    if now is None:
        return out
    start, end = slot_start(lo), min(slot_start(hi), ensure_utc(now))
    state = select(ReportAgentState)
    if agents is not None:
        state = state.where(col(ReportAgentState.agent_id).in_(agents))
    for a in (await s.exec(state)).all():
        acc = out.setdefault(a.agent_id, dict.fromkeys(TIME_COLUMNS, 0.0))
        if a.presence != "offline" and a.presence_since is not None:
            secs = _overlap(a.presence_since, start, end)
            acc["signed_in_s"] += secs
            if a.presence in PRESENCE_COLUMN:
                acc[PRESENCE_COLUMN[a.presence]] += secs
        if a.busy_since is not None:
            acc["busy_s"] += _overlap(a.busy_since, start, end)
    return {k: v for k, v in out.items() if any(v.values())}


def _overlap(since: datetime, start: datetime, end: datetime) -> float:
    return max(0.0, (end - max(ensure_utc(since), start)).total_seconds())


async def breakdown(
    s: AsyncSession,
    actor: Actor,
    scope: Scope,
    by: str,
    *,
    is_sqlite: bool,
    region: str | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The headline figures per category, tier, tag (the most used in the range) or
    segment (those the reader may see), each from that dimension's conversations."""
    from hub.models import Category, Segment, Tier

    keys: list[tuple[str, str]]  # (key, label)
    if by == "category":
        keys = [(c.value, c.value) for c in Category]
    elif by == "tier":
        tiers = (await s.exec(select(Tier).where(Tier.active).order_by(col(Tier.position)))).all()
        keys = [(t.key, t.label_en) for t in tiers]
    elif by == "tag":
        keys = [(t, t) for t in await _top_tags(s, scope, is_sqlite, limit)]
    elif by == "segment":
        from hub.services import segments

        segs: Sequence[Segment] = (await segments.list_segments(s, actor))[:limit]
        keys = [(str(g.id), g.name) for g in segs]
    else:
        raise Invalid(f"by is one of {', '.join(DIMENSIONS)}", code="bad_dimension")
    out = []
    for key, label in keys:
        narrowed = await dimension_scope(
            s,
            actor,
            scope,
            segment_id=int(key) if by == "segment" else None,
            tier=key if by == "tier" else None,
            tag=key if by == "tag" else None,
            category=key if by == "category" else None,
            is_sqlite=is_sqlite,
            region=region,
        )
        (t,) = await totals(s, narrowed)
        row = {"key": key, "label": label, **figures(t)}
        for name, metric in DURATIONS.items():
            row[name] = _duration_avgs(t, metric)
        out.append(row)
    return out


async def _top_tags(s: AsyncSession, scope: Scope, is_sqlite: bool, limit: int) -> list[str]:
    lo, hi = scope.slots
    cv = _convs
    fn: Any = (
        sa.func.json_each(cv.c.tags)
        if is_sqlite
        else sa.func.jsonb_array_elements_text(sa.cast(cv.c.tags, sa.dialects.postgresql.JSONB))
    )
    elems = fn.table_valued("value")
    tag = elems.c.value
    source: Any = cv.join(elems, sa.true())
    where = [cv.c.created_at >= slot_start(lo), cv.c.created_at < slot_start(hi)]
    if scope.team_ids is not None:
        where.append(cv.c.team_id.in_(scope.team_ids))
    if scope.channel is not None:
        where.append(cv.c.channel == scope.channel)
    stmt = (
        sa.select(tag, sa.func.count().label("n"))
        .select_from(source)
        .where(*where)
        .group_by(tag)
        .order_by(sa.desc("n"), tag)
        .limit(limit)
    )
    return [str(r[0]) for r in (await core(s, stmt)).all()]


# -- for workforce planning (hub.reports.forecast / staffing) ---------------------------


async def handle_and_patience(
    s: AsyncSession, team_id: int, since: datetime, until: datetime
) -> tuple[float | None, float | None]:
    """The team's mean handle seconds and the mean wait of its abandoned customers."""
    lo, hi = slot_of(since), math.ceil(ensure_utc(until).timestamp() / SLOT_SECONDS)
    stmt = (
        sa.select(_samples.c.metric, sa.func.avg(_samples.c.seconds))
        .where(
            _samples.c.team_id == team_id,
            _samples.c.slot >= lo,
            _samples.c.slot < hi,
            _samples.c.metric.in_(["handle", "aban"]),
        )
        .group_by(_samples.c.metric)
    )
    found = {m: float(v) for m, v in (await core(s, stmt)).all() if v is not None}
    return found.get("handle"), found.get("aban")


async def signed_in_by_slot(
    s: AsyncSession, agent_ids: Sequence[int], since_slot: int, until_slot: int
) -> dict[int, float]:
    """The average number of these agents signed in, per half hour (closed intervals)."""
    if not agent_ids:
        return {}
    stmt = (
        sa.select(_slots.c.slot, sa.func.sum(_slots.c.signed_in_s))
        .where(
            _slots.c.slot >= since_slot,
            _slots.c.slot < until_slot,
            _slots.c.team_id == 0,
            _slots.c.channel == "",
            _slots.c.agent_id.in_(list(agent_ids)),
        )
        .group_by(_slots.c.slot)
    )
    return {int(slot): float(v or 0) / SLOT_SECONDS for slot, v in (await core(s, stmt)).all() if v}


# -- drill-down: the conversations behind a figure ------------------------------------

DRILL = ("conversations", "answered", "answered_late", "resolved", "reopened", "transferred", "abandoned")
_SAMPLE_DRILL = {"answered": "fat", "answered_late": "fat", "resolved": "res", "abandoned": "aban"}
_EVENT_DRILL = {
    "conversations": "conversation.created",  # by the team it arrived in, as counted
    "reopened": "conversation.reopened",
    "transferred": "conversation.transferred",
}


async def drill(
    s: AsyncSession, scope: Scope, metric: str, limit: int, after: int | None
) -> tuple[list[int], int | None]:
    """Ids of the conversations counted in ``metric`` over the scope, newest first,
    ``limit`` per page (``after``: the cursor, a conversation id)."""
    if metric not in DRILL:
        raise Invalid(f"metric is one of {', '.join(DRILL)}", code="bad_metric")
    lo, hi = scope.slots
    if metric in _SAMPLE_DRILL:
        where = [*_where(_samples, scope), _samples.c.metric == _SAMPLE_DRILL[metric]]
        if metric == "answered_late":
            where.append(sa.not_(_samples.c.in_target))
        ids_q: Any = sa.select(_samples.c.conversation_id.label("cid")).where(*where)
    else:
        ev = EventLog.__table__  # type: ignore[attr-defined]
        where = [
            ev.c.type == _EVENT_DRILL[metric],
            ev.c.ts >= slot_start(lo),
            ev.c.ts < slot_start(hi),
        ]
        if scope.team_ids is not None:
            where.append(ev.c.team_id.in_(scope.team_ids))
        if scope.agent_id is not None:
            where.append(ev.c.user_id == scope.agent_id)
        if scope.channel is not None:
            where.append(
                ev.c.conversation_id.in_(sa.select(_convs.c.id).where(_convs.c.channel == scope.channel))
            )
        ids_q = sa.select(ev.c.conversation_id.label("cid")).where(*where)
    sub = ids_q.subquery()
    stmt = sa.select(sub.c.cid).distinct().order_by(sub.c.cid.desc()).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(sub.c.cid < after)
    if scope.conversations is not None:
        stmt = stmt.where(sub.c.cid.in_(scope.conversations))
    ids = [int(r[0]) for r in (await core(s, stmt)).all() if r[0] is not None]
    more = len(ids) > limit
    ids = ids[:limit]
    return ids, (ids[-1] if more and ids else None)


MAX_SERIES = 8


def parse_metrics(raw: str | Sequence[str]) -> list[str]:
    """``a,b,c`` or a list (of such): the named series, each once, in order."""
    items = [raw] if isinstance(raw, str) else list(raw)
    names: list[str] = []
    for item in items:
        for name in item.split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    if not names:
        raise Invalid("name at least one metric", code="bad_metric")
    if len(names) > MAX_SERIES:
        raise Invalid(f"at most {MAX_SERIES} metrics per request", code="bad_metric")
    for name in names:
        if name not in SERIES:
            raise Invalid(f"metric is one of {', '.join(SERIES)}", code="bad_metric")
    return names


async def timeseries(
    s: AsyncSession, scope: Scope, metric: str | Sequence[str], group_by: str, timezone: str
) -> list[dict[str, Any]]:
    """One value per hour, day, week (from Monday) or month in ``timezone``: a ``value``
    per point for one metric; for several (``a,b`` or a list), one key per metric. The
    sources the metrics need are read once for all of them."""
    metrics = parse_metrics(metric)
    if group_by not in GROUPS:
        raise Invalid(f"group_by is one of {', '.join(GROUPS)}", code="bad_group")
    try:
        zone = tz_zone(timezone)
    except ValueError:
        raise Invalid(f"unknown time zone {timezone!r}", code="bad_timezone") from None
    need = frozenset().union(*(SERIES_SOURCES[m][0] for m in metrics))
    columns = sorted({c for m in metrics for c in SERIES_SOURCES[m][1]})
    lo, keys, runs = _bucket_runs(scope, zone, lambda local: _bucket(local, group_by))
    rows = await totals(s, scope, ("slot",), need, columns, runs)
    buckets: dict[datetime, dict[str, float]] = {}
    # the columns read (the others are 0); under a dimension filter, every one
    added = ALL_SUMS if scope.conversations is not None else (*columns, "answered")
    for t in sorted(rows, key=lambda r: int(r["slot"])):
        start = keys[int(t["slot"]) - lo]
        acc = buckets.setdefault(start, dict.fromkeys(ALL_SUMS, 0.0))
        for c in added:
            acc[c] += float(t[c] or 0)
    unknown = {
        m
        for m in metrics
        if scope.conversations is not None and m in ("inbound_messages", "outbound_messages")
    }
    out = []
    for start in sorted(buckets):
        values = {m: None if m in unknown else value_of(m, buckets[start]) for m in metrics}
        if len(metrics) == 1:
            out.append({"start": start.isoformat(), "value": values[metrics[0]]})
        else:
            out.append({"start": start.isoformat(), **values})
    return out


async def heatmap(
    s: AsyncSession, scope: Scope, timezone: str, metric: str = "conversations"
) -> list[list[int]]:
    """Arrivals by day of week (Monday first) × hour of day in ``timezone``: 7 rows of 24."""
    if metric not in ("conversations", "inbound"):
        raise Invalid("metric is conversations or inbound", code="bad_metric")
    try:
        zone = tz_zone(timezone)
    except ValueError:
        raise Invalid(f"unknown time zone {timezone!r}", code="bad_timezone") from None
    grid = [[0] * 24 for _ in range(7)]
    # Every agent's arrivals, whatever the customer dimension (arrivals are not per customer).
    plain = replace(scope, conversations=None)
    lo, keys, runs = _bucket_runs(plain, zone, lambda local: (local.weekday(), local.hour))
    for t in await totals(s, plain, ("slot",), frozenset({"slots"}), [metric], runs):
        weekday, hour = keys[int(t["slot"]) - lo]
        grid[weekday][hour] += int(t[metric] or 0)
    return grid


def _bucket_runs(scope: Scope, zone: Any, key: Any) -> tuple[int, list[Any], list[tuple[int, int]]]:
    """The bucket key of every slot of the scope (by its local start, as always) and the
    runs of consecutive slots with the same key: a whole UTC hour or day inside a run
    can be read from ``report_hour`` or ``report_day`` without changing any bucket."""
    lo, hi = scope.slots
    keys = [key(datetime.fromtimestamp(slot * SLOT_SECONDS, zone)) for slot in range(lo, hi)]
    runs: list[tuple[int, int]] = []
    start = lo
    for i in range(1, len(keys)):
        if keys[i] != keys[i - 1]:
            runs.append((start, lo + i))
            start = lo + i
    if lo < hi:
        runs.append((start, hi))
    return lo, keys, runs


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


# What each series reads: (sources, columns of the rollup).
SERIES_SOURCES: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "conversations": (frozenset({"slots"}), ("conversations",)),
    "inbound_messages": (frozenset({"slots"}), ("inbound",)),
    "outbound_messages": (frozenset({"slots"}), ("outbound",)),
    "resolved": (frozenset({"slots"}), ("resolved",)),
    "service_level": (frozenset({"slots"}), ("fat_count", "answered_in_sl", "abandoned_late")),
    "csat_average": (frozenset({"slots"}), ("csat_count", "csat_sum")),
    "first_response_avg": (frozenset({"slots"}), ("frt_count", "frt_sum")),
    "resolution_avg": (frozenset({"slots"}), ("res_count", "res_sum")),
}


def value_of(metric: str, t: Mapping[str, float]) -> float | None:
    """One series' value of a totals row: the same as its figure (``figures``)."""
    if metric not in SERIES:
        raise Invalid(f"metric is one of {', '.join(SERIES)}", code="bad_metric")
    if metric in ("conversations", "resolved"):
        return int(t[metric])
    if metric in ("inbound_messages", "outbound_messages"):
        return _n(t[metric.split("_")[0]])
    if metric == "service_level":
        return _share(t["answered_in_sl"], t["answered"] + t["abandoned_late"])
    if metric == "csat_average":
        return _avg(t["csat_sum"], t["csat_count"])
    if metric == "first_response_avg":
        return _avg(t["frt_sum"], t["frt_count"])
    return _avg(t["res_sum"], t["res_count"])  # resolution_avg


# -- verbatims: what customers wrote ----------------------------------------------------


def _verbatim_cursor(raw: str | None) -> tuple[datetime, int] | None:
    if raw is None:
        return None
    try:
        micros, _, sid = raw.partition("_")
        return datetime.fromtimestamp(int(micros) / 1e6, UTC), int(sid)
    except (ValueError, OverflowError, OSError):
        raise Invalid("cursor is not one this list gave", code="bad_cursor") from None


async def verbatims(
    s: AsyncSession, scope: Scope, kind: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Survey answers with a comment in range (by ``answered_at``), by the scope's team,
    channel and agent (the survey's) and dimension (its conversation), newest answer
    first; ``cursor``: ``next_cursor`` of the previous page."""
    from hub.models import Contact

    after = _verbatim_cursor(cursor)
    since, until = slot_start(scope.slots[0]), slot_start(scope.slots[1])
    sr = _surveys
    contact = Contact.__table__  # type: ignore[attr-defined]
    where = [
        sr.c.answered_at >= since,
        sr.c.answered_at < until,
        sr.c.score.is_not(None),
        sr.c.comment.is_not(None),
        sa.func.trim(sr.c.comment) != "",
    ]
    if kind is not None:
        where.append(sr.c.kind == kind)
    where += _survey_scope(scope)
    if after is not None:
        at, sid = after
        where.append(sa.or_(sr.c.answered_at < at, sa.and_(sr.c.answered_at == at, sr.c.id < sid)))
    stmt = (
        sa.select(
            *(sr.c[c] for c in ("id", "kind", "score", "comment", "answered_at", "channel", "team_id")),
            *(sr.c[c] for c in ("agent_id", "conversation_id", "contact_id", "low_score")),
            contact.c.name.label("contact_name"),
        )
        .select_from(sr.outerjoin(contact, contact.c.id == sr.c.contact_id))
        .where(*where)
        .order_by(sr.c.answered_at.desc(), sr.c.id.desc())
        .limit(limit + 1)
    )
    rows = [dict(r._mapping) for r in (await core(s, stmt)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    for r in rows:
        r["answered_at"] = ensure_utc(r["answered_at"])
        r["low_score"] = bool(r["low_score"])
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = f"{round(last['answered_at'].timestamp() * 1e6)}_{last['id']}"
    return rows, next_cursor
