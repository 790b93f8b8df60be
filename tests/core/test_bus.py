"""The event bus: in-process fan-out and Redis between processes."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.bus import InProcessEventBus, RedisEventBus
from hub.events import Event


def ev(i: int, t: str = "presence.changed") -> Event:
    return Event(id=i, type=t, payload={"user_id": 1, "presence": "available", "previous": "offline"})


async def test_in_process_bus_fans_out_to_every_subscriber() -> None:
    bus = InProcessEventBus()
    a, b = bus.subscribe(), bus.subscribe()
    await bus.publish([ev(1), ev(2)])
    assert [a.get_nowait().id, a.get_nowait().id] == [1, 2]  # type: ignore[union-attr]
    assert (await b.get()).id == 1  # type: ignore[union-attr]
    a.close()
    await bus.publish([ev(3)])
    assert bus.subscriber_count == 1
    await bus.close()


async def test_a_slow_subscriber_is_marked_lagged_instead_of_blocking() -> None:
    bus = InProcessEventBus()
    slow, fast = bus.subscribe(maxsize=2), bus.subscribe()
    await bus.publish([ev(i) for i in range(1, 6)])
    assert slow.lagged and await slow.get() is None
    assert not fast.lagged and [fast.get_nowait().id for _ in range(5)] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    await bus.close()


async def test_a_subscriber_takes_only_the_types_it_wants_and_a_waker_one_at_a_time() -> None:
    """``wants``: events of other types are never queued (no lag from them either);
    ``wake_only``: one queued event stands for all that came while it waited."""
    bus = InProcessEventBus()
    picky = bus.subscribe(maxsize=2, wants="conversation.created".__eq__)
    waker = bus.subscribe(maxsize=2, wake_only=True)
    events = [
        ev(1, "message.received"),
        ev(2, "conversation.created"),
        *(ev(i, "message.received") for i in range(3, 9)),
    ]
    await bus.publish(events)
    assert not picky.lagged and picky.get_nowait().id == 2 and picky.empty()  # type: ignore[union-attr]
    assert not waker.lagged and waker.get_nowait().id == 1 and waker.empty()  # type: ignore[union-attr]
    await bus.publish([ev(9)])
    assert picky.empty() and waker.get_nowait().id == 9  # type: ignore[union-attr]
    await bus.close()


async def test_routing_takes_no_message_or_outbox_event() -> None:
    """routing.driver.routed: the driver has no branch for these (handle, _mark_dirty),
    so the bus does not queue them for it; a branch added for one must change this."""
    import inspect

    from routing.driver import IGNORED_PREFIXES, RoutingDriver, routed

    assert not routed("message.received") and not routed("message.created") and not routed("outbox.enqueued")
    assert all(
        routed(t) for t in ("conversation.created", "offer.updated", "presence.changed", "team.updated")
    )
    for method in (RoutingDriver.handle, RoutingDriver._mark_dirty):
        source = inspect.getsource(method)
        assert not any(f'"{prefix}' in source for prefix in IGNORED_PREFIXES), method


async def test_redis_bus_delivers_between_two_instances(redis_url: str, redis_prefix: str) -> None:
    one, two = RedisEventBus(redis_url, redis_prefix), RedisEventBus(redis_url, redis_prefix)
    await one.start()
    await two.start()
    sub_one, sub_two = one.subscribe(), two.subscribe()
    try:
        first = ev(10)
        await one.publish([first, ev(11, "presence.changed")])
        await two.publish([ev(12)])
        got_two = [await asyncio.wait_for(sub_two.get(), 5) for _ in range(3)]
        got_one = [await asyncio.wait_for(sub_one.get(), 5) for _ in range(3)]
        assert [e.id for e in got_two if e] == [10, 11, 12]
        assert [e.id for e in got_one if e] == [10, 11, 12]
        assert got_two[0] == first  # same typed event, round-tripped
    finally:
        await one.close()
        await two.close()


async def test_redis_bus_joins_at_the_end_of_the_stream(redis_url: str, redis_prefix: str) -> None:
    early = RedisEventBus(redis_url, redis_prefix)
    await early.start()
    await early.publish([ev(1)])
    late = RedisEventBus(redis_url, redis_prefix)
    await late.start()
    sub = late.subscribe()
    try:
        await early.publish([ev(2)])
        got = await asyncio.wait_for(sub.get(), 5)
        assert got is not None and got.id == 2  # history lives in the event log, not the bus
    finally:
        await early.close()
        await late.close()


async def test_hub_on_redis_bus_publishes_committed_events(
    settings: Any, tmp_path: Any, redis_url: str, redis_prefix: str, clock: Any
) -> None:
    """Two hubs (as two processes would) on one database and Redis: what one ingests, the other hears."""
    import httpx

    from channels.loopback import LoopbackChannel
    from channels.registry import ChannelRegistry
    from hub.app import create_app

    cfg = settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix})
    apps = []
    for _ in range(2):
        reg = ChannelRegistry()
        reg.register(LoopbackChannel())
        apps.append(create_app(cfg, clock=clock, channels=reg, run_outbox_worker=False))
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        listener = apps[1].state.hub.bus.subscribe()
        transport = httpx.ASGITransport(app=apps[0])
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post("/channels/loopback/messages", json={"sender": "x1", "body": "hi"})
        assert r.status_code == 201
        types = [(await asyncio.wait_for(listener.get(), 5)).type for _ in range(2)]  # type: ignore[union-attr]
        assert types == ["conversation.created", "message.received"]


async def test_follow_resyncs_a_lagged_consumer_and_carries_on() -> None:
    from hub.bus import follow

    bus = InProcessEventBus()
    sub = bus.subscribe(maxsize=2)
    seen: list[int] = []
    lags: list[int] = []

    async def on_event(event: Event) -> None:
        seen.append(event.id)
        if event.id == 20:
            sub.close()

    async def on_lag() -> None:
        lags.append(len(seen))
        await bus.publish([ev(20)])  # what the consumer sees after it resynced

    await bus.publish([ev(i) for i in range(1, 6)])  # overflows the queue of 2
    await asyncio.wait_for(follow(sub, on_event, on_lag, "test"), 5)
    assert lags == [0] and seen == [20] and not sub.lagged
