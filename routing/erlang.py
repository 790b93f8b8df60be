"""Erlang B / Erlang C closed forms for an M/M/N queue (no abandonment).

Used to sanity-check the simulator and to give staffing advice. All rates are
per second and times in seconds; `aht` is the mean handle time.
"""

from __future__ import annotations

import math


def erlang_b(agents: int, traffic_erlangs: float) -> float:
    """Blocking probability of M/M/N/N, via the stable recursion
    B(0) = 1, B(k) = A*B(k-1) / (k + A*B(k-1)) — no factorials, no overflow."""
    if agents < 0 or traffic_erlangs < 0:
        raise ValueError("agents and traffic must be non-negative")
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic_erlangs * b / (k + traffic_erlangs * b)
    return b


def erlang_c(agents: int, traffic_erlangs: float) -> float:
    """Probability that an arrival has to wait, C(N, A) = N*B / (N - A*(1 - B)).
    1.0 when the system is unstable (A >= N)."""
    if agents <= 0 or traffic_erlangs >= agents:
        return 1.0
    if traffic_erlangs <= 0:
        return 0.0
    b = erlang_b(agents, traffic_erlangs)
    return agents * b / (agents - traffic_erlangs * (1.0 - b))


def service_level(agents: int, arrival_rate: float, aht: float, target_seconds: float) -> float:
    """Share of arrivals answered within `target_seconds`:
    1 - C * exp(-(N - A) * T / AHT)."""
    traffic = arrival_rate * aht
    if traffic >= agents:
        return 0.0
    return 1.0 - erlang_c(agents, traffic) * math.exp(-(agents - traffic) * target_seconds / aht)


def asa(agents: int, arrival_rate: float, aht: float) -> float:
    """Average speed of answer (mean wait over all arrivals): C * AHT / (N - A)."""
    traffic = arrival_rate * aht
    if traffic >= agents:
        return math.inf
    return erlang_c(agents, traffic) * aht / (agents - traffic)


def occupancy(agents: int, arrival_rate: float, aht: float) -> float:
    """Fraction of agent time spent handling: A / N, capped at 1."""
    if agents <= 0:
        return 1.0
    return min(1.0, arrival_rate * aht / agents)


def agents_for_service_level(
    arrival_rate: float, aht: float, target_seconds: float, target_sl: float, *, max_agents: int = 100_000
) -> int:
    """Smallest N whose service level reaches `target_sl` (staffing advice)."""
    if not 0.0 <= target_sl < 1.0:
        raise ValueError("target_sl must be in [0, 1)")
    traffic = arrival_rate * aht
    n = max(1, math.floor(traffic) + 1)
    while n <= max_agents:
        if service_level(n, arrival_rate, aht, target_seconds) >= target_sl:
            return n
        n += 1
    raise ValueError("target not reachable within max_agents")
