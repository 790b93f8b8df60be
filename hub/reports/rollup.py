"""The ``reports`` projection: what happened, per half hour × team × channel × agent.

A half hour is the *slot* (seconds since the epoch ÷ 1800). Two kinds of figures:

- **Counts of events** (new conversations, inbound and outbound messages, agent
  replies, resolutions, reopenings, transfers, surveys sent) are *folded*: each event
  adds one to its row of ``report_slot`` in the transaction that moves the checkpoint,
  so each is counted exactly once, at its commit time, for the team and agent in its
  envelope (where the conversation was *then*). A resolution also adds a ``res``
  duration sample. Folding costs the same per event however busy the half hour is.
- **Moments written once on a conversation** — its first assignment (and whether it
  was within target) and its first response — are ``fat`` and ``frt`` samples
  *recomputed* from the conversation's row whenever an event about it may have changed
  them (an assignment, a transfer, a reply), attributed to its current team, channel
  and assignee.

Survey answers are read from their own rows at report time (``survey_request``).
``switchboard reports rebuild`` empties the tables and folds the whole event log again
under the checkpoint lock: the same figures (a property test checks it). Definitions:
docs/reports.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import SLOT_SECONDS, Conversation, EventLog, ReportSample, ReportSlot, Team
from hub.projections import LoggedEvent, core
from hub.reports import agents as agent_fold
from hub.timeutil import ensure_utc
from routing import hours

_slots = ReportSlot.__table__  # type: ignore[attr-defined]
_samples = ReportSample.__table__  # type: ignore[attr-defined]

COUNTERS = (
    "conversations",
    "inbound",
    "outbound",
    "agent_replies",
    "resolved",
    "reopened",
    "transfers",
    "surveys_sent",
    *agent_fold.COUNTS,
    *agent_fold.SECONDS,
)
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
    | agent_fold.EVENTS
)
REBUILD_BATCH = 5_000


def slot_of(at: datetime) -> int:
    return int(ensure_utc(at).timestamp()) // SLOT_SECONDS


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)


Key = tuple[int, int, str, int]  # slot, team (0: none), channel, agent (0: none)


def _key(at: datetime, team: Any, channel: Any, agent: Any) -> Key:
    return slot_of(at), int(team or 0), str(channel or ""), int(agent or 0)


class ReportsProjection:
    """A folding consumer of the event log (see :class:`hub.projections.Reactor`), with
    a rebuild: ``rebuild_from_log`` runs when its checkpoint is first made or rebuilt."""

    name = "reports"
    rebuildable = True

    def __init__(self, sqlite: bool) -> None:
        self._insert = sqlite_insert if sqlite else pg_insert

    async def apply(self, uow: Any, events: Sequence[LoggedEvent], now: datetime) -> None:
        await self.fold(uow.session, events)

    async def fold(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> None:
        counts: dict[Key, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
        resolved: list[LoggedEvent] = []
        touched: set[int] = set()
        timed: list[dict[str, Any]] = []

        def add(key: Key, column: str, value: float) -> None:
            counts[key][column] += value

        agents = agent_fold.AgentFold(add, timed.append)
        await agents.load(s, events)
        for e in events:
            agents.fold(e)
            p = e.payload or {}
            channel = p.get("channel")
            if e.type == "conversation.created":
                counts[_key(e.ts, _team(e), channel, None)]["conversations"] += 1
            elif e.type == "message.received":
                counts[_key(e.ts, _team(e), channel, _user(e))]["inbound"] += 1
            elif e.type == "message.created" and p.get("direction") == "outbound":
                agent = p.get("author_id") if p.get("author_type") == "agent" else None
                row = counts[_key(e.ts, _team(e), channel, agent)]
                row["outbound"] += 1
                row["agent_replies"] += 1 if agent is not None else 0
                if agent is not None and e.conversation_id is not None:
                    touched.add(e.conversation_id)  # may be the first response
            elif e.type == "conversation.resolved":
                counts[_key(e.ts, _team(e), channel, _user(e))]["resolved"] += 1
                resolved.append(e)
            elif e.type == "conversation.reopened":
                counts[_key(e.ts, _team(e), channel, _user(e))]["reopened"] += 1
            elif e.type == "conversation.transferred":
                counts[_key(e.ts, _team(e), channel, _user(e))]["transfers"] += 1
            elif e.type == "survey.sent":
                counts[_key(e.ts, p.get("team_id"), channel, p.get("agent_id"))]["surveys_sent"] += 1
            if e.type.startswith("conversation.") and e.conversation_id is not None:
                touched.add(e.conversation_id)  # assignment, team or assignee may have changed
        await agents.save(s)
        if counts:
            await self._add(s, counts)
        calendars = await _calendars(s) if resolved or touched or timed else {}
        if resolved:
            await _resolution_samples(s, resolved, calendars, agents.first_contact)
        if timed:
            await _timed_samples(s, timed, calendars)
        if agents.reopened:  # a reopened conversation was not resolved at first contact
            await core(
                s,
                sa.update(_samples)
                .where(_samples.c.conversation_id.in_(sorted(agents.reopened)), _samples.c.metric == "res")
                .values(in_target=False),
            )
        if touched:
            await recompute_conversations(s, sorted(touched), calendars)

    async def _add(self, s: AsyncSession, counts: dict[Key, dict[str, float]]) -> None:
        rows = [
            {"slot": k[0], "team_id": k[1], "channel": k[2], "agent_id": k[3], **v}
            for k, v in sorted(counts.items())
        ]
        stmt = self._insert(_slots)
        stmt = stmt.on_conflict_do_update(
            index_elements=["slot", "team_id", "channel", "agent_id"],
            set_={c: _slots.c[c] + stmt.excluded[c] for c in COUNTERS},
        )
        await core(s, stmt, rows)

    async def rebuild_from_log(self, s: AsyncSession, upto: int) -> None:
        """Empty the rollups and fold every event up to ``upto`` (the checkpoint)."""
        await core(s, sa.delete(_slots))
        await core(s, sa.delete(_samples))
        await agent_fold.clear(s)
        after = 0
        while True:
            rows = (
                await s.exec(
                    select(EventLog)
                    .where(
                        col(EventLog.id) > after,
                        col(EventLog.id) <= upto,
                        col(EventLog.type).in_(sorted(COUNTED | CHANGES)),
                    )
                    .order_by(col(EventLog.id))
                    .limit(REBUILD_BATCH)
                )
            ).all()
            if not rows:
                break
            await self.fold(
                s,
                [
                    LoggedEvent(r.id or 0, r.type, r.ts, r.conversation_id, r.payload, r.team_id, r.user_id)
                    for r in rows
                ],
            )
            after = rows[-1].id or after

    async def fire_due(self, uow: Any, now: datetime, limit: int) -> int:
        return 0

    async def next_due(self, s: AsyncSession) -> datetime | None:
        return None


# Conversation events that change no count but may move a first assignment or its team.
CHANGES = frozenset({"conversation.assigned", "conversation.queued", "conversation.updated"})


def _team(e: LoggedEvent) -> int | None:
    """The envelope's team as committed (conversation events repeat it in the payload)."""
    return e.team_id


