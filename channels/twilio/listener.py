"""A background task that follows the bus for an adapter, surviving lag.

The subscription is taken when the listener is created (inside ``start``), so no
event committed after start-up is missed while the task waits for its first turn.
A lagged subscription (the adapter fell behind) is replaced, and ``on_lag`` may
catch up from the event log, which is the truth the bus only announces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from hub.bus import Subscription
from hub.context import Hub
from hub.events import Event

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]
LagHandler = Callable[[int | None], Awaitable[None]]


class BusListener:
    def __init__(
        self,
        hub: Hub,
        handle: EventHandler,
        *,
        name: str,
        on_lag: LagHandler | None = None,
        wants: Callable[[str], bool] | None = None,
    ) -> None:
        self._hub = hub
        self._handle = handle
        self._on_lag = on_lag
        self._wants = wants  # the event types ``handle`` acts on (None: every one)
        self._subscription: Subscription = hub.bus.subscribe(wants=wants)
        self._task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:
        last_id: int | None = None
        while True:
            sub = self._subscription
            async for event in sub:
                last_id = event.id
                try:
                    await self._handle(event)
                except Exception:  # one bad event must not stop the adapter
                    log.exception("handling %s event %s failed", event.type, event.id)
            if not sub.lagged:
                return  # closed: the bus is shutting down
            log.warning("%s fell behind the bus; resubscribing", self._task.get_name())
            sub.close()
            self._subscription = self._hub.bus.subscribe(wants=self._wants)
            if self._on_lag is not None:
                try:
                    await self._on_lag(last_id)
                except Exception:
                    log.exception("catching up after lag failed")

    async def close(self) -> None:
        self._subscription.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
