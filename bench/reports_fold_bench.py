"""What the ``reports`` fold costs per event on the ingest process (issue 14): the current
``hub.reports.rollup`` against another version of it (by default the committed one,
``git show HEAD:hub/reports/rollup.py``), on the same database and the same events.

A SQLite file is migrated to head; conversations are inserted as rows; each gets the
events of a plain life — created, a customer message, an assignment, an agent reply, a
second customer message, a resolution — as the log would carry them (envelope team and
user, payload status, assignee, channel). The events are folded in batches (the
projection runner's incremental case: a few dozen events per transaction), each batch
in its own transaction, the two versions alternating per round on fresh tables.
Measured: CPU time of this process (Python and SQLite in its thread) per event.

    python bench/reports_fold_bench.py                        # 2,000 conversations, batches of 60
    python bench/reports_fold_bench.py --conversations 500 --batch 12 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from hub.config import to_async_url  # noqa: E402
from hub.db import Database, migrate  # noqa: E402
from hub.projections import LoggedEvent, core  # noqa: E402

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
TABLES = (
    "report_slot",
    "report_sample",
    "report_histogram",
    "report_agent_state",
    "report_conversation_state",
)


def load_version(ref: str) -> ModuleType:
    """``hub/reports/rollup.py`` as of a git ref, imported under another name."""
    text = subprocess.run(
        ["git", "show", f"{ref}:hub/reports/rollup.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "rollup_ref.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("rollup_ref", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def events(n: int, teams: int, agents: int) -> list[LoggedEvent]:
    out: list[LoggedEvent] = []
    eid = 0

    def ev(kind: str, at: datetime, cid: int, team: int, user: int | None, **payload: Any) -> None:
        nonlocal eid
        eid += 1
        out.append(
            LoggedEvent(eid, kind, at, cid, {"team_id": team, "channel": "whatsapp", **payload}, team, user)
        )

    life: list[tuple[int, str, int, int, dict[str, Any]]] = []
    for cid in range(1, n + 1):
        team, agent = 1 + cid % teams, 1 + cid % agents
        start = (cid * 37) % (6 * 3600)
        life += [
            (start, "conversation.created", cid, 0, {"status": "queued"}),
            (start, "message.received", cid, 0, {"direction": "inbound"}),
            (start + 45, "conversation.assigned", cid, agent, {"status": "assigned", "assignee_id": agent}),
            (start + 120, "message.created", cid, agent,
             {"direction": "outbound", "author_type": "agent", "author_id": agent}),
            (start + 300, "message.received", cid, agent, {"direction": "inbound"}),
            (start + 900, "conversation.resolved", cid, agent, {"status": "resolved", "assignee_id": agent}),
        ]  # fmt: skip
        life[-6:] = [(t, k, c, u, {**p, "_team": team}) for t, k, c, u, p in life[-6:]]
    for t, kind, cid, user, p in sorted(life, key=lambda x: (x[0], x[2])):
        team = p.pop("_team")
        ev(kind, T0 + timedelta(seconds=t), cid, team, user or None, **p)
    return out


async def seed(db: Database, n: int, teams: int, agents: int) -> None:
    """Teams, agents, contacts and conversations as rows (the fold reads a conversation's
    row for its first assignment, first response and creation time)."""
    from hub.models import Contact, Conversation, ConversationStatus, Role, Team, User

    async with db.session() as s:
        for t in range(1, teams + 1):
            s.add(Team(id=t, name=f"team {t}"))
        for a in range(1, agents + 1):
            s.add(User(id=a, email=f"a{a}@bench.test", name=f"Agent {a}", role=Role.agent))
        await s.flush()
        for cid in range(1, n + 1):
            start = T0 + timedelta(seconds=(cid * 37) % (6 * 3600))
            s.add(Contact(id=cid, name=f"c{cid}"))
            s.add(
                Conversation(
                    id=cid,
                    contact_id=cid,
                    channel="whatsapp",
                    channel_account="",
                    contact_address=f"c{cid}",
                    status=ConversationStatus.resolved,
                    team_id=1 + cid % teams,
                    assignee_id=1 + cid % agents,
                    created_at=start,
                    queued_at=start,
                    first_assigned_at=start + timedelta(seconds=45),
                    first_response_at=start + timedelta(seconds=120),
                    resolved_at=start + timedelta(seconds=900),
                    sla_due_at=start + timedelta(seconds=60),
                )
            )
        await s.commit()


async def fold_all(
    db: Database, module: ModuleType, evs: Sequence[LoggedEvent], batch: int
) -> tuple[float, float]:
    """(CPU seconds, wall seconds) to fold every event, ``batch`` per transaction."""
    async with db.session() as s:
        for t in TABLES:
            await core(s, sa.text(f"DELETE FROM {t}"))
        await s.commit()
    proj = module.ReportsProjection(sqlite=True)
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(0, len(evs), batch):
        async with db.session() as s:
            await proj.fold(s, evs[i : i + batch])
            await s.commit()
    return time.process_time() - c0, time.perf_counter() - w0


async def main_async(args: argparse.Namespace) -> None:
    import hub.reports.rollup as current

    ref = load_version(args.ref)
    path = Path(tempfile.mkdtemp()) / "fold.db"
    url = f"sqlite:///{path}"
    migrate(url)
    db = Database(to_async_url(url))
    try:
        await seed(db, args.conversations, args.teams, args.agents)
        evs = events(args.conversations, args.teams, args.agents)
        results: dict[str, list[float]] = {"ref": [], "current": []}
        walls: dict[str, list[float]] = {"ref": [], "current": []}
        for _ in range(args.rounds):
            for name, module in (("ref", ref), ("current", current)):
                cpu, wall = await fold_all(db, module, evs, args.batch)
                results[name].append(cpu / len(evs) * 1e6)
                walls[name].append(wall / len(evs) * 1e6)
    finally:
        await db.dispose()
    print(f"{len(evs):,} events ({args.conversations:,} conversations), batches of {args.batch}, "
          f"{args.rounds} rounds, SQLite; load average {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())}")  # fmt: skip
    print("| version | CPU µs per event (median) | min | wall µs per event (median) |")
    print("|---|---:|---:|---:|")
    for name, label in (("ref", f"{args.ref} (git)"), ("current", "working tree")):
        print(
            f"| {label} | {statistics.median(results[name]):,.0f} | {min(results[name]):,.0f} | "
            f"{statistics.median(walls[name]):,.0f} |"
        )


def main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--conversations", type=int, default=2000)
    ap.add_argument("--teams", type=int, default=6)
    ap.add_argument("--agents", type=int, default=24)
    ap.add_argument("--batch", type=int, default=60, help="events per fold (one transaction each)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ref", default="HEAD", help="git ref of the version to compare with")
    asyncio.run(main_async(ap.parse_args(list(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
