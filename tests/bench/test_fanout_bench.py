"""Smoke test of bench/fanout_bench.py: the three ways of fanning out pick the same
sockets (the bench asserts it) and the table is printed. Timings are never asserted."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import load_bench


def test_quick_run_prints_the_three_ways(capsys: pytest.CaptureFixture[str]) -> None:
    fb = load_bench("fanout_bench")
    assert asyncio.run(fb.main(["--quick", "--sockets", "200"])) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "µs" not in line]
    assert len(rows) == 3 and "(baseline)" in rows[0] and "`deliver`" in rows[2]
    # A message reaches its assignee's socket alone; the team's event, the team and
    # its supervisor.
    gw, conns = fb.build(200, 10)
    for event in fb.events(40, 200, 10):
        gw.deliver(event)
        got = {c.user_id for c in conns if len(c.queue)}
        if event.type == "message.received":
            assert got == {event.user_id}
        else:
            team = {c.user_id for c in conns if event.team_id in c.actor.team_ids}
            assert got == team and len(team) == 11
        for c in conns:
            c.queue.clear()
