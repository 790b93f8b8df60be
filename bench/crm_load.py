"""Bulk loading of the customer-memory data set (bench/crm_data.py) into a freshly
migrated SQLite file or PostgreSQL database, with bulk SQL only (no hub services).

* SQLite: ``executemany`` in one transaction per chunk, with bulk-load pragmas
  (no journal, no fsync, a big page cache, exclusive lock) that are put back to the
  hub's (WAL) at the end; the hub's own connections set the rest on connect.
* PostgreSQL: ``COPY`` per table and chunk, foreign-key triggers off for the session
  (``session_replication_role = replica``: the data is consistent by construction),
  then sequences moved past the explicit ids and ``VACUUM ANALYZE`` (autovacuum would
  do the same shortly after a real load).
* Secondary indexes of the big tables are dropped first and created again at the end
  from the exact DDL the database reported (``sqlite_master.sql`` / ``pg_indexes``):
  building an index once over sorted data is much faster than growing it row by row,
  and re-running the database's own DDL restores exactly what the migrations made
  (including the pg_trgm GIN index of migration 0006). SQLite's FTS5 table is built the
  same way: its insert trigger is dropped for the load, the index is built in one
  'rebuild' pass from contact_search, and the trigger is put back verbatim.
* Messages are generated server-side from the conversation rows (INSERT ... SELECT):
  5 million Python tuples would cost more than everything else together.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from crm_data import MESSAGE_GAP_S, Chunk, Conv, Person, TierRule, dumps
from sqlmodel import Session, create_engine, select

from hub.config import to_async_url
from hub.db import Database, migrate
from hub.models import ContactField, ProjectionCheckpoint, Role, Team, Tier, User

BIG_TABLES = (
    "contact",
    "identity",
    "conversation",
    "message",
    "contact_figures",
    "contact_tier",
    "contact_search",
)
BODIES = [
    "السلام عليكم، متى يصل طلبي؟",
    "Hello, I would like to check the status of my order please.",
    "شكراً لكم على سرعة الرد",
    "Can I change the delivery address?",
    "لدي مشكلة في الفاتورة الأخيرة",
    "Thanks, that solved it.",
    "هل يوجد خصم على الطلبات الكبيرة؟",
    "I was charged twice for the same order.",
]
CONTACT_COLS = "id, name, language, timezone, vip, tags, attributes, notes, created_at, updated_at"
IDENTITY_COLS = "contact_id, kind, address, created_at"
CONVERSATION_COLS = (
    "id, contact_id, channel, channel_account, contact_address, thread_key, subject, status, team_id, "
    "priority, skills, language, assignee_id, category, tags, created_at, updated_at, queued_at, "
    "first_assigned_at, first_response_at, resolved_at, last_message_at, last_inbound_at, csat_score, csat_at"
)
FIGURES_COLS = (
    "contact_id, conversations_30d, conversations_90d, conversations_365d, conversations_total, "
    "first_contact_at, last_contact_at, channels, preferred_channel, csat_count, csat_sum, last_low_csat_at, "
    "open_complaints, last_conversation_id, last_category, last_status, tiers, due_at, updated_at"
)
TABLE_COLS = {
    "contact": CONTACT_COLS,
    "identity": IDENTITY_COLS,
    "conversation": CONVERSATION_COLS,
    "contact_figures": FIGURES_COLS,
    "contact_tier": "tier, contact_id",
    "contact_search": "contact_id, text",
}
Encode = Callable[[datetime | None], Any]


def sqlite_ts(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DateTime text (naive UTC, six decimals); values are whole seconds."""
    return None if value is None else value.replace(tzinfo=None).isoformat(" ") + ".000000"


def pg_ts(value: datetime | None) -> datetime | None:
    return value


# -- rows ------------------------------------------------------------------------------------


