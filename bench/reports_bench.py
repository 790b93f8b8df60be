"""Reports at scale (issue 14): the 90-day summary and timeseries over 10,000,000 messages
on SQLite and PostgreSQL, each against a hand-written SQL aggregate over the raw rows in
the same run. Target: under 500 ms per report. Figures are reported whether met or not.

1. A data set is generated once per engine and cached (reused while its key matches:
   dataset version, size, seed and the migrations' text): a SQLite file under
   var/bench/ and a PostgreSQL database ``sb_reports_bench_<size>``.
   ~1M conversations over 90 days (6 teams, 72 agents, 6 channels; a daily and a weekly
   shape in Asia/Riyadh, a slight trend), ~10 messages each, CSAT answers on 15 % of
   the resolved ones. Python draws one *plan* row per conversation (bulk-loaded:
   executemany / COPY); everything else is bulk SQL on the server: contacts,
   conversations and messages are INSERT ... SELECT from the plan, then the rollups
   ``report_sample`` (with each duration's bucket), ``report_slot`` (counts, the
   samples' sums and the survey answers' sums), ``report_day``, ``report_hour`` and
   ``report_histogram`` are **derived from the raw rows** with one INSERT ... SELECT
   aggregate each, following the projection's
   attribution rules (docs/reports.md). Folding 10M messages through ``ReportsProjection`` would first
   need ~12M event-log rows and then runs at Python speed per event; the fold itself
   is proven equal to a recomputation by tests/core/test_reports.py, and here a random
   sample of conversations is recomputed by the projection's own
   ``recompute_conversations`` and must equal the derived samples.
2. Measured through the real functions (``hub.reports.query.summary`` and
   ``timeseries`` by day and by hour, unfiltered and for one team) on a real
   AsyncSession of the hub's ``Database``; the timed part is only the awaited query
   call (no load generator is involved). The raw aggregate (conversations, inbound and
   outbound messages per day in the range, from ``conversation`` and ``message``) runs
   on the same session in the same rounds. The figures must agree, or the bench fails;
   the percentiles read from the histograms must be within ``histogram.RELATIVE_ERROR``
   of the exact nearest-rank ones (computed from the samples, untimed).

    python bench/reports_bench.py                    # 10,000,000 messages, SQLite and PostgreSQL
    python bench/reports_bench.py --quick            # 200,000 messages (smoke run)
    python bench/reports_bench.py --backends sqlite --messages 1000000 --profile

Results: a table on stdout and bench/results/reports-<engine>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from hub.config import to_async_url  # noqa: E402
from hub.db import MIGRATIONS_DIR, Database, migrate  # noqa: E402
from hub.projections import core  # noqa: E402
from hub.reports import histogram, query  # noqa: E402
from hub.reports.query import Scope  # noqa: E402
from hub.reports.rollup import SURVEY_COLUMNS  # noqa: E402

DATASET_VERSION = 3  # 2: duration sums in report_slot, sample buckets, report_histogram, report_day
# 3: survey answers folded into report_slot / report_day, report_hour
TARGET_MS = 500.0
FULL_MESSAGES = 10_000_000
QUICK_MESSAGES = 200_000
MESSAGES_PER_CONVERSATION = 10
DAYS = 90
# The range ends at midnight in Asia/Riyadh (UTC+3 all year): days are exact half hours.
END = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
START = END - timedelta(days=DAYS)
TIMEZONE = "Asia/Riyadh"
TZ_HOURS = 3
SLOT = 1800
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TITLES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

TEAMS = [("Support", 0.30), ("Sales", 0.24), ("Billing", 0.16), ("Logistics", 0.14), ("Retention", 0.09),
         ("VIP desk", 0.07)]  # fmt: skip
AGENTS_PER_TEAM = 12
FILTER_TEAM = 2  # Sales: about a quarter of the traffic
# channel, share, seconds between messages (range), median seconds to first assignment, SLA seconds
CHANNELS = [
    ("whatsapp", 0.32, (20, 240), 60.0, 180),
    ("webchat", 0.24, (15, 180), 45.0, 120),
    ("email", 0.16, (1800, 10800), 1500.0, 3600),
    ("telegram", 0.10, (20, 240), 60.0, 180),
    ("sms", 0.10, (120, 900), 240.0, 900),
    ("voice", 0.08, (30, 120), 25.0, 30),
]
# Arrivals by local hour (Asia/Riyadh) and by weekday (Monday first; Friday and Saturday are the weekend).
HOUR_SHAPE = [0.15, 0.10, 0.07, 0.05, 0.05, 0.08, 0.20, 0.45, 0.80, 1.00, 1.10, 1.10,
              1.00, 0.95, 1.00, 1.05, 1.00, 0.90, 0.85, 0.90, 0.95, 0.80, 0.50, 0.30]  # fmt: skip
DAY_SHAPE = [1.00, 0.97, 0.95, 0.90, 0.45, 0.60, 1.05]
CSAT_SHARE = 0.15
CSAT_SCORES = ([1, 2, 3, 4, 5], [5, 5, 10, 30, 50])
BODIES = ["Hello, where is my order?", "السلام عليكم، متى يصل طلبي؟", "Thanks, that solved it.",
          "شكراً لكم على سرعة الرد", "I was charged twice.", "Can I change the address?"]  # fmt: skip

SERIES_4 = ("conversations", "inbound_messages", "first_response_avg", "service_level")
PLAN_COLS = ("id", "contact_id", "team_id", "channel", "assignee_id", "t0", "gap", "m", "fa", "sla",
             "res", "frt", "csat", "csat_at")  # fmt: skip
Plan = tuple[Any, ...]


# -- the data set ------------------------------------------------------------------------


@dataclass
class Dataset:
    messages: int
    seed: int
    conversations: int = 0
    contacts: int = 0
    open_conversations: int = 0
    csat_answers: int = 0

    def plan(self) -> list[Plan]:
        """One row per conversation, in arrival order (ids grow with time), exactly
        ``messages`` messages in all."""
        rng = random.Random(self.seed)
        n = max(1, self.messages // MESSAGES_PER_CONVERSATION)
        start = int(START.timestamp())
        weights = []
        for s in range(DAYS * 48):
            local = START + timedelta(seconds=s * SLOT + TZ_HOURS * 3600)
            trend = 0.9 + 0.2 * s / (DAYS * 48)
            weights.append(DAY_SHAPE[local.weekday()] * HOUR_SHAPE[local.hour] * trend)
        slots = sorted(rng.choices(range(DAYS * 48), weights=weights, k=n))
        t0s = sorted(start + s * SLOT + rng.randrange(SLOT) for s in slots)
        counts = [2 + min(int(rng.expovariate(1 / (MESSAGES_PER_CONVERSATION - 2.5))), 80) for _ in range(n)]
        diff = self.messages - sum(counts)
        while diff:
            i = rng.randrange(n)
            if diff > 0:
                counts[i] += 1
                diff -= 1
            elif counts[i] > 2:
                counts[i] -= 1
                diff += 1
        team_w = [w for _, w in TEAMS]
        chan_w = [c[1] for c in CHANNELS]
        contacts = max(1, int(n * 0.6))
        end = int(END.timestamp())
        rows: list[Plan] = []
        opened = 0
        for i in range(n):
            team = rng.choices(range(1, len(TEAMS) + 1), weights=team_w)[0]
            name, _, (glo, ghi), fa_median, sla = rng.choices(CHANNELS, weights=chan_w)[0]
            agent = (team - 1) * AGENTS_PER_TEAM + 1 + rng.randrange(AGENTS_PER_TEAM)
            t0, m = t0s[i], counts[i]
            gap = rng.randint(glo, ghi)
            fa = max(1, min(int(rng.lognormvariate(math.log(fa_median), 0.9)), 6 * 3600))
            k = max(1, math.ceil(fa / gap))
            k += 1 - k % 2  # the first outbound message after the assignment (odd k)
            frt = k * gap if k < m else None
            res: int | None = (m - 1) * gap + rng.randint(30, 900)
            contact = rng.randint(1, contacts)
            csat = csat_at = None
            if t0 + (res or 0) >= end:
                res = None  # still open at the end of the range: a contact of its own
                opened += 1
                contact = contacts + opened
            elif rng.random() < CSAT_SHARE:
                at = (res or 0) + rng.randint(120, 7200)
                if t0 + at < end:
                    csat, csat_at = rng.choices(*CSAT_SCORES)[0], at
            rows.append((i + 1, contact, team, name, agent, t0, gap, m, fa, sla, res, frt, csat, csat_at))
        self.conversations, self.contacts, self.open_conversations = n, contacts + opened, opened
        self.csat_answers = sum(1 for r in rows if r[12] is not None)
        return rows


def migrations_digest() -> str:
    h = hashlib.sha1()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def dataset_key(messages: int, seed: int) -> str:
    return f"v{DATASET_VERSION}-{messages}-s{seed}-m{migrations_digest()}"


# -- engines -----------------------------------------------------------------------------


class Engine:
    """One backend: how to load the plan and to say SQL that differs between them."""

    name: str
    url: str  # the hub's database_url
    sync_url: str

    def slot(self, column: str) -> str:
        raise NotImplementedError

    def epoch(self, column: str) -> str:
        raise NotImplementedError

    def ts(self, epoch_expr: str) -> str:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def create(self) -> None:
        raise NotImplementedError

    def connect(self) -> Any:
        raise NotImplementedError

    def load_plan(self, conn: Any, rows: Sequence[Plan]) -> None:
        raise NotImplementedError

    def columns(self, conn: Any, table: str) -> list[tuple[str, str, bool, bool]]:
        """(name, type, not null, has default) per column."""
        raise NotImplementedError

    def drop_indexes(self, conn: Any, tables: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def finish(self, conn: Any, key: str, meta: dict[str, Any]) -> None:
        raise NotImplementedError

    def size_bytes(self) -> int:
        raise NotImplementedError

    def numbers(self, n: int) -> str:
        """A FROM item with one column ``i`` = 1..n."""
        raise NotImplementedError

    def true(self) -> str:
        return "TRUE"


class SqliteEngine(Engine):
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = self.sync_url = f"sqlite:///{path}"

    def slot(self, column: str) -> str:
        return f"(CAST(strftime('%s', {column}) AS INTEGER) / {SLOT})"

    def epoch(self, column: str) -> str:
        return f"CAST(strftime('%s', {column}) AS INTEGER)"

    def ts(self, epoch_expr: str) -> str:
        # SQLAlchemy's SQLite DateTime text: naive UTC, six decimals
        return f"(strftime('%Y-%m-%d %H:%M:%S', {epoch_expr}, 'unixepoch') || '.000000')"

    def numbers(self, n: int) -> str:
        return f"(WITH RECURSIVE nums(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM nums WHERE i < {n}) SELECT i FROM nums)"

    def true(self) -> str:
        return "1"

    def exists(self, key: str) -> bool:
        if not self.path.exists():
            return False
        try:
            with sqlite3.connect(self.path) as db:
                row = db.execute("SELECT key FROM bench_dataset").fetchone()
        except sqlite3.Error:
            return False
        return bool(row and row[0] == key)

    def create(self) -> None:
        for p in self.path.parent.glob(self.path.name + "*"):
            p.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        migrate(self.sync_url)

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1048576", "temp_store=MEMORY",
                       "locking_mode=EXCLUSIVE", "foreign_keys=OFF"):  # fmt: skip
            db.execute(f"PRAGMA {pragma}")
        db.execute("BEGIN")
        return db

    def load_plan(self, conn: Any, rows: Sequence[Plan]) -> None:
        cols = ", ".join(PLAN_COLS)
        conn.execute(f"CREATE TEMP TABLE plan ({cols.replace('id,', 'id INTEGER PRIMARY KEY,', 1)})")
        marks = ",".join("?" * len(PLAN_COLS))
        conn.executemany(f"INSERT INTO plan VALUES ({marks})", rows)
        longest = max(r[7] for r in rows)
        conn.execute("CREATE TEMP TABLE k (n INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO k VALUES (?)", [(n,) for n in range(longest)])

    def columns(self, conn: Any, table: str) -> list[tuple[str, str, bool, bool]]:
        return [
            (r[1], str(r[2]).upper(), bool(r[3]), r[4] is not None)
            for r in conn.execute(f'PRAGMA table_info("{table}")')
        ]

    def drop_indexes(self, conn: Any, tables: Sequence[str]) -> list[str]:
        marks = ",".join("?" * len(tables))
        rows = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            list(tables),
        ).fetchall()
        for name, _ in rows:
            conn.execute(f'DROP INDEX "{name}"')
        return [sql for _, sql in rows]

    def finish(self, conn: Any, key: str, meta: dict[str, Any]) -> None:
        conn.execute("CREATE TABLE bench_dataset (key TEXT, meta TEXT)")
        conn.execute("INSERT INTO bench_dataset VALUES (?, ?)", (key, json.dumps(meta)))
        conn.execute("COMMIT")
        # No ANALYZE: the hub never runs one on SQLite (no sqlite_stat1), so neither does the bench.
        conn.execute("PRAGMA locking_mode=NORMAL")
        conn.execute("PRAGMA journal_mode=WAL")  # the hub's (persistent); the hub sets the rest on connect
        conn.close()

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))


class PostgresEngine(Engine):
    name = "postgres"

    def __init__(self, dbname: str) -> None:
        self.dbname = dbname
        self.url = f"postgresql://postgres@127.0.0.1:5432/{dbname}"
        self.sync_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}"

    def slot(self, column: str) -> str:
        return f"floor(extract(epoch FROM {column}) / {SLOT})::bigint"

    def epoch(self, column: str) -> str:
        return f"extract(epoch FROM {column})::bigint"

    def ts(self, epoch_expr: str) -> str:
        return f"to_timestamp({epoch_expr})"

    def numbers(self, n: int) -> str:
        return f"generate_series(1, {n}) AS nums(i)"

    def exists(self, key: str) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=5) as conn:
                row = conn.execute("SELECT key FROM bench_dataset").fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0] == key)

    def create(self) -> None:
        drop_pg(self.dbname)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.dbname}"')  # type: ignore[arg-type]
        migrate(self.sync_url)

    def connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url)
        for setting in ("session_replication_role = replica", "synchronous_commit = off",
                        "maintenance_work_mem = '1GB'", "work_mem = '512MB'"):  # fmt: skip
            conn.execute(f"SET {setting}")  # type: ignore[arg-type]
        return conn

    def load_plan(self, conn: Any, rows: Sequence[Plan]) -> None:
        conn.execute(
            """CREATE TEMP TABLE plan (id int PRIMARY KEY, contact_id int, team_id int, channel text,
               assignee_id int, t0 bigint, gap int, m int, fa int, sla int, res int, frt int, csat int,
               csat_at int)"""
        )
        with conn.cursor() as cur, cur.copy(f"COPY plan ({', '.join(PLAN_COLS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        conn.execute("ANALYZE plan")

    def columns(self, conn: Any, table: str) -> list[tuple[str, str, bool, bool]]:
        rows = conn.execute(
            """SELECT column_name, data_type, is_nullable = 'NO', column_default IS NOT NULL
               FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s
               ORDER BY ordinal_position""",
            (table,),
        ).fetchall()
        return [(r[0], str(r[1]).upper(), bool(r[2]), bool(r[3])) for r in rows]

    def drop_indexes(self, conn: Any, tables: Sequence[str]) -> list[str]:
        rows = conn.execute(
            """SELECT indexname, indexdef FROM pg_indexes i
               WHERE schemaname = 'public' AND tablename = ANY(%s)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            (list(tables),),
        ).fetchall()
        for name, _ in rows:
            conn.execute(f'DROP INDEX "{name}"')
        return [sql for _, sql in rows]

    def finish(self, conn: Any, key: str, meta: dict[str, Any]) -> None:
        for table in ("team", "user", "contact", "conversation"):
            conn.execute(
                f"""SELECT setval(pg_get_serial_sequence('"{table}"', 'id'), (SELECT max(id) FROM "{table}"))"""
            )
        conn.execute("CREATE TABLE bench_dataset (key text, meta text)")
        conn.execute("INSERT INTO bench_dataset VALUES (%s, %s)", (key, json.dumps(meta)))
        conn.execute("RESET session_replication_role")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")  # what autovacuum would do shortly after a real load
        conn.close()

    def size_bytes(self) -> int:
        with psycopg.connect(PG_ADMIN) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (self.dbname,)).fetchone()
        return int(row[0]) if row else 0


