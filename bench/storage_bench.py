"""The message path's storage steps, in process, with their floors in the same run.

1. The ingest batch writer (what one group-commit lane runs per batch) on SQLite with
   ``synchronous=FULL`` and ``NORMAL``, against a floor: plain ``sqlite3`` inserting
   the same number of rows per transaction (no dedupe, identity or threading).
2. The services as the HTTP handlers call them, on SQLite: ``ingest()`` with 100
   concurrent callers, ``reply()`` with 50, and outbox passes sending what the replies
   queued through the loopback channel: as the worker's loop runs them (inside
   ``hub.sqlite_driver.inline()``) and, as their baseline, with every statement a
   thread round trip; and the worker's turn after 3 replies, replies only (a turn woken
   by replies alone) against the same turn with staff mail and campaign sends.

    python bench/storage_bench.py            # 20 batches of 256, 3,000 ingests/replies
    python bench/storage_bench.py --quick    # a short smoke run

Figures are msg/s and CPU µs per message of this process (all its threads).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from e2e_setup import create_pg_database, drop_pg_database  # noqa: E402

from hub.app import create_app  # noqa: E402
from hub.config import load_settings, to_sync_url  # noqa: E402
from hub.db import migrate, sync_engine  # noqa: E402
from hub.domain import InboundMessage  # noqa: E402
from hub.services import SYSTEM  # noqa: E402
from hub.services.conversations import reply  # noqa: E402
from hub.services.inbound_batch import InboundWriter, Prepared  # noqa: E402
from hub.services.ingest import ingest  # noqa: E402
from hub.sqlite_driver import inline  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _prepared(start: int, n: int, now: datetime) -> list[Prepared]:
    out = []
    for i in range(start, start + n):
        sender = f"cust-{i % 500}"
        msg = InboundMessage(
            channel="loopback",
            provider_message_id=f"bench-{i}",
            address_kind="loopback",
            sender=sender,
            body=f"hello {i}",
            received_at=now,
        )
        out.append(Prepared(msg, sender, now, None))
    return out


def batch_writer(synchronous: str, batches: int, size: int, url: str | None = None) -> tuple[float, float]:
    """The lane's writer on SQLite, or on PostgreSQL when ``url`` is given (then the CPU
    is this process's only, not the database server's)."""
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    migrate(url)
    engine = sync_engine(url, pool_size=1, synchronous=synchronous)
    writer = InboundWriter(engine.dialect)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        with conn.begin():
            writer(conn, _prepared(0, 600, now))  # customers and conversations exist
        work = [_prepared(1_000 + k * size, size, now) for k in range(batches)]
        t0, c0 = time.perf_counter(), _cpu()
        for batch in work:
            with conn.begin():
                writer(conn, batch)
        t1, c1 = time.perf_counter(), _cpu()
    engine.dispose()
    n = batches * size
    return n / (t1 - t0), (c1 - c0) / n * 1e6


def sqlite_floor(synchronous: str, batches: int, size: int) -> tuple[float, float]:
    path = f"{tempfile.mkdtemp()}/floor.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, conversation_id INTEGER, body TEXT, pid TEXT UNIQUE)")
    db.commit()
    t0, c0 = time.perf_counter(), _cpu()
    for k in range(batches):
        rows = [(i % 500, f"hello {i}", f"p{i}") for i in range(k * size, (k + 1) * size)]
        db.executemany("INSERT INTO m (conversation_id, body, pid) VALUES (?, ?, ?)", rows)
        db.commit()
    t1, c1 = time.perf_counter(), _cpu()
    db.close()
    n = batches * size
    return n / (t1 - t0), (c1 - c0) / n * 1e6


async def services(n: int) -> list[tuple[str, float, float]]:
    url = f"sqlite:///{tempfile.mkdtemp()}/svc.db"
    migrate(url)
    settings = load_settings(None, database_url=url, data_dir=tempfile.mkdtemp(), channels={"loopback": {}})
    app = create_app(settings, run_outbox_worker=False, run_routing=False)
    out: list[tuple[str, float, float]] = []
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        sem = asyncio.Semaphore(100)

        async def one_in(i: int) -> int:
            async with sem:
                m = InboundMessage(
                    channel="loopback",
                    provider_message_id=f"svc-{i}",
                    address_kind="loopback",
                    sender=f"cust-{i % 500}",
                    body=f"hello {i}",
                )
                return (await ingest(hub, m)).conversation_id

        t0, c0 = time.perf_counter(), _cpu()
        convs = sorted(set(await asyncio.gather(*(one_in(i) for i in range(n)))))
        t1, c1 = time.perf_counter(), _cpu()
        out.append(("ingest() x100 concurrent", n / (t1 - t0), (c1 - c0) / n * 1e6))

        replies = asyncio.Semaphore(50)

        async def one_out(i: int) -> None:
            async with replies:
                await reply(hub, SYSTEM, convs[i % len(convs)], f"reply {i}")

        worker = app.state.outbox_worker
        batch = settings.outbox.batch_size
        # Twice: the worker's loop runs its passes inside inline() (hub.sqlite_driver);
        # the first drain is without it, every statement a thread round trip.
        for label, how in (("each statement a round trip", contextlib.nullcontext), ("inline", inline)):
            t0, c0 = time.perf_counter(), _cpu()
            await asyncio.gather(*(one_out(i) for i in range(n)))
            t1, c1 = time.perf_counter(), _cpu()
            if how is inline:
                out.append(("reply() x50 concurrent", n / (t1 - t0), (c1 - c0) / n * 1e6))
            sent = 0
            t0, c0 = time.perf_counter(), _cpu()
            with how():
                while k := await worker.run_once():
                    sent += k
            t1, c1 = time.perf_counter(), _cpu()
            out.append((f"outbox passes (batch {batch}), {label}", sent / (t1 - t0), (c1 - c0) / sent * 1e6))

        # The worker's loop under a trickle of replies: a turn per wake-up, a few sends
        # each. A turn woken by replies alone leaves staff mail and campaign sends out
        # (hub.outbox, _side_work); its baseline is the same turn with them.
        turns: dict[bool, list[float]] = {True: [], False: []}
        per_turn = 3
        for i in range(2 * max(10, n // 100)):
            side = i % 2 == 1
            await asyncio.gather(*(one_out(j) for j in range(per_turn)))
            c0 = _cpu()
            await worker.turn(side=side)
            turns[side].append((_cpu() - c0) / per_turn)
        for side, label in ((True, "with staff mail and campaigns"), (False, "replies only")):
            cpu = statistics.median(turns[side])
            out.append((f"worker turn, {per_turn} replies, {label} (CPU-bound rate)", 1 / cpu, cpu * 1e6))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-postgres", action="store_true", help="skip the writer on PostgreSQL")
    args = parser.parse_args()
    batches, size, n = (5, 128, 500) if args.quick else (20, 256, 3_000)
    print(f"storage step: {batches} batches of {size} messages per transaction")
    print("| what | msg/s | CPU µs/msg |\n|---|---:|---:|")
    for sync in ("FULL", "NORMAL"):
        rate, cpu = batch_writer(sync, batches, size)
        print(f"| ingest batch writer, synchronous={sync} | {rate:,.0f} | {cpu:,.0f} |")
        rate, cpu = sqlite_floor(sync, batches, size)
        print(f"| floor: bare sqlite3 insert, synchronous={sync} | {rate:,.0f} | {cpu:,.0f} |")
    if not args.no_postgres:
        name = f"bench_storage_{os.getpid()}"
        url = create_pg_database(name)
        try:
            rate, cpu = batch_writer("FULL", batches, size, to_sync_url(url))
        finally:
            drop_pg_database(name)
        print(f"| ingest batch writer, PostgreSQL (this process's CPU) | {rate:,.0f} | {cpu:,.0f} |")
    print(f"\nservices in process ({n:,} each, SQLite FULL, in-process bus)")
    print("| what | per s | CPU µs each |\n|---|---:|---:|")
    for what, rate, cpu in asyncio.run(services(n)):
        print(f"| {what} | {rate:,.0f} | {cpu:,.0f} |")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SWITCHBOARD_LOG_LEVEL", "WARNING")
    raise SystemExit(main())
