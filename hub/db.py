"""Database engine, sessions and migrations.

SQLite is the embedded default (WAL, one writer: an asyncio lock serialises our own
write transactions so concurrent requests queue instead of failing with "database is
locked"); PostgreSQL is used by URL for several hub processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import jsoncodec

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Every engine's JSON columns: orjson (hub/jsoncodec.py), not SQLAlchemy's default json.
JSON_CODEC: dict[str, Any] = {"json_serializer": jsoncodec.dumps, "json_deserializer": jsoncodec.loads}


class Database:
    """Owns the async engine; hands out sessions and write transactions."""

    def __init__(self, url: str, *, echo: bool = False, synchronous: str = "FULL") -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, **JSON_CODEC}
        if self.is_sqlite:
            from hub.sqlite_driver import dbapi

            kwargs["connect_args"] = {"timeout": 30}
            kwargs["module"] = dbapi()  # one thread round trip per statement
            if ":memory:" not in url:
                # Each aiosqlite connection is a thread plus its pragmas: keep enough
                # in the pool that bursts of reads (every socket command, every
                # request) reuse connections instead of opening and closing overflow
                # ones (SQLAlchemy's default keeps 5).
                kwargs.update(pool_size=20, max_overflow=20)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(
                self.engine.sync_engine,
                "connect",
                functools.partial(_sqlite_pragmas, synchronous=synchronous),
            )
            _multi_row_inserts(self.engine.sync_engine)
        else:
            event.listen(self.engine.sync_engine, "connect", _plan_every_execution)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session (no lock)."""
        async with self._sessions() as session:
            yield session

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commits on success, rolls back on error."""
        lock = self._write_lock
        if lock is not None:
            await lock.acquire()
        try:
            async with self._sessions() as session:
                async with session.begin():
                    yield session
        finally:
            if lock is not None:
                lock.release()

    @property
    def write_lock(self) -> asyncio.Lock | None:
        """SQLite's one-writer lock (None on PostgreSQL), shared with the ingest lane."""
        return self._write_lock

    async def dispose(self) -> None:
        await self.engine.dispose()


async def autovacuum_off(db: Database) -> bool:
    """PostgreSQL: whether the server runs with autovacuum off (the hub warns at start;
    README, "Running several hub processes"). Always False on SQLite."""
    if db.is_sqlite:
        return False
    async with db.engine.connect() as conn:
        value = (await conn.execute(text("SHOW autovacuum"))).scalar_one()
    return str(value).lower() == "off"


def sync_engine(url: str, *, pool_size: int, synchronous: str = "FULL") -> Engine:
    """A synchronous engine for the group-commit lanes (one connection per lane thread)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **JSON_CODEC)
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, synchronous=synchronous))
        _multi_row_inserts(engine)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True, **JSON_CODEC)
    event.listen(engine, "connect", _plan_every_execution)
    return engine


def _plan_every_execution(dbapi_conn: Any, _record: Any) -> None:
    """PostgreSQL plans each execution of the hub's prepared statements with its own
    parameters and the tables' sizes of the moment (``plan_cache_mode =
    force_custom_plan``), never with a plan cached for the connection's life.

    Both drivers prepare a statement run more than a few times (asyncpg's statement
    cache; psycopg's ``prepare_threshold``), and PostgreSQL's default (``auto``) then
    switches it to a generic plan when that plan is no dearer than the custom ones: on
    a table of a few pages, a sequential scan. The cached plan is dropped only when the
    table's statistics change, so where nothing analyzes the table (autovacuum off, or
    between its analyses of a fast-growing table) the lookups by id that the log's
    consumers and the lanes make every round (``id = ANY(…)``) went on scanning whole
    tables as they grew: 30–120 ms a read at 25,000–60,000 rows in the end-to-end
    bench, each of several a round. Planning anew costs ~2 µs of PostgreSQL's CPU a
    row for the lanes' inserts (measured with psycopg's pipelined ``executemany``); an
    index lookup of 200 ids planned anew cost 12–15 µs of backend CPU a row in all,
    against 45 with the cached sequential scan at 30,000 rows. docs/architecture.md,
    "PostgreSQL plans"."""
    cur = dbapi_conn.cursor()
    cur.execute("SET plan_cache_mode = force_custom_plan")
    cur.close()
    dbapi_conn.commit()  # a session setting, but set inside the driver's transaction


def _multi_row_inserts(engine: Engine) -> None:
    """An ``INSERT`` of many rows (``conn.execute(insert(t), rows)``) as multi-row
    ``INSERT … VALUES (…), (…)`` statements on SQLite, not one statement per row:
    SQLAlchemy's "insertmanyvalues", which it applies to every dialect's inserts with
    RETURNING and to psycopg2's without. Through the driver's ``executemany`` each row
    is a statement of its own, and where a table's trigger writes an FTS5 index
    (``message_search``, ``contact_search``: migrations 0006, 0012) FTS5 writes its
    pending terms out as a new segment at the end of each one: the search rows' insert
    cost ~60 µs a row that way, ~17 µs in one statement (one segment per statement; the
    whole round: ``bench/projection_bench.py``, message search rows). The rows, their
    order and their values are the same."""
    engine.dialect.use_insertmanyvalues_wo_returning = True


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, synchronous: str = "FULL") -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit survives a power loss, not only a process kill (NORMAL in WAL mode
    # may lose the last commits on power loss). Group commit makes FULL affordable:
    # one fsync per batch. See docs/architecture.md, "SQLite durability".
    assert synchronous in ("FULL", "NORMAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def alembic_config(sync_url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return cfg


def ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":memory:" not in url:
        path = url.split(":///", 1)[1]
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def migrate(sync_url: str, revision: str = "head") -> None:
    """Create or upgrade the schema (synchronous; run before the event loop work)."""
    ensure_sqlite_dir(sync_url)
    command.upgrade(alembic_config(sync_url), revision)


def current_revision(sync_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(sync_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


# Made by migrations, invisible to the models: full-text search structures (SQLite's
# FTS5 table and its shadow tables, PostgreSQL's trigram index). Autogenerate and the
# drift test must not propose dropping them.
_UNMODELLED_TABLE_PREFIXES = ("contact_search_fts", "message_search_fts")
_UNMODELLED_INDEXES = frozenset({"ix_contact_search_trgm", "ix_message_search_trgm"})


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(_UNMODELLED_TABLE_PREFIXES)
    if type_ == "index":
        return name not in _UNMODELLED_INDEXES
    return True
