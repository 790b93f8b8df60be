"""The lanes' inserts on the driver's cursor (hub.precompiled, hub.services.batch_rows)
and the SQLite text of a UTC timestamp, on real SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from hub.config import to_sync_url
from hub.db import sync_engine
from hub.models import UTCDateTime
from hub.precompiled import sqlite_ids
from hub.services.batch_rows import InsertReturning

_meta = sa.MetaData()
_rows = sa.Table(
    "precompiled_rows",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tag", sa.String(40), nullable=False, unique=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
)


@pytest.fixture
def engine(db_url: str) -> Any:
    eng = sync_engine(to_sync_url(db_url), pool_size=1)  # a group-commit lane's engine
    _meta.drop_all(eng)
    _meta.create_all(eng)
    yield eng
    _meta.drop_all(eng)
    eng.dispose()


def _insert(engine: Any, insert: InsertReturning, tags: list[str], at: datetime) -> list[int]:
    with engine.connect() as conn, conn.begin():
        return insert(conn, [{"tag": t, "at": at, "data": {"t": t}} for t in tags])


def test_each_row_gets_its_own_id_in_order_after_gaps_and_a_deleted_last_row(engine: Any) -> None:
    insert = InsertReturning(_rows, engine.dialect, ["tag", "at", "data"])
    at = datetime(2026, 12, 5, 10, 30, 0, 1234, tzinfo=UTC)
    first = _insert(engine, insert, [f"a{i}" for i in range(6)], at)
    assert first == sorted(first) and len(set(first)) == 6
    with engine.connect() as conn, conn.begin():
        # Gaps in the middle, and the largest id gone (SQLite then reuses it).
        conn.execute(_rows.delete().where(_rows.c.tag.in_(["a2", "a3", "a5"])))
    ids = _insert(engine, insert, [f"b{i}" for i in range(5)], at)
    assert _insert(engine, insert, [], at) == []
    with engine.connect() as conn:
        stored = {r.id: r for r in conn.execute(sa.select(_rows))}
    # Every id returned is the row written from that position's values.
    assert [stored[i].tag for i in ids] == [f"b{i}" for i in range(5)]
    assert all(stored[i].at == at and stored[i].data == {"t": stored[i].tag} for i in ids)
    assert len(stored) == 3 + 5


def test_a_failing_row_fails_the_whole_insert(engine: Any) -> None:
    insert = InsertReturning(_rows, engine.dialect, ["tag", "at", "data"])
    at = datetime(2026, 12, 5, tzinfo=UTC)
    _insert(engine, insert, ["dup"], at)
    # The driver's own error (the statement ran on its cursor); the lane then retries
    # its batch one message at a time (hub.group_commit).
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        _insert(engine, insert, ["x1", "dup", "x2"], at)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(_rows)).scalar() == 1


def test_sqlite_ids_refuses_what_it_cannot_vouch_for() -> None:
    assert sqlite_ids(10, 3, 3) == [8, 9, 10]
    with pytest.raises(RuntimeError, match="3 rows to insert, 2 inserted"):
        sqlite_ids(10, 2, 3)
    with pytest.raises(RuntimeError, match="sequential range"):
        sqlite_ids(2**63 - 1, 3, 3)
    with pytest.raises(RuntimeError, match="sequential range"):
        sqlite_ids(2, 3, 3)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 5, 10, 30),  # naive: taken as UTC
        datetime(2026, 12, 5, 10, 30, 0, 123, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Asia/Riyadh")),
        datetime(2026, 3, 29, 1, 30, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        datetime(1, 1, 2, 0, 0, 0, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
        None,
    ],
)
def test_a_timestamp_is_stored_on_sqlite_as_sqlalchemy_would_store_it(value: datetime | None) -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime()._cached_bind_processor(dialect)
    # SQLAlchemy's own: process_bind_param, then SQLite's DATETIME storage format.
    theirs = TypeDecorator.bind_processor(UTCDateTime().dialect_impl(dialect), dialect)
    assert ours is not None and theirs is not None
    assert ours(value) == theirs(value)
    if value is not None:
        assert len(ours(value)) == 26 and ours(value)[10] == " "


def test_other_databases_keep_sqlalchemys_processor() -> None:
    dialect = postgresql.psycopg.dialect()
    value = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Asia/Riyadh"))
    processor = UTCDateTime()._cached_bind_processor(dialect)
    out = processor(value) if processor is not None else value
    assert out == value and out.utcoffset() == timedelta(0)
