"""Rows and event-log entries for the group-commit writers (ingest and replies).

The writers run on a lane's thread with precompiled statements and no ORM session, so
the two things a unit of work would otherwise do for them live here: every column's
default as the ORM fills it, and an event-log row written in the batch's transaction
and returned as the :class:`hub.events.Event` to publish after the commit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Dialect, Table

from hub import jsoncodec
from hub.events import ConversationPayload, Event, public_payload, validate_payload
from hub.models import EventLog, UTCDateTime
from hub.precompiled import OneOf, Precompiled, apply_processors, one_of_for, processed
from hub.timeutil import ensure_utc

_events = EventLog.__table__  # type: ignore[attr-defined]
INSERT_EVENTS = sa.insert(_events).returning(_events.c.id)
_EVENT_KEYS = ["type", "ts", "actor_id", "conversation_id", "team_id", "user_id", "payload"]


@contextlib.contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """PostgreSQL: the block's statements go out in one pipeline (psycopg's pipeline
    mode), sent without waiting for each other's results; the first fetch of a result
    inside the block, or its end, waits once for them all. SQLite: no-op, each statement
    runs as it is called.

    A lane's thread gives up the GIL at every wait for the server, and takes it back
    only when the event loop's thread lets it go: on a busy hub, up to the interpreter's
    switch interval (5 ms) a wait. docs/architecture.md, "PostgreSQL lanes"."""
    if conn.dialect.name != "postgresql":
        yield
        return
    with conn.connection.dbapi_connection.pipeline():  # type: ignore[union-attr]
        yield


def next_ids(dialect: Dialect, *tables: Table) -> Precompiled:
    """PostgreSQL: ``:n`` new ids of each table from its own sequence, one row per
    index (the column of each table in the order given), so rows whose ids other rows
    of the same batch carry (an outbox row its message's, an event both) can all be
    sent in one pipeline. Ids drawn and not used (a refused reply) are gaps, as a
    rolled-back insert's are; the event log's ids are never drawn this way (its
    consumers wait for a gap, hub.projections)."""
    columns = [
        sa.func.nextval(sa.select(sa.func.pg_get_serial_sequence(t.name, "id")).scalar_subquery())
        for t in tables
    ]
    return Precompiled(
        sa.select(*columns).select_from(sa.func.generate_series(1, sa.bindparam("n"))), dialect
    )


class _JsonStatement:
    """A PostgreSQL statement whose one parameter is rows of ``table`` as one JSON array
    (``%(rows)s``), encoded by :func:`row_encoder`."""

    sql: str

    def __init__(self, table: Table, dialect: Dialect, keys: Sequence[str]) -> None:
        assert dialect.name == "postgresql"
        self.encode = row_encoder(table, dialect, keys)

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> Any:
        """Send the statement (inside a :func:`pipelined` block it waits for nothing);
        returns its cursor."""
        cursor = Precompiled.cursor(conn)
        cursor.execute(self.sql, {"rows": self.encode(rows)})
        return cursor


class JsonRows(_JsonStatement):
    """PostgreSQL: many rows into ``table`` as one statement whose one parameter is the
    rows as a JSON array — ``INSERT … SELECT … FROM json_populate_recordset(NULL::table,
    :rows)`` — optionally ``RETURNING id`` (the ids in the rows' order,
    :func:`ids_in_order`).

    A pipelined ``executemany`` sends each row as a statement of its own, and psycopg
    flushes and polls the socket after each one: a poll gives up the GIL, and on a busy
    hub a lane's thread waits up to the interpreter's switch interval (5 ms) to take it
    back. One statement is one send whatever the batch's size. Measured with psycopg,
    40-row inserts of a message-like row (docs/architecture.md, "PostgreSQL
    lanes"): 1.7 against 14.1 µs of client CPU a row, 3.7 against 16.3 µs of PostgreSQL's,
    and 0.9 against 17.9 ms a four-insert transaction while another thread holds the
    GIL 90 % of the time.

    The values are what the ORM would store: each column's SQLAlchemy bind processor,
    except that a JSON column's value is embedded as JSON (PostgreSQL reproduces it
    exactly into a ``json`` column) and a timestamp is written as ISO 8601 in UTC. The
    batch is encoded by :func:`hub.jsoncodec.dumps`, so a value JSON has no form for is
    refused as ``json`` refuses it — the batch fails and its items are retried one by
    one (hub.group_commit), the offending one alone failing."""

    def __init__(
        self, table: Table, dialect: Dialect, keys: Sequence[str], *, returning: bool = False
    ) -> None:
        super().__init__(table, dialect, keys)
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(k) for k in keys)
        self.sql = (
            f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} "
            f"FROM json_populate_recordset(NULL::{quote(table.name)}, %(rows)s::json)"
        ) + (" RETURNING id" if returning else "")

    @staticmethod
    def ids(cursor: Any, expected: int) -> list[int]:
        try:
            return ids_in_order(cursor.fetchall(), expected)
        finally:
            cursor.close()


class JsonUpdate(_JsonStatement):
    """PostgreSQL: many rows of ``table`` updated by id in one statement, the rows one
    JSON array (``UPDATE table AS t SET … FROM json_populate_recordset(NULL::table,
    :rows) AS x WHERE t.id = x.id``), as :class:`JsonRows` inserts them. ``sets``: each
    column's new value as SQL over ``t`` (the row) and ``x`` (its JSON), by default
    ``x.column``."""

    def __init__(self, table: Table, dialect: Dialect, keys: Sequence[str], sets: Mapping[str, str]) -> None:
        super().__init__(table, dialect, keys)
        quote = dialect.identifier_preparer.quote
        name = quote(table.name)
        assignments = ", ".join(f"{quote(k)} = {sets.get(k, f'x.{quote(k)}')}" for k in keys if k != "id")
        self.sql = (
            f"UPDATE {name} AS t SET {assignments} "
            f"FROM json_populate_recordset(NULL::{name}, %(rows)s::json) AS x WHERE t.id = x.id"
        )


def write_pipelined(
    conn: Connection, writes: Sequence[Callable[[], Any]], events: EventWriter, rows: list[dict[str, Any]]
) -> list[Event]:
    """PostgreSQL: each of ``writes`` (a function that sends one statement and returns its
    cursor), then the insert of the event-log ``rows``, in one pipeline; one wait for
    them all, when the events' ids are read (an error in any statement is raised there,
    and the batch rolls back). The events in the rows' order."""
    with pipelined(conn):
        sent: list[Any] = []
        try:
            for write in writes:
                sent.append(write())
            return events.send_many(conn, rows)()
        finally:
            for cursor in sent:
                cursor.close()


