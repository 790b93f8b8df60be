"""What the group-commit lanes write, built without SQLAlchemy's or pydantic's general
machinery: the inserts on the driver's cursor (hub.precompiled, hub.services.batch_rows)
on real SQLite and PostgreSQL, the SQLite text of a UTC timestamp, and a message
event's payload, each held equal to what the general path makes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from hub.config import to_sync_url
from hub.db import sync_engine
from hub.events import MessagePayload, message_payload_json, validate_payload
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


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-05 10:30:00.000123",  # as the hub stores it
        "2026-12-05 10:30:00",  # SQLite's CURRENT_TIMESTAMP
        "2026-12-05",
        "2026-12-05T10:30:00.000123",  # ISO's own separator
        "0001-01-02 00:00:00.000001",
        "9999-12-31 23:59:59.999999",
        "2026-03-29 01:30:00+03:00",  # a zone written by someone else: converted
        None,
    ],
)
def test_a_timestamp_is_read_on_sqlite_as_sqlalchemy_would_read_it(text: str | None) -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime()._cached_result_processor(dialect, None)
    # SQLAlchemy's own: SQLite's DATETIME processor, then process_result_value.
    theirs = TypeDecorator.result_processor(UTCDateTime().dialect_impl(dialect), dialect, None)
    assert ours is not None and theirs is not None
    assert ours.__name__ == "_sqlite_utc_value"  # the one-step processor is the one rows use
    assert ours(text) == theirs(text)
    if text is not None:
        assert ours(text).tzinfo is UTC and ours(text).tzinfo is theirs(text).tzinfo


def test_a_remembered_timestamp_text_is_the_instants_own() -> None:
    """The texts of recent times are remembered (hub.models._sqlite_utc_text): an hour
    a zone repeats (``fold``) compares equal across the repeat, yet each is its own instant."""
    ours = UTCDateTime()._cached_bind_processor(sqlite.dialect())
    assert ours is not None
    first = datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    second = first.replace(fold=1)
    assert first == second  # Python's equality in one zone ignores fold
    assert [ours(first), ours(second), ours(first)] == [
        "2026-11-01 05:30:00.000000",
        "2026-11-01 06:30:00.000000",
        "2026-11-01 05:30:00.000000",
    ]
    naive, aware = datetime(2026, 12, 5, 9, 0), datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert ours(aware) == ours(naive) == ours(aware) == "2026-12-05 09:00:00.000000"


def test_other_databases_keep_sqlalchemys_processor() -> None:
    dialect = postgresql.psycopg.dialect()
    value = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Asia/Riyadh"))
    processor = UTCDateTime()._cached_bind_processor(dialect)
    out = processor(value) if processor is not None else value
    assert out == value and out.utcoffset() == timedelta(0)


_AT = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
) | st.datetimes(
    timezones=st.sampled_from([ZoneInfo("UTC"), timezone(timedelta(hours=3)), ZoneInfo("Asia/Riyadh")])
)


@given(
    ids=st.tuples(st.integers(1, 2**62), st.integers(1, 2**62)),
    author_id=st.none() | st.integers(1, 2**40),
    text=st.tuples(st.text(max_size=30), st.text(max_size=30)),
    names=st.tuples(
        st.sampled_from(["sms", "loopback", "email"]), st.sampled_from(["text", "image", "email"])
    ),
    created_at=_AT,
)
def test_a_message_payload_built_by_hand_is_the_validated_one(
    ids: tuple[int, int],
    author_id: int | None,
    text: tuple[str, str],
    names: tuple[str, str],
    created_at: datetime,
) -> None:
    fields = {
        "conversation_id": ids[0],
        "message_id": ids[1],
        "channel": names[0],
        "direction": "inbound",
        "author_type": "contact",
        "author_id": author_id,
        "kind": names[1],
        "body": text[0],
        "subject": text[1],
        "delivery_status": "received",
        "created_at": created_at,
    }
    fast = message_payload_json(**fields)
    model = validate_payload("message.received", MessagePayload(**fields))
    if created_at.utcoffset() == timedelta(0):
        assert fast == model
        assert list(fast) == list(model)  # the same keys in the same order: the same stored text
    else:
        assert fast is None  # the model writes an offset of its own


# -- core_many: the log consumers' multi-row writes (hub.projections) ------------------
_tallies = sa.Table(
    "precompiled_tallies",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(40), nullable=False, unique=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=True),
    sa.Column("data", sa.JSON(), nullable=True),
    sa.Column("later", sa.Integer, nullable=True, default=7),
)


def _upsert(dialect_name: str) -> Any:
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    stmt = (pg_insert if dialect_name == "postgresql" else sqlite_insert)(_tallies)
    return stmt.on_conflict_do_update(
        index_elements=["key"], set_={"n": _tallies.c.n + stmt.excluded.n, "at": stmt.excluded.at}
    )


async def test_core_many_writes_what_sqlalchemy_writes_and_adds_on_conflict(engine: Any, db_url: str) -> None:
    from hub.config import to_async_url
    from hub.db import Database
    from hub.projections import core, core_many

    db = Database(to_async_url(db_url))
    upsert = _upsert(engine.dialect.name)
    paris = datetime(2026, 12, 5, 11, 0, 0, 500, tzinfo=ZoneInfo("Europe/Paris"))
    full = {"n": 1, "at": paris, "data": {"x": [1, "ي"]}, "later": 1}
    empty = {"n": 2, "at": None, "data": None, "later": None}
    try:
        async with db.transaction() as s:
            await core_many(s, upsert, [{"key": "a", **full}, {"key": "b", **empty}])
            await core_many(s, upsert, [])  # nothing to write: no statement
            await core(s, upsert, [{"key": "c", **full}])  # SQLAlchemy's own path
        async with db.transaction() as s:  # conflicts: the counts add up
            await core_many(
                s, upsert, [{"key": "a", **full, "n": 10, "at": None}, {"key": "b", **empty, "n": 20}]
            )
        async with db.session() as s:
            got = {r.key: r for r in (await core(s, sa.select(_tallies))).all()}
    finally:
        await db.dispose()
    # A row without one of the first row's keys is refused, not written with NULL.
    db = Database(to_async_url(db_url))
    try:
        with pytest.raises(ValueError, match="every row must have the first row's keys"):
            async with db.transaction() as s:
                await core_many(
                    s, upsert, [{"key": "e", **full}, {"key": "f", "n": 1, "at": None, "data": None}]
                )
    finally:
        await db.dispose()
    # What core_many stored reads back as what SQLAlchemy stored from the same values.
    assert (got["a"].data, got["a"].later) == (got["c"].data, got["c"].later) == ({"x": [1, "ي"]}, 1)
    assert got["c"].at == paris.astimezone(UTC)
    assert (got["a"].n, got["a"].at) == (11, None)
    assert (got["b"].n, got["b"].at, got["b"].data, got["b"].later) == (22, None, None, None)


def test_a_python_side_default_left_out_is_refused_not_written_as_null() -> None:
    from hub.precompiled import Precompiled

    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):  # type: ignore[attr-defined]
        with pytest.raises(ValueError, match="later: a Python-side default"):
            Precompiled(sa.insert(_tallies), dialect, ["key", "n"])
        Precompiled(sa.insert(_tallies), dialect, ["key", "n", "later"])  # given: accepted


def test_a_parameter_left_out_takes_its_compiled_constant_else_none() -> None:
    from hub.precompiled import Precompiled

    stmt = (
        sa.update(_tallies)
        .where(_tallies.c.key == "fixed")
        .values(n=sa.bindparam("n"), at=sa.bindparam("at"))
    )
    at = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    compiled = Precompiled(stmt, sqlite.dialect())
    assert compiled.params_many([{"n": 1, "at": at}, {"n": 2}]) == [
        (1, "2026-12-05 12:00:00.000000", "fixed"),
        (2, None, "fixed"),
    ]


def test_a_statement_is_compiled_once_a_process_for_each_kind_of_dialect() -> None:
    """Every hub builds the same statements; the compiled form is shared, and only
    where everything it holds (SQL, order, processors, literals) would be the same."""
    from hub.precompiled import compiled_for

    def build(tag: str) -> Any:
        return sa.update(_tallies).where(_tallies.c.key == tag).values(n=sa.bindparam("n"))

    one, two = sqlite.dialect(), sqlite.dialect()
    # The same statement written again, for another dialect object of the same kind: shared.
    assert compiled_for(build("fixed"), one) is compiled_for(build("fixed"), two)
    # Another literal, other column keys, another driver, a dialect with its own JSON
    # serializer or another server version: compiled for itself.
    assert compiled_for(build("other"), one).constants == {"key_1": "other"}
    assert compiled_for(build("fixed"), one).constants == {"key_1": "fixed"}
    insert = sa.insert(_tallies)
    assert compiled_for(insert, one, ["key", "n", "later"]) is not compiled_for(
        insert, one, ["key", "n", "at", "later"]
    )
    pg = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    assert compiled_for(build("fixed"), pg).sql != compiled_for(build("fixed"), one).sql
    own_json = sqlite.dialect(json_serializer=lambda v: "x")
    assert compiled_for(build("fixed"), own_json) is not compiled_for(build("fixed"), one)
    newer = sqlite.dialect()
    newer.server_version_info = (9, 9, 9)
    assert compiled_for(build("fixed"), newer) is not compiled_for(build("fixed"), one)