def contact_row(p: Person, ts: Encode) -> tuple[Any, ...]:
    created = ts(p.created_at)
    return (
        p.id,
        p.name,
        p.language,
        p.timezone,
        p.vip,
        dumps(p.tags),
        dumps(p.attributes),
        "",
        created,
        created,
    )


def conversation_row(c: Conv, ts: Encode) -> tuple[Any, ...]:
    assigned = c.created_at + timedelta(seconds=60) if c.assignee_id is not None else None
    first_response = (
        c.created_at + timedelta(seconds=MESSAGE_GAP_S) if c.messages > 1 else None
    )  # message k=1
    updated = c.resolved_at or c.last_message_at
    return (
        c.id, c.contact_id, c.channel, "", c.address, "", "", c.status, c.team_id,
        0, "{}", None, c.assignee_id, c.category, "[]", ts(c.created_at), ts(updated), ts(c.created_at),
        ts(assigned), ts(first_response),
        ts(c.resolved_at), ts(c.last_message_at), ts(c.last_inbound_at), c.csat_score, ts(c.csat_at),
    )  # fmt: skip


def figures_row(f: dict[str, Any], ts: Encode) -> tuple[Any, ...]:
    return (
        f["contact_id"], f["conversations_30d"], f["conversations_90d"], f["conversations_365d"],
        f["conversations_total"], ts(f["first_contact_at"]), ts(f["last_contact_at"]), dumps(f["channels"]),
        f["preferred_channel"], f["csat_count"], f["csat_sum"], ts(f["last_low_csat_at"]),
        f["open_complaints"], f["last_conversation_id"], f["last_category"], f["last_status"],
        dumps(f["tiers"]), ts(f["due_at"]), ts(f["updated_at"]),
    )  # fmt: skip


def chunk_rows(chunk: Chunk, ts: Encode) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "contact": [contact_row(p, ts) for p in chunk.people],
        "identity": [(p.id, i.kind, i.address, ts(p.created_at)) for p in chunk.people for i in p.identities],
        "conversation": [conversation_row(c, ts) for c in chunk.conversations],
        "contact_figures": [figures_row(f, ts) for f in chunk.figures],
        "contact_tier": list(chunk.tiers),
        "contact_search": list(chunk.search),
    }


# -- targets ---------------------------------------------------------------------------------


class Target(Protocol):
    name: str
    url: str  # sqlite:///… or postgresql://… (the hub's database_url)
    sync_url: str
    timings: dict[str, float]

    def migrate(self, now: datetime) -> list[TierRule]: ...
    def prepare(self) -> None: ...
    def write(self, chunk: Chunk) -> None: ...
    def finish(self, analyze: bool) -> None: ...
    def size_bytes(self) -> int: ...


def _seed_small_tables(sync_url: str, now: datetime) -> list[TierRule]:
    """Teams, agents (conversation owners), custom fields and the projection checkpoints,
    through the models so every default is the hub's; returns the active tiers."""
    engine = create_engine(sync_url)
    with Session(engine) as s:
        for i in range(1, 6):
            s.add(Team(id=i, name=f"bench-team-{i}", created_at=now))
        for i in range(1, 41):
            s.add(
                User(id=i, email=f"agent{i}@bench.test", name=f"Agent {i}", role=Role.agent, created_at=now)
            )
        s.add(ContactField(key="plan", label_en="Plan", label_ar="الباقة", type="choice",
                           options=["free", "silver", "gold"], position=0))  # fmt: skip
        s.add(
            ContactField(
                key="customer_no", label_en="Customer no.", label_ar="رقم العميل", type="text", position=1
            )
        )
        # Every projection the app runs, caught up with an empty log and not rebuilding:
        # the rows loaded are complete (no organisations: nothing for organization_join).
        for name in projection_names():
            s.add(ProjectionCheckpoint(name=name, position=0, gaps={}, rebuild_cursor=None, updated_at=now))
        s.commit()
        tiers = s.exec(select(Tier).where(Tier.active == True).order_by(Tier.position)).all()  # type: ignore[arg-type]  # noqa: E712
        out = [TierRule(t.key, dict(t.rule)) for t in tiers]
    engine.dispose()
    return out


