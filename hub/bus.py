"""The event bus: notifications, not truth.

Events are committed to the event log first; the bus only tells other parts (routing,
consoles, other hub processes) that something happened. A subscriber that falls too
far behind is marked *lagged* and must resync from the event log by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from hub.events import Event

log = logging.getLogger(__name__)


class Subscription:
    """A bounded queue of events for one consumer.

    ``wants``: the event types it takes (a predicate on the type; None: every one). An
    event it does not want is never queued: no queue operation, no wake-up of its task,
    no handler call — the routing driver, for one, has nothing to do for a message.
    ``wake_only``: the consumer reads what happened elsewhere (the log) and only needs to
    know *that* something did: an event is queued only when none is waiting already.
    """

    def __init__(
        self,
        bus: EventBus,
        maxsize: int,
        wants: Callable[[str], bool] | None = None,
        wake_only: bool = False,
    ) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=maxsize)
        self._wants = wants
        self._wake_only = wake_only
        self.lagged = False
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed or self.lagged:
            return
        if self._wants is not None and not self._wants(event.type):
            return
        if self._wake_only and not self._queue.empty():
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Never block the publisher for a slow consumer: drop, and let the
            # consumer resync from the event log.
            self.lagged = True
            self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def get(self) -> Event | None:
        """Next event; ``None`` when closed or lagged (check ``lagged``)."""
        if self.lagged or self.closed:
            return None
        item = await self._queue.get()
        if item is None or self.lagged:
            return None
        return item

    def reset(self) -> None:
        """After a lag: drop what is left and receive again. The caller resyncs from the
        event log *after* this, so nothing committed in between falls through."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self.lagged = False

    def empty(self) -> bool:
        return self._queue.empty()

    def get_nowait(self) -> Event | None:
        try:
            item = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        return item

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus.unsubscribe(self)
            self._wake()

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            event = await self.get()
            if event is None:
                return
            yield event


async def follow(
    sub: Subscription,
    on_event: Callable[[Event], Awaitable[None]],
    on_lag: Callable[[], Awaitable[None]],
    name: str,
) -> None:
    """Feed every event of ``sub`` to ``on_event`` until the subscription is closed.

    A consumer that fell behind is reset and ``on_lag`` runs: it must rebuild what it
    shows or decides from the event log / database, since events were dropped.
    """
    while True:
        event = await sub.get()
        if event is None:
            if sub.closed:
                return
            log.warning("%s fell behind the bus; resyncing", name)
            sub.reset()
            await on_lag()
            continue
        await on_event(event)


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, events: Sequence[Event]) -> None: ...
    def subscribe(
        self, maxsize: int = 10_000, *, wants: Callable[[str], bool] | None = None, wake_only: bool = False
    ) -> Subscription: ...
    def unsubscribe(self, sub: Subscription) -> None: ...


class _FanOut:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    def subscribe(
        self, maxsize: int = 10_000, *, wants: Callable[[str], bool] | None = None, wake_only: bool = False
    ) -> Subscription:
        sub = Subscription(self, maxsize, wants, wake_only)  # type: ignore[arg-type]
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def _deliver(self, events: Sequence[Event]) -> None:
        for sub in tuple(self._subs):
            for event in events:
                sub.offer(event)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)


class InProcessEventBus(_FanOut):
    """The embedded default: fan-out inside one process."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for sub in tuple(self._subs):
            sub.close()

    async def publish(self, events: Sequence[Event]) -> None:
        self._deliver(events)


class RedisEventBus(_FanOut):
    """Fan-out across hub processes through one Redis stream.

    Every process XADDs what it commits and reads the stream from where it joined, so
    each process sees every event once, in stream order. The stream is capped
    (approximately) at ``maxlen`` entries; history lives in the event log.
    """

    def __init__(self, url: str, prefix: str, *, maxlen: int = 100_000) -> None:
        super().__init__()
        import redis.asyncio as redis

        # XREAD blocks up to 5 s, so reads may legitimately take that long.
        self._redis = redis.from_url(url, decode_responses=True, socket_timeout=15, socket_connect_timeout=5)
        self._stream = f"{prefix}events"
        self._maxlen = maxlen
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        await self._redis.ping()
        info = (
            await self._redis.xinfo_stream(self._stream) if await self._redis.exists(self._stream) else None
        )
        last_id = info["last-generated-id"] if info else "0-0"
        self._reader = asyncio.create_task(self._read_loop(last_id), name="redis-bus-reader")

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait([self._reader], timeout=10)
        for sub in tuple(self._subs):
            sub.close()
        await self._redis.aclose()

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(
                    self._stream,
                    {"e": event.model_dump_json()},
                    maxlen=self._maxlen,
                    approximate=True,
                )
            await pipe.execute()

    async def _read_loop(self, last_id: str) -> None:
        backoff = 0.1
        while not self._closing:
            try:
                batches: Any = await self._redis.xread({self._stream: last_id}, count=500, block=5000)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:  # connection blips: log, back off, carry on
                log.exception("redis bus read failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for _stream, entries in batches or ():
                events = []
                for entry_id, fields in entries:
                    last_id = entry_id
                    try:
                        events.append(Event.model_validate(json.loads(fields["e"])))
                    except (KeyError, ValueError):
                        log.error("dropping malformed bus entry %s", entry_id)
                self._deliver(events)


def create_bus(redis_url: str | None, prefix: str) -> InProcessEventBus | RedisEventBus:
    if redis_url:
        return RedisEventBus(redis_url, prefix)
    return InProcessEventBus()
