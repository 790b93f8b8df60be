"""``switchboard simulate --forecast TEAM --day YYYY-MM-DD``: a forecast day replayed in
the routing simulator, from history seeded into ``report_slot``."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, create_engine

from hub.cli import main
from hub.models import ReportSlot, Team
from hub.reports import forecast as fc
from routing import erlang

DAY = "2026-11-20"  # a Friday; its forecast is made at its midnight (UTC) from the weeks before


@pytest.fixture
def db(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", url)
    engine = create_engine(url)
    with Session(engine) as s:
        s.add(Team(name="Care", routing={"handle_seconds": {"voice": 240}}))
        s.commit()
    origin = fc.slot_of(datetime(2026, 11, 20, tzinfo=UTC))
    rows = [  # three weeks, every day: 20 calls a half hour from 09:00 to 17:00 UTC
        {"slot": k, "team_id": 1, "channel": "voice", "agent_id": 0, "conversations": 20}
        for k in range(origin - 21 * 48, origin)
        if 18 <= k % 48 < 34
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(ReportSlot.__table__), rows)  # type: ignore[attr-defined]
    engine.dispose()
    return url


def test_replays_a_forecast_day(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--forecast", "Care", "--day", DAY, "--json", "--seed", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    f = result["forecast"]
    assert (f["team_id"], f["channel"], f["day"], f["timezone"]) == (1, "voice", DAY, "UTC")
    assert (f["handle_seconds"], f["handle_source"], f["patience_seconds"]) == (240.0, "team_setting", None)
    assert f["forecast_arrivals"] == pytest.approx(16 * 20, rel=0.02)
    # Poisson arrivals at the forecast rate: 320 expected, well within four standard deviations.
    assert abs(f["arrivals"] - 320) < 4 * 320**0.5
    # Staffed as planned: Erlang C for 20 a half hour at 240 s, 80 % within 20 s, in the
    # 16 busy half hours, and one agent the half hour after to clear the queue.
    need = erlang.agents_for_service_level(20 / 1800, 240.0, 20.0, 0.8)
    assert (f["agents"], f["agent_hours"]) == (need, 16 * need / 2)
    assert 0.3 < result["occupancy"] < 1
    assert result["offered"] == f["arrivals"] == result["answered"] + result["abandoned"]
    assert result["target_seconds"] == 20.0 and result["duration"] == 86_400
    assert result["service_level"] > 0.6
    # The same seed, the same day.
    assert main(["simulate", "--forecast", "1", "--day", DAY, "--json", "--seed", "3"]) == 0
    assert json.loads(capsys.readouterr().out) == result


def test_table_and_refusals(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--forecast", "Care", "--day", DAY]) == 0
    out = capsys.readouterr().out
    assert "overall" in out and "service_level" in out
    assert main(["simulate", "--forecast", "Nobody", "--day", DAY]) == 1
    assert "no team 'Nobody'" in capsys.readouterr().err
    assert main(["simulate", "--forecast", "Care", "--day", "20.11.2026"]) == 1
    assert "expected YYYY-MM-DD" in capsys.readouterr().err
    assert main(["simulate", "--forecast", "Care", "--day", DAY, "--model", "erlang_a"]) == 1
    assert "patience" in capsys.readouterr().err


def test_the_simulator_follows_a_staffing_schedule() -> None:
    from routing.scenario import Arrival, single_queue
    from routing.simulator import simulate

    scenario = single_queue(agents=3, arrival_rate=1.0, aht=100.0, duration=1000.0, warmup=0.0)
    arrivals = [Arrival(time=10.0, handle_time=50.0), Arrival(time=600.0, handle_time=50.0)]
    # Nobody until 500 s, then one agent: the first caller waits 490 s, the second none.
    result = simulate(scenario, arrivals, [(0.0, 0), (500.0, 1)])
    assert (result["offered"], result["answered"]) == (2, 2)
    assert result["asa_seconds"] == pytest.approx(245.0)
    # Staffed: one agent for 500 s; busy 100 s.
    assert result["occupancy"] == pytest.approx(100 / 500)
    # Without a schedule all three are there from the start.
    plain = simulate(scenario, arrivals)
    assert plain["asa_seconds"] == 0.0 and plain["occupancy"] == pytest.approx(100 / 3000)
