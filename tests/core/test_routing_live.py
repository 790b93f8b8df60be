"""The routing driver in the live hub: loopback ingest -> offer -> accept/timeout/reject."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from hub.events import Event
from hub.models import Conversation, OfferStatus, User
from hub.services import SYSTEM, Actor
from hub.services.conversations import resolve
from hub.services.offers import accept_offer, close_offer
from hub.services.users import set_presence
from tests.helpers import inbound, team, user


@pytest.fixture
def routing_enabled() -> bool:
    return True


def actor(user_id: int, team_ids: tuple[int, ...]) -> Actor:
    return Actor(user_id=user_id, role="agent", team_ids=frozenset(team_ids))


async def available(app: Any, *user_ids: int) -> None:
    for uid in user_ids:
        await set_presence(app.hub, SYSTEM, uid, "available", reason="test")
    await app.hub.routing.idle()


def recorder(app: Any) -> Any:
    return app.hub.bus.subscribe()


def drain(sub: Any) -> list[Event]:
    """The events so far, without the queue statistics: those are paced by wall time for
    display (at most one per team per second), so when one lands is not deterministic."""
    out = []
    while (e := sub.get_nowait()) is not None:
        if e.type != "queue.stats":
            out.append(e)
    return out


async def conv(app: Any, conversation_id: int) -> Conversation:
    async with app.hub.db.session() as s:
        c = await s.get(Conversation, conversation_id)
    assert c is not None
    return c


async def test_offered_to_the_right_agent_then_accepted(app: Any) -> None:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,))
    bob = await user(app.hub, "bob@example.com", team_ids=(tech,))
    await available(app, ana, bob)
    sub = recorder(app)
    r = await inbound(app.client, "cust-1", "my invoice", team="Billing")
    await app.hub.routing.idle()
    c = await conv(app, r["conversation_id"])
    assert c.status == "offered"
    await accept_offer(app.hub, actor(ana, (billing,)), c.id)  # type: ignore[arg-type]
    await app.hub.routing.idle()
    assert (await conv(app, r["conversation_id"])).assignee_id == ana
    events = [
        (e.type, e.payload.get("user_id", e.payload.get("assignee_id")), e.payload.get("status"))
        for e in drain(sub)
    ]
    assert events == [
        ("conversation.created", None, "queued"),
        ("message.received", None, None),
        ("offer.created", ana, "pending"),
        ("offer.updated", ana, "accepted"),
        ("conversation.assigned", ana, "assigned"),
    ]
    assert bob not in [e[1] for e in events]
    sub.close()


async def test_timeout_requeues_in_place_and_marks_the_agent_away(app: Any, clock: Any) -> None:
    t = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    bob = await user(app.hub, "bob@example.com", team_ids=(t,))
    await available(app, ana)
    r = await inbound(app.client, "cust-1", "hello", team="Support")
    await app.hub.routing.idle()
    await available(app, bob)  # joins after the offer went to Ana
    clock.advance(31)  # default offer timeout is 30 s
    await app.hub.routing.tick()
    await app.hub.routing.idle()
    c = await conv(app, r["conversation_id"])
    assert c.status == "offered"
    async with app.hub.db.session() as s:
        from hub.models import Offer

        offers = (await s.exec(select(Offer).where(Offer.conversation_id == c.id).order_by(Offer.id))).all()
        ana_row = await s.get(User, ana)
    assert [(o.user_id, o.status) for o in offers] == [(ana, "expired"), (bob, "pending")]
    assert ana_row is not None and ana_row.presence == "away"  # policy: a missed offer sets away


async def test_reject_goes_to_the_next_agent(app: Any) -> None:
    t = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    bob = await user(app.hub, "bob@example.com", team_ids=(t,))
    await available(app, ana, bob)
    r = await inbound(app.client, "cust-1", "hello", team="Support")
    await app.hub.routing.idle()
    first = (await conv(app, r["conversation_id"])).id
    async with app.hub.db.session() as s:
        from hub.models import Offer

        offered_to = (await s.exec(select(Offer.user_id).where(Offer.conversation_id == first))).one()
    other = bob if offered_to == ana else ana
    await close_offer(app.hub, first, OfferStatus.rejected, actor=actor(offered_to, (t,)), reason="rejected")  # type: ignore[arg-type]
    await app.hub.routing.idle()
    async with app.hub.db.session() as s:
        pending = (
            await s.exec(
                select(Offer.user_id).where(Offer.conversation_id == first, Offer.status == "pending")
            )
        ).all()
    assert pending == [other]


async def test_freed_capacity_drains_the_backlog_oldest_first(app: Any) -> None:
    t = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,), capacity={"loopback": 1})
    await available(app, ana)
    first = (await inbound(app.client, "cust-1", "one", team="Support"))["conversation_id"]
    second = (await inbound(app.client, "cust-2", "two", team="Support"))["conversation_id"]
    third = (await inbound(app.client, "cust-3", "three", team="Support"))["conversation_id"]
    await app.hub.routing.idle()
    await accept_offer(app.hub, actor(ana, (t,)), first)
    await app.hub.routing.idle()
    assert [(await conv(app, c)).status for c in (first, second, third)] == ["assigned", "queued", "queued"]
    await resolve(app.hub, SYSTEM, first)
    await app.hub.routing.idle()
    assert [(await conv(app, c)).status for c in (second, third)] == ["offered", "queued"]


async def test_dropped_console_keeps_state_for_the_grace_period(app: Any, clock: Any) -> None:
    t = await team(app.hub, "Support", routing={"disconnect_grace": 60})
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    await available(app, ana)
    r = await inbound(app.client, "cust-1", "hi", team="Support")
    await app.hub.routing.idle()
    await accept_offer(app.hub, actor(ana, (t,)), r["conversation_id"])
    bus = app.hub.bus
    await bus.publish([Event(id=0, type="agent.disconnected", user_id=ana, payload={"user_id": ana})])
    await app.hub.routing.idle()
    clock.advance(30)
    await bus.publish([Event(id=0, type="agent.connected", user_id=ana, payload={"user_id": ana})])
    await app.hub.routing.idle()
    clock.advance(60)
    await app.hub.routing.tick()
    async with app.hub.db.session() as s:
        assert (await s.get(User, ana)).presence == "available"  # type: ignore[union-attr]
    await bus.publish([Event(id=0, type="agent.disconnected", user_id=ana, payload={"user_id": ana})])
    await app.hub.routing.idle()
    clock.advance(61)
    await app.hub.routing.tick()
    await app.hub.routing.idle()
    async with app.hub.db.session() as s:
        assert (await s.get(User, ana)).presence == "offline"  # type: ignore[union-attr]
    assert (await conv(app, r["conversation_id"])).assignee_id == ana  # assigned work stays by default


async def test_routing_on_the_redis_bus(settings: Any, clock: Any, redis_url: str, redis_prefix: str) -> None:
    """The same flow when the bus is Redis (as with several hub processes)."""
    import asyncio

    import httpx

    from channels.loopback import LoopbackChannel
    from channels.registry import ChannelRegistry
    from hub.app import create_app

    cfg = settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix})
    reg = ChannelRegistry()
    reg.register(LoopbackChannel())
    application = create_app(cfg, clock=clock, channels=reg, run_outbox_worker=False)
    async with application.router.lifespan_context(application):
        hub = application.state.hub
        await asyncio.wait_for(hub.routing.became_leader.wait(), 10)  # the lease is taken at start
        assert hub.routing.is_leader
        t = await team(hub, "Support")
        ana = await user(hub, "ana@example.com", team_ids=(t,))
        listener = hub.bus.subscribe()
        await set_presence(hub, SYSTEM, ana, "available")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://t"
        ) as c:
            r = (
                await c.post(
                    "/channels/loopback/messages", json={"sender": "x", "body": "hi", "team": "Support"}
                )
            ).json()
        seen = []
        while True:
            e = await asyncio.wait_for(listener.get(), 10)
            assert e is not None
            seen.append(e.type)
            if e.type == "offer.created":
                assert e.payload["user_id"] == ana and e.conversation_id == r["conversation_id"]
                break
        assert seen[-3:] == ["conversation.created", "message.received", "offer.created"]


async def test_waiting_customers_are_told_their_place_in_line(app: Any, loopback: Any) -> None:
    t = await team(app.hub, "Support", routing={"auto_reply_channels": ["loopback"]})
    first = await inbound(app.client, "cust-1", "hello", team="Support")
    second = await inbound(app.client, "cust-2", "مرحبا", team="Support", language="ar")
    await app.hub.routing.idle()
    assert await app.worker.run_once() == 2
    replies = {m.to: m.body for m in loopback.sent}
    assert replies["cust-1"].startswith("Thanks, we have your message. You are number 1 in line")
    assert replies["cust-2"].startswith("شكرًا، وصلتنا رسالتك. ترتيبك 2")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    await available(app, ana)
    await app.hub.routing.idle()
    # Offers come one at a time: she takes cust-1's (cust-2 wrote Arabic, which she lacks).
    await accept_offer(app.hub, actor(ana, (t,)), first["conversation_id"])
    await app.hub.routing.idle()
    assert (await conv(app, second["conversation_id"])).status == "queued"
    await inbound(app.client, "cust-3", "hi again", team="Support")
    await app.hub.routing.idle()
    assert await app.worker.run_once() == 0  # offered at once: nothing to apologise for


async def test_queue_statistics_are_pushed_after_changes(app: Any) -> None:
    t = await team(app.hub, "Support")
    sub = recorder(app)
    await inbound(app.client, "cust-1", "hello", team="Support")
    await inbound(app.client, "cust-2", "hello", team="Support")
    await app.hub.routing.idle()
    import asyncio

    async with asyncio.timeout(10):
        while True:
            e = await sub.get()
            assert e is not None
            if e.type == "queue.stats" and e.payload["waiting"] == 2:
                break
    assert e.id == 0 and e.team_id == t and e.payload["agents_available"] == 0
    sub.close()


async def test_pending_offers_over_rest_then_accept(app: Any) -> None:
    from tests.helpers import login

    t = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    await available(app, ana)
    conv_id = (await inbound(app.client, "cust-1", "hello", team="Support"))["conversation_id"]
    await app.hub.routing.idle()
    c = app.new_client()
    csrf = await login(c, "ana@example.com")
    pending = (await c.get("/api/v1/offers")).json()["items"]
    assert [(o["conversation_id"], o["status"]) for o in pending] == [(conv_id, "pending")]
    assert (await c.get("/api/v1/offers", params={"user_id": ana + 1})).status_code == 403
    r = await c.post(f"/api/v1/conversations/{conv_id}/accept", headers=csrf)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    again = await c.post(f"/api/v1/conversations/{conv_id}/accept", headers=csrf)
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_offer"
    assert (await conv(app, conv_id)).assignee_id == ana
