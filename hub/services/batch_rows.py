"""Rows and event-log entries for the group-commit writers (ingest and replies).

The writers run on a lane's thread with precompiled statements and no ORM session, so
the two things a unit of work would otherwise do for them live here: every column's
default as the ORM fills it, and an event-log row written in the batch's transaction
and returned as the :class:`hub.events.Event` to publish after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Dialect, Table

from hub.events import ConversationPayload, Event, public_payload, validate_payload
from hub.models import EventLog
from hub.precompiled import OneOf, Precompiled, apply_processors, one_of_for, processed

_events = EventLog.__table__  # type: ignore[attr-defined]
INSERT_EVENTS = sa.insert(_events).returning(_events.c.id)
_EVENT_KEYS = ["type", "ts", "actor_id", "conversation_id", "team_id", "user_id", "payload"]


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
        cursor = self._pre.execute(conn, values)
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
