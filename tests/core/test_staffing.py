"""Required agents per half hour (hub/reports/staffing.py) equal the Erlang C rows the
routing tests use (tests/routing/test_erlang.py: 10 Erlangs — 200 conversations an hour,
so 100 a half hour, at 180 s — answered within 20 s), and shrinkage turns them into
scheduled agents."""

from __future__ import annotations

import pytest

from hub.reports import staffing as st
from routing import erlang

# tests/routing/test_erlang.py::test_ten_erlang_staffing_table
TEN_ERLANGS = [(11, 0.3897), (12, 0.6402), (13, 0.7956), (14, 0.8884), (15, 0.9415)]
HALF_HOUR = 100.0  # arrivals: 200 an hour


def settings(target: float, **kw: object) -> st.StaffingSettings:
    return st.StaffingSettings(
        service_level_target=target, threshold_seconds=20.0, handle_seconds=180.0, **kw
    )  # type: ignore[arg-type]


def test_the_routing_tests_staffing_advice() -> None:
    # test_erlang.py::test_staffing_advice_picks_the_first_level_that_meets_target
    assert st.required_agents(HALF_HOUR, settings(0.8)) == 14
    assert st.required_agents(HALF_HOUR, settings(0.6)) == 12


@pytest.mark.parametrize(("agents", "service_level"), TEN_ERLANGS)
def test_each_row_of_the_ten_erlang_table(agents: int, service_level: float) -> None:
    # Just under a row's service level, that row is the fewest agents reaching it; just
    # over it, one more is needed.
    assert st.required_agents(HALF_HOUR, settings(service_level - 0.0005)) == agents
    assert st.required_agents(HALF_HOUR, settings(service_level + 0.0005)) == agents + 1
    assert st.required_agents(HALF_HOUR, settings(service_level - 0.0005)) == erlang.agents_for_service_level(
        200 / 3600, 180.0, 20.0, service_level - 0.0005
    )


def test_shrinkage_rounds_up_to_whole_agents() -> None:
    assert st.scheduled(14, 0.3) == 20  # 14 / 0.7 = 20 exactly (not 21 by float error)
    assert st.scheduled(7, 0.3) == 10
    assert st.scheduled(13, 0.3) == 19  # 18.57…
    assert st.scheduled(14, 0.0) == 14
    assert st.scheduled(0, 0.5) == 0
    plan = st.plan([HALF_HOUR, 0.0, HALF_HOUR, 50.0], settings(0.8, shrinkage=0.3))
    assert plan == [(14, 20), (0, 0), (14, 20), (8, 12)]
    assert erlang.agents_for_service_level(100 / 3600, 180.0, 20.0, 0.8) == 8


def test_erlang_a_staffs_with_patience() -> None:
    impatient = settings(0.8, model="erlang_a", patience_seconds=60.0)
    patient = settings(0.8, model="erlang_a", patience_seconds=1e9)
    assert st.required_agents(HALF_HOUR, patient) == 14  # endless patience: Erlang C
    need = st.required_agents(HALF_HOUR, impatient)
    assert need == erlang.agents_for_service_level_a(200 / 3600, 180.0, 60.0, 20.0, 0.8)
    assert erlang.erlang_a(need, 200 / 3600, 180.0, 60.0, 20.0).service_level >= 0.8
    assert erlang.erlang_a(need - 1, 200 / 3600, 180.0, 60.0, 20.0).service_level < 0.8


@pytest.mark.parametrize(
    "bad",
    [
        {"service_level_target": 1.0},
        {"service_level_target": 0.0},
        {"handle_seconds": 0.0},
        {"shrinkage": 1.0},
        {"shrinkage": -0.1},
        {"model": "erlang_b"},
        {"model": "erlang_a"},  # without a patience
    ],
)
def test_settings_are_checked(bad: dict[str, object]) -> None:
    base: dict[str, object] = {
        "service_level_target": 0.8,
        "threshold_seconds": 20.0,
        "handle_seconds": 180.0,
    }
    with pytest.raises(ValueError):
        st.StaffingSettings(**{**base, **bad})  # type: ignore[arg-type]
