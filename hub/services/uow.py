"""Unit of work: one write transaction plus the events it produces.

Events become event-log rows inside the transaction (so the audit trail and the state
can never disagree) and are published on the bus only after the commit.

The rows are written together, in one multi-row ``INSERT ... RETURNING id`` per
:meth:`UnitOfWork.flush_events`, not as ORM objects: the ORM inserts a row at a time
when it needs generated keys back and the table has no sort sentinel, which made a
batch of a hundred sends a hundred statements (the outbox recording its sends). A
statement's rows take increasing ids in the order they are listed — SQLite gives each
new row the largest rowid plus one while this transaction holds the one write lock, and
PostgreSQL draws the sequence row by row — so the ids returned, sorted, belong to the
rows in the order they were emitted, and events keep their emit order.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import Event, public_payload
from hub.models import EventLog
from hub.services.batch_rows import INSERT_EVENTS, event_row, ids_in_order, logged_event

log = logging.getLogger(__name__)


class UnitOfWork:
    def __init__(self, hub: Hub, session: AsyncSession, actor_id: int | None) -> None:
        self.hub = hub
        self.session = session
        self.actor_id = actor_id
        self._pending: list[dict[str, Any]] = []  # emitted, not yet inserted
        self._events: list[Event] = []  # inserted, in emit (= id) order
        self.after_commit: list[Any] = []

    def emit(
        self,
        event_type: str,
        payload: Any,
        *,
        conversation_id: int | None = None,
        team_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        self._pending.append(
            event_row(
                event_type,
                payload,
                self.hub.now(),
                actor_id=self.actor_id,
                conversation_id=conversation_id,
                team_id=team_id,
                user_id=user_id,
            )
        )

    async def flush_events(self) -> None:
        """Insert the events emitted since the last call (see the module docstring)."""
        rows, self._pending = self._pending, []
        if not rows:
            return
        conn = await self.session.connection()
        ids = ids_in_order(await conn.execute(INSERT_EVENTS, rows), len(rows))
        self._events.extend(logged_event(event_id, row) for event_id, row in zip(ids, rows, strict=True))

    def events(self) -> list[Event]:
        """The events inserted so far (call :meth:`flush_events` first)."""
        return list(self._events)


def event_from_row(row: EventLog) -> Event:
    assert row.id is not None
    return Event(
        id=row.id,
        type=row.type,
        ts=row.ts,
        conversation_id=row.conversation_id,
        team_id=row.team_id,
        user_id=row.user_id,
        actor_id=row.actor_id,
        payload=public_payload(row.payload),
    )


@contextlib.asynccontextmanager
async def unit_of_work(hub: Hub, actor_id: int | None = None) -> AsyncIterator[UnitOfWork]:
    async with hub.db.transaction() as session:
        uow = UnitOfWork(hub, session, actor_id)
        yield uow
        await uow.flush_events()
        await session.flush()
        events = uow.events()
    # Committed: now tell the world. A failed publish loses no truth (the event log
    # has it; consoles resync by id), so it is logged, not raised.
    if events:
        try:
            await hub.bus.publish(events)
        except Exception:
            log.exception("bus publish failed for event ids %s", [e.id for e in events])
    for callback in uow.after_commit:
        callback()
