"""Rows and event-log entries for the group-commit writers (ingest and replies).

The writers run on a lane's thread with precompiled statements and no ORM session, so
the two things a unit of work would otherwise do for them live here: every column's
default as the ORM fills it, and an event-log row written in the batch's transaction
and returned as the :class:`hub.events.Event` to publish after the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Dialect

from hub.events import ConversationPayload, Event, public_payload, validate_payload
from hub.models import EventLog
from hub.precompiled import Precompiled

_events = EventLog.__table__  # type: ignore[attr-defined]
_INSERT_EVENTS = sa.insert(_events).returning(_events.c.id)
_EVENT_KEYS = ["type", "ts", "actor_id", "conversation_id", "team_id", "user_id", "payload"]


def column_defaults(model: type[Any]) -> dict[str, Any]:
    """Every column's default as the ORM would fill it (new columns come for free)."""
    instance = model()
    return {c.name: getattr(instance, c.name, None) for c in model.__table__.columns if c.name != "id"}


class EventWriter:
    """Inserts event-log rows on a lane's connection; returns the events to publish."""

    def __init__(self, dialect: Dialect) -> None:
        self._insert = Precompiled(sa.insert(_events).returning(_events.c.id), dialect, _EVENT_KEYS)

    @staticmethod
    def row(
        event_type: str,
        payload: Any,
        ts: datetime,
        *,
        actor_id: int | None = None,
        conversation_id: int | None = None,
        team_id: int | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        """An event-log row for :meth:`write_many` (the payload validated here)."""
        return {
            "type": event_type,
            "ts": ts,
            "actor_id": actor_id,
            "conversation_id": conversation_id,
            "team_id": team_id,
            "user_id": user_id,
            "payload": validate_payload(event_type, payload),
        }

    def write_many(self, conn: Connection, rows: list[dict[str, Any]]) -> list[Event]:
        """Insert ``rows`` in one statement; the events in the rows' order.

        The ids come back sorted onto the rows, as in :mod:`hub.services.uow` (whose
        docstring gives why a statement's rows take increasing ids in their order)."""
        if not rows:
            return []
        ids = sorted(int(r[0]) for r in conn.execute(_INSERT_EVENTS, rows))
        if len(ids) != len(rows):
            raise RuntimeError(f"{len(rows)} events inserted, {len(ids)} ids returned")
        return [
            Event(
                id=event_id,
                type=row["type"],
                ts=row["ts"],
                conversation_id=row["conversation_id"],
                team_id=row["team_id"],
                user_id=row["user_id"],
                actor_id=row["actor_id"],
                payload=public_payload(row["payload"]),
            )
            for event_id, row in zip(ids, rows, strict=True)
        ]

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
    ) -> Event:
        data = validate_payload(event_type, payload)
        row = {
            "type": event_type,
            "ts": ts,
            "actor_id": actor_id,
            "conversation_id": conversation_id,
            "team_id": team_id,
            "user_id": user_id,
            "payload": data,
        }
        event_id = int(self._insert.first(conn, row)[0])  # type: ignore[index]
        return Event(
            id=event_id,
            type=event_type,
            ts=ts,
            conversation_id=conversation_id,
            team_id=team_id,
            user_id=user_id,
            actor_id=actor_id,
            payload=public_payload(data),
        )


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