def row_encoder(
    table: Table, dialect: Dialect, keys: Sequence[str]
) -> Callable[[Sequence[Mapping[str, Any]]], str]:
    """Rows of ``table`` as one JSON array of objects with ``keys``, each value as
    :class:`JsonRows` describes."""
    plain: list[tuple[str, Callable[[Any], Any] | None]] = []
    stamps: list[str] = []
    for k in keys:
        col = table.c[k]
        if isinstance(col.type, UTCDateTime):
            stamps.append(k)
        elif isinstance(col.type, sa.JSON):
            plain.append((k, None))
        else:
            plain.append((k, col.type._cached_bind_processor(dialect)))

    def encode(rows: Sequence[Mapping[str, Any]]) -> str:
        out = []
        for row in rows:
            obj = {k: (v if (v := row[k]) is None or proc is None else proc(v)) for k, proc in plain}
            for k in stamps:
                v = row[k]
                obj[k] = None if v is None else ensure_utc(v).isoformat()
            out.append(obj)
        return jsoncodec.dumps(out)

    return encode


class ListRead:
    """A read whose parameters are lists of values ("the column is one of these"), run
    through :class:`Precompiled` on the driver's cursor.

    Each list is one parameter, so the statement's text is the same for every call:
    PostgreSQL ``column = ANY(%(name)s::type[])`` (psycopg converts it once and the
    server prepares it once), SQLite ``column IN (SELECT value FROM json_each(?))``
    (:func:`hub.precompiled.json_each_in`; an ``IN`` list expanded by SQLAlchemy was a
    new text at every call, rendered and prepared each time: a sixth of the ingest
    lane's CPU). The indexes serve both forms as they serve ``IN``. Each column's value
    goes through its type's result processor, as SQLAlchemy's rows would (on SQLite a
    timestamp's text becomes the aware datetime); columns without one as the driver
    returns them.
    """

    def __init__(self, build: Callable[[OneOf], Any], dialect: Dialect) -> None:
        stmt = build(one_of_for(dialect.name))
        self._pre = Precompiled(stmt, dialect)
        self._processed = processed(
            [c.type._cached_result_processor(dialect, None) for c in stmt.selected_columns]
        )

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self.fetch(self.send(conn, values))

    def send(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Run the read without reading its rows (in a :func:`pipelined` block, without
        waiting for them); :meth:`fetch` reads them."""
        return self._pre.execute(conn, values)

    def fetch(self, cursor: Any) -> list[tuple[Any, ...]]:
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        if not self._processed:
            return [tuple(r) for r in fetched]
        return [tuple(apply_processors(list(r), self._processed)) for r in fetched]


class InsertReturning:
    """Many rows into ``table`` in one go; their new ids, in the rows' order.

    One ``executemany`` of the one-row insert on the driver's cursor
    (:class:`Precompiled`: the text compiled once, the columns' own bind processors,
    none of SQLAlchemy's per-row parameter handling). PostgreSQL: ``INSERT … RETURNING
    id`` pipelined over the rows (:meth:`Precompiled.returning_many`: one text, converted
    and prepared once). SQLite: the plain insert, then ``last_insert_rowid()``
    (:meth:`Precompiled.inserted_ids`). Every row has every key in ``keys``.
    """

    def __init__(self, table: Table, dialect: Dialect, keys: Sequence[str]) -> None:
        self._sqlite = dialect.name == "sqlite"
        stmt = sa.insert(table) if self._sqlite else sa.insert(table).returning(table.c.id)
        self._pre = Precompiled(stmt, dialect, keys)

    def __call__(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        return (self._pre.inserted_ids if self._sqlite else self._pre.returning_many)(conn, rows)


def column_defaults(model: type[Any]) -> dict[str, Any]:
    """Every column's default as the ORM would fill it (new columns come for free)."""
    instance = model()
    return {c.name: getattr(instance, c.name, None) for c in model.__table__.columns if c.name != "id"}


def ids_in_order(result: Any, expected: int) -> list[int]:
    """A multi-row ``INSERT … RETURNING id``'s ids, in the order its rows were listed.

    A statement's rows take increasing ids in the order they are listed — SQLite gives
    each new row the largest rowid plus one while the transaction holds the one write
    lock, and PostgreSQL draws the sequence row by row — so the ids, sorted, belong to
    the rows in their order."""
    ids = sorted(int(row[0]) for row in result)
    if len(ids) != expected:
        raise RuntimeError(f"{expected} rows inserted, {len(ids)} ids returned")
    return ids


def event_row(
    event_type: str,
    payload: Any,
    ts: datetime,
    *,
    actor_id: int | None = None,
    conversation_id: int | None = None,
    team_id: int | None = None,
    user_id: int | None = None,
    dumped: bool = False,
) -> dict[str, Any]:
    """An event-log row (the payload validated here, unless ``dumped``: already what
    validation returns, e.g. :func:`hub.events.message_payload_json`'s)."""
    return {
        "type": event_type,
        "ts": ts,
        "actor_id": actor_id,
        "conversation_id": conversation_id,
        "team_id": team_id,
        "user_id": user_id,
        "payload": payload if dumped else validate_payload(event_type, payload),
    }


def logged_event(event_id: int, row: dict[str, Any]) -> Event:
    """The event to publish for an event-log row inserted with ``event_id``. The row's
    fields are already the event's types (its payload validated by :func:`event_row`),
    so the model is constructed without validating them again."""
    return Event.model_construct(
        id=event_id,
        type=row["type"],
        ts=row["ts"],
        conversation_id=row["conversation_id"],
        team_id=row["team_id"],
        user_id=row["user_id"],
        actor_id=row["actor_id"],
        payload=public_payload(row["payload"]),
    )


class EventWriter:
    """Inserts event-log rows on a lane's connection; returns the events to publish."""

    row = staticmethod(event_row)

    def __init__(self, dialect: Dialect) -> None:
        self._insert = Precompiled(INSERT_EVENTS, dialect, _EVENT_KEYS)
        self._insert_many = InsertReturning(_events, dialect, _EVENT_KEYS)
        self._json = (
            JsonRows(_events, dialect, _EVENT_KEYS, returning=True) if dialect.name == "postgresql" else None
        )

    def send_many(self, conn: Connection, rows: list[dict[str, Any]]) -> Callable[[], list[Event]]:
        """PostgreSQL: insert ``rows`` as one statement (:class:`JsonRows`) that waits for
        nothing inside a :func:`pipelined` block; the function returned reads its ids
        (waiting for the pipeline's results) and gives the events in the rows' order."""
        assert self._json is not None, "PostgreSQL only"
        if not rows:
            return lambda: []
        cursor = self._json.run(conn, rows)

        def events() -> list[Event]:
            ids = JsonRows.ids(cursor, len(rows))
            return [logged_event(event_id, row) for event_id, row in zip(ids, rows, strict=True)]

        return events

    def write_many(self, conn: Connection, rows: list[dict[str, Any]]) -> list[Event]:
        """Insert ``rows`` in one go; the events in the rows' order."""
        ids = self._insert_many(conn, rows)
        return [logged_event(event_id, row) for event_id, row in zip(ids, rows, strict=True)]

    def write(
        self,
        conn: Connection,
        event_type: str,
        payload: Any,
        ts: datetime,
        *,
        actor_id: int | None = None,
        conversation_id: int | None = None,
        team_id: int | None = None,
        user_id: int | None = None,
        dumped: bool = False,
    ) -> Event:
        """One row, one statement (the one-by-one paths); ``dumped`` as for :func:`event_row`."""
        row = event_row(
            event_type,
            payload,
            ts,
            actor_id=actor_id,
            conversation_id=conversation_id,
            team_id=team_id,
            user_id=user_id,
            dumped=dumped,
        )
        return logged_event(int(self._insert.first(conn, row)[0]), row)  # type: ignore[index]


def conversation_payload(conv: Any, **extra: Any) -> ConversationPayload:
    """A conversation event's payload from a Conversation row (or a lane's light copy)."""
    return ConversationPayload(
        conversation_id=conv.id,
        contact_id=conv.contact_id,
        channel=conv.channel,
        status=str(conv.status),
        team_id=conv.team_id,
        assignee_id=conv.assignee_id,
        priority=conv.priority,
        category=str(conv.category) if conv.category else None,
        **extra,
    )
