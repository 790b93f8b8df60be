"""Agent-selection strategies: each turns an agent into a sort key (smaller wins).

Keys must only change when the agent itself changes (load, presence, last
offer), because the core stores them in heaps and re-pushes an agent exactly
when its version changes; a key that drifted with the clock would go stale.
"""

from __future__ import annotations

from typing import Protocol


class RankedAgent(Protocol):
    """What a strategy may look at; the core's agent record satisfies it."""

    @property
    def load(self) -> dict[str, int]: ...
    @property
    def capacity(self) -> dict[str, int]: ...
    @property
    def total_load(self) -> int: ...
    @property
    def last_activity(self) -> float: ...
    @property
    def last_offer_seq(self) -> int: ...


AgentKey = tuple[float, ...]


class LongestIdleStrategy:
    """Agents without work first, then the one whose last offer, completion or
    return to 'available' lies furthest back."""

    name = "longest_idle"

    @staticmethod
    def key(agent: RankedAgent, channel: str) -> AgentKey:
        return (1.0 if agent.total_load else 0.0, agent.last_activity)


class LeastOccupiedStrategy:
    """Lowest share of the channel's capacity in use, then longest idle."""

    name = "least_occupied"

    @staticmethod
    def key(agent: RankedAgent, channel: str) -> AgentKey:
        cap = agent.capacity.get(channel, 0)
        share = agent.load.get(channel, 0) / cap if cap else 1.0
        return (share, agent.last_activity)


class RoundRobinStrategy:
    """The agent offered work least recently goes next: a rotating cursor
    expressed as a key (a global offer counter), so no list rotation is needed."""

    name = "round_robin"

    @staticmethod
    def key(agent: RankedAgent, channel: str) -> AgentKey:
        return (float(agent.last_offer_seq),)


Strategy = type[LongestIdleStrategy] | type[LeastOccupiedStrategy] | type[RoundRobinStrategy]

STRATEGY_BY_NAME: dict[str, Strategy] = {
    s.name: s for s in (LongestIdleStrategy, LeastOccupiedStrategy, RoundRobinStrategy)
}


def strategy_for(name: str) -> Strategy:
    try:
        return STRATEGY_BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}") from None