def _user(e: LoggedEvent) -> int | None:
    return e.user_id


async def _calendars(s: AsyncSession) -> dict[int, dict[str, Any]]:
    return {t.id or 0: dict(t.business_hours or {}) for t in (await s.exec(select(Team))).all()}


def _business(calendars: dict[int, dict[str, Any]], team: int, a: datetime, b: datetime) -> float:
    return hours.open_seconds_between(calendars.get(team) or {}, a, b)


def _sample(
    metric: str, key: Key, conversation_id: int, seconds: float, business: float, in_target: bool = False
) -> dict[str, Any]:
    slot, team, channel, agent = key
    return {
        "metric": metric,
        "slot": slot,
        "team_id": team,
        "channel": channel,
        "agent_id": agent,
        "conversation_id": conversation_id,
        "seconds": max(0.0, seconds),
        "business_seconds": max(0.0, business),
        "in_target": in_target,
    }


async def _timed_samples(
    s: AsyncSession, timed: Sequence[dict[str, Any]], calendars: dict[int, dict[str, Any]]
) -> None:
    """Handle-time and abandonment samples: an interval ending at ``at``."""
    rows = []
    for t in timed:
        end = ensure_utc(t["at"])
        start = end - timedelta(seconds=t["seconds"])
        key = _key(end, t["team_id"], t["channel"], t["agent_id"])
        rows.append(
            _sample(
                t["metric"], key, t["conversation_id"], t["seconds"], _business(calendars, key[1], start, end)
            )
        )
    await core(s, sa.insert(_samples), rows)


async def _resolution_samples(
    s: AsyncSession,
    resolved: Sequence[LoggedEvent],
    calendars: dict[int, dict[str, Any]],
    first_contact: dict[int, bool],
) -> None:
    ids = sorted({e.conversation_id for e in resolved if e.conversation_id is not None})
    created = dict(
        (
            await s.exec(
                select(Conversation.id, Conversation.created_at).where(col(Conversation.id).in_(ids))
            )
        ).all()
    )
    rows = []
    for e in resolved:
        start = created.get(e.conversation_id)
        if start is None or e.conversation_id is None:
            continue
        start, end = ensure_utc(start), ensure_utc(e.ts)
        key = _key(end, _team(e), e.payload.get("channel"), _user(e))
        rows.append(
            _sample(
                "res",
                key,
                e.conversation_id,
                (end - start).total_seconds(),
                _business(calendars, key[1], start, end),
                first_contact.get(e.id, False),
            )
        )
    if rows:
        await core(s, sa.insert(_samples), rows)


async def recompute_conversations(
    s: AsyncSession, ids: Collection[int], calendars: dict[int, dict[str, Any]]
) -> None:
    """The first-assignment and first-response samples of these conversations, from
    their rows (attributed to their current team, channel and assignee)."""
    await core(
        s,
        sa.delete(_samples).where(
            _samples.c.conversation_id.in_(list(ids)), _samples.c.metric.in_(["fat", "frt"])
        ),
    )
    convs = (await s.exec(select(Conversation).where(col(Conversation.id).in_(list(ids))))).all()
    rows = []
    for c in convs:
        if c.id is None:
            continue
        start = ensure_utc(c.created_at)
        answered = c.first_assigned_at is not None and (
            # a caller who hung up in the queue and was called back was not answered
            c.abandoned_at is None or ensure_utc(c.first_assigned_at) <= ensure_utc(c.abandoned_at)
        )
        if answered and c.first_assigned_at is not None:
            at = ensure_utc(c.first_assigned_at)
            key = _key(at, c.team_id, c.channel, c.assignee_id)
            in_target = c.sla_due_at is None or at <= ensure_utc(c.sla_due_at)
            rows.append(
                _sample(
                    "fat",
                    key,
                    c.id,
                    (at - start).total_seconds(),
                    _business(calendars, key[1], start, at),
                    in_target,
                )
            )
        if c.first_response_at is not None:
            at = ensure_utc(c.first_response_at)
            key = _key(at, c.team_id, c.channel, c.assignee_id)
            rows.append(
                _sample(
                    "frt", key, c.id, (at - start).total_seconds(), _business(calendars, key[1], start, at)
                )
            )
    if rows:
        await core(s, sa.insert(_samples), rows)
