"""The agent side of the ``reports`` fold: time, not counts (docs/reports.md).

Folded from the event log in order, like the counts in :mod:`hub.reports.rollup`, with
two small state tables carried from batch to batch (and emptied by a rebuild):

- ``report_agent_state``: each agent's presence since when, and how many conversations
  they hold since when. A ``presence.changed`` closes the interval of the previous
  presence (``available_s``, ``busy_state_s``, ``away_s``, ``wrap_up_s``; all but
  offline add to ``signed_in_s``); the first conversation taken starts ``busy_s`` and
  giving back the last one ends it.
- ``report_conversation_state``: who holds each open conversation since when, and whether
  it was transferred or reopened. When the holder changes (assignment, transfer,
  resolution, release to the queue) the previous holder's interval is their
  *handle time* on it: ``handle_s`` (split over the half hours it spans), one ``handled``
  and one ``handle`` sample.

A conversation is *held* while its status is ``assigned`` or ``waiting_on_customer``
(a snoozed one is set aside, not worked). Offers: ``offer.created`` adds to ``offers``,
an offer rejected or expired to ``offers_missed``. Abandonments (``conversation.abandoned``)
add to ``abandoned`` (and ``abandoned_late`` past the target) with an ``aban`` sample of
how long the customer waited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import SLOT_SECONDS, ReportAgentState, ReportConversationState
from hub.projections import LoggedEvent, core
from hub.timeutil import ensure_utc

_agents = ReportAgentState.__table__  # type: ignore[attr-defined]
_convs = ReportConversationState.__table__  # type: ignore[attr-defined]

HOLDING = ("assigned", "waiting_on_customer")
CLOSED = ("resolved", "abandoned")
PRESENCE_COLUMN = {
    "available": "available_s",
    "busy": "busy_state_s",
    "away": "away_s",
    "wrap_up": "wrap_up_s",
}
SECONDS = ("handle_s", "busy_s", "signed_in_s", *PRESENCE_COLUMN.values())
COUNTS = ("abandoned", "abandoned_late", "offers", "offers_missed", "handled")
EVENTS = frozenset({"presence.changed", "offer.created", "offer.updated", "conversation.abandoned"})

Key = tuple[int, int, str, int]
Add = Callable[[Key, str, float], None]


def split(a: datetime, b: datetime) -> Iterator[tuple[int, float]]:
    """The seconds of [a, b) inside each half hour it touches."""
    start, end = ensure_utc(a).timestamp(), ensure_utc(b).timestamp()
    while start < end:
        slot = int(start // SLOT_SECONDS)
        stop = min(end, (slot + 1) * SLOT_SECONDS)
        yield slot, stop - start
        start = stop


def _slot(at: datetime) -> int:
    return int(ensure_utc(at).timestamp()) // SLOT_SECONDS


@dataclass(slots=True)
class _Agent:
    presence: str = "offline"
    presence_since: datetime | None = None
    load: int = 0
    busy_since: datetime | None = None


@dataclass(slots=True)
class _Conv:
    agent_id: int = 0
    since: datetime | None = None
    team_id: int = 0
    channel: str = ""
    transfers: int = 0
    reopened: bool = False


class AgentFold:
    """One batch: load the state it touches, fold the events, write the state back."""

    def __init__(self, add: Add, sample: Callable[[dict[str, Any]], None]) -> None:
        self._add = add
        self._sample = sample
        self.agents: dict[int, _Agent] = {}
        self.convs: dict[int, _Conv | None] = {}  # None: closed (row deleted)
        self.first_contact: dict[int, bool] = {}  # event id of a resolution -> first contact?
        self.reopened: set[int] = set()  # conversations whose earlier resolutions lose it

    async def load(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> None:
        agent_ids: set[int] = set()
        conv_ids: set[int] = set()
        for e in events:
            if e.type == "presence.changed":
                agent_ids.add(int(e.payload["user_id"]))
            elif e.type.startswith("conversation.") and e.conversation_id is not None:
                conv_ids.add(e.conversation_id)
        if conv_ids:
            rows = (
                await s.exec(
                    select(ReportConversationState).where(
                        col(ReportConversationState.conversation_id).in_(sorted(conv_ids))
                    )
                )
            ).all()
            for r in rows:
                self.convs[r.conversation_id] = _Conv(
                    r.agent_id, r.since, r.team_id, r.channel, r.transfers, r.reopened
                )
                if r.agent_id:
                    agent_ids.add(r.agent_id)
            for e in events:
                if e.type.startswith("conversation.") and e.payload.get("assignee_id"):
                    agent_ids.add(int(e.payload["assignee_id"]))
        if agent_ids:
            rows2 = (
                await s.exec(
                    select(ReportAgentState).where(col(ReportAgentState.agent_id).in_(sorted(agent_ids)))
                )
            ).all()
            for a in rows2:
                self.agents[a.agent_id] = _Agent(a.presence, a.presence_since, a.load, a.busy_since)

    def _agent(self, agent_id: int) -> _Agent:
        a = self.agents.get(agent_id)
        if a is None:
            a = self.agents[agent_id] = _Agent()
        return a

    def fold(self, e: LoggedEvent) -> None:
        p = e.payload or {}
        if e.type == "presence.changed":
            self._presence(int(p["user_id"]), str(p.get("presence") or "offline"), e.ts)
        elif e.type == "offer.created":
            self._add((_slot(e.ts), int(e.team_id or 0), "", int(p["user_id"])), "offers", 1)
        elif e.type == "offer.updated" and p.get("status") in ("rejected", "expired"):
            self._add((_slot(e.ts), int(e.team_id or 0), "", int(p["user_id"])), "offers_missed", 1)
        elif e.type.startswith("conversation.") and e.conversation_id is not None:
            self._conversation(e, p)

    def _presence(self, agent_id: int, presence: str, at: datetime) -> None:
        a = self._agent(agent_id)
        if a.presence_since is not None and a.presence != "offline":
            column = PRESENCE_COLUMN.get(a.presence)
            for slot, secs in split(a.presence_since, at):
                self._add((slot, 0, "", agent_id), "signed_in_s", secs)
                if column:
                    self._add((slot, 0, "", agent_id), column, secs)
        a.presence, a.presence_since = presence, at

    def _conversation(self, e: LoggedEvent, p: dict[str, Any]) -> None:
        cid = e.conversation_id
        assert cid is not None
        state = self.convs.get(cid)
        if state is None:
            state = _Conv()
        state.team_id = int(p.get("team_id") or 0)
        state.channel = str(p.get("channel") or "")
        status = str(p.get("status") or "")
        if e.type == "conversation.transferred":
            state.transfers += 1
        elif e.type == "conversation.reopened":
            state.reopened = True
            self.reopened.add(cid)
        elif e.type == "conversation.resolved":
            self.first_contact[e.id] = state.transfers == 0 and not state.reopened
        elif e.type == "conversation.abandoned":
            key = (_slot(e.ts), int(e.team_id or 0), state.channel, 0)
            self._add(key, "abandoned", 1)
            if p.get("late"):
                self._add(key, "abandoned_late", 1)
            self._sample(
                {
                    "metric": "aban",
                    "at": e.ts,
                    "team_id": key[1],
                    "channel": state.channel,
                    "agent_id": 0,
                    "conversation_id": cid,
                    "seconds": float(p.get("waited_seconds") or 0.0),
                    "in_target": bool(p.get("late")),  # for aban: after the target
                }
            )
        holder = int(p.get("assignee_id") or 0) if status in HOLDING else 0
        if holder != state.agent_id:
            if state.agent_id and state.since is not None:
                self._release(state, cid, e.ts)
            state.agent_id, state.since = holder, (e.ts if holder else None)
            if holder:
                a = self._agent(holder)
                a.load += 1
                if a.load == 1:
                    a.busy_since = e.ts
        self.convs[cid] = None if status in CLOSED else state

    def _release(self, state: _Conv, cid: int, at: datetime) -> None:
        agent = state.agent_id
        assert state.since is not None
        end_slot = 0
        for slot, secs in split(state.since, at):
            self._add((slot, state.team_id, state.channel, agent), "handle_s", secs)
            end_slot = slot
        if end_slot == 0:  # an empty interval still ended a handling
            end_slot = _slot(at)
        self._add((end_slot, state.team_id, state.channel, agent), "handled", 1)
        self._sample(
            {
                "metric": "handle",
                "at": at,
                "team_id": state.team_id,
                "channel": state.channel,
                "agent_id": agent,
                "conversation_id": cid,
                "seconds": (ensure_utc(at) - ensure_utc(state.since)).total_seconds(),
            }
        )
        a = self._agent(agent)
        a.load = max(0, a.load - 1)
        if a.load == 0 and a.busy_since is not None:
            for slot, secs in split(a.busy_since, at):
                self._add((slot, 0, "", agent), "busy_s", secs)
            a.busy_since = None

    async def save(self, s: AsyncSession) -> None:
        if self.agents:
            ids = sorted(self.agents)
            await core(s, sa.delete(_agents).where(_agents.c.agent_id.in_(ids)))
            await core(
                s,
                sa.insert(_agents),
                [
                    {
                        "agent_id": i,
                        "presence": a.presence,
                        "presence_since": a.presence_since,
                        "load": a.load,
                        "busy_since": a.busy_since,
                    }
                    for i, a in sorted(self.agents.items())
                ],
            )
        if self.convs:
            ids = sorted(self.convs)
            await core(s, sa.delete(_convs).where(_convs.c.conversation_id.in_(ids)))
            rows = [
                {
                    "conversation_id": i,
                    "agent_id": c.agent_id,
                    "since": c.since,
                    "team_id": c.team_id,
                    "channel": c.channel,
                    "transfers": c.transfers,
                    "reopened": c.reopened,
                }
                for i, c in sorted(self.convs.items())
                if c is not None
            ]
            if rows:
                await core(s, sa.insert(_convs), rows)


async def clear(s: AsyncSession) -> None:
    await core(s, sa.delete(_agents))
    await core(s, sa.delete(_convs))