def projection_names() -> list[str]:
    """The projections hub.app starts (a new one would otherwise rebuild from every
    contact while the bench measures)."""
    from types import SimpleNamespace

    from hub.app import build_projections
    from hub.config import load_settings

    # Only the names are read: a stand-in hub with what the constructors look at.
    hub = SimpleNamespace(db=SimpleNamespace(is_sqlite=True), settings=load_settings(None))
    return list(build_projections(hub).projections)  # type: ignore[arg-type]


class SqliteTarget:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sync_url = f"sqlite:///{path}"
        self.url = self.sync_url
        self.timings: dict[str, float] = {}
        self.indexes: list[tuple[str, str]] = []
        self.trigger = ""
        self.db: sqlite3.Connection | None = None

    def migrate(self, now: datetime) -> list[TierRule]:
        migrate(self.sync_url)
        return _seed_small_tables(self.sync_url, now)

    def prepare(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-524288", "temp_store=MEMORY",
                       "locking_mode=EXCLUSIVE"):  # fmt: skip
            db.execute(f"PRAGMA {pragma}")
        marks = ",".join("?" * len(BIG_TABLES))
        self.indexes = db.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            BIG_TABLES,
        ).fetchall()
        for name, _ in self.indexes:
            db.execute(f'DROP INDEX "{name}"')
        # The FTS5 index is built in one pass at the end ('rebuild' reads contact_search):
        # 7x faster than its insert trigger row by row. The trigger comes back verbatim.
        self.trigger = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'contact_search_ai'"
        ).fetchone()[0]
        db.execute("DROP TRIGGER contact_search_ai")
        self.db = db

    def write(self, chunk: Chunk) -> None:
        assert self.db is not None
        t0 = time.perf_counter()
        self.db.execute("BEGIN")
        for table, rows in chunk_rows(chunk, sqlite_ts).items():
            cols = TABLE_COLS[table]
            marks = ",".join("?" * (cols.count(",") + 1))
            self.db.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)
        self.db.execute("COMMIT")
        self.timings["write rows"] = self.timings.get("write rows", 0.0) + time.perf_counter() - t0

    def finish(self, analyze: bool) -> None:
        db = self.db
        assert db is not None
        self._timed("messages (INSERT ... SELECT)", lambda: self._messages(db))
        self._timed("indexes", lambda: [db.execute(sql) for _, sql in self.indexes])
        self._timed(
            "FTS5 rebuild",
            lambda: db.execute("INSERT INTO contact_search_fts(contact_search_fts) VALUES ('rebuild')"),
        )
        db.execute(self.trigger)
        if analyze:
            self._timed("ANALYZE", lambda: db.execute("ANALYZE"))
        # The hub's journal mode (persistent); its connections set synchronous, foreign
        # keys and the busy timeout themselves (hub.db._sqlite_pragmas).
        db.execute("PRAGMA locking_mode=NORMAL")
        db.execute("PRAGMA journal_mode=WAL")
        db.close()
        self.db = None

    def _messages(self, db: sqlite3.Connection) -> None:
        longest = db.execute(
            "SELECT max(round((julianday(last_message_at) - julianday(created_at)) * 86400)) FROM conversation"
        ).fetchone()[0]
        db.execute("CREATE TEMP TABLE k (n INTEGER PRIMARY KEY)")
        db.executemany(
            "INSERT INTO k VALUES (?)", [(n,) for n in range(int((longest or 0) / MESSAGE_GAP_S) + 1)]
        )
        bodies = " ".join(f"WHEN {i} THEN '{b}'" for i, b in enumerate(BODIES))
        db.execute("BEGIN")
        db.execute(
            f"""INSERT INTO message (conversation_id, channel, direction, author_type, author_id, kind, subject,
                body, attachments, provider_message_id, delivery_status, meta, raw, created_at)
            SELECT c.id, c.channel,
                CASE WHEN k.n % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                CASE WHEN k.n % 2 = 0 THEN 'contact' ELSE 'agent' END,
                CASE WHEN k.n % 2 = 0 THEN NULL ELSE c.assignee_id END,
                'text', '', CASE (c.id + k.n) % {len(BODIES)} {bodies} END, '[]',
                'bench-' || c.id || '-' || k.n,
                CASE WHEN k.n % 2 = 0 THEN 'received' ELSE 'delivered' END, '{{}}', '{{}}',
                strftime('%Y-%m-%d %H:%M:%S', c.created_at, '+' || (k.n * {MESSAGE_GAP_S}) || ' seconds') || '.000000'
            FROM conversation c JOIN k
              ON k.n <= CAST(round((julianday(c.last_message_at) - julianday(c.created_at)) * 86400) AS INTEGER)
                        / {MESSAGE_GAP_S}
            ORDER BY c.id, k.n"""
        )
        db.execute("COMMIT")
        db.execute("DROP TABLE k")

    def _timed(self, what: str, fn: Callable[[], object]) -> None:
        t0 = time.perf_counter()
        fn()
        self.timings[what] = time.perf_counter() - t0

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresTarget:
    name = "postgres"

    def __init__(self, dbname: str) -> None:
        self.dbname = dbname
        self.url = f"postgresql://postgres@127.0.0.1:5432/{dbname}"
        self.sync_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}"
        self.timings: dict[str, float] = {}
        self.indexes: list[tuple[str, str]] = []
        self.conn: psycopg.Connection[Any] | None = None

    def migrate(self, now: datetime) -> list[TierRule]:
        drop_pg(self.dbname)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.dbname}"')  # type: ignore[arg-type]
        migrate(self.sync_url)
        return _seed_small_tables(self.sync_url, now)

    def prepare(self) -> None:
        conn = psycopg.connect(self.url)
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")  # index builds in memory
        rows = conn.execute(
            """SELECT indexname, indexdef FROM pg_indexes i
               WHERE schemaname = 'public' AND tablename = ANY(%s)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            (list(BIG_TABLES),),
        ).fetchall()
        self.indexes = [(r[0], r[1]) for r in rows]
        for name, _ in self.indexes:
            conn.execute(f'DROP INDEX "{name}"')  # type: ignore[arg-type]
        conn.commit()
        self.conn = conn

    def write(self, chunk: Chunk) -> None:
        conn = self.conn
        assert conn is not None
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            for table, rows in chunk_rows(chunk, pg_ts).items():
                with cur.copy(f'COPY "{table}" ({TABLE_COLS[table]}) FROM STDIN') as copy:  # type: ignore[arg-type]
                    for row in rows:
                        copy.write_row(row)
        conn.commit()
        self.timings["write rows"] = self.timings.get("write rows", 0.0) + time.perf_counter() - t0

    def finish(self, analyze: bool) -> None:
        conn = self.conn
        assert conn is not None
        self._timed("messages (INSERT ... SELECT)", self._messages)
        self._timed("indexes", lambda: [conn.execute(sql) for _, sql in self.indexes])  # type: ignore[call-overload]
        for table in ("contact", "identity", "conversation", "message", "team", "user"):
            conn.execute(
                f"""SELECT setval(pg_get_serial_sequence('"{table}"', 'id'), (SELECT max(id) FROM "{table}"))"""  # type: ignore[arg-type]
            )
        conn.execute("RESET session_replication_role")
        conn.commit()
        conn.autocommit = True
        if analyze:
            self._timed("VACUUM ANALYZE", lambda: conn.execute("VACUUM ANALYZE"))
        conn.close()
        self.conn = None

    def _messages(self) -> None:
        conn = self.conn
        assert conn is not None
        bodies = ", ".join("'" + b.replace("'", "''") + "'" for b in BODIES)
        conn.execute(
            f"""INSERT INTO message (conversation_id, channel, direction, author_type, author_id, kind, subject,
                body, attachments, provider_message_id, delivery_status, meta, raw, created_at)
            SELECT c.id, c.channel,
                CASE WHEN k % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                CASE WHEN k % 2 = 0 THEN 'contact' ELSE 'agent' END,
                CASE WHEN k % 2 = 0 THEN NULL ELSE c.assignee_id END,
                'text', '', (ARRAY[{bodies}])[1 + (c.id + k) % {len(BODIES)}], '[]',
                'bench-' || c.id || '-' || k,
                CASE WHEN k % 2 = 0 THEN 'received' ELSE 'delivered' END, '{{}}', '{{}}',
                c.created_at + make_interval(secs => k * {MESSAGE_GAP_S})
            FROM conversation c
            CROSS JOIN LATERAL generate_series(
                0, (round(extract(epoch FROM c.last_message_at - c.created_at)) / {MESSAGE_GAP_S})::int) AS k
            ORDER BY c.id, k"""  # type: ignore[arg-type]
        )
        conn.commit()

    def _timed(self, what: str, fn: Callable[[], object]) -> None:
        t0 = time.perf_counter()
        fn()
        self.timings[what] = time.perf_counter() - t0

    def size_bytes(self) -> int:
        with psycopg.connect(PG_ADMIN) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (self.dbname,)).fetchone()
        return int(row[0]) if row else 0


def drop_pg(dbname: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')  # type: ignore[arg-type]


# -- verification ----------------------------------------------------------------------------


async def verify_sample(url: str, ids: Sequence[int], now: datetime) -> list[str]:
    """Recompute ``ids`` with the hub's projections inside a transaction that is rolled
    back, and compare with the loaded rows; returns the differences (empty: all equal)."""
    from hub.crm.figures import ContactFiguresProjection
    from hub.crm.search import ContactSearchProjection

    db = Database(to_async_url(url))
    try:
        async with db.session() as s:
            loaded = await _derived_rows(s, ids)
            await ContactFiguresProjection().recompute(s, ids, now)
            await ContactSearchProjection().recompute(s, ids, now)
            computed = await _derived_rows(s, ids)
            await s.rollback()
    finally:
        await db.dispose()
    out = []
    for key in sorted(set(loaded) | set(computed)):
        if loaded.get(key) != computed.get(key):
            out.append(f"{key}: loaded {loaded.get(key)!r} != projection {computed.get(key)!r}")
    return out


async def _derived_rows(s: Any, ids: Sequence[int]) -> dict[tuple[str, int], Any]:
    from hub.models import ContactFigures, ContactSearch, ContactTier

    conn = await s.connection()
    figures = ContactFigures.__table__  # type: ignore[attr-defined]
    tiers = ContactTier.__table__  # type: ignore[attr-defined]
    search = ContactSearch.__table__  # type: ignore[attr-defined]
    out: dict[tuple[str, int], Any] = {}
    for r in (await conn.execute(sa.select(figures).where(figures.c.contact_id.in_(ids)))).mappings():
        out[("figures", r["contact_id"])] = dict(r)
    member: dict[int, list[str]] = {}
    for tier, cid in (
        await conn.execute(sa.select(tiers.c.tier, tiers.c.contact_id).where(tiers.c.contact_id.in_(ids)))
    ).all():
        member.setdefault(cid, []).append(tier)
    for cid, keys in member.items():
        out[("contact_tier", cid)] = sorted(keys)
    for cid, text in (
        await conn.execute(sa.select(search.c.contact_id, search.c.text).where(search.c.contact_id.in_(ids)))
    ).all():
        out[("search", cid)] = text
    return out


def verify(url: str, ids: Sequence[int], now: datetime) -> list[str]:
    return asyncio.run(verify_sample(url, ids, now))
