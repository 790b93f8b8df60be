"""The sockets' outgoing queue (hub/sendqueue.py): bounded, FIFO, one consumer, a
heartbeat timeout, and a close marker that goes in even when the queue is full."""

from __future__ import annotations

import asyncio

import pytest

from hub.sendqueue import SendQueue


async def test_items_come_out_in_order_and_the_bound_holds() -> None:
    q: SendQueue[int] = SendQueue(3)
    for i in range(3):
        q.put_nowait(i)
    with pytest.raises(asyncio.QueueFull):
        q.put_nowait(3)
    assert len(q) == 3
    assert [await q.get(), await q.get(), await q.get()] == [0, 1, 2]
    assert q.empty()


async def test_the_close_marker_goes_in_after_the_backlog_is_dropped() -> None:
    q: SendQueue[int | None] = SendQueue(2)
    q.put_nowait(1)
    q.put_nowait(2)
    q.clear()
    q.put_last(None)
    q.put_last(None)  # even past the bound
    assert len(q) == 2 and await q.get() is None


async def test_a_waiting_sender_wakes_on_the_next_item() -> None:
    q: SendQueue[str] = SendQueue(5)
    getter = asyncio.create_task(q.get(60.0))
    await asyncio.sleep(0)  # let it start waiting (a turn of the loop, not a time)
    assert not getter.done()
    q.put_nowait("frame")
    assert await getter == "frame"


async def test_nothing_queued_within_the_idle_time_is_a_timeout() -> None:
    q: SendQueue[str] = SendQueue(5)
    with pytest.raises(TimeoutError):
        await q.get(0)  # the timer fires on the loop's next turn
    q.put_nowait("after")  # the queue still works after a timeout
    assert await q.get(0) == "after"


async def test_a_cancelled_wait_leaves_the_queue_usable() -> None:
    q: SendQueue[str] = SendQueue(5)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    q.put_nowait("x")
    assert await q.get() == "x"


async def test_it_has_one_consumer() -> None:
    q: SendQueue[str] = SendQueue(5)
    first = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one consumer"):
        await q.get()
    q.put_nowait("x")
    assert await first == "x"
