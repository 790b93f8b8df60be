"""A deliberately naive full-scan router: the benchmark baseline and a test oracle.

Same decisions as RoutingCore for the simple case — auto-accept, longest-idle,
no overflow, sticky routing, offers or timers — but every event scans all
waiting work or all agents. It exists to show what the indexed core saves and
to cross-check the core's ordering in differential tests; never use it live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from routing.model import DEFAULT_CAPACITY, Assign, TeamPolicy, WorkItem


@dataclass(slots=True)
class _NaiveAgent:
    agent_id: str
    seq: int
    teams: frozenset[str]
    skills: dict[str, int]
    languages: frozenset[str]
    capacity: dict[str, int]
    available: bool
    last_activity: float
    load: dict[str, int] = field(default_factory=dict)
    voice_blocks: int = 0

    def can_take(self, channel: str) -> bool:
        return (
            self.available
            and self.capacity.get(channel, 0) > self.load.get(channel, 0)
            and (channel == "voice" or not self.voice_blocks)
        )

    def serves(self, item: WorkItem) -> bool:
        if item.team_id not in self.teams:
            return False
        if item.language is not None and item.language not in self.languages:
            return False
        return all(self.skills.get(name, 0) >= level for name, level in item.skills.items())


class NaiveRouter:
    def __init__(self, policies: Iterable[TeamPolicy] = ()) -> None:
        self._policies = {p.team_id: p for p in policies}
        self._agents: dict[str, _NaiveAgent] = {}
        self._waiting: list[tuple[int, WorkItem]] = []
        self._held: dict[str, tuple[WorkItem, _NaiveAgent]] = {}
        self._seq = 0

    def bulk_load(self, waiting: Iterable[WorkItem], held: Iterable[tuple[WorkItem, str]]) -> None:
        """Install a backlog and current assignments without routing them
        (benchmark setup: routing 100k items through full scans would take minutes)."""
        for item in waiting:
            self._seq += 1
            self._waiting.append((self._seq, item))
        for item, agent_id in held:
            agent = self._agents[agent_id]
            agent.load[item.channel] = agent.load.get(item.channel, 0) + 1
            if item.channel == "voice" and self._policy(item.team_id).voice_blocks_other_channels:
                agent.voice_blocks += 1
            self._held[item.conversation_id] = (item, agent)

    def _policy(self, team_id: str) -> TeamPolicy:
        return self._policies.setdefault(team_id, TeamPolicy(team_id))

    def upsert_agent(
        self,
        agent_id: str,
        now: float,
        *,
        presence: str = "available",
        teams: Iterable[str] = (),
        skills: dict[str, int] | None = None,
        languages: Iterable[str] = (),
        capacity: dict[str, int] | None = None,
    ) -> list[Assign]:
        agent = self._agents.get(agent_id)
        if agent is None:
            self._seq += 1
            agent = _NaiveAgent(agent_id, self._seq, frozenset(), {}, frozenset(), {}, False, now)
            self._agents[agent_id] = agent
        agent.teams = frozenset(teams)
        agent.skills = dict(skills or {})
        agent.languages = frozenset(languages)
        agent.capacity = dict(DEFAULT_CAPACITY if capacity is None else capacity)
        if presence == "available" and not agent.available:
            agent.last_activity = now
        agent.available = presence == "available"
        out: list[Assign] = []
        self._drain(agent, now, out)
        return out

    def enqueue(self, item: WorkItem, now: float) -> list[Assign]:
        self._seq += 1
        best: _NaiveAgent | None = None
        for agent in self._agents.values():  # full scan of agents
            if agent.serves(item) and agent.can_take(item.channel):
                if best is None or self._agent_key(agent) < self._agent_key(best):
                    best = agent
        if best is None:
            self._waiting.append((self._seq, item))
            return []
        out: list[Assign] = []
        self._give(item, best, now, out)
        return out

    def complete(self, conversation_id: str, now: float) -> list[Assign]:
        held = self._held.pop(conversation_id, None)
        if held is None:
            self._waiting = [(s, w) for s, w in self._waiting if w.conversation_id != conversation_id]
            return []
        item, agent = held
        agent.load[item.channel] -= 1
        if item.channel == "voice" and self._policy(item.team_id).voice_blocks_other_channels:
            agent.voice_blocks -= 1
        agent.last_activity = now
        out: list[Assign] = []
        self._drain(agent, now, out)
        return out

    @staticmethod
    def _agent_key(agent: _NaiveAgent) -> tuple[float, float, int]:
        return (1.0 if sum(agent.load.values()) else 0.0, agent.last_activity, agent.seq)

    def _rank(self, seq: int, item: WorkItem, now: float) -> tuple[float, float, int]:
        pol = self._policy(item.team_id)
        urgent = now >= item.enqueued_at + pol.sla_for(item.channel) - pol.sla_urgency_window
        base = float(
            pol.priority_for(item.channel)
            + item.priority
            + (pol.vip_boost if item.vip else 0)
            + item.boost
            + (pol.sla_urgency_boost if urgent else 0)
        )
        return (-(base + pol.aging_per_second * (now - item.enqueued_at)), item.enqueued_at, seq)

    def _drain(self, agent: _NaiveAgent, now: float, out: list[Assign]) -> None:
        while True:
            best_i = -1
            best_rank: tuple[float, float, int] | None = None
            for i, (seq, item) in enumerate(self._waiting):  # full scan of waiting work
                if agent.serves(item) and agent.can_take(item.channel):
                    rank = self._rank(seq, item, now)
                    if best_rank is None or rank < best_rank:
                        best_i, best_rank = i, rank
            if best_rank is None:
                return
            _, item = self._waiting.pop(best_i)
            self._give(item, agent, now, out)

    def _give(self, item: WorkItem, agent: _NaiveAgent, now: float, out: list[Assign]) -> None:
        agent.load[item.channel] = agent.load.get(item.channel, 0) + 1
        if item.channel == "voice" and self._policy(item.team_id).voice_blocks_other_channels:
            agent.voice_blocks += 1
        agent.last_activity = now
        self._held[item.conversation_id] = (item, agent)
        out.append(Assign(item.conversation_id, agent.agent_id, "auto"))
