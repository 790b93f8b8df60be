"""Routing honours recognition tiers: a tier's boost puts a recognised customer ahead
of older ordinary conversations in the teams it applies to, and not in a team whose
setting turns it off; the simulator models boosted arrivals."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from hub.domain import InboundMessage
from hub.models import Conversation, Offer
from hub.services import SYSTEM
from hub.services.conversations import resolve
from hub.services.ingest import ingest
from hub.services.tiers import update_tier
from hub.services.users import set_presence
from routing.scenario import AgentGroup, Scenario, TrafficStream
from routing.simulator import Simulation
from tests.helpers import team, user


@pytest.fixture
def routing_enabled() -> bool:
    return True


def msg(sender: str, pid: str, team_name: str, thread: str = "") -> InboundMessage:
    return InboundMessage(
        channel="loopback",
        provider_message_id=pid,
        address_kind="loopback",
        sender=sender,
        thread_key=thread,
        body="hello",
        team=team_name,
    )


async def first_offer(app: Any, agent_id: int) -> int:
    async with app.hub.db.session() as s:
        offer = (
            await s.exec(select(Offer).where(Offer.user_id == agent_id).order_by(Offer.id))  # type: ignore[arg-type]
        ).first()
    assert offer is not None
    return offer.conversation_id


async def queue_two(app: Any, clock: Any, team_name: str) -> tuple[int, int]:
    """An ordinary customer's conversation, then — a minute later — a frequent one's."""
    hub = app.hub
    for n in range(3):
        past = await ingest(hub, msg("regular", f"{team_name}-past-{n}", team_name, thread=f"t{n}"))
        await resolve(hub, SYSTEM, past.conversation_id)
    await hub.projections.catch_up()  # the customer is now "frequent"
    ordinary = await ingest(hub, msg(f"new-{team_name}", f"{team_name}-a", team_name))
    clock.advance(60)
    frequent = await ingest(hub, msg("regular", f"{team_name}-b", team_name, thread="now"))
    await hub.routing.idle()
    return ordinary.conversation_id, frequent.conversation_id


async def test_a_boosted_tier_is_offered_before_older_conversations(app: Any, clock: Any) -> None:
    sales = await team(app.hub, "Sales")
    agent = await user(app.hub, "ana@example.com", team_ids=(sales,), capacity={"loopback": 1})
    await update_tier(app.hub, SYSTEM, "frequent", {"routing": {"boost": 50}})
    ordinary, frequent = await queue_two(app, clock, "Sales")
    await set_presence(app.hub, SYSTEM, agent, "available", reason="test")
    await app.hub.routing.idle()
    assert await first_offer(app, agent) == frequent
    async with app.hub.db.session() as s:
        waiting = await s.get(Conversation, ordinary)
    assert waiting is not None and waiting.status == "queued"


async def test_a_team_can_turn_the_boost_off(app: Any, clock: Any) -> None:
    support = await team(app.hub, "Support")
    agent = await user(app.hub, "bo@example.com", team_ids=(support,), capacity={"loopback": 1})
    await update_tier(app.hub, SYSTEM, "frequent", {"routing": {"boost": 50, "teams": {str(support): 0}}})
    ordinary, _frequent = await queue_two(app, clock, "Support")
    await set_presence(app.hub, SYSTEM, agent, "available", reason="test")
    await app.hub.routing.idle()
    assert await first_offer(app, agent) == ordinary  # first come, first served here


def test_the_simulator_models_boosted_arrivals() -> None:
    stream = TrafficStream(
        team="t", channel="chat", arrival_rate=0.5, aht=110, boost_fraction=0.2, boost=1000
    )
    scenario = Scenario(
        policies=(),
        agents=(AgentGroup(name="a", count=60, teams=("t",), capacity={"chat": 1}),),
        traffic=(stream,),
        duration=20_000,
        warmup=1_000,
        seed=7,
    )
    result = Simulation(scenario).run()
    boosted, overall = result["boosted"], result
    assert 0.15 < boosted["offered"] / overall["offered"] < 0.25
    assert boosted["asa_seconds"] < overall["asa_seconds"]
