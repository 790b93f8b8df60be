"""The simulator, driving the real core, reproduces Erlang C.

Tolerances are statistical, not arbitrary: each run is cut into batches
(batch means), and the Erlang C value must lie within Z standard errors of the
simulated mean. Seeds are fixed, so the test is deterministic; Z is wide
enough that the chosen seeds are nowhere near the edge, and the standard
errors are themselves bounded so the check can never pass vacuously.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import pytest

from routing import erlang
from routing.scenario import parse_arrivals_csv, parse_scenario, single_queue
from routing.simulator import Simulation, build_parser, main, run_from_args, simulate

Z = 4.5
BATCHES = 20
AHT = 100.0
TARGET = 20.0

# (agents, occupancy, arrivals): busier systems have longer memory, so they get more arrivals.
GRID = [
    (5, 0.5, 30_000),
    (10, 0.8, 60_000),
    (20, 0.9, 150_000),
    (30, 0.6, 30_000),
    (50, 0.7, 30_000),
    (50, 0.9, 150_000),
]


def batch_mean_and_se(values: list[float]) -> tuple[float, float]:
    size = len(values) // BATCHES
    means = [statistics.fmean(values[i * size : (i + 1) * size]) for i in range(BATCHES)]
    return statistics.fmean(means), statistics.stdev(means) / math.sqrt(BATCHES)


@pytest.mark.parametrize(("agents", "occupancy", "arrivals"), GRID)
def test_single_queue_matches_erlang_c(agents: int, occupancy: float, arrivals: int) -> None:
    rate = agents * occupancy / AHT
    scenario = single_queue(
        agents=agents,
        arrival_rate=rate,
        aht=AHT,
        duration=arrivals / rate,
        seed=agents,
        warmup=50 * AHT,
        target_seconds=TARGET,
    )
    sim = Simulation(scenario)
    result = sim.run()
    waits = sim.waits
    assert result["offered"] == result["answered"] == len(waits)

    p_wait, p_se = batch_mean_and_se([1.0 if w > 1e-9 else 0.0 for w in waits])
    sl, sl_se = batch_mean_and_se([1.0 if w <= TARGET else 0.0 for w in waits])
    asa, asa_se = batch_mean_and_se(waits)
    expected_p = erlang.erlang_c(agents, rate * AHT)
    expected_sl = erlang.service_level(agents, rate, AHT, TARGET)
    expected_asa = erlang.asa(agents, rate, AHT)

    assert abs(p_wait - expected_p) <= Z * p_se + 0.01, (p_wait, expected_p, p_se)
    assert abs(sl - expected_sl) <= Z * sl_se + 0.01, (sl, expected_sl, sl_se)
    assert abs(asa - expected_asa) <= Z * asa_se + 0.03 * expected_asa + 0.2, (asa, expected_asa, asa_se)
    assert result["occupancy"] == pytest.approx(occupancy, abs=0.02), result["occupancy"]
    # The report's own figures are the same quantities.
    assert result["p_wait"] == pytest.approx(statistics.fmean(1.0 if w > 1e-9 else 0.0 for w in waits))
    assert result["erlang_c"]["p_wait"] == pytest.approx(expected_p)
    # Not vacuous: the intervals are genuinely narrow.
    assert Z * p_se < 0.15 and Z * sl_se < 0.15, (p_se, sl_se)


def test_abandonment_is_counted_and_shortens_waits() -> None:
    base = dict(agents=10, arrival_rate=0.1, aht=100.0, duration=50_000.0, seed=3, warmup=2_000.0)
    patient = simulate(single_queue(**base))  # type: ignore[arg-type]
    impatient = simulate(single_queue(**base, patience=30.0))  # type: ignore[arg-type]
    assert patient["abandoned"] == 0 and "erlang_c" in patient
    assert impatient["abandoned"] > 0
    assert impatient["answered"] + impatient["abandoned"] == impatient["offered"]
    assert impatient["asa_seconds"] < patient["asa_seconds"]
    assert "erlang_c" not in impatient  # Erlang C has no abandonment


def test_same_seed_same_result() -> None:
    scenario = single_queue(agents=8, arrival_rate=0.06, aht=100.0, duration=20_000.0, seed=11)
    assert simulate(scenario) == simulate(scenario)


SCENARIO_TOML = """
duration = 40000
warmup = 2000
seed = 5
target_seconds = 30

[[teams]]
team_id = "sales"
overflow_team = "support"
overflow_after = 20
auto_accept = true

[[teams]]
team_id = "support"
strategy = "least_occupied"
auto_accept = true

[[agents]]
name = "s"
count = 4
teams = ["sales"]
capacity = { voice = 1 }

[[agents]]
name = "p"
count = 6
teams = ["support"]
capacity = { voice = 1, chat = 2 }
skills = { billing = 2 }
languages = ["en"]

[[traffic]]
team = "sales"
channel = "voice"
arrival_rate = 0.035
aht = 100

[[traffic]]
team = "support"
channel = "chat"
arrival_rate = 0.06
aht = 120
patience = 300
skills = { billing = 1 }
language = "en"
vip_fraction = 0.1
"""


def test_scenario_with_overflow_and_chat() -> None:
    result = simulate(parse_scenario(SCENARIO_TOML, fmt="toml"))
    teams = result["teams"]
    assert set(teams) == {"sales", "support"}
    assert teams["sales"]["offered"] > 0 and teams["support"]["offered"] > 0
    assert result["offered"] == teams["sales"]["offered"] + teams["support"]["offered"]
    for t in teams.values():
        assert 0.0 <= t["service_level"] <= 1.0 and 0.0 <= t["occupancy"] <= 1.0
    # Overflow lets support agents take sales calls, so sales waits stay short.
    assert teams["sales"]["asa_seconds"] < 60.0


def test_json_scenario_equals_toml() -> None:
    import tomllib

    data = tomllib.loads(SCENARIO_TOML)
    assert simulate(parse_scenario(json.dumps(data), fmt="json")) == simulate(
        parse_scenario(SCENARIO_TOML, fmt="toml")
    )


def test_csv_replay(tmp_path: Path) -> None:
    csv_text = "time,handle_time\n0,100\n1,100\n2,100\n3,50\n"
    arrivals = parse_arrivals_csv(csv_text)
    assert [a.time for a in arrivals] == [0.0, 1.0, 2.0, 3.0]
    path = tmp_path / "arrivals.csv"
    path.write_text(csv_text)
    parser = argparse.ArgumentParser()
    build_parser(parser)
    args = parser.parse_args(
        ["--agents", "2", "--arrivals-csv", str(path), "--duration", "10", "--warmup", "0"]
    )
    result = run_from_args(args)
    assert result["offered"] == 4 and result["answered"] == 4
    # Two agents: arrivals 3 and 4 wait for the first two to finish at t=100 and t=101.
    assert result["asa_seconds"] == pytest.approx((0 + 0 + 98 + 98) / 4)
    assert "erlang_c" not in result


def test_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "--agents",
        "5",
        "--arrival-rate",
        "0.03",
        "--aht",
        "100",
        "--duration",
        "5000",
        "--seed",
        "1",
        "--target-seconds",
        "20",
        "--json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("offered", "answered", "abandoned", "asa_seconds", "service_level", "p_wait", "occupancy"):
        assert key in out and key in out["teams"]["default"]
    assert out["erlang_c"]["agents_for_80_percent"] >= 2


def test_cli_prints_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--agents", "3", "--arrival-rate", "0.01", "--aht", "100", "--duration", "2000"]) == 0
    assert "erlang C" in capsys.readouterr().out
