"""Erlang B / Erlang C closed forms for an M/M/N queue (no abandonment).

Used to sanity-check the simulator and to give staffing advice. All rates are
per second and times in seconds; `aht` is the mean handle time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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


# -- Erlang A: M/M/N+M, abandonment with exponential patience -----------------------------
#
# Arrivals Poisson(λ), handle times Exp(μ = 1/aht), N agents, and each waiting customer
# leaves after an Exp(θ = 1/patience) patience unless answered first (Palm's model;
# Garnett, Mandelbaum & Reiman 2002). Always stable. Exact, by the birth-death chain:
#
#   π_k ∝ A^k / k!                                   k ≤ N   (A = λ/μ)
#   π_{N+j} = π_N · Π_{i=1..j} λ / (Nμ + iθ)          j ≥ 1
#
# An arrival (PASTA) that finds j customers waiting goes through j+1 stages before an
# agent is free for it: in the stage with i ahead it moves up at rate Nμ + iθ and leaves
# at rate θ. Hence, with s = Nμ/θ and m = j + 1,
#
#   P(answered | j ahead)              = s / (s + m)
#   P(answered within T | j ahead)     = s / (s + m) · (1 − I_x(s + 1, m)),  x = e^{−θT}
#
# where I_x is the regularized incomplete beta function (the time to an agent, given
# answered, is a sum of Exp(Nμ + lθ), l = 1..m, whose tail is I_x(s+1, m)).

_TAIL = 1e-15  # the queue's stationary tail is cut where it adds less than this


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Figures of an M/M/N+M queue (all over arrivals)."""

    p_wait: float  # an arrival finds every agent busy
    p_abandon: float  # leaves before being answered
    service_level: float  # answered within the target (abandoned ones are misses)
    mean_wait: float  # mean time in queue over all arrivals, answered or not (Little)


def erlang_a(agents: int, arrival_rate: float, aht: float, patience: float, target_seconds: float) -> ErlangA:
    """Exact Erlang A figures; ``patience`` is the mean patience in seconds (> 0)."""
    if agents < 0 or arrival_rate < 0 or aht <= 0 or patience <= 0 or target_seconds < 0:
        raise ValueError("agents, arrival rate and target must be >= 0; aht and patience > 0")
    if arrival_rate == 0:
        return ErlangA(0.0, 0.0, 1.0, 0.0)
    mu, theta = 1.0 / aht, 1.0 / patience
    a = arrival_rate / mu
    n = agents
    # Log-weights: k = 0..N, then j = 1.. waiting until the terms are negligible.
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(n + 1)]
    top = max(logs)
    tail: list[float] = []
    w = logs[-1]
    j = 0
    while True:
        j += 1
        w += math.log(arrival_rate / (n * mu + j * theta))
        tail.append(w)
        if (n * mu + j * theta) > arrival_rate and w - max(top, tail[0]) < math.log(_TAIL):
            break
        if j > 10_000_000:  # pragma: no cover - θ is tiny and λ > Nμ: the loop would not end
            raise ValueError("patience too long for this load")
    top = max(top, max(tail))
    weights = [math.exp(v - top) for v in logs]
    waiting = [math.exp(v - top) for v in tail]
    total = sum(weights) + sum(waiting)
    p_n_or_more = (weights[-1] + sum(waiting)) / total
    if n == 0:
        # No agent: everyone waits until their patience runs out.
        return ErlangA(1.0, 1.0, 0.0, patience)
    # Arrivals finding j = 0, 1, ... waiting: π_N, π_{N+1}, ... (numpy/scipy come with
    # statsmodels; imported here so the rest of the routing package needs neither).
    import numpy as np
    from scipy.special import betainc

    seen = np.array([weights[-1], *waiting]) / total
    m = np.arange(1, len(seen) + 1, dtype=float)
    s = n * mu / theta
    served = s / (s + m)
    late = betainc(s + 1.0, m, math.exp(-theta * target_seconds))
    # An arrival that finds an agent free (k < N) is answered at once.
    sl = (1.0 - p_n_or_more) + float(np.sum(seen * served * (1.0 - late)))
    return ErlangA(
        p_wait=p_n_or_more,
        p_abandon=float(np.sum(seen * (1.0 - served))),
        service_level=max(0.0, min(1.0, sl)),
        mean_wait=float(np.sum(seen * (m - 1.0))) / arrival_rate,
    )


def agents_for_service_level_a(
    arrival_rate: float,
    aht: float,
    patience: float,
    target_seconds: float,
    target_sl: float,
    *,
    max_agents: int = 100_000,
) -> int:
    """Smallest N whose Erlang A service level reaches ``target_sl`` (0 without traffic)."""
    if not 0.0 <= target_sl < 1.0:
        raise ValueError("target_sl must be in [0, 1)")
    if arrival_rate <= 0:
        return 0

    def ok(n: int) -> bool:
        return erlang_a(n, arrival_rate, aht, patience, target_seconds).service_level >= target_sl

    lo, hi = 0, max(1, math.ceil(arrival_rate * aht))
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > max_agents:
            raise ValueError("target not reachable within max_agents")
    while hi - lo > 1:  # the service level grows with N
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
