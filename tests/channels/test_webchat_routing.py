"""Queue position / estimated wait and online/offline, with the routing driver running."""

from __future__ import annotations

from typing import Any

import pytest

from channels.webchat import WebchatChannel
from hub.services import SYSTEM
from hub.services.users import set_presence
from tests.channels.webchat_support import make_channel, visitor
from tests.helpers import team, user


@pytest.fixture
def routing_enabled() -> bool:
    return True


@pytest.fixture
def channel() -> WebchatChannel:
    # A short refresh so a position that changes because *others* moved shows quickly.
    return make_channel(queue_refresh_seconds=0.2)


@pytest.fixture
def extra_channels(channel: WebchatChannel) -> list[Any]:
    return [channel]


async def test_waiting_visitors_see_their_place_in_the_queue(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), capacity={"webchat": 1})
    async with live.app.new_client() as c:
        cfg = (await c.get("/channels/webchat/s/acme/config")).json()
    assert cfg["availability"] == {"online": False, "reason": "nobody_available"}
    first = await visitor(live)
    ack1 = await first.say("I was here first")
    q1 = await first.frame("queue")
    assert q1 == {
        "type": "queue",
        "conversation_id": ack1["conversation_id"],
        "position": 1,
        "estimated_wait_seconds": None,  # no handle-time sample yet: no guess
    }
    second = await visitor(live)
    ack2 = await second.say("me too")
    assert (await second.frame("queue"))["position"] == 2
    await set_presence(hub, SYSTEM, ana, "available", reason="test")
    await hub.routing.idle()
    # Ana is offered the first conversation; the second moves up to first place.
    assert (await first.frame("queue"))["estimated_wait_seconds"] == 0
    moved = await second.until(lambda f: f["type"] == "queue" and f["position"] == 1)
    assert moved["conversation_id"] == ack2["conversation_id"]
    async with live.app.new_client() as c:
        cfg = (await c.get("/channels/webchat/s/acme/config")).json()
    assert cfg["availability"]["online"] is True
    await first.close()
    await second.close()