def drop_pg(dbname: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')  # type: ignore[arg-type]


def _filled(e: Engine, conn: Any, table: str, given: Sequence[str]) -> tuple[str, str]:
    """The column list and the literal values of every NOT NULL column without a default
    that ``given`` leaves out (the lead's later migrations add such counters): 0, '' or {}."""
    extra_cols, extra_vals = [], []
    for name, type_, not_null, has_default in e.columns(conn, table):
        if name in given or not not_null or has_default or name == "id":
            continue
        if "JSON" in type_:
            value = "'{}'"
        elif "CHAR" in type_ or "TEXT" in type_:
            value = "''"
        elif "BOOL" in type_:
            value = "FALSE" if e.name == "postgres" else "0"
        else:
            value = "0"
        extra_cols.append(f'"{name}"')
        extra_vals.append(value)
    cols = ", ".join([*(f'"{c}"' for c in given), *extra_cols])
    return cols, ", ".join(extra_vals)


def _insert(e: Engine, conn: Any, table: str, given: Sequence[str], select_list: str, rest: str) -> None:
    cols, extra = _filled(e, conn, table, given)
    conn.execute(f'INSERT INTO "{table}" ({cols}) SELECT {select_list}{", " + extra if extra else ""} {rest}')


BIG_TABLES = (
    "contact", "conversation", "message", "survey_request", "report_slot", "report_sample", "report_histogram"
)  # fmt: skip


def build(
    e: Engine, ds: Dataset, key: str, rows: Sequence[Plan], log: Callable[[str], None]
) -> dict[str, float]:
    """Load the plan and derive everything from it; seconds per step."""
    steps: dict[str, float] = {}

    def step(name: str, fn: Callable[[], object]) -> None:
        log(f"  {e.name}: {name} ...")
        t0 = time.perf_counter()
        fn()
        steps[name] = round(time.perf_counter() - t0, 2)

    step("migrate", e.create)
    conn = e.connect()
    ts = e.ts
    created = f"{ts(str(int(START.timestamp()) - 86400 * 30))}"
    indexes: list[str] = []
    step("drop secondary indexes", lambda: indexes.extend(e.drop_indexes(conn, BIG_TABLES)))
    step("plan rows (executemany / COPY)", lambda: e.load_plan(conn, rows))

    def people() -> None:
        _insert(e, conn, "team", ["id", "name", "description", "routing", "business_hours", "created_at"],
                f"i, 'bench-' || i, '', '{{}}', '{{}}', {created}", f"FROM {e.numbers(len(TEAMS))}")  # fmt: skip
        _insert(e, conn, "user", ["id", "email", "name", "role", "language", "active", "presence",
                                  "presence_changed_at", "skills", "languages", "capacity", "created_at"],
                f"i, 'agent' || i || '@bench.test', 'Agent ' || i, 'agent', 'en', {e.true()}, 'offline', "
                f"{created}, '{{}}', '[]', '{{}}', {created}",
                f"FROM {e.numbers(len(TEAMS) * AGENTS_PER_TEAM)}")  # fmt: skip
        _insert(e, conn, "contact", ["id", "name", "vip", "tags", "attributes", "notes", "created_at", "updated_at"],
                f"i, 'Customer ' || i, {'FALSE' if e.name == 'postgres' else '0'}, '[]', '{{}}', '', {created}, "
                f"{created}", f"FROM {e.numbers(ds.contacts)}")  # fmt: skip

    step("teams, agents, contacts", people)

    def conversations() -> None:
        last = "p.t0 + (p.m - 1) * p.gap"
        last_in = "p.t0 + ((p.m - 1) - (p.m - 1) % 2) * p.gap"
        _insert(
            e, conn, "conversation",
            ["id", "contact_id", "channel", "channel_account", "contact_address", "thread_key", "subject", "status",
             "team_id", "priority", "skills", "assignee_id", "tags", "created_at", "updated_at", "queued_at",
             "first_assigned_at", "first_response_at", "resolved_at", "sla_due_at", "last_message_at",
             "last_inbound_at", "csat_score", "csat_at"],
            f"""p.id, p.contact_id, p.channel, '', 'bench:' || p.contact_id, '', '',
                CASE WHEN p.res IS NULL THEN 'assigned' ELSE 'resolved' END, p.team_id, 0, '{{}}', p.assignee_id,
                '[]', {ts("p.t0")}, {ts(f"coalesce(p.t0 + p.res, {last})")}, {ts("p.t0")}, {ts("p.t0 + p.fa")},
                CASE WHEN p.frt IS NULL THEN NULL ELSE {ts("p.t0 + p.frt")} END,
                CASE WHEN p.res IS NULL THEN NULL ELSE {ts("p.t0 + p.res")} END,
                {ts("p.t0 + p.sla")}, {ts(last)}, {ts(last_in)}, p.csat,
                CASE WHEN p.csat IS NULL THEN NULL ELSE {ts("p.t0 + p.csat_at")} END""",
            "FROM plan p ORDER BY p.id",
        )  # fmt: skip

    step("conversations (INSERT ... SELECT)", conversations)

    def messages() -> None:
        k = "k.n" if e.name == "sqlite" else "k"
        source = (
            "FROM plan p CROSS JOIN k WHERE k.n < p.m"
            if e.name == "sqlite"
            else "FROM plan p CROSS JOIN LATERAL generate_series(0, p.m - 1) AS k"
        )
        body = " ".join(f"WHEN {i} THEN '{b}'" for i, b in enumerate(BODIES))
        agent = f"{k} * p.gap >= p.fa"
        _insert(
            e, conn, "message",
            ["conversation_id", "channel", "direction", "author_type", "author_id", "kind", "subject", "body",
             "attachments", "delivery_status", "meta", "raw", "created_at"],
            f"""p.id, p.channel, CASE WHEN {k} % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                CASE WHEN {k} % 2 = 0 THEN 'contact' WHEN {agent} THEN 'agent' ELSE 'system' END,
                CASE WHEN {k} % 2 = 1 AND {agent} THEN p.assignee_id END, 'text', '',
                CASE (p.id + {k}) % {len(BODIES)} {body} END, '[]',
                CASE WHEN {k} % 2 = 0 THEN 'received' ELSE 'delivered' END, '{{}}', '{{}}', {ts(f"p.t0 + {k} * p.gap")}""",
            source,
        )  # fmt: skip

    step("messages (INSERT ... SELECT)", messages)

    def surveys() -> None:
        _insert(
            e, conn, "survey_request",
            ["token", "survey_key", "kind", "version", "contact_id", "conversation_id", "channel", "team_id",
             "agent_id", "language", "status", "send_at", "sent_at", "score", "answered_at", "answered_via",
             "low_score", "created_at"],
            f"""'bench-' || p.id, 'csat', 'csat', 1, p.contact_id, p.id, p.channel, p.team_id, p.assignee_id,
                'en', 'answered', {ts("p.t0 + p.res + 60")}, {ts("p.t0 + p.res + 60")}, p.csat,
                {ts("p.t0 + p.csat_at")}, 'reply', p.csat <= 2, {ts("p.t0 + p.res")}""",
            "FROM plan p WHERE p.csat IS NOT NULL ORDER BY p.id",
        )  # fmt: skip

    step("survey answers", surveys)

    def slots() -> None:
        # The projection's attribution (hub/reports/rollup.py, docs/reports.md), from the raw rows:
        # a new conversation by its team, no agent; an inbound message by the team and the assignee
        # at that moment (none before the first assignment); an outbound one by its author if an
        # agent wrote it; a resolution by the team and the assignee (who resolved).
        sl = e.slot
        inbound_agent = (
            "CASE WHEN c.first_assigned_at <= m.created_at THEN coalesce(c.assignee_id, 0) ELSE 0 END"
        )
        # Each duration's count and sums: the aggregate of the samples (derived first).
        sums = [f"{m}_{x}" for m in ("fat", "frt", "res") for x in ("count", "sum", "bh_sum")]
        exprs = [
            f"CASE WHEN metric = '{m}' THEN {v} ELSE 0 END"
            for m in ("fat", "frt", "res")
            for v in ("1", "seconds", "business_seconds")
        ]
        sums += ["answered_in_sl", "first_contact"]
        exprs += [f"CASE WHEN metric = '{m}' AND in_target THEN 1 ELSE 0 END" for m in ("fat", "res")]
        sample_cols = ", ".join(f"{x} AS {c}" for x, c in zip(exprs, sums, strict=True))
        zeros = ", ".join("0" for _ in sums)
        # Survey answers: by the half hour of answered_at and the survey's team, channel and
        # agent, as hub.reports.rollup.answer_columns adds them.
        answer = {
            "csat_count": "CASE WHEN kind = 'csat' THEN 1 ELSE 0 END",
            "csat_sum": "CASE WHEN kind = 'csat' THEN score ELSE 0 END",
            "csat_satisfied": "CASE WHEN kind = 'csat' AND score >= 4 THEN 1 ELSE 0 END",
            "nps_count": "CASE WHEN kind = 'nps' THEN 1 ELSE 0 END",
            "nps_promoters": "CASE WHEN kind = 'nps' AND score >= 9 THEN 1 ELSE 0 END",
            "nps_detractors": "CASE WHEN kind = 'nps' AND score <= 6 THEN 1 ELSE 0 END",
            "ces_count": "CASE WHEN kind = 'ces' THEN 1 ELSE 0 END",
            "ces_sum": "CASE WHEN kind = 'ces' THEN score ELSE 0 END",
        }
        assert tuple(answer) == SURVEY_COLUMNS
        no_answer = ", ".join("0" for _ in answer)
        zeros = f"{zeros}, {no_answer}"
        sample_cols += ", " + ", ".join(f"0 AS {c}" for c in answer)
        sums += list(answer)
        _insert(
            e, conn, "report_slot",
            ["slot", "team_id", "channel", "agent_id", "conversations", "inbound", "outbound", "agent_replies",
             "resolved", "reopened", "transfers", "surveys_sent", *sums],
            "slot, team_id, channel, agent_id, sum(cv), sum(ib), sum(ob), sum(ar), sum(rs), 0, 0, 0, "
            + ", ".join(f"sum({c})" for c in sums),
            f"""FROM (
                SELECT slot, team_id, channel, agent_id, 0 AS cv, 0 AS ib, 0 AS ob, 0 AS ar, 0 AS rs,
                       {sample_cols}
                FROM report_sample
                UNION ALL
                SELECT {sl("c.created_at")} AS slot, coalesce(c.team_id, 0) AS team_id, c.channel AS channel,
                       0 AS agent_id, 1 AS cv, 0 AS ib, 0 AS ob, 0 AS ar, 0 AS rs, {zeros}
                FROM conversation c
                UNION ALL
                SELECT {sl("m.created_at")}, coalesce(c.team_id, 0), m.channel,
                       CASE WHEN m.direction = 'inbound' THEN {inbound_agent}
                            WHEN m.author_type = 'agent' THEN coalesce(m.author_id, 0) ELSE 0 END,
                       0, CASE WHEN m.direction = 'inbound' THEN 1 ELSE 0 END,
                       CASE WHEN m.direction = 'outbound' THEN 1 ELSE 0 END,
                       CASE WHEN m.direction = 'outbound' AND m.author_type = 'agent' THEN 1 ELSE 0 END, 0, {zeros}
                FROM message m JOIN conversation c ON c.id = m.conversation_id
                UNION ALL
                SELECT {sl("c.resolved_at")}, coalesce(c.team_id, 0), c.channel, coalesce(c.assignee_id, 0), 0, 0, 0, 0, 1, {zeros}
                FROM conversation c WHERE c.resolved_at IS NOT NULL
                UNION ALL
                SELECT {sl("answered_at")}, coalesce(team_id, 0), channel, coalesce(agent_id, 0), 0, 0, 0, 0, 0,
                       {", ".join("0" for _ in range(len(sums) - len(answer)))}, {", ".join(answer.values())}
                FROM survey_request WHERE score IS NOT NULL AND answered_at IS NOT NULL
            ) x GROUP BY slot, team_id, channel, agent_id ORDER BY slot, team_id, channel, agent_id""",
        )  # fmt: skip

    def samples() -> None:
        # Teams have no business hours (always open): the business-hours duration is the duration.
        ep, sl = e.epoch, e.slot
        in_sl = "(c.sla_due_at IS NULL OR c.first_assigned_at <= c.sla_due_at)"
        no = "FALSE" if e.name == "postgres" else "0"
        parts = []
        for metric, at, target in (("fat", "first_assigned_at", in_sl), ("frt", "first_response_at", no),
                                   ("res", "resolved_at", no)):  # fmt: skip
            secs = f"{ep(f'c.{at}')} - {ep('c.created_at')}"
            parts.append(
                f"""SELECT '{metric}', {sl(f"c.{at}")}, coalesce(c.team_id, 0), c.channel,
                    coalesce(c.assignee_id, 0), c.id, {secs}, {secs}, {target},
                    {histogram.sql_bucket(secs)}, {histogram.sql_bucket(secs)}
                    FROM conversation c WHERE c.{at} IS NOT NULL"""
            )
        _insert(
            e, conn, "report_sample",
            ["metric", "slot", "team_id", "channel", "agent_id", "conversation_id", "seconds", "business_seconds",
             "in_target", "bucket", "bh_bucket"],
            "*", "FROM (" + " UNION ALL ".join(parts) + ") x",
        )  # fmt: skip

    step("report_sample (INSERT ... SELECT from the raw rows)", samples)
    step("report_slot (INSERT ... SELECT aggregate of the raw rows)", slots)

    def days() -> None:
        from hub.reports.rollup import SLOT_COLUMNS

        _insert(
            e, conn, "report_day", ["day", "team_id", "channel", *SLOT_COLUMNS],
            f"slot / {histogram.DAY_SLOTS}, team_id, channel, " + ", ".join(f"sum({c})" for c in SLOT_COLUMNS),
            f"FROM report_slot GROUP BY slot / {histogram.DAY_SLOTS}, team_id, channel",
        )  # fmt: skip

    step("report_day (INSERT ... SELECT aggregate of report_slot)", days)

    def hours() -> None:
        from hub.reports.rollup import HOUR_SLOTS, SLOT_COLUMNS

        _insert(
            e, conn, "report_hour", ["hour", "team_id", "channel", *SLOT_COLUMNS],
            f"slot / {HOUR_SLOTS}, team_id, channel, " + ", ".join(f"sum({c})" for c in SLOT_COLUMNS),
            f"FROM report_slot GROUP BY slot / {HOUR_SLOTS}, team_id, channel",
        )  # fmt: skip

    step("report_hour (INSERT ... SELECT aggregate of report_slot)", hours)

    def histograms() -> None:
        # Teams have no business hours here: the business-hours bucket is the bucket (n_bh = n).
        levels = [("team_id", "channel"), (str(histogram.ALL_TEAMS), "channel"),
                  ("team_id", f"'{histogram.ALL_CHANNELS}'"), (str(histogram.ALL_TEAMS), f"'{histogram.ALL_CHANNELS}'")]  # fmt: skip
        parts = [
            f"SELECT metric, slot / {histogram.DAY_SLOTS} AS day, {t} AS team_id, {c} AS channel, bucket "
            "FROM report_sample"
            for t, c in levels
        ]
        _insert(
            e, conn, "report_histogram", ["metric", "day", "team_id", "channel", "bucket", "n", "n_bh"],
            "metric, day, team_id, channel, bucket, count(*), count(*)",
            "FROM (" + " UNION ALL ".join(parts) + ") x GROUP BY metric, day, team_id, channel, bucket",
        )  # fmt: skip

    step("report_histogram (INSERT ... SELECT aggregate of the samples)", histograms)
    step("secondary indexes", lambda: [conn.execute(sql) for sql in indexes])
    meta = {"dataset": asdict(ds), "steps": steps}
    step("finish (VACUUM ANALYZE on PostgreSQL), close", lambda: e.finish(conn, key, meta))
    return steps


def read_meta(e: Engine) -> dict[str, Any]:
    if isinstance(e, SqliteEngine):
        with sqlite3.connect(e.path) as db:
            return dict(json.loads(db.execute("SELECT meta FROM bench_dataset").fetchone()[0]))
    with psycopg.connect(e.url) as conn:
        row = conn.execute("SELECT meta FROM bench_dataset").fetchone()
    return dict(json.loads(row[0])) if row else {}


# -- measuring ---------------------------------------------------------------------------


def raw_sql(e: Engine, team: bool) -> str:
    """The hand-written aggregate: conversations, inbound and outbound messages per local
    day in the range, straight from the raw rows."""
    if e.name == "sqlite":
        day = f"date({{}}, '+{TZ_HOURS} hours')"
        flag = "{}"
    else:
        day = f"(({{}}) AT TIME ZONE '{TIMEZONE}')::date"
        flag = "({})::int"
    join = "JOIN conversation c ON c.id = m.conversation_id" if team else ""
    team_c = "AND team_id = :team" if team else ""
    team_m = "AND c.team_id = :team" if team else ""
    return f"""
        SELECT d, sum(cv), sum(ib), sum(ob) FROM (
          SELECT {day.format("created_at")} AS d, 1 AS cv, 0 AS ib, 0 AS ob
          FROM conversation WHERE created_at >= :since AND created_at < :until {team_c}
          UNION ALL
          SELECT {day.format("m.created_at")}, 0, {flag.format("m.direction = 'inbound'")},
                 {flag.format("m.direction = 'outbound'")}
          FROM message m {join} WHERE m.created_at >= :since AND m.created_at < :until {team_m}
        ) x GROUP BY d ORDER BY d"""


def raw_extras_sql(team: bool) -> str:
    """Untimed cross-checks of the duration sample counts and the CSAT answers."""
    t = "AND team_id = :team" if team else ""
    return f"""SELECT
        (SELECT count(*) FROM conversation WHERE first_assigned_at >= :since AND first_assigned_at < :until {t}),
        (SELECT count(*) FROM conversation WHERE first_response_at >= :since AND first_response_at < :until {t}),
        (SELECT count(*) FROM conversation WHERE resolved_at >= :since AND resolved_at < :until {t}),
        (SELECT count(*) FROM survey_request WHERE answered_at >= :since AND answered_at < :until {t}),
        (SELECT sum(score) FROM survey_request WHERE answered_at >= :since AND answered_at < :until {t})"""


# Whole-number columns report_day and report_hour must hold as the sums of report_slot's.
KEPT_COLUMNS = (
    *("conversations", "inbound", "outbound", "resolved", "fat_count", "frt_count", "res_count"),
    *("answered_in_sl", "csat_count", "csat_sum", "csat_satisfied"),
)


async def coarse_rollups_agree(s: Any) -> list[str]:
    """report_day and report_hour against the aggregate of report_slot (untimed)."""
    problems = []
    for table, unit, per in (("report_day", "day", histogram.DAY_SLOTS), ("report_hour", "hour", 2)):
        cols = ", ".join(KEPT_COLUMNS)
        sums = ", ".join(f"sum({c})" for c in KEPT_COLUMNS)
        want = {
            tuple(r[:3]): tuple(int(x) for x in r[3:])
            for r in (
                await core(
                    s,
                    sa.text(
                        f"SELECT slot / {per}, team_id, channel, {sums} FROM report_slot "
                        f"GROUP BY slot / {per}, team_id, channel"
                    ),
                )
            ).all()
        }
        got = {
            tuple(r[:3]): tuple(int(x) for x in r[3:])
            for r in (await core(s, sa.text(f"SELECT {unit}, team_id, channel, {cols} FROM {table}"))).all()
        }
        if got != want:
            wrong = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            problems.append(f"{table}: {len(wrong)} rows differ from report_slot's sums, e.g. {wrong[:3]}")
    return problems


def bounds(e: Engine) -> dict[str, Any]:
    if e.name == "sqlite":
        return {"since": START.replace(tzinfo=None).isoformat(" ") + ".000000",
                "until": END.replace(tzinfo=None).isoformat(" ") + ".000000"}  # fmt: skip
    return {"since": START, "until": END}


def nearest_rank(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


@dataclass
class Timing:
    name: str
    kind: str  # report or raw
    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "runs": len(self.ms),
            "median_ms": round(statistics.median(self.ms), 1),
            "p95_ms": round(nearest_rank(self.ms, 0.95), 1),
            "min_ms": round(min(self.ms), 1),
            "max_ms": round(max(self.ms), 1),
            "cpu_median_ms": round(statistics.median(self.cpu_ms), 1),
        }


class Cpu:
    """CPU seconds spent on a call: this process (Python, and SQLite in its thread) plus
    the PostgreSQL backend serving the session (/proc, same host). On a machine shared
    with other work, wall time includes waiting for a core; CPU time does not."""

    def __init__(self, backend_pid: int | None) -> None:
        self.stat = Path(f"/proc/{backend_pid}/stat") if backend_pid else None
        self.tick = os.sysconf("SC_CLK_TCK")

    def now(self) -> float:
        total = time.process_time()
        if self.stat is not None and self.stat.exists():
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / self.tick  # utime, stime
        return total


class StatementLog:
    """Each statement's time (execute and fetch) while on: which part of a report is slow."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.rows: list[tuple[float, str]] = []
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on:
            self.rows.append(((time.perf_counter() - conn.info.pop("bench_t0")) * 1000, statement))


async def measure(e: Engine, runs: int, profile: bool, log: Callable[[str], None]) -> dict[str, Any]:
    db = Database(to_async_url(e.url))
    statements = StatementLog(db)
    all_scope = Scope(START, END)
    team_scope = Scope(START, END, (FILTER_TEAM,))
    params = bounds(e)
    out: dict[str, Any] = {}
    try:
        async with db.session() as s:
            await s.connection()
            pid = None if e.name == "sqlite" else (await core(s, sa.text("SELECT pg_backend_pid()"))).scalar()
            cpu = Cpu(pid)
            out["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
            jobs: list[tuple[str, str, Callable[[], Awaitable[Any]]]] = []
            for label, scope in (("all teams", all_scope), (f"team {FILTER_TEAM}", team_scope)):
                team = scope.team_ids is not None
                jobs += [
                    (f"summary, {label}", "report", partial(query.summary, s, scope)),
                    (f"timeseries by day, {label}", "report",
                     partial(query.timeseries, s, scope, "inbound_messages", "day", TIMEZONE)),
                    (f"timeseries by hour, {label}", "report",
                     partial(query.timeseries, s, scope, "inbound_messages", "hour", TIMEZONE)),
                    (f"raw SQL per day, {label}", "raw",
                     partial(core, s, sa.text(raw_sql(e, team)), {**params, "team": FILTER_TEAM})),
                ]  # fmt: skip
            jobs += [
                ("timeseries of 4 metrics by day, all teams", "report",
                 partial(query.timeseries, s, all_scope, list(SERIES_4), "day", TIMEZONE)),
                ("summary, last day, all teams", "report", partial(query.summary, s, Scope(END - timedelta(days=1), END))),
            ]  # fmt: skip
            timings = {name: Timing(name, kind) for name, kind, _ in jobs}
            results: dict[str, Any] = {}
            # one warm-up round (caches, the statements' plans), then `runs` rounds, interleaved
            # A report slower than 5 s in the warm-up gets 3 timed rounds, slower than 20 s one.
            rounds: dict[str, int] = {}
            for rnd in range(runs + 1):
                for name, _, job in jobs:
                    if rnd > rounds.get(name, runs):
                        continue
                    c0, t0 = cpu.now(), time.perf_counter()
                    result = await job()  # the timed part: only the awaited query
                    ms = (time.perf_counter() - t0) * 1000
                    cpu_ms = (cpu.now() - c0) * 1000
                    if rnd == 0:
                        results[name] = result.all() if hasattr(result, "all") else result
                        rounds[name] = runs if ms < 5000 else min(runs, 3) if ms < 20_000 else 1
                        log(f"  {e.name}: warm-up {name}: {ms:,.0f} ms")
                    else:
                        timings[name].ms.append(ms)
                        timings[name].cpu_ms.append(cpu_ms)
                log(f"  {e.name}: round {rnd}/{runs} done")
            out["timings"] = [t.summary() for t in timings.values()]
            out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            out["checks"] = await check(e, s, results, params)
            if profile:
                statements.on = True
                for name, _, job in jobs:
                    if timings[name].kind == "report":
                        statements.rows = []
                        await job()
                        top = sorted(statements.rows, reverse=True)[:6]
                        out.setdefault("statements", {})[name] = [
                            {"ms": round(ms, 1), "sql": " ".join(sql.split())[:300]} for ms, sql in top
                        ]
                statements.on = False
    finally:
        await db.dispose()
    return out


async def check(e: Engine, s: Any, results: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The rollups' figures against the raw rows; raises on any difference."""
    problems: list[str] = []
    checked: dict[str, Any] = {}
    for label, team in (("all teams", None), (f"team {FILTER_TEAM}", FILTER_TEAM)):
        scope = Scope(START, END, (team,) if team else None)
        raw = {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in results[f"raw SQL per day, {label}"]}
        # inbound: the timed timeseries itself; conversations and outbound: the same slot
        # totals timeseries reads, put into local days here (one more call instead of two)
        series: dict[str, dict[str, int]] = {"conversations": {}, "outbound_messages": {}}
        series["inbound_messages"] = {
            p["start"][:10]: int(p["value"] or 0) for p in results[f"timeseries by day, {label}"]
        }
        zone = ZoneInfo(TIMEZONE)
        for row in await query.totals(s, scope, ("slot",)):
            day = query.slot_start(int(row["slot"])).astimezone(zone).date().isoformat()
            for metric, column in (("conversations", "conversations"), ("outbound_messages", "outbound")):
                series[metric][day] = series[metric].get(day, 0) + int(row[column])
        days = sorted(set(raw) | set(series["inbound_messages"]))
        for d in days:
            got = tuple(
                series[m].get(d, 0) for m in ("conversations", "inbound_messages", "outbound_messages")
            )
            if got != raw.get(d, (0, 0, 0)):
                problems.append(f"{label} {d}: rollups {got} != raw {raw.get(d)}")
        by_hour = results[f"timeseries by hour, {label}"]
        if sum(int(p["value"] or 0) for p in by_hour) != sum(v[1] for v in raw.values()):
            problems.append(f"{label}: the hourly inbound series does not add up to the raw count")
        if sum(int(p["value"] or 0) for p in results[f"timeseries by day, {label}"]) != sum(
            v[1] for v in raw.values()
        ):
            problems.append(f"{label}: the daily inbound series does not add up to the raw count")
        summ = results[f"summary, {label}"]
        totals = tuple(sum(v[i] for v in raw.values()) for i in range(3))
        got = (summ["conversations"], summ["inbound_messages"], summ["outbound_messages"])
        if got != totals:
            problems.append(f"{label}: summary {got} != raw {totals}")
        *extra, score_sum = (
            await core(s, sa.text(raw_extras_sql(team is not None)), {**params, "team": team})
        ).one()
        got_extra = (
            summ["first_assignment_seconds"]["count"],
            summ["first_response_seconds"]["count"],
            summ["resolution_seconds"]["count"],
            summ["csat"]["responses"],
        )
        want_avg = round(int(score_sum) / int(extra[3]), 3) if extra[3] else None
        if summ["csat"]["average"] != want_avg:
            problems.append(f"{label}: CSAT average {summ['csat']['average']} != raw {want_avg}")
        if tuple(int(x) for x in extra) != got_extra:
            problems.append(
                f"{label}: samples/answers (fat, frt, res, csat) {got_extra} != raw {tuple(extra)}"
            )
        # Percentiles from the histograms against the exact nearest-rank values (untimed).
        worst = 0.0
        for name, metric in query.DURATIONS.items():
            d = summ[name]
            if d["count"] == 0:
                continue
            exact = await query.exact_percentiles(s, scope, metric, n=d["count"])
            for k, want in exact.items():
                got_p = d[k]
                if want is None or got_p is None:
                    if want != got_p:
                        problems.append(f"{label} {name}.{k}: {got_p} != exact {want}")
                    continue
                err = abs(got_p - want) / want if want >= 1 else abs(got_p - want)
                worst = max(worst, err if want >= 1 else 0.0)
                if (want >= 1 and err > histogram.RELATIVE_ERROR + 1e-9) or (want < 1 and err >= 1):
                    problems.append(f"{label} {name}.{k}: {got_p} vs exact {want}")
        checked[label] = {
            "percentile_max_relative_error": round(worst, 5),
            "days": len(days),
            "conversations": totals[0],
            "inbound_messages": totals[1],
            "outbound_messages": totals[2],
            "fat_frt_res_csat": list(got_extra),
            "summary_excerpt": {
                "service_level": summ["service_level"],
                "first_response_seconds": summ["first_response_seconds"],
                "csat": summ["csat"],
            },
        }
    problems += await coarse_rollups_agree(s)
    if problems:
        for p in problems[:20]:
            print(f"MISMATCH {e.name}: {p}", file=sys.stderr)
        raise SystemExit(f"{e.name}: the rollups disagree with the raw rows ({len(problems)} differences)")
    return {"agree": True, **checked}


async def verify_projection(e: Engine, sample: int, seed: int) -> list[str]:
    """Recompute the first-assignment and first-response samples of random conversations
    with the projection's own code (rolled back) and compare with the derived rows."""
    from hub.models import ReportSample
    from hub.reports.rollup import _calendars, recompute_conversations

    table = ReportSample.__table__  # type: ignore[attr-defined]
    cols = [table.c[c] for c in ("metric", "slot", "team_id", "channel", "agent_id", "conversation_id",
                                 "seconds", "business_seconds", "in_target")]  # fmt: skip
    db = Database(to_async_url(e.url))
    try:
        async with db.session() as s:
            n = (await core(s, sa.text("SELECT max(id) FROM conversation"))).scalar() or 0
            ids = sorted(random.Random(seed).sample(range(1, n + 1), min(sample, n)))
            stmt = sa.select(*cols).where(
                table.c.conversation_id.in_(ids), table.c.metric.in_(["fat", "frt"])
            )

            def rows(result: Any) -> list[tuple[Any, ...]]:
                return sorted((r[0], r[1], r[2], r[3], r[4], r[5], float(r[6]), float(r[7]), bool(r[8]))
                              for r in result)  # fmt: skip

            loaded = rows((await core(s, stmt)).all())
            await recompute_conversations(s, ids, await _calendars(s))
            computed = rows((await core(s, stmt)).all())
            await s.rollback()
    finally:
        await db.dispose()
    if loaded == computed:
        return []
    return [f"derived {a} != projection {b}" for a, b in zip(loaded, computed, strict=False) if a != b][
        :10
    ] or [f"{len(loaded)} derived rows, {len(computed)} from the projection"]


# -- report ------------------------------------------------------------------------------


def engine_for(name: str, messages: int, workdir: Path) -> Engine:
    suffix = "quick" if messages == QUICK_MESSAGES else str(messages)
    if name == "sqlite":
        return SqliteEngine(workdir / f"reports-{suffix}.db")
    return PostgresEngine(f"sb_reports_bench_{suffix}")


def code_state() -> dict[str, Any]:
    """The commit measured, and whether the report code had uncommitted changes."""

    def git(*a: str) -> str:
        try:
            return subprocess.run(
                ["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except OSError:
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted": git("status", "--porcelain", "--", "hub").splitlines(),
    }


def print_table(title: str, result: dict[str, Any]) -> None:
    print(f"\n## {title}\n")
    print("| query | runs | median ms | p95 ms | CPU ms (median) | target < 500 ms |")
    print("|---|---:|---:|---:|---:|---|")
    for t in result["timings"]:
        met = "" if t["kind"] == "raw" else ("MET" if t["p95_ms"] < TARGET_MS else "NOT MET")
        print(
            f"| {t['name']} | {t['runs']} | {t['median_ms']:,.1f} | {t['p95_ms']:,.1f} | "
            f"{t['cpu_median_ms']:,.1f} | {met} |"
        )
    before, after = result["load_average_before"], result["load_average_after"]
    print(f"\nload average (1 min) on {os.cpu_count()} CPUs: {before[0]} before, {after[0]} after")


def run(args: argparse.Namespace) -> dict[str, Any]:
    messages = args.messages or (QUICK_MESSAGES if args.quick else FULL_MESSAGES)
    key = dataset_key(messages, args.seed)
    workdir = Path(args.workdir) if args.workdir else ROOT / "var" / "bench"
    results_dir = Path(args.results) if args.results else HERE / "results"

    def log(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    plan_rows: list[Plan] | None = None
    python_s = 0.0
    ds = Dataset(messages, args.seed)
    out: dict[str, Any] = {}
    for name in args.backends.split(","):
        e = engine_for(name, messages, workdir)
        generated: dict[str, Any] = {"reused": True}
        if args.rebuild or not e.exists(key):
            if plan_rows is None:
                log(f"drawing the plan of {messages:,} messages ...")
                t0 = time.perf_counter()
                plan_rows = ds.plan()
                python_s = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            steps = build(e, ds, key, plan_rows, log)
            generated = {
                "reused": False,
                "python_plan_s": python_s,
                "load_s": round(time.perf_counter() - t0, 2),
                "steps": steps,
            }
        meta = read_meta(e)
        generated["dataset"] = meta.get("dataset")
        generated["build_steps_when_made"] = meta.get("steps")
        generated["size_mb"] = round(e.size_bytes() / 2**20)
        if args.verify:
            bad = asyncio.run(verify_projection(e, args.verify, args.seed))
            if bad:
                raise SystemExit(f"{e.name}: derived samples differ from the projection's: {bad}")
            generated["projection_sample_verified"] = args.verify
        if args.build_only:
            log(f"{e.name}: data set ready ({generated['size_mb']:,} MB), not measured (--build-only)")
            continue
        log(f"{e.name}: measuring ({args.runs} rounds after a warm-up) ...")
        result = asyncio.run(measure(e, args.runs, args.profile, log))
        doc = {
            "bench": "reports",
            "engine": e.name,
            "key": key,
            "messages": messages,
            "range": {
                "since": START.isoformat(),
                "until": END.isoformat(),
                "days": DAYS,
                "timezone": TIMEZONE,
            },
            "target_ms": TARGET_MS,
            "generation": generated,
            **result,
            "met": {t["name"]: t["p95_ms"] < TARGET_MS for t in result["timings"] if t["kind"] == "report"},
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": {"cpus": os.cpu_count()},
            "code": code_state(),
        }
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / f"reports-{e.name}.json").write_text(
            json.dumps(doc, indent=1, default=str), encoding="utf-8"
        )
        ds_info = meta.get("dataset") or {}
        gen = (
            "reused (cached)"
            if generated["reused"]
            else f"{generated['python_plan_s'] + generated['load_s']:.0f} s (plan {generated['python_plan_s']:.0f} s)"
        )
        print_table(
            f"{TITLES[e.name]}: {messages:,} messages, {ds_info.get('conversations', 0):,} conversations, "
            f"{DAYS} days; data set {gen}, {generated['size_mb']:,} MB",
            result,
        )
        for label, ch in result["checks"].items():
            if label != "agree":
                print(f"\nagree ({label}): {ch['days']} days, {ch['conversations']:,} conversations, "
                      f"{ch['inbound_messages']:,} inbound, {ch['outbound_messages']:,} outbound")  # fmt: skip
        for name_, rows in result.get("statements", {}).items():
            print(f"\nslowest statements of {name_}:")
            for r in rows:
                print(f"  {r['ms']:>9,.1f} ms  {r['sql'][:160]}")
        if args.drop and isinstance(e, PostgresEngine):
            drop_pg(e.dbname)
        out[e.name] = doc
    print("\nThe timed part is only the awaited query call on an open session (no load generator runs);")
    print("raw SQL: the same per-day counts straight from the message and conversation rows.")
    return out


def parse(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_MESSAGES:,} messages (smoke run)")
    ap.add_argument("--messages", type=int, help=f"messages in all (default {FULL_MESSAGES:,})")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--runs", type=int, default=7, help="timed rounds after one warm-up round")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument(
        "--verify", type=int, default=200, help="conversations recomputed by the projection (0: none)"
    )
    ap.add_argument(
        "--rebuild", action="store_true", help="generate again even if the cached data set matches"
    )
    ap.add_argument("--drop", action="store_true", help="drop the PostgreSQL database afterwards (no reuse)")
    ap.add_argument(
        "--build-only", action="store_true", help="make (or check) the data sets, measure nothing"
    )
    ap.add_argument("--profile", action="store_true", help="print each report's slowest SQL statements")
    ap.add_argument("--workdir", help="where the SQLite file is kept (default var/bench)")
    ap.add_argument("--results", help="where reports-<engine>.json go (default bench/results)")
    return ap.parse_args(list(argv))


def main(argv: Sequence[str]) -> int:
    run(parse(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
