"""The routing decision core: pure, clock-free, O(log n) per event.

Data layout (see docs/routing.md for the full story):

* Waiting work is split into *queues*: one heap per (source team, channel,
  requirement signature, serving team). The serving team is the source team
  itself, or its overflow team once an item has waited `overflow_after`.
  Heap key = (r*t0 - base, t0, seq): with linear aging at rate r this orders
  exactly like the effective priority base + r*(now - t0) at any `now`, so
  entries never need re-keying. Changes (SLA urgency, manual priority,
  re-queue) push a fresh entry and bump the item's generation; stale entries
  are dropped lazily when they reach the top.
* Every queue keeps a heap of the agents able to serve it (member of the
  serving team, skills and language satisfied) that currently have spare
  capacity on its channel, ordered by the serving team's strategy key. An
  agent's entries carry its version; any change to the agent bumps it.
* A freed agent looks only at the heads of the queues it can serve; a new
  item looks only at the head of its queues' agent heaps.
* Timers (offer expiry, overflow, SLA urgency, sticky wait, re-offer cooldown,
  wrap-up, disconnect grace, offline re-queue) live in one heap with the same
  generation trick; `next_deadline()` exposes the earliest live one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from heapq import heapify, heappop, heappush
from typing import Any

from routing.model import (
    DEFAULT_CAPACITY,
    PRESENCES,
    AfterHours,
    AgentState,
    Assign,
    ConversationState,
    Decision,
    Offer,
    Overflowed,
    PresenceChanged,
    QueueStats,
    Requeued,
    RoutingError,
    TeamPolicy,
    Withdrawn,
    WorkItem,
)
from routing.strategies import Strategy, strategy_for

# Item states as small ints: compared on every heap peek.
WAITING, STICKY, OFFERED, ASSIGNED, DONE = range(5)
_STATE_NAMES = {WAITING: "waiting", STICKY: "sticky", OFFERED: "offered", ASSIGNED: "assigned"}

AVAILABLE, OFFLINE, AWAY, BUSY, WRAP_UP = "available", "offline", "away", "busy", "wrap_up"

Signature = tuple[tuple[tuple[str, int], ...], str | None]

# EWMA horizons for the live estimates.
ARRIVAL_RATE_HORIZON = 900.0  # seconds: arrival-rate memory (exponential decay time constant)
AHT_SMOOTHING = 0.1  # weight of a new handle-time sample


class _Agent:
    __slots__ = (
        "agent_id",
        "capacity",
        "conn_gen",
        "connected",
        "items",
        "languages",
        "last_activity",
        "last_offer_seq",
        "load",
        "missed",
        "offering",
        "offline_gen",
        "offline_since",
        "presence",
        "queues",
        "seq",
        "skills",
        "sticky",
        "teams",
        "total_load",
        "ver",
        "voice_blocks",
        "wrap_gen",
    )

    def __init__(self, agent_id: str, seq: int, now: float) -> None:
        self.agent_id = agent_id
        self.seq = seq
        self.presence = OFFLINE
        self.teams: frozenset[str] = frozenset()
        self.skills: dict[str, int] = {}
        self.languages: frozenset[str] = frozenset()
        self.capacity: dict[str, int] = dict(DEFAULT_CAPACITY)
        self.connected = True
        self.load: dict[str, int] = {}
        self.total_load = 0
        self.items: dict[str, _Item] = {}
        self.voice_blocks = 0  # held voice items whose policy blocks other channels
        self.last_activity = now
        self.last_offer_seq = 0
        self.ver = 0
        self.queues: dict[str, list[_Queue]] = {}  # channel -> queues this agent can serve
        self.conn_gen = 0
        self.wrap_gen = 0
        self.offline_gen = 0
        self.offline_since = now
        self.missed = 0
        self.offering = 0  # offers awaiting the agent's answer: at most one at a time
        self.sticky: dict[str, _Item] = {}  # items holding out for this agent

    def has_room(self, channel: str) -> bool:
        return (
            self.connected
            and self.presence == AVAILABLE
            and self.capacity.get(channel, 0) > self.load.get(channel, 0)
            and (channel == "voice" or not self.voice_blocks)
        )

    def can_take(self, channel: str) -> bool:
        """Room, and no offer awaiting an answer: offers come one at a time, so an agent
        never misses one they could not see (the next comes once this one is answered)."""
        return not self.offering and self.has_room(channel)

    def satisfies(self, sig: Signature) -> bool:
        skills, language = sig
        if language is not None and language not in self.languages:
            return False
        own = self.skills
        return all(own.get(name, 0) >= level for name, level in skills)


class _Item:
    __slots__ = (
        "agent",
        "assigned_at",
        "base",
        "blocks",
        "channel",
        "cid",
        "excluded",
        "gen",
        "overflowed",
        "priority",
        "queues",
        "rate",
        "seq",
        "sig",
        "state",
        "sticky_agent",
        "t0",
        "team_id",
        "urgent",
        "work",
    )

    def __init__(self, work: WorkItem, seq: int) -> None:
        self.work = work
        self.cid = work.conversation_id
        self.team_id = work.team_id
        self.channel = work.channel
        self.sig: Signature = (tuple(sorted(work.skills.items())), work.language)
        self.t0 = work.enqueued_at
        self.seq = seq
        self.priority = work.priority
        self.base = 0.0
        self.rate = 0.0
        self.state = DONE
        self.gen = 0
        self.agent: _Agent | None = None
        self.queues: list[_Queue] = []
        self.overflowed = False
        self.urgent = False
        self.excluded: dict[str, float] = {}
        self.sticky_agent: _Agent | None = None
        self.assigned_at = 0.0
        self.blocks = False  # holds its agent's other channels (voice, per policy)

    def rank(self, now: float) -> tuple[float, float, int]:
        """Cross-queue order at `now`: higher effective priority, then FIFO."""
        return (-(self.base + self.rate * (now - self.t0)), self.t0, self.seq)

    def is_excluded(self, agent_id: str, now: float) -> bool:
        return self.excluded.get(agent_id, -math.inf) > now


class _Queue:
    __slots__ = ("agent_heap", "channel", "heap", "key", "live", "members", "serving_team", "sig", "strategy")

    def __init__(self, key: tuple[str, str, Signature, str], strategy: Strategy) -> None:
        self.key = key
        _, self.channel, self.sig, self.serving_team = key
        self.strategy = strategy
        self.heap: list[tuple[float, float, int, int, _Item]] = []
        self.live = 0
        self.members: set[_Agent] = set()
        self.agent_heap: list[tuple[tuple[float, ...], int, int, _Agent]] = []


class _Rates:
    """Exponentially weighted arrival rate and handle time for a (team, channel)."""

    __slots__ = ("aht", "last", "weight")

    def __init__(self) -> None:
        self.weight = 0.0
        self.last: float | None = None
        self.aht: float | None = None

    def arrival(self, now: float) -> None:
        self.weight = self.rate_weight(now) + 1.0
        self.last = now

    def rate_weight(self, now: float) -> float:
        if self.last is None:
            return 0.0
        return self.weight * math.exp(-max(0.0, now - self.last) / ARRIVAL_RATE_HORIZON)

    def arrival_rate(self, now: float) -> float:
        return self.rate_weight(now) / ARRIVAL_RATE_HORIZON

    def handled(self, seconds: float) -> None:
        self.aht = seconds if self.aht is None else self.aht + AHT_SMOOTHING * (seconds - self.aht)


class RoutingCore:
    """Feed it events with the current time; apply the decisions it returns."""

    def __init__(self, policies: Iterable[TeamPolicy] = ()) -> None:
        self._policies: dict[str, TeamPolicy] = {}
        self._agents: dict[str, _Agent] = {}
        self._items: dict[str, _Item] = {}
        self._queues: dict[tuple[str, str, Signature, str], _Queue] = {}
        self._served_by: dict[str, list[_Queue]] = {}
        self._team_agents: dict[str, set[_Agent]] = {}
        self._team_waiting: dict[str, dict[str, _Item]] = {}
        self._team_oldest: dict[str, list[tuple[float, int, int, _Item]]] = {}
        self._team_offered: dict[str, int] = {}
        self._team_assigned: dict[str, int] = {}
        self._tc_waiting: dict[tuple[str, str], int] = {}
        self._rates: dict[tuple[str, str], _Rates] = {}
        self._timers: list[tuple[float, int, str, Any, int]] = []
        self._seq = 0
        self._offer_seq = 0
        for policy in policies:
            self._policies[policy.team_id] = policy

    # ------------------------------------------------------------------ policies

    def policy(self, team_id: str) -> TeamPolicy:
        """The team's policy; an unknown team gets (and keeps) the defaults."""
        pol = self._policies.get(team_id)
        if pol is None:
            pol = self._policies[team_id] = TeamPolicy(team_id)
        return pol

    def set_policy(self, policy: TeamPolicy, now: float = 0.0) -> list[Decision]:
        """Replace a team's policy. Rare admin action, so it simply re-keys the
        team's waiting work and re-indexes its agents (O(team size))."""
        self._policies[policy.team_id] = policy
        strategy = strategy_for(policy.strategy)
        for q in self._served_by.get(policy.team_id, ()):
            q.strategy = strategy
            q.agent_heap.clear()
        out: list[Decision] = []
        for agent in self._team_agents.get(policy.team_id, ()):
            self._touch(agent)
        for it in list(self._team_waiting.get(policy.team_id, {}).values()):
            self._unqueue(it)
            self._place(it, now, out)
        for agent in list(self._team_agents.get(policy.team_id, ())):
            self._drain(agent, now, out)
        return out

    # -------------------------------------------------------------------- agents

    def upsert_agent(
        self,
        agent_id: str,
        now: float,
        *,
        presence: str | None = None,
        teams: Iterable[str] | None = None,
        skills: dict[str, int] | None = None,
        languages: Iterable[str] | None = None,
        capacity: dict[str, int] | None = None,
        connected: bool | None = None,
    ) -> list[Decision]:
        """Create or update an agent. None keeps the current value; a new agent
        starts offline, connected, with DEFAULT_CAPACITY, no teams or skills."""
        if presence is not None and presence not in PRESENCES:
            raise RoutingError(f"unknown presence {presence!r}")
        agent = self._agents.get(agent_id)
        if agent is None:
            self._seq += 1
            agent = self._agents[agent_id] = _Agent(agent_id, self._seq, now)
        out: list[Decision] = []
        if teams is not None or skills is not None or languages is not None or capacity is not None:
            if teams is not None:
                for team in agent.teams:
                    self._team_agents[team].discard(agent)
                agent.teams = frozenset(teams)
                for team in agent.teams:
                    self._team_agents.setdefault(team, set()).add(agent)
            if skills is not None:
                agent.skills = dict(skills)
            if languages is not None:
                agent.languages = frozenset(languages)
            if capacity is not None:
                agent.capacity = dict(capacity)
            self._reindex_agent(agent)
            self._touch(agent)  # old heap entries must die before anything is re-placed
            self._release_sticky(agent, now, out)
        if connected is not None and connected != agent.connected:
            agent.connected = connected
            agent.conn_gen += 1
            self._touch(agent)
        if presence is not None and presence != agent.presence:
            self._change_presence(agent, presence, now, "manual", out)
        self._touch(agent)
        self._drain(agent, now, out)
        return out

    def remove_agent(self, agent_id: str, now: float) -> list[Decision]:
        """Forget an agent; everything offered or assigned to them is re-queued."""
        agent = self._agent(agent_id)
        out: list[Decision] = []
        agent.presence = OFFLINE
        agent.ver += 1  # its queue entries must die before its work is re-placed
        self._release_sticky(agent, now, out)
        for it in list(agent.items.values()):
            self._release(it)
            out.append(Requeued(it.cid, "agent_removed", agent_id))
            self._place(it, now, out)
        for team in agent.teams:
            self._team_agents[team].discard(agent)
        for qs in agent.queues.values():
            for q in qs:
                q.members.discard(agent)
        agent.queues = {}
        agent.ver += 1
        del self._agents[agent_id]
        return out

    def set_presence(self, agent_id: str, presence: str, now: float) -> list[Decision]:
        """Manual presence is authoritative: it cancels a running wrap-up and is
        never overridden by timers (except disconnect grace expiry)."""
        if presence not in PRESENCES:
            raise RoutingError(f"unknown presence {presence!r}")
        agent = self._agent(agent_id)
        out: list[Decision] = []
        if presence != agent.presence:
            self._change_presence(agent, presence, now, "manual", out)
            self._drain(agent, now, out)
        return out

    def agent_disconnected(self, agent_id: str, now: float) -> list[Decision]:
        """The agent's console dropped. No new offers meanwhile; after the longest
        `disconnect_grace` of the agent's teams the agent counts as offline."""
        agent = self._agent(agent_id)
        if not agent.connected:
            return []
        agent.connected = False
        agent.conn_gen += 1
        self._touch(agent)
        out: list[Decision] = []
        grace = max((self.policy(t).disconnect_grace for t in agent.teams), default=0.0)
        if grace <= 0:
            if agent.presence != OFFLINE:
                self._change_presence(agent, OFFLINE, now, "disconnected", out)
        else:
            self._schedule(now + grace, "grace", agent, agent.conn_gen)
        return out

    def agent_connected(self, agent_id: str, now: float) -> list[Decision]:
        """Console back. Within the grace period nothing changed, so this only
        resumes offers; after it the agent stays offline until they set presence."""
        agent = self._agent(agent_id)
        if agent.connected:
            return []
        agent.connected = True
        agent.conn_gen += 1
        self._touch(agent)
        out: list[Decision] = []
        self._drain(agent, now, out)
        return out

    # --------------------------------------------------------------- conversations

    def enqueue(self, item: WorkItem, now: float) -> list[Decision]:
        """Queue a conversation. Enqueueing a conversation the core already
        holds is a no-op (a new message in an ongoing chat is not new work)."""
        if item.conversation_id in self._items:
            return []
        out: list[Decision] = []
        pol = self.policy(item.team_id)
        self._rates_for(item.team_id, item.channel).arrival(now)
        if not item.open:
            action = pol.after_hours_for(item.channel)
            queued = action in ("queue", "message")
            out.append(AfterHours(item.conversation_id, action, queued))
            if not queued:
                return out
        self._seq += 1
        it = _Item(item, self._seq)
        it.rate = pol.aging_per_second
        self._items[it.cid] = it
        if not self._try_sticky(it, pol, now, out):
            self._place(it, now, out)
        return out

    def accept(self, conversation_id: str, agent_id: str, now: float) -> list[Decision]:
        it = self._items.get(conversation_id)
        if it is None or it.state != OFFERED or it.agent is None or it.agent.agent_id != agent_id:
            raise RoutingError(f"no pending offer of {conversation_id!r} to {agent_id!r}")
        agent = it.agent
        agent.offering -= 1
        self._to_assigned(it, now)
        agent.missed = 0
        out: list[Decision] = [Assign(conversation_id, agent_id, "accept")]
        self._touch(agent)  # answered: the next offer may come
        self._drain(agent, now, out)
        return out

    def reject(self, conversation_id: str, agent_id: str, now: float) -> list[Decision]:
        it = self._items.get(conversation_id)
        if it is None or it.state != OFFERED or it.agent is None or it.agent.agent_id != agent_id:
            raise RoutingError(f"no pending offer of {conversation_id!r} to {agent_id!r}")
        out: list[Decision] = []
        self._miss(it, now, "rejected", out)
        return out

    def complete(self, conversation_id: str, now: float) -> list[Decision]:
        """The conversation ended: free the agent (after wrap-up, if any)."""
        it = self._items.pop(conversation_id, None)
        if it is None:
            return []
        out: list[Decision] = []
        if it.state in (WAITING, STICKY):
            self._unqueue(it)
        else:
            was_assigned = it.state == ASSIGNED
            agent = self._release(it)
            pol = self.policy(it.team_id)
            if was_assigned:
                self._rates_for(it.team_id, it.channel).handled(now - it.assigned_at)
            agent.last_activity = now
            if pol.wrap_up_seconds > 0 and agent.presence == AVAILABLE:
                agent.presence = WRAP_UP
                agent.wrap_gen += 1
                out.append(PresenceChanged(agent.agent_id, WRAP_UP, "wrap_up"))
                self._schedule(now + pol.wrap_up_seconds, "wrap", agent, agent.wrap_gen)
            self._touch(agent)
            self._drain(agent, now, out)
        it.state = DONE
        return out

    def remove(self, conversation_id: str, now: float) -> list[Decision]:
        """Abandoned or withdrawn: forget it, withdrawing any offer/assignment."""
        it = self._items.pop(conversation_id, None)
        if it is None:
            return []
        out: list[Decision] = []
        if it.state in (WAITING, STICKY):
            self._unqueue(it)
        else:
            agent = self._release(it)
            out.append(Withdrawn(conversation_id, agent.agent_id, "removed"))
            self._drain(agent, now, out)
        it.state = DONE
        return out

    def assign(
        self, conversation_id: str, agent_id: str, now: float, *, force: bool = False, by_agent: bool = False
    ) -> list[Decision]:
        """Supervisor assignment (`force` ignores presence, skills and capacity)
        or an agent picking from the queue (`by_agent`, needs `allow_pick`)."""
        it = self._item(conversation_id)
        agent = self._agent(agent_id)
        pol = self.policy(it.team_id)
        if by_agent and not pol.allow_pick:
            raise RoutingError(f"team {it.team_id!r} does not allow picking")
        if it.agent is agent:
            if it.state == OFFERED:
                return self.accept(conversation_id, agent_id, now)
            return []
        if not force:
            self._check_can_serve(agent, it)
        out: list[Decision] = []
        previous = None
        if it.agent is not None:
            previous = self._release(it)
            out.append(Withdrawn(conversation_id, previous.agent_id, "reassigned"))
        elif it.state in (WAITING, STICKY):
            self._unqueue(it)
        self._hand_to(it, agent, now, out, assign_via="pick" if by_agent else "manual")
        if previous is not None:
            self._drain(previous, now, out)
        return out

    def transfer(
        self, conversation_id: str, now: float, *, to_team: str | None = None, to_agent: str | None = None
    ) -> list[Decision]:
        """Move a conversation to another team's queue (it joins at `now`, keeping
        its manual priority and VIP flag) and/or straight to one agent, who must
        be able to take it."""
        if to_team is None and to_agent is None:
            raise RoutingError("transfer needs to_team or to_agent")
        it = self._item(conversation_id)
        target = self._agent(to_agent) if to_agent is not None else None
        if target is not None:
            if target is it.agent:
                raise RoutingError(f"{conversation_id!r} is already with {to_agent!r}")
            if not (target.connected and target.presence != OFFLINE and self._has_room(target, it.channel)):
                raise RoutingError(f"agent {to_agent!r} cannot take {conversation_id!r} now")
        out: list[Decision] = []
        previous = None
        if it.agent is not None:
            previous = self._release(it)
        elif it.state in (WAITING, STICKY):
            self._unqueue(it)
        if to_team is not None and to_team != it.team_id:
            it.team_id = to_team
            it.t0 = now
            it.overflowed = False
        it.excluded.clear()
        if target is not None:
            if previous is not None:
                out.append(Withdrawn(conversation_id, previous.agent_id, "transfer"))
            self._hand_to(it, target, now, out, assign_via="transfer")
        else:
            out.append(Requeued(conversation_id, "transfer", previous.agent_id if previous else None))
            self._place(it, now, out)
        if previous is not None:
            self._drain(previous, now, out)
        return out

    def set_priority(self, conversation_id: str, priority: int, now: float) -> list[Decision]:
        """Change the manual priority. Eligibility is unchanged, so this only re-keys."""
        it = self._item(conversation_id)
        it.priority = priority
        out: list[Decision] = []
        if it.state == WAITING:
            self._unqueue(it)
            self._place(it, now, out)
        return out

    # ---------------------------------------------------------------------- time

    def tick(self, now: float) -> list[Decision]:
        """Fire every timer due at or before `now`, in deadline order."""
        out: list[Decision] = []
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, kind, obj, token = heappop(timers)
            if self._timer_live(kind, obj, token):
                self._fire(kind, obj, now, out)
        return out

    def next_deadline(self) -> float | None:
        timers = self._timers
        while timers:
            _, _, kind, obj, token = timers[0]
            if self._timer_live(kind, obj, token):
                return timers[0][0]
            heappop(timers)
        return None

    # ------------------------------------------------------------------- queries

    def position(self, conversation_id: str) -> int | None:
        """1-based place among the team's waiting work on the same channel.

        A display query, O(waiting in team): items of one team share an aging
        rate, so their time-invariant heap keys compare directly.
        """
        it = self._items.get(conversation_id)
        if it is None or it.state not in (WAITING, STICKY):
            return None
        mine = (it.rate * it.t0 - it.base, it.t0, it.seq)
        ahead = sum(
            1
            for other in self._team_waiting.get(it.team_id, {}).values()
            if other.channel == it.channel
            and (other.rate * other.t0 - other.base, other.t0, other.seq) < mine
        )
        return ahead + 1

    def estimated_wait(self, team_id: str, channel: str, now: float) -> float | None:
        """Expected wait of a conversation arriving now; None when unknown.

        Position-based: with every logged-in server busy, departures come at
        rate servers/AHT, and a newcomer needs waiting+1 of them. AHT is the
        EWMA of measured handle times. 0 when a free eligible agent exists
        and nothing is waiting. O(team size) — a query, not a routing event.
        """
        rates = self._rates.get((team_id, channel))
        agents = self._team_agents.get(team_id, ())
        logged_in = (AVAILABLE, BUSY, WRAP_UP)
        servers = sum(a.capacity.get(channel, 0) for a in agents if a.connected and a.presence in logged_in)
        waiting = self._tc_waiting.get((team_id, channel), 0)
        if waiting == 0 and any(a.can_take(channel) for a in agents):
            return 0.0
        if rates is None or rates.aht is None or servers == 0:
            return None
        return (waiting + 1) * rates.aht / servers

    def queue_stats(self, team_id: str, now: float) -> QueueStats:
        waiting = self._team_waiting.get(team_id, {})
        oldest = self._team_oldest.get(team_id, [])
        while oldest and (oldest[0][3].gen != oldest[0][2] or oldest[0][3].state not in (WAITING, STICKY)):
            heappop(oldest)
        counts = {AVAILABLE: 0, BUSY: 0, AWAY: 0, OFFLINE: 0}
        for a in self._team_agents.get(team_id, ()):
            if not a.connected:
                counts[OFFLINE if a.presence == OFFLINE else AWAY] += 1
            elif a.presence == AVAILABLE:
                spare = any(a.can_take(ch) for ch in a.capacity)
                counts[AVAILABLE if spare else BUSY] += 1
            elif a.presence in (BUSY, WRAP_UP, AVAILABLE):
                counts[BUSY] += 1
            else:
                counts[a.presence] += 1
        rate = sum(r.arrival_rate(now) for (t, _), r in self._rates.items() if t == team_id)
        ahts = [r.aht for (t, _), r in self._rates.items() if t == team_id and r.aht is not None]
        return QueueStats(
            team_id=team_id,
            waiting=len(waiting),
            longest_wait=max(0.0, now - oldest[0][0]) if oldest else 0.0,
            offered=self._team_offered.get(team_id, 0),
            in_progress=self._team_assigned.get(team_id, 0),
            agents_available=counts[AVAILABLE],
            agents_busy=counts[BUSY],
            agents_away=counts[AWAY],
            agents_offline=counts[OFFLINE],
            arrival_rate=rate,
            aht=sum(ahts) / len(ahts) if ahts else None,
        )

    def agent(self, agent_id: str) -> AgentState | None:
        a = self._agents.get(agent_id)
        if a is None:
            return None
        return AgentState(
            agent_id=a.agent_id,
            presence=a.presence,
            teams=a.teams,
            skills=dict(a.skills),
            languages=a.languages,
            capacity=dict(a.capacity),
            connected=a.connected,
            load={ch: n for ch, n in a.load.items() if n},
            offered=tuple(cid for cid, it in a.items.items() if it.state == OFFERED),
            assigned=tuple(cid for cid, it in a.items.items() if it.state == ASSIGNED),
            missed_offers=a.missed,
        )

    def conversation(self, conversation_id: str) -> ConversationState | None:
        it = self._items.get(conversation_id)
        if it is None:
            return None
        state: Any = _STATE_NAMES[it.state]
        return ConversationState(
            conversation_id=it.cid,
            team_id=it.team_id,
            channel=it.channel,
            state=state,
            agent_id=it.agent.agent_id if it.agent else None,
            enqueued_at=it.t0,
            overflowed=it.overflowed,
            urgent=it.urgent,
            excluded=dict(it.excluded),
            sticky_agent_id=it.sticky_agent.agent_id if it.sticky_agent else None,
        )

    def agent_ids(self) -> list[str]:
        return list(self._agents)

    def conversation_ids(self) -> list[str]:
        return list(self._items)

    # ================================================================ internals

    def _agent(self, agent_id: str) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise RoutingError(f"unknown agent {agent_id!r}")
        return agent

    def _item(self, conversation_id: str) -> _Item:
        it = self._items.get(conversation_id)
        if it is None:
            raise RoutingError(f"unknown conversation {conversation_id!r}")
        return it

    def _rates_for(self, team_id: str, channel: str) -> _Rates:
        rates = self._rates.get((team_id, channel))
        if rates is None:
            rates = self._rates[(team_id, channel)] = _Rates()
        return rates

    def _has_room(self, agent: _Agent, channel: str) -> bool:
        return agent.capacity.get(channel, 0) > agent.load.get(channel, 0) and (
            channel == "voice" or not agent.voice_blocks
        )

    def _check_can_serve(self, agent: _Agent, it: _Item) -> None:
        pol = self.policy(it.team_id)
        teams = {it.team_id}
        if it.overflowed and pol.overflow_team:
            teams.add(pol.overflow_team)
        if not agent.teams & teams:
            raise RoutingError(f"agent {agent.agent_id!r} is not in team {it.team_id!r}")
        if not agent.satisfies(it.sig):
            raise RoutingError(f"agent {agent.agent_id!r} lacks the skills or language for {it.cid!r}")
        if not agent.has_room(it.channel):
            raise RoutingError(f"agent {agent.agent_id!r} has no room for {it.channel!r} now")

    # ---------------------------------------------------------- agent indexing

    def _reindex_agent(self, agent: _Agent) -> None:
        """Recompute which queues an agent can serve (after team/skill/capacity change)."""
        for qs in agent.queues.values():
            for q in qs:
                q.members.discard(agent)
        agent.queues = {}
        for team in agent.teams:
            for q in self._served_by.get(team, ()):
                self._maybe_join(agent, q)

    def _maybe_join(self, agent: _Agent, q: _Queue) -> None:
        if agent.capacity.get(q.channel, 0) > 0 and agent.satisfies(q.sig) and agent not in q.members:
            q.members.add(agent)
            agent.queues.setdefault(q.channel, []).append(q)

    def _touch(self, agent: _Agent) -> None:
        """The agent changed: invalidate its heap entries and push fresh ones
        wherever it can take work right now."""
        agent.ver += 1
        if not (agent.connected and agent.presence == AVAILABLE):
            return
        ver = agent.ver
        seq = agent.seq
        for channel, qs in agent.queues.items():
            if not agent.can_take(channel):
                continue
            for q in qs:
                heap = q.agent_heap
                heappush(heap, (q.strategy.key(agent, channel), seq, ver, agent))
                if len(heap) > 2 * len(q.members) + 32:
                    self._compact_agents(q)

    @staticmethod
    def _compact_agents(q: _Queue) -> None:
        q.agent_heap = [e for e in q.agent_heap if e[3].ver == e[2]]
        heapify(q.agent_heap)

    def _queue(self, source_team: str, channel: str, sig: Signature, serving_team: str) -> _Queue:
        key = (source_team, channel, sig, serving_team)
        q = self._queues.get(key)
        if q is None:
            q = self._queues[key] = _Queue(key, strategy_for(self.policy(serving_team).strategy))
            self._served_by.setdefault(serving_team, []).append(q)
            for agent in self._team_agents.get(serving_team, ()):
                self._maybe_join(agent, q)
                if agent in q.members and agent.can_take(channel):
                    heappush(q.agent_heap, (q.strategy.key(agent, channel), agent.seq, agent.ver, agent))
        return q

    # -------------------------------------------------------------- item moves

    def _place(self, it: _Item, now: float, out: list[Decision]) -> None:
        """Put an item (new or coming back) into its queues at its original
        place, schedule its timers, and offer it if an agent is free."""
        pol = self.policy(it.team_id)
        it.gen += 1
        it.state = WAITING
        it.rate = pol.aging_per_second
        gen = it.gen
        urgent_at = it.t0 + pol.sla_for(it.channel) - pol.sla_urgency_window
        it.urgent = now >= urgent_at
        w = it.work
        it.base = float(
            pol.priority_for(it.channel)
            + it.priority
            + (pol.vip_boost if w.vip else 0)
            + w.boost
            + (pol.sla_urgency_boost if it.urgent else 0)
        )
        overflow_at = None
        if pol.overflow_team is not None and pol.overflow_after is not None:
            overflow_at = it.t0 + pol.overflow_after
            if not it.overflowed and now >= overflow_at:
                it.overflowed = True
                out.append(Overflowed(it.cid, pol.overflow_team))
        entry = (it.rate * it.t0 - it.base, it.t0, it.seq, gen, it)
        it.queues = [self._queue(it.team_id, it.channel, it.sig, it.team_id)]
        if it.overflowed and pol.overflow_team is not None:
            it.queues.append(self._queue(it.team_id, it.channel, it.sig, pol.overflow_team))
        for q in it.queues:
            heappush(q.heap, entry)
            q.live += 1
            if len(q.heap) > 2 * q.live + 64:
                q.heap = [e for e in q.heap if e[4].gen == e[3] and e[4].state == WAITING]
                heapify(q.heap)
        self._note_waiting(it)
        if not it.urgent and pol.sla_urgency_boost:
            self._schedule(urgent_at, "requeue", it, gen)
        if overflow_at is not None and not it.overflowed:
            self._schedule(overflow_at, "requeue", it, gen)
        if it.excluded:
            for aid, until in list(it.excluded.items()):
                if until <= now:
                    del it.excluded[aid]
            if it.excluded:
                self._schedule(min(it.excluded.values()), "requeue", it, gen)
        self._match(it, now, out)

    def _note_waiting(self, it: _Item) -> None:
        waiting = self._team_waiting.setdefault(it.team_id, {})
        waiting[it.cid] = it
        oldest = self._team_oldest.setdefault(it.team_id, [])
        heappush(oldest, (it.t0, it.seq, it.gen, it))
        if len(oldest) > 2 * len(waiting) + 64:
            oldest[:] = [e for e in oldest if e[3].gen == e[2] and e[3].state in (WAITING, STICKY)]
            heapify(oldest)
        key = (it.team_id, it.channel)
        self._tc_waiting[key] = self._tc_waiting.get(key, 0) + 1

    def _unqueue(self, it: _Item) -> None:
        """Take a waiting/sticky item out of the queues (entries go stale)."""
        it.gen += 1
        for q in it.queues:
            q.live -= 1
        it.queues = []
        if it.sticky_agent is not None:
            it.sticky_agent.sticky.pop(it.cid, None)
            it.sticky_agent = None
        del self._team_waiting[it.team_id][it.cid]
        key = (it.team_id, it.channel)
        self._tc_waiting[key] -= 1
        it.state = DONE

    def _try_sticky(self, it: _Item, pol: TeamPolicy, now: float, out: list[Decision]) -> bool:
        """Returning customer: offer to the last agent if free, or hold for them
        up to `sticky_wait` if they are eligible but busy. False = route normally."""
        last = self._agents.get(it.work.last_agent_id or "")
        sticky_wait = it.work.sticky_wait if it.work.sticky_wait is not None else pol.sticky_wait
        if last is None or sticky_wait <= 0 or it.team_id not in last.teams or not last.satisfies(it.sig):
            return False
        if last.capacity.get(it.channel, 0) <= 0:
            return False
        if last.can_take(it.channel):
            self._hand_to(it, last, now, out)
            return True
        busy_but_there = last.connected and last.presence in (AVAILABLE, BUSY, WRAP_UP)
        until = it.t0 + sticky_wait
        if not busy_but_there or now >= until:
            return False
        it.gen += 1
        it.state = STICKY
        it.sticky_agent = last
        last.sticky[it.cid] = it
        self._note_waiting(it)
        self._schedule(until, "sticky", it, it.gen)
        return True

    def _release_sticky(self, agent: _Agent, now: float, out: list[Decision]) -> None:
        for it in list(agent.sticky.values()):
            self._unqueue(it)
            self._place(it, now, out)

    def _match(self, it: _Item, now: float, out: list[Decision]) -> None:
        """A waiting item looks for the best free agent: own team first, then overflow."""
        for q in it.queues:
            agent = self._best_agent(q, it, now)
            if agent is not None:
                self._unqueue(it)
                self._hand_to(it, agent, now, out)
                return

    @staticmethod
    def _best_agent(q: _Queue, it: _Item, now: float) -> _Agent | None:
        heap = q.agent_heap
        aside = []
        found = None
        while heap:
            entry = heap[0]
            agent = entry[3]
            if agent.ver != entry[2]:
                heappop(heap)
            elif it.excluded and it.is_excluded(agent.agent_id, now):
                aside.append(heappop(heap))  # rare: this agent declined this item
            else:
                found = agent
                break
        for entry in aside:
            heappush(heap, entry)
        return found

    def _drain(self, agent: _Agent, now: float, out: list[Decision]) -> None:
        """Capacity freed: give the agent the best work it can take, repeatedly."""
        while agent.connected and agent.presence == AVAILABLE:
            best: _Item | None = None
            best_rank: tuple[float, float, int] | None = None
            for it in agent.sticky.values():  # held for this agent: they go first
                if agent.can_take(it.channel):
                    r = it.rank(now)
                    if best_rank is None or r < best_rank:
                        best, best_rank = it, r
            if best is None:
                for channel, qs in agent.queues.items():
                    if not agent.can_take(channel):
                        continue
                    for q in qs:
                        head = self._head_for(q, agent, now)
                        if head is not None:
                            r = head.rank(now)
                            if best_rank is None or r < best_rank:
                                best, best_rank = head, r
            if best is None:
                return
            self._unqueue(best)
            self._hand_to(best, agent, now, out)

    @staticmethod
    def _head_for(q: _Queue, agent: _Agent, now: float) -> _Item | None:
        heap = q.heap
        while heap:
            entry = heap[0]
            it = entry[4]
            if it.gen != entry[3] or it.state != WAITING:
                heappop(heap)
                continue
            if not it.excluded or not it.is_excluded(agent.agent_id, now):
                return it
            break
        else:
            return None
        # Slow path, only when the head was declined by this very agent.
        aside = []
        found = None
        while heap:
            entry = heappop(heap)
            it = entry[4]
            if it.gen != entry[3] or it.state != WAITING:
                continue
            aside.append(entry)
            if not it.is_excluded(agent.agent_id, now):
                found = it
                break
        for entry in aside:
            heappush(heap, entry)
        return found

    def _hand_to(
        self, it: _Item, agent: _Agent, now: float, out: list[Decision], assign_via: str | None = None
    ) -> None:
        """Reserve the agent's capacity for the item: an Offer, or an Assign when
        auto-accepting or when `assign_via` says the assignment is direct."""
        pol = self.policy(it.team_id)
        it.gen += 1
        it.agent = agent
        agent.items[it.cid] = it
        agent.load[it.channel] = agent.load.get(it.channel, 0) + 1
        agent.total_load += 1
        it.blocks = it.channel == "voice" and pol.voice_blocks_other_channels
        if it.blocks:
            agent.voice_blocks += 1
        agent.last_activity = now
        self._offer_seq += 1
        agent.last_offer_seq = self._offer_seq
        it.state = OFFERED
        self._team_offered[it.team_id] = self._team_offered.get(it.team_id, 0) + 1
        if assign_via is not None or pol.auto_accept:
            self._to_assigned(it, now)
            out.append(Assign(it.cid, agent.agent_id, assign_via or "auto"))
        else:
            expires = now + pol.offer_timeout_for(it.channel)
            self._schedule(expires, "offer", it, it.gen)
            agent.offering += 1
            out.append(Offer(it.cid, agent.agent_id, expires))
        self._touch(agent)

    def _to_assigned(self, it: _Item, now: float) -> None:
        it.state = ASSIGNED
        it.assigned_at = now
        self._team_offered[it.team_id] -= 1
        self._team_assigned[it.team_id] = self._team_assigned.get(it.team_id, 0) + 1

    def _release(self, it: _Item) -> _Agent:
        """Free the capacity an offered/assigned item held. Caller re-touches/drains."""
        agent = it.agent
        assert agent is not None
        del agent.items[it.cid]
        agent.load[it.channel] -= 1
        agent.total_load -= 1
        if it.blocks:
            agent.voice_blocks -= 1
            it.blocks = False
        if it.state == OFFERED:
            self._team_offered[it.team_id] -= 1
            agent.offering -= 1
        else:
            self._team_assigned[it.team_id] -= 1
        it.agent = None
        it.gen += 1
        it.state = DONE
        self._touch(agent)
        return agent

    def _miss(self, it: _Item, now: float, reason: str, out: list[Decision]) -> None:
        """Rejected or timed-out offer: back to its original place, agent noted."""
        agent = self._release(it)
        pol = self.policy(it.team_id)
        if pol.reoffer_cooldown > 0:
            it.excluded[agent.agent_id] = now + pol.reoffer_cooldown
        out.append(Requeued(it.cid, reason, agent.agent_id))
        if reason == "offer_timeout":
            agent.missed += 1
            too_many = agent.missed >= pol.max_missed_offers
            if pol.on_offer_timeout == "away" and too_many and agent.presence == AVAILABLE:
                self._change_presence(agent, AWAY, now, "offer_missed", out)
        self._place(it, now, out)
        self._drain(agent, now, out)

    # ------------------------------------------------------------- presence

    def _change_presence(
        self, agent: _Agent, presence: str, now: float, reason: str, out: list[Decision]
    ) -> None:
        previous = agent.presence
        agent.presence = presence
        self._touch(agent)  # before anything below re-places work
        agent.wrap_gen += 1  # any explicit change ends a running wrap-up
        out.append(PresenceChanged(agent.agent_id, presence, reason))
        if presence == AVAILABLE:
            agent.missed = 0
            agent.last_activity = now
        if previous == OFFLINE:
            agent.offline_gen += 1
        if presence in (AWAY, OFFLINE):
            self._release_sticky(agent, now, out)
        if presence == OFFLINE:
            agent.offline_since = now
            agent.offline_gen += 1
            for it in list(agent.items.values()):
                if it.state == OFFERED:
                    self._release(it)
                    out.append(Requeued(it.cid, "agent_offline", agent.agent_id))
                    self._place(it, now, out)
            self._schedule_offline_requeue(agent)

    def _schedule_offline_requeue(self, agent: _Agent) -> None:
        afters = [
            a
            for it in agent.items.values()
            if it.state == ASSIGNED and (a := self.policy(it.team_id).offline_requeue_after) is not None
        ]
        if afters:
            self._schedule(agent.offline_since + min(afters), "offline", agent, agent.offline_gen)

    # ---------------------------------------------------------------- timers

    def _schedule(self, when: float, kind: str, obj: Any, token: int) -> None:
        self._seq += 1
        heappush(self._timers, (when, self._seq, kind, obj, token))

    @staticmethod
    def _timer_live(kind: str, obj: Any, token: int) -> bool:
        if kind == "offer":
            return bool(obj.state == OFFERED and obj.gen == token)
        if kind == "requeue":
            return bool(obj.state == WAITING and obj.gen == token)
        if kind == "sticky":
            return bool(obj.state == STICKY and obj.gen == token)
        if kind == "wrap":
            return bool(obj.wrap_gen == token and obj.presence == WRAP_UP)
        if kind == "grace":
            return bool(obj.conn_gen == token and not obj.connected)
        if kind == "offline":
            return bool(obj.offline_gen == token and obj.presence == OFFLINE)
        raise AssertionError(kind)

    def _fire(self, kind: str, obj: Any, now: float, out: list[Decision]) -> None:
        if kind == "offer":
            self._miss(obj, now, "offer_timeout", out)
        elif kind in ("requeue", "sticky"):
            # SLA urgency, overflow, end of a re-offer cooldown or of a sticky
            # wait: re-placing recomputes key and eligibility from the clock.
            self._unqueue(obj)
            self._place(obj, now, out)
        elif kind == "wrap":
            obj.presence = AVAILABLE
            obj.last_activity = now
            out.append(PresenceChanged(obj.agent_id, AVAILABLE, "wrap_up_end"))
            self._touch(obj)
            self._drain(obj, now, out)
        elif kind == "grace":
            if obj.presence != OFFLINE:
                self._change_presence(obj, OFFLINE, now, "disconnected", out)
        elif kind == "offline":
            self._offline_requeue(obj, now, out)

    def _offline_requeue(self, agent: _Agent, now: float, out: list[Decision]) -> None:
        for it in list(agent.items.values()):
            after = self.policy(it.team_id).offline_requeue_after
            if it.state == ASSIGNED and after is not None and now >= agent.offline_since + after:
                self._release(it)
                out.append(Requeued(it.cid, "agent_offline", agent.agent_id))
                self._place(it, now, out)
        agent.offline_gen += 1
        self._schedule_offline_requeue(agent)
