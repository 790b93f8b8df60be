"""What the projection runner and the async SQLite engine cost, in process.

Two parts, each against its baseline in the same run:

* **statements**: CPU per statement through SQLAlchemy's own aiosqlite adapter (four
  thread round trips per statement) and through hub/sqlite_driver.py (one), on the same
  database file: a one-row read in an open session, a session with one read, and a write
  transaction (read, update, commit).
* **rounds**: CPU of one projection round after 5 inbound messages, for the hub's whole
  runner and for each consumer alone (a runner with just that consumer), so a consumer
  that got expensive shows up by name. Messages are ingested outside the timed part.
* **contact figures' light refresh**: the whole runner's round after messages from known
  customers into their open conversations, with contact_figures' ``fold`` and without
  it (the full recompute), interleaved round by round.
* **catch-up split** (``--catch-up N``, on its own): the whole runner catching up on N
  messages from known customers in rounds of ``--batch``, and each consumer's share of
  it inside the shared rounds, the log read on its own line. The messages' bodies are
  shaped as the end-to-end bench's (bench/e2e_loadgen.py: a tag, a sequence number and a
  timestamp, then a sentence; ~80 characters): message search's trigram index costs
  with every character, and bodies of a few characters hid it (until stop 38).
* **message search rows**: the message_search projection's round, its rows written as
  multi-row statements (the hub's SQLite engines) and one statement per row (the
  driver's ``executemany``, what they did before), interleaved round by round.

    python bench/projection_bench.py [--rounds 40] [--statements 2000] [--per-round 5]
    python bench/projection_bench.py --catch-up 20000 [--customers 2000] [--batch 500] [--agents 1000]

CPU is ``time.process_time()`` (this process, every thread: the event loop and the
connections' threads), so other jobs on the host do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hub.app import build_projections, create_app
from hub.config import load_settings
from hub.db import migrate
from hub.domain import InboundMessage
from hub.models import EventLog, ProjectionCheckpoint
from hub.projections import ProjectionRunner
from hub.services.ingest import ingest
from hub.sqlite_driver import dbapi

_events = EventLog.__table__  # type: ignore[attr-defined]
_checkpoint = ProjectionCheckpoint.__table__  # type: ignore[attr-defined]


async def statements(url: str, n: int) -> list[tuple[str, float, float]]:
    """(what, µs with SQLAlchemy's adapter, µs with the one-trip driver)."""
    out: dict[str, list[float]] = {}
    read = sa.select(sa.func.max(_events.c.id))
    bump = sa.update(_checkpoint).where(_checkpoint.c.name == "none").values(position=_checkpoint.c.position)
    for module in (None, dbapi()):
        kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}}
        if module is not None:
            kwargs["module"] = module
        engine = create_async_engine(url, **kwargs)
        async with engine.connect() as c:
            await c.execute(read)
            t0 = time.process_time()
            for _ in range(n):
                (await c.execute(read)).scalar()
            out.setdefault("one-row read in an open connection", []).append((time.process_time() - t0) / n)
        t0 = time.process_time()
        for _ in range(n // 4):
            async with engine.connect() as c:
                (await c.execute(read)).scalar()
        out.setdefault("connection checked out + one read", []).append((time.process_time() - t0) / (n // 4))
        t0 = time.process_time()
        for _ in range(n // 4):
            async with engine.begin() as c:
                (await c.execute(read)).scalar()
                await c.execute(bump)
        out.setdefault("write transaction: read, update, commit", []).append(
            (time.process_time() - t0) / (n // 4)
        )
        await engine.dispose()
    return [(what, a * 1e6, b * 1e6) for what, (a, b) in out.items()]


def _message(provider_id: str, sender: str, body: str) -> InboundMessage:
    """A customer's message on the loopback channel, as the parts below ingest them."""
    return InboundMessage(
        channel="loopback", provider_message_id=provider_id, address_kind="loopback", sender=sender, body=body
    )


async def rounds(url: str, data_dir: str, n: int, per_round: int) -> list[tuple[str, float]]:
    settings = load_settings(None, database_url=url, data_dir=data_dir, channels={"loopback": {}})
    app = create_app(settings, run_outbox_worker=False, run_routing=False)
    out: list[tuple[str, float]] = []
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        await hub.projections.stop()  # the runners below are driven by hand
        full = build_projections(hub)
        seq = 0

        async def feed(k: int) -> None:
            nonlocal seq
            for _ in range(k):
                seq += 1
                await ingest(hub, _message(f"pb-{seq}", f"pb-{seq % 300}", f"hello {seq}"))

        for name in ["(all twelve, the hub's runner)", *full.projections]:
            runner = full if name.startswith("(") else ProjectionRunner(hub, [full.projections[name]])
            await runner.prepare()
            await runner.catch_up()
            # The loop's timers step (before b683351: run_due, a transaction per consumer).
            timers = getattr(runner, "_run_due_now", None) or runner.run_due
            cpu = 0.0
            for _ in range(n):
                await feed(per_round)
                t0 = time.process_time()
                await runner.catch_up(wait=False)
                await timers()  # what the loop does after each catch-up
                cpu += time.process_time() - t0
            out.append((name, cpu / n * 1e3))
    return out


async def figures_ab(url: str, data_dir: str, n: int, per_round: int) -> dict[str, list[float]]:
    """The hub's whole runner after ``per_round`` messages from known customers into
    their open conversations, with contact_figures' light refresh (its ``fold``) and
    without it (the full recompute of every contact a message touches), the two
    interleaved round by round so that the host's drift falls on both alike."""
    from hub.crm.figures import ContactFiguresProjection

    settings = load_settings(None, database_url=url, data_dir=data_dir, channels={"loopback": {}})
    app = create_app(settings, run_outbox_worker=False, run_routing=False)
    out: dict[str, list[float]] = {"light refresh": [], "full recompute": []}
    light = ContactFiguresProjection.fold
    senders = 300
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        await hub.projections.stop()
        runner = build_projections(hub)
        await runner.prepare()
        seq = 0

        async def feed(k: int) -> None:
            nonlocal seq
            for _ in range(k):
                seq += 1
                await ingest(hub, _message(f"ab-{seq}", f"ab-{seq % senders}", f"hello {seq}"))

        await feed(senders)  # every customer known, every conversation open
        await runner.catch_up()
        try:
            for i in range(2 * n):
                mode = "light refresh" if i % 2 == 0 else "full recompute"
                setattr(ContactFiguresProjection, "fold", light if mode == "light refresh" else None)  # noqa: B010
                await feed(per_round)
                t0 = time.process_time()
                await runner.catch_up(wait=False)
                await runner._run_due_now()
                out[mode].append((time.process_time() - t0) * 1e3)
        finally:
            setattr(ContactFiguresProjection, "fold", light)  # noqa: B010
    return out


async def search_ab(url: str, data_dir: str, n: int, per_round: int) -> dict[str, list[float]]:
    """The message search projection alone, a round after ``per_round`` messages with
    the e2e bench's kind of body: its rows written as multi-row statements (the hub's
    SQLite engines, hub.db._multi_row_inserts) and, as the baseline, one statement per
    row (the driver's ``executemany``). Two hubs on two database files (SQLAlchemy
    decides when it compiles a statement, and keeps it compiled), rounds interleaved."""
    modes = {"multi-row statements": True, "a statement per row": False}
    out: dict[str, list[float]] = {mode: [] for mode in modes}
    async with contextlib.AsyncExitStack() as stack:
        hubs = []
        for i, (mode, multi_row) in enumerate(modes.items()):
            db_url = url.replace("bench.db", f"search-{i}.db")
            migrate(db_url)
            settings = load_settings(
                None, database_url=db_url, data_dir=f"{data_dir}-{i}", channels={"loopback": {}}
            )
            app = create_app(settings, run_outbox_worker=False, run_routing=False)
            await stack.enter_async_context(app.router.lifespan_context(app))
            hub = app.state.hub
            await hub.projections.stop()
            # Before the search rows' insert is first compiled (no message yet).
            hub.db.engine.sync_engine.dialect.use_insertmanyvalues_wo_returning = multi_row
            runner = ProjectionRunner(hub, [build_projections(hub).projections["message_search"]])
            await runner.prepare()
            await runner.catch_up()
            hubs.append((mode, hub, runner))
        seq = 0
        for _ in range(n):
            for mode, hub, runner in hubs:
                for _ in range(per_round):
                    seq += 1
                    body = f"order {seq:09d}, ref {seq * 7919:012d}: hello, I have a question about my last order"
                    await ingest(hub, _message(f"sa-{seq}", f"sa-{seq % 300}", body))
                t0 = time.process_time()
                await runner.catch_up(wait=False)
                out[mode].append((time.process_time() - t0) * 1e3)
    return out


def _e2e_body(i: int) -> str:
    """A body shaped as bench/e2e_loadgen.py's: "sbb|<tag>|<seq>|<monotonic ns>| hello, …"."""
    return f"sbb|catchup0|{i:012d}|{1_000_000_000_000 + i * 997_331:020d}| hello, I have a question about my last order"


async def catch_up_split(
    data_dir: str, n: int, batch: int, customers: int, agents: int = 0
) -> tuple[float, list[tuple[str, float]]]:
    """The hub's whole runner catching up on ``n`` messages from ``customers`` known
    customers (each with its open conversation; consecutive messages from customers far
    apart, as the end-to-end bench sends them) in rounds of ``batch`` events: CPU per
    event in all, and each consumer's share inside the shared rounds (its fold or apply)
    with the log read (``_read``) on its own line. ``agents``: the conversations are
    assigned to that many agents in teams of ten, as bench/e2e_setup.py seeds them (the
    events then carry a team and an assignee: the reports' rows are per agent)."""
    url = f"sqlite:///{data_dir}/catch-up.db"
    migrate(url)
    settings = load_settings(
        None,
        database_url=url.replace("sqlite://", "sqlite+aiosqlite://"),
        data_dir=data_dir,
        channels={"loopback": {}},
    )
    app = create_app(settings, run_outbox_worker=False, run_routing=False)
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        await hub.projections.stop()
        runner = build_projections(hub)
        runner.batch_size = batch

        async def feed(lo: int, hi: int) -> None:
            for at in range(lo, hi, 200):
                await asyncio.gather(
                    *(
                        ingest(hub, _message(f"cu-{i}", f"cu-{(i * 7919) % customers}", _e2e_body(i)))
                        for i in range(at, min(hi, at + 200))
                    )
                )

        await runner.prepare()
        await feed(0, customers)  # every customer and conversation exists
        if agents:
            await _assign(hub, agents)
        await runner.catch_up()
        await feed(customers, customers + n)
        spent: dict[str, float] = {}

        def timed(name_of: Any, call: Any) -> Any:
            async def wrapper(*args: Any) -> Any:
                t0 = time.process_time()
                try:
                    return await call(*args)
                finally:
                    key = name_of(*args)
                    spent[key] = spent.get(key, 0.0) + time.process_time() - t0

            return wrapper

        runner._fold = timed(lambda s, p, *_: p.name, runner._fold)  # type: ignore[method-assign]
        runner._act = timed(lambda s, p, *_: p.name, runner._act)  # type: ignore[method-assign]
        runner._read = timed(lambda *_: "(the log read, _read)", runner._read)  # type: ignore[method-assign]
        t0 = time.process_time()
        await runner.catch_up(wait=False)
        total = time.process_time() - t0
    shares = sorted(((k, v / n * 1e6) for k, v in spent.items()), key=lambda kv: -kv[1])
    return total / n * 1e6, shares


async def _assign(hub: Any, agents: int) -> None:
    """``agents`` agents in teams of ten; conversation ``k`` to agent ``k % agents``."""
    from hub.models import Conversation, Role, Team, User

    async with hub.db.transaction() as s:
        teams = [Team(name=f"bench-team-{i}") for i in range(max(1, agents // 10))]
        s.add_all(teams)
        await s.flush()
        users = [
            User(email=f"agent{i}@bench.test", name=f"Agent {i}", role=Role.agent) for i in range(agents)
        ]
        s.add_all(users)
        await s.flush()
        conv = Conversation.__table__  # type: ignore[attr-defined]
        ids = (await s.execute(sa.select(conv.c.id).order_by(conv.c.id))).scalars().all()
        await s.execute(
            sa.update(conv)
            .where(conv.c.id == sa.bindparam("cid"))
            .values(assignee_id=sa.bindparam("uid"), team_id=sa.bindparam("tid")),
            [
                {"cid": cid, "uid": users[k % agents].id, "tid": teams[(k % agents) // 10 % len(teams)].id}
                for k, cid in enumerate(ids)
            ],
        )


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--statements", type=int, default=2000)
    ap.add_argument("--per-round", type=int, default=5, help="messages per round (5: ~100 msg/s; 50: ~1,000)")
    ap.add_argument(
        "--catch-up",
        type=int,
        default=0,
        metavar="N",
        help="only the catch-up split: N messages from --customers known customers, rounds of --batch",
    )
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=500, help="events per round (the runner's batch_size)")
    ap.add_argument(
        "--agents", type=int, default=0, help="catch-up: conversations assigned to this many agents"
    )
    ap.add_argument(
        "--postgres",
        action="store_true",
        help="the rounds on a fresh PostgreSQL database (no statements part)",
    )
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)
    work = tempfile.mkdtemp(prefix="sb-projection-bench-")
    if args.postgres:
        return await _postgres_rounds(work, args.rounds, args.per_round)
    if args.catch_up:
        per_event, shares = await catch_up_split(work, args.catch_up, args.batch, args.customers, args.agents)
        agents = f" --agents {args.agents}" if args.agents else ""
        print(
            f"`python bench/projection_bench.py --catch-up {args.catch_up} --customers {args.customers}"
            f" --batch {args.batch}{agents}`\n"
        )
        print(f"| the twelve consumers, rounds of {args.batch} | µs CPU per event |\n|---|---:|")
        print(f"| **all, one catch-up** | **{per_event:.1f}** |")
        for name, us in shares:
            print(f"| {name} | {us:.1f} |")
        return 0
    url = f"sqlite:///{work}/bench.db"
    migrate(url)
    print("## Projection runner and SQLite statements (in process)\n")
    print(
        f"`python bench/projection_bench.py --rounds {args.rounds} --statements {args.statements}"
        f" --per-round {args.per_round}`\n"
    )
    print("| statement | SQLAlchemy's aiosqlite adapter, µs CPU | one-trip driver, µs CPU | ratio |")
    print("|---|---:|---:|---:|")
    for what, a, b in await statements(url.replace("sqlite://", "sqlite+aiosqlite://"), args.statements):
        print(f"| {what} | {a:,.0f} | {b:,.0f} | {a / b:.2f}× |")
    k = args.per_round
    print(f"\n| consumers in the runner | ms CPU per round of {k} messages | µs CPU per message |")
    print("|---|---:|---:|")
    for name, ms in await rounds(url, work, args.rounds, k):
        print(f"| {name} | {ms:.2f} | {ms * 1000 / k:,.0f} |")
    print("\nA consumer alone includes the runner's fixed cost per round (the drained check, the")
    print("transaction, the timers' read); the hub's runner pays it once for all twelve.")
    print(f"\n| contact_figures, whole runner, {k} known customers a round | median ms CPU | mean ms CPU |")
    print("|---|---:|---:|")
    for mode, samples in (await figures_ab(url, work + "/ab", args.rounds, k)).items():
        print(f"| {mode} | {statistics.median(samples):.2f} | {statistics.fmean(samples):.2f} |")
    print(f"\n| message_search alone, a round of {k} messages | median ms CPU | µs CPU per message |")
    print("|---|---:|---:|")
    for mode, samples in (await search_ab(url, work + "/search", args.rounds, k)).items():
        median = statistics.median(samples)
        print(f"| {mode} | {median:.2f} | {median * 1000 / k:,.0f} |")
    return 0


HERE = os.path.dirname(os.path.abspath(__file__))


async def _postgres_rounds(work: str, n: int, k: int) -> int:
    sys.path.insert(0, HERE)
    from e2e_setup import create_pg_database, drop_pg_database

    from hub.config import to_sync_url

    name = f"bench_projection_{os.getpid()}"
    url = create_pg_database(name)
    try:
        migrate(to_sync_url(url))
        print(
            f"## Projection runner on PostgreSQL (in process)\n\n`python bench/projection_bench.py --postgres --rounds {n} --per-round {k}`\n"
        )
        print(
            f"| consumers in the runner | ms CPU per round of {k} messages (this process) | µs CPU per message |"
        )
        print("|---|---:|---:|")
        for label, ms in await rounds(url, work, n, k):
            print(f"| {label} | {ms:.2f} | {ms * 1000 / k:,.0f} |")
    finally:
        drop_pg_database(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
