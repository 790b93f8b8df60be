"""Erlang A (M/M/N+M) against known values and an independent computation.

- With patience far longer than any wait it is Erlang C: the classic 10-Erlang
  staffing table of test_erlang.py, row for row.
- With patience equal to the handle time (θ = μ) every customer leaves at rate μ
  whether waiting or served, so the number in the system is Poisson(A) (the M/M/∞
  queue): P(wait) = P(Poisson(A) ≥ N) and P(abandon) = E[(K − N)⁺] / A exactly.
- The service level matches a brute-force computation that shares no formula with
  the module: the truncated chain's stationary law by a linear solve, and each
  arrival's chance to be answered within T from a matrix exponential of its own
  position-in-queue chain.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm

from routing import erlang

RATE, AHT = 200 / 3600, 180.0  # 10 Erlangs


@pytest.mark.parametrize(
    ("agents", "p_wait", "sl_20s"),
    [
        (11, 0.6821, 0.3897),
        (12, 0.4494, 0.6402),
        (13, 0.2853, 0.7956),
        (14, 0.1741, 0.8884),
        (15, 0.1020, 0.9415),
    ],
)
def test_endless_patience_is_erlang_c(agents: int, p_wait: float, sl_20s: float) -> None:
    a = erlang.erlang_a(agents, RATE, AHT, 1e9, 20.0)
    assert a.p_wait == pytest.approx(p_wait, abs=1e-4)
    assert a.service_level == pytest.approx(sl_20s, abs=1e-4)
    assert a.p_abandon < 1e-6
    assert a.mean_wait == pytest.approx(erlang.asa(agents, RATE, AHT), rel=1e-4)


def test_endless_patience_staffs_like_erlang_c() -> None:
    assert erlang.agents_for_service_level_a(RATE, AHT, 1e9, 20.0, 0.8) == 14
    assert erlang.agents_for_service_level_a(RATE, AHT, 1e9, 20.0, 0.6) == 12


@pytest.mark.parametrize("agents", [1, 5, 10, 12, 20])
def test_patience_equal_to_handle_time_is_the_infinite_server_queue(agents: int) -> None:
    a_load = RATE * AHT
    poisson = [math.exp(-a_load) * a_load**k / math.factorial(k) for k in range(120)]
    result = erlang.erlang_a(agents, RATE, AHT, AHT, 20.0)
    assert result.p_wait == pytest.approx(sum(poisson[agents:]), rel=1e-9)
    waiting = sum((k - agents) * p for k, p in enumerate(poisson) if k > agents)
    assert result.p_abandon == pytest.approx(waiting / a_load, rel=1e-9)


def brute_force_service_level(n: int, lam: float, aht: float, patience: float, target: float) -> float:
    mu, theta = 1 / aht, 1 / patience
    size = n + 200  # states 0..size-1 customers in the system
    q = np.zeros((size, size))
    for k in range(size):
        if k + 1 < size:
            q[k, k + 1] = lam
        if k > 0:
            q[k, k - 1] = min(k, n) * mu + max(k - n, 0) * theta
        q[k, k] = -q[k].sum()
    # Stationary law: π Q = 0, Σ π = 1.
    lhs = np.vstack([q.T, np.ones(size)])
    rhs = np.zeros(size + 1)
    rhs[-1] = 1.0
    pi = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    answered = float(pi[:n].sum())  # an agent is free on arrival
    # A tagged arrival with j ahead: states j..0 ahead, then "answered" (index -1).
    depth = size - n
    g = np.zeros((depth + 1, depth + 1))
    for i in range(depth):  # i ahead → i-1 ahead (or answered from 0) at Nμ + iθ; leaves at θ
        g[i, i - 1 if i > 0 else depth] = n * mu + i * theta
        g[i, i] = -(n * mu + i * theta + theta)
    reached = expm(g * target)[:, depth]
    for j in range(depth - 1):
        answered += float(pi[n + j] * reached[j])
    return answered


@pytest.mark.parametrize(
    ("n", "patience", "target"),
    [(8, 120.0, 20.0), (10, 60.0, 30.0), (12, 300.0, 20.0), (3, 90.0, 60.0)],
)
def test_service_level_matches_a_brute_force_chain(n: int, patience: float, target: float) -> None:
    expected = brute_force_service_level(n, RATE, AHT, patience, target)
    assert erlang.erlang_a(n, RATE, AHT, patience, target).service_level == pytest.approx(expected, abs=1e-8)


def test_abandonment_lowers_the_staff_needed_and_edges() -> None:
    # Impatient customers leave the queue, so fewer agents reach the same answered share.
    assert erlang.agents_for_service_level_a(RATE, AHT, 60.0, 20.0, 0.8) <= 14
    assert erlang.agents_for_service_level_a(0.0, AHT, 60.0, 20.0, 0.8) == 0
    nobody = erlang.erlang_a(0, RATE, AHT, 60.0, 20.0)
    assert (nobody.p_abandon, nobody.service_level) == (1.0, 0.0)
    quiet = erlang.erlang_a(3, 0.0, AHT, 60.0, 20.0)
    assert (quiet.p_wait, quiet.service_level) == (0.0, 1.0)
    with pytest.raises(ValueError):
        erlang.erlang_a(3, RATE, AHT, 0.0, 20.0)
    with pytest.raises(ValueError):
        erlang.agents_for_service_level_a(RATE, AHT, 60.0, 20.0, 1.0)
