"""The SQLite driver (hub/sqlite_driver.py): one thread round trip per statement (none
for what cannot wait inside inline(), nor for a commit or rollback with nothing to end),
and everything else as SQLAlchemy's aiosqlite dialect does it — rows, row counts, last
row ids, executemany, errors, streaming, rollback."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub.db import Database
from hub.sqlite_driver import OneTripConnection, inline

meta = sa.MetaData()
things = sa.Table(
    "thing",
    meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20), nullable=False, unique=True),
    sa.Column("n", sa.Integer, nullable=False, default=0),
)


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    yield db
    await db.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every function aiosqlite sends to a connection's thread."""
    seen: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_statement_is_one_thread_round_trip(db: Database, trips: list[str]) -> None:
    async with db.engine.connect() as c:
        await c.execute(sa.select(1))  # the connection is checked out and begun
        trips.clear()
        for _ in range(5):
            assert (await c.execute(sa.select(sa.func.count()).select_from(things))).scalar_one() == 0
    assert trips[:5] == ["_run"] * 5  # SQLAlchemy's own adapter: cursor, execute, fetchall, close
    async with db.engine.connect() as c:
        raw = await c.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneTripConnection)


async def test_rows_counts_ids_and_executemany(db: Database) -> None:
    async with db.engine.begin() as s:
        first = await s.execute(sa.insert(things).values(name="a", n=1))
        assert first.inserted_primary_key == (1,) and first.lastrowid == 1
        many = await s.execute(sa.insert(things), [{"name": f"m{i}", "n": i} for i in range(10)])
        assert many.rowcount == 10
        bumped = await s.execute(sa.update(things).where(things.c.n >= 5).values(n=things.c.n + 100))
        assert bumped.rowcount == 5
        back = await s.execute(sa.insert(things).values(name="r", n=7).returning(things.c.id, things.c.name))
        assert back.one() == (12, "r")
    async with db.engine.connect() as s:
        rows = (await s.execute(sa.select(things.c.name, things.c.n).order_by(things.c.id))).all()
        assert [tuple(r) for r in rows][:3] == [("a", 1), ("m0", 0), ("m1", 1)]
        assert len(rows) == 12 and sum(r.n for r in rows) == 1 + 45 + 500 + 7
        assert (await s.execute(sa.select(things).where(things.c.name == "none"))).first() is None
        # Streaming (the server-side cursor) still works, in pages.
        stream = await s.stream(sa.select(things.c.id).order_by(things.c.id).execution_options(yield_per=5))
        assert [r async for r in stream.scalars()] == list(range(1, 13))


async def test_errors_and_rollback_are_sqlalchemys(db: Database) -> None:
    async with db.engine.begin() as s:
        await s.execute(sa.insert(things).values(name="x"))
    with pytest.raises(IntegrityError):
        async with db.engine.begin() as s:
            await s.execute(sa.insert(things).values(name="y"))
            await s.execute(sa.insert(things).values(name="x"))  # unique
    with pytest.raises(sa.exc.OperationalError):
        async with db.engine.connect() as s:
            await s.execute(sa.text("SELECT * FROM no_such_table"))
    async with db.engine.connect() as s:  # the failed transaction left nothing; the pool is fine
        names = (await s.execute(sa.select(things.c.name))).scalars().all()
    assert names == ["x"]


@pytest.fixture
async def threads(db: Database) -> list[int]:
    """The thread each statement ran on (a SQL function, called by every statement
    below, records it)."""
    seen: list[int] = []

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.create_function("here", 0, lambda: seen.append(threading.get_ident()) or 1)

    sa.event.listen(db.engine.sync_engine, "connect", on_connect)
    await db.engine.dispose()  # connections opened from here on have it
    return seen


async def test_inline_runs_what_cannot_wait_on_the_calling_thread(
    db: Database, trips: list[str], threads: list[int]
) -> None:
    loop_thread = threading.get_ident()
    here = sa.select(sa.func.here())
    async with db.engine.begin() as c:
        await c.execute(here)  # outside inline(): on the connection's thread
        assert threads[-1] != loop_thread
        worker = threads[-1]
        with inline():
            trips.clear()
            await c.execute(here)  # a read: never waits in WAL mode
            assert threads[-1] == loop_thread and trips == []
            # The transaction's first write takes the write lock: it may wait, so it
            # goes to the connection's thread; once the lock is held, writes stay here.
            await c.execute(sa.insert(things).values(name="first", n=sa.func.here()))
            assert threads[-1] == worker and trips == ["_run"]
            await c.execute(sa.insert(things).values(name="second", n=sa.func.here()))
            assert threads[-1] == loop_thread and trips == ["_run"]
        await c.execute(sa.insert(things).values(name="third", n=sa.func.here()))
        assert threads[-1] == worker
    assert trips[-1] == "commit"  # a commit with writes: on the connection's thread (it may fsync)
    async with db.engine.connect() as c:
        assert (await c.execute(sa.select(things.c.name).order_by(things.c.id))).scalars().all() == [
            "first",
            "second",
            "third",
        ]


async def test_commit_and_rollback_outside_a_transaction_need_no_round_trip(
    db: Database, trips: list[str]
) -> None:
    async with db.engine.connect() as c:
        await c.execute(sa.select(1))
        trips.clear()
        await c.execute(sa.select(sa.func.count()).select_from(things))
        await c.rollback()  # nothing written: sqlite3 has no transaction to end
        await c.execute(sa.select(1))
        await c.commit()
    assert trips == ["_run", "_run"]  # (and none when the pool takes the connection back)
    async with db.engine.begin() as c:
        await c.execute(sa.insert(things).values(name="w"))
        trips.clear()
    assert trips == ["commit"]
    with contextlib.suppress(RuntimeError):
        async with db.engine.begin() as c:
            await c.execute(sa.insert(things).values(name="gone"))
            trips.clear()
            raise RuntimeError
    assert trips == ["rollback"]
    async with db.engine.connect() as c:
        assert (await c.execute(sa.select(things.c.name))).scalars().all() == ["w"]
