"""Erlang B/C against hand-derived values and an exact rational formula."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing import erlang


def exact_erlang_c(n: int, a: Fraction) -> Fraction:
    """Textbook form: (A^N/N! * N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! * N/(N-A))."""
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def exact_erlang_b(n: int, a: Fraction) -> Fraction:
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    return terms[-1] / sum(terms)


def test_single_server_waits_with_probability_rho() -> None:
    assert erlang.erlang_c(1, 0.7) == pytest.approx(0.7)


def test_two_servers_half_loaded_is_one_third() -> None:
    # M/M/2, rho = 1/2: P(wait) = 2 rho^2 / (1 + rho) = 1/3.
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("agents", "p_wait", "sl_20s"),
    # 10 Erlangs (e.g. 200 calls/hour at 180 s AHT); the classic staffing table.
    [
        (11, 0.6821, 0.3897),
        (12, 0.4494, 0.6402),
        (13, 0.2853, 0.7956),
        (14, 0.1741, 0.8884),
        (15, 0.1020, 0.9415),
    ],
)
def test_ten_erlang_staffing_table(agents: int, p_wait: float, sl_20s: float) -> None:
    rate, aht = 200 / 3600, 180.0
    assert erlang.erlang_c(agents, rate * aht) == pytest.approx(p_wait, abs=1e-4)
    assert erlang.service_level(agents, rate, aht, 20.0) == pytest.approx(sl_20s, abs=1e-4)
    assert erlang.asa(agents, rate, aht) == pytest.approx(p_wait * aht / (agents - 10), rel=1e-3)


def test_staffing_advice_picks_the_first_level_that_meets_target() -> None:
    assert erlang.agents_for_service_level(200 / 3600, 180.0, 20.0, 0.8) == 14
    assert erlang.agents_for_service_level(200 / 3600, 180.0, 20.0, 0.6) == 12


def test_erlang_b_known_value() -> None:
    assert erlang.erlang_b(10, 10.0) == pytest.approx(0.21458, abs=1e-5)


def test_unstable_and_degenerate_cases() -> None:
    assert erlang.erlang_c(5, 5.0) == 1.0
    assert erlang.erlang_c(5, 0.0) == 0.0
    assert erlang.service_level(5, 1.0, 6.0, 20.0) == 0.0
    assert erlang.asa(5, 1.0, 6.0) == math.inf
    assert erlang.occupancy(10, 0.05, 100.0) == pytest.approx(0.5)


def test_large_systems_do_not_overflow() -> None:
    # Factorials would overflow a float long before N = 2000; the recursion does not.
    c = erlang.erlang_c(2000, 1950.0)
    assert 0.0 < c < 1.0


@settings(max_examples=200, deadline=None, database=None)
@given(n=st.integers(1, 60), load=st.fractions(min_value=Fraction(1, 100), max_value=Fraction(99, 100)))
def test_matches_the_exact_rational_formula(n: int, load: Fraction) -> None:
    a = load * n
    assert erlang.erlang_c(n, float(a)) == pytest.approx(float(exact_erlang_c(n, a)), rel=1e-9, abs=1e-12)
    assert erlang.erlang_b(n, float(a)) == pytest.approx(float(exact_erlang_b(n, a)), rel=1e-9, abs=1e-12)
