"""Unit of work: one write transaction plus the events it produces.

Events become event-log rows inside the transaction (so the audit trail and the state
can never disagree) and are published on the bus only after the commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import Event, public_payload, validate_payload
from hub.models import EventLog

log = logging.getLogger(__name__)


class UnitOfWork:
    def __init__(self, hub: Hub, session: AsyncSession, actor_id: int | None) -> None:
        self.hub = hub
        self.session = session
        self.actor_id = actor_id
        self._rows: list[EventLog] = []
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
        row = EventLog(
            type=event_type,
            ts=self.hub.now(),
            actor_id=self.actor_id,
            conversation_id=conversation_id,
            team_id=team_id,
            user_id=user_id,
            payload=validate_payload(event_type, payload),
        )
        self.session.add(row)
        self._rows.append(row)

    def events(self) -> list[Event]:
        return [event_from_row(r) for r in self._rows]


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
