"""The ``reports`` projection: counters per half hour × team × channel × agent.

Keyed by *slot* (seconds since the epoch ÷ 1800). An event touches the slot it was
committed in, and — for events about a conversation — the slots of that conversation's
first assignment and first response (their team and agent follow the conversation).
Recomputing a slot rebuilds all its rows from two immutable or stable sources:

- **the event log** (counts of what happened, attributed to the team and agent in the
  event's envelope when it was committed): new conversations, inbound and outbound
  messages, resolutions (and their durations), reopenings, transfers, surveys sent;
- **the rows** (moments written once): a conversation's first assignment and first
  response (attributed to its current team, channel and assignee), survey answers
  (to the survey's team, channel and agent).

So a slot recomputed now equals the slot recomputed by ``switchboard projections
rebuild reports`` later. Definitions: docs/reports.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import SLOT_SECONDS, Conversation, EventLog, ReportSample, ReportSlot, SurveyRequest, Team
from hub.projections import LoggedEvent, core
from hub.timeutil import ensure_utc
from routing import hours

_slots = ReportSlot.__table__  # type: ignore[attr-defined]
_samples = ReportSample.__table__  # type: ignore[attr-defined]

COUNTED = frozenset(
    {
        "conversation.created",
        "message.received",
        "message.created",
        "conversation.resolved",
        "conversation.reopened",
        "conversation.transferred",
        "survey.sent",
    }
)
# Events whose slot may hold a row-based figure (an answer, a first assignment).
TOUCHING = COUNTED | {
    "survey.answered",
    "conversation.assigned",
    "conversation.updated",
    "conversation.queued",
}


def slot_of(at: datetime) -> int:
    return int(ensure_utc(at).timestamp()) // SLOT_SECONDS


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)


Key = tuple[int, int | None, str, int | None]  # slot, team, channel, agent


@dataclass
class _Acc:
    rows: dict[Key, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    samples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, key: Key, **values: float) -> None:
        row = self.rows[key]
        for name, v in values.items():
            row[name] += v

    def sample(self, metric: str, key: Key, conversation_id: int, seconds: float, business: float) -> None:
        slot, team, channel, agent = key
        self.samples.append(
            {
                "metric": metric,
                "slot": slot,
                "team_id": team,
                "channel": channel,
                "agent_id": agent,
                "conversation_id": conversation_id,
                "seconds": max(0.0, seconds),
                "business_seconds": max(0.0, business),
            }
        )
        prefix = {"frt": "frt", "fat": "fat", "res": "res"}[metric]
        self.add(
            key,
            **{
                f"{prefix}_count": 1,
                f"{prefix}_sum": max(0.0, seconds),
                f"{prefix}_bh_sum": max(0.0, business),
            },
        )


class ReportsProjection:
    name = "reports"

    async def affected(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> set[int]:
        keys: set[int] = set()
        conversations: set[int] = set()
        for e in events:
            if e.type not in TOUCHING and not e.type.startswith("conversation."):
                continue
            keys.add(slot_of(e.ts))
            if e.type == "survey.answered":
                keys.add(slot_of(e.ts - timedelta(seconds=1)))  # answered_at is read a moment before
            if e.conversation_id is not None:
                conversations.add(e.conversation_id)
        if conversations:
            rows = await s.exec(
                select(Conversation.first_assigned_at, Conversation.first_response_at).where(
                    col(Conversation.id).in_(sorted(conversations))
                )
            )
            for assigned, responded in rows.all():
                keys |= {slot_of(t) for t in (assigned, responded) if t is not None}
        return keys

    async def keys_after(self, s: AsyncSession, after: int, limit: int) -> list[int]:
        first, last = (await s.exec(select(sa.func.min(EventLog.ts), sa.func.max(EventLog.ts)))).one()
        if first is None or last is None:
            return []
        start = max(after + 1, slot_of(first))
        end = slot_of(last)
        return list(range(start, min(start + limit, end + 1)))

    async def due(self, s: AsyncSession, now: datetime, limit: int) -> list[int]:
        return []

    async def next_due(self, s: AsyncSession) -> datetime | None:
        return None

    async def recompute(self, s: AsyncSession, keys: Collection[int], now: datetime) -> None:
        slots = sorted(set(keys))
        if not slots:
            return
        await core(s, sa.delete(_slots).where(_slots.c.slot.in_(slots)))
        await core(s, sa.delete(_samples).where(_samples.c.slot.in_(slots)))
        wanted = set(slots)
        acc = _Acc()
        calendars = {t.id: dict(t.business_hours or {}) for t in (await s.exec(select(Team))).all()}
        for lo, hi in _runs(slots):
            t0, t1 = slot_start(lo), slot_start(hi + 1)
            await _from_events(s, acc, t0, t1, wanted, calendars)
            await _from_conversations(s, acc, t0, t1, wanted, calendars)
            await _from_surveys(s, acc, t0, t1, wanted)
        if acc.rows:
            await core(
                s,
                sa.insert(_slots),
                [
                    {"slot": k[0], "team_id": k[1], "channel": k[2], "agent_id": k[3], **_ints(v)}
                    for k, v in acc.rows.items()
                ],
            )
        if acc.samples:
            await core(s, sa.insert(_samples), acc.samples)


_FLOATS = {"frt_sum", "frt_bh_sum", "fat_sum", "fat_bh_sum", "res_sum", "res_bh_sum"}
COUNTERS = tuple(
    c.name for c in _slots.columns if c.name not in ("id", "slot", "team_id", "channel", "agent_id")
)


def _ints(values: dict[str, float]) -> dict[str, float | int]:
    """Every counter of a row (one executemany needs the same keys in each)."""
    return {k: (float(values.get(k, 0.0)) if k in _FLOATS else int(values.get(k, 0))) for k in COUNTERS}


def _runs(slots: Sequence[int]) -> Iterable[tuple[int, int]]:
    """Consecutive slots as (first, last) ranges: one query per range."""
    start = prev = slots[0]
    for n in slots[1:]:
        if n != prev + 1:
            yield start, prev
            start = n
        prev = n
    yield start, prev


def _business(
    calendars: dict[int | None, dict[str, Any]], team: int | None, a: datetime, b: datetime
) -> float:
    return hours.open_seconds_between(calendars.get(team) or {}, a, b)


async def _from_events(
    s: AsyncSession,
    acc: _Acc,
    t0: datetime,
    t1: datetime,
    wanted: set[int],
    calendars: dict[int | None, dict[str, Any]],
) -> None:
    rows = (
        await s.exec(
            select(EventLog).where(
                col(EventLog.ts) >= t0, col(EventLog.ts) < t1, col(EventLog.type).in_(sorted(COUNTED))
            )
        )
    ).all()
    resolved: list[EventLog] = []
    for e in rows:
        slot = slot_of(e.ts)
        if slot not in wanted:
            continue
        p = e.payload or {}
        channel = str(p.get("channel") or "")
        if e.type == "conversation.created":
            acc.add((slot, e.team_id, channel, None), conversations=1)
        elif e.type == "message.received":
            acc.add((slot, e.team_id, channel, e.user_id), inbound=1)
        elif e.type == "message.created" and p.get("direction") == "outbound":
            agent = p.get("author_id") if p.get("author_type") == "agent" else None
            acc.add(
                (slot, e.team_id, channel, agent), outbound=1, agent_replies=1 if agent is not None else 0
            )
        elif e.type == "conversation.resolved":
            acc.add((slot, e.team_id, channel, e.user_id), resolved=1)
            resolved.append(e)
        elif e.type == "conversation.reopened":
            acc.add((slot, e.team_id, channel, e.user_id), reopened=1)
        elif e.type == "conversation.transferred":
            acc.add((slot, e.team_id, channel, e.user_id), transfers=1)
        elif e.type == "survey.sent":
            acc.add((slot, p.get("team_id"), channel, p.get("agent_id")), surveys_sent=1)
    if resolved:
        created = dict(
            (
                await s.exec(
                    select(Conversation.id, Conversation.created_at).where(
                        col(Conversation.id).in_(
                            sorted({e.conversation_id for e in resolved if e.conversation_id})
                        )
                    )
                )
            ).all()
        )
        for e in resolved:
            start = created.get(e.conversation_id)
            if start is None or e.conversation_id is None:
                continue
            key = (slot_of(e.ts), e.team_id, str(e.payload.get("channel") or ""), e.user_id)
            acc.sample(
                "res",
                key,
                e.conversation_id,
                (ensure_utc(e.ts) - ensure_utc(start)).total_seconds(),
                _business(calendars, e.team_id, ensure_utc(start), ensure_utc(e.ts)),
            )


async def _from_conversations(
    s: AsyncSession,
    acc: _Acc,
    t0: datetime,
    t1: datetime,
    wanted: set[int],
    calendars: dict[int | None, dict[str, Any]],
) -> None:
    assigned = (
        await s.exec(
            select(Conversation).where(
                col(Conversation.first_assigned_at) >= t0, col(Conversation.first_assigned_at) < t1
            )
        )
    ).all()
    for c in assigned:
        at = ensure_utc(c.first_assigned_at)  # type: ignore[arg-type]
        slot = slot_of(at)
        if slot not in wanted or c.id is None:
            continue
        key = (slot, c.team_id, c.channel, c.assignee_id)
        in_sl = c.sla_due_at is None or at <= ensure_utc(c.sla_due_at)
        acc.add(key, answered=1, answered_in_sl=1 if in_sl else 0)
        start = ensure_utc(c.created_at)
        acc.sample("fat", key, c.id, (at - start).total_seconds(), _business(calendars, c.team_id, start, at))
    responded = (
        await s.exec(
            select(Conversation).where(
                col(Conversation.first_response_at) >= t0, col(Conversation.first_response_at) < t1
            )
        )
    ).all()
    for c in responded:
        at = ensure_utc(c.first_response_at)  # type: ignore[arg-type]
        slot = slot_of(at)
        if slot not in wanted or c.id is None:
            continue
        start = ensure_utc(c.created_at)
        key = (slot, c.team_id, c.channel, c.assignee_id)
        acc.sample("frt", key, c.id, (at - start).total_seconds(), _business(calendars, c.team_id, start, at))


async def _from_surveys(s: AsyncSession, acc: _Acc, t0: datetime, t1: datetime, wanted: set[int]) -> None:
    rows = (
        await s.exec(
            select(SurveyRequest).where(
                col(SurveyRequest.answered_at) >= t0,
                col(SurveyRequest.answered_at) < t1,
                col(SurveyRequest.score).is_not(None),
            )
        )
    ).all()
    for r in rows:
        slot = slot_of(r.answered_at)  # type: ignore[arg-type]
        if slot not in wanted or r.score is None:
            continue
        key = (slot, r.team_id, r.channel, r.agent_id)
        if r.kind == "csat":
            acc.add(key, csat_count=1, csat_sum=r.score, csat_satisfied=1 if r.score >= 4 else 0)
        elif r.kind == "nps":
            acc.add(
                key,
                nps_count=1,
                nps_promoters=1 if r.score >= 9 else 0,
                nps_detractors=1 if r.score <= 6 else 0,
            )
        elif r.kind == "ces":
            acc.add(key, ces_count=1, ces_sum=r.score)
