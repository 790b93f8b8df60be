"""The SQLite driver (hub/sqlite_driver.py): one thread round trip per statement, and
everything else as SQLAlchemy's aiosqlite dialect does it — rows, row counts, last row
ids, executemany, errors, streaming, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub.db import Database
from hub.sqlite_driver import OneTripConnection

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
