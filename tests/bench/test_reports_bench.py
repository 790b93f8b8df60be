"""Smoke test of bench/reports_bench.py (issue 14's reports bench) in its quick mode on
SQLite: the data set is made, the real report functions run, and their figures agree
with the hand-written aggregate over the raw rows. Timings are printed by the bench,
never asserted here."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import load_bench


def test_quick_run_on_sqlite_agrees_with_the_raw_rows(tmp_path: Path) -> None:
    rb = load_bench("reports_bench")
    argv = ["--quick", "--backends", "sqlite", "--runs", "1", "--verify", "100",
            "--workdir", str(tmp_path), "--results", str(tmp_path)]  # fmt: skip
    doc = rb.run(rb.parse(argv))["sqlite"]

    assert doc["checks"]["agree"] is True
    assert doc["generation"]["reused"] is False
    assert doc["generation"]["projection_sample_verified"] == 100
    written = json.loads((tmp_path / "reports-sqlite.json").read_text(encoding="utf-8"))
    assert written["checks"] == json.loads(json.dumps(doc["checks"], default=str))
    assert {t["name"] for t in written["timings"] if t["kind"] == "report"} == set(written["met"])

    db = sqlite3.connect(tmp_path / "reports-quick.db")
    (messages,) = db.execute("SELECT count(*) FROM message").fetchone()
    assert messages == rb.QUICK_MESSAGES  # exactly the size asked for
    everything = doc["checks"]["all teams"]
    team = doc["checks"][f"team {rb.FILTER_TEAM}"]
    assert 0 < team["conversations"] < everything["conversations"] <= messages // 10
    assert everything["inbound_messages"] + everything["outbound_messages"] <= messages
    (derived,) = db.execute("SELECT sum(inbound) + sum(outbound) FROM report_slot").fetchone()
    assert derived == messages  # the rollups hold every message, inside the range or after it

    # The agreement check is not vacuous: one inbound message too many in a rollup row fails the run.
    db.execute(
        "UPDATE report_slot SET inbound = inbound + 1 WHERE id = "
        "(SELECT min(id) FROM report_slot WHERE slot >= ? AND inbound > 0)",
        (int(rb.START.timestamp()) // rb.SLOT + 48,),
    )
    db.commit()
    with pytest.raises(SystemExit, match="disagree"):
        rb.run(rb.parse([*argv, "--verify", "0"]))
    # Nor for the hours a time series reads: the slot put right, an hour's inbound wrong.
    db.execute("UPDATE report_slot SET inbound = inbound - 1 WHERE id = (SELECT min(id) FROM report_slot "
               "WHERE slot >= ? AND inbound > 0)", (int(rb.START.timestamp()) // rb.SLOT + 48,))  # fmt: skip
    db.execute("UPDATE report_hour SET inbound = inbound + 1 WHERE id = (SELECT min(id) FROM report_hour "
               "WHERE hour >= ? AND inbound > 0)", (int(rb.START.timestamp()) // 3600 + 24,))  # fmt: skip
    db.commit()
    db.close()
    with pytest.raises(SystemExit, match="disagree"):
        rb.run(rb.parse([*argv, "--verify", "0"]))
