"""The bounded outgoing queue of one socket (a console's, a widget's).

Every open socket holds one, for as long as it is open, and is drained by its one sender
task. ``asyncio.Queue`` keeps four deques per instance (items, getters, putters and its
``join`` event's waiters: ~3 KiB with nothing queued) and ``asyncio.wait_for`` around
its ``get`` wraps each wait in a task of its own; with a thousand sockets the per-socket
memory is what the hub is measured on (docs/architecture.md, "Performance"). This is
one deque and, while the sender waits, one future with its timer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class SendQueue(Generic[T]):
    """FIFO of at most ``maxsize`` items with a single consumer."""

    __slots__ = ("_items", "_maxsize", "_waiter")

    def __init__(self, maxsize: int) -> None:
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        """Queue ``item``; :class:`asyncio.QueueFull` when ``maxsize`` are waiting."""
        if len(self._items) >= self._maxsize:
            raise asyncio.QueueFull
        self.put_last(item)

    def put_last(self, item: T) -> None:
        """Queue ``item`` even when full (the close marker after a drop of the backlog)."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._items.clear()

    async def get(self, idle_s: float | None = None) -> T:
        """The next item, waiting for it; :class:`TimeoutError` after ``idle_s`` seconds
        with nothing queued (the sender's heartbeat: its own timer, cheaper than an
        ``asyncio.timeout`` per wait)."""
        if not self._items:
            if self._waiter is not None:
                raise RuntimeError("a SendQueue has one consumer")
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiter = waiter
            timer = None if idle_s is None else loop.call_later(idle_s, _expire, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
            if not self._items:
                raise TimeoutError
        return self._items.popleft()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
