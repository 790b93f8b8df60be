"""A waiting web-chat visitor who goes away abandons the chat (docs/reports.md): the
gateway starts a durable timer when their last connection has been gone
``away_after_seconds``; the routing tick closes the conversation when it is due; a
visitor who comes back (on any hub process) clears it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from channels.webchat import WebchatChannel
from hub.models import Conversation
from hub.services import abandon
from tests.channels.webchat_support import make_channel, visitor
from tests.helpers import team


@pytest.fixture
def channel() -> WebchatChannel:
    return make_channel(abandon_after_seconds=300)


@pytest.fixture
def extra_channels(channel: WebchatChannel) -> list[Any]:
    return [channel]


async def _conv(hub: Any, conversation_id: int) -> Conversation:
    async with hub.db.session() as s:
        conv = await s.get(Conversation, conversation_id)
    assert conv is not None
    return conv


async def test_a_visitor_gone_abandons_and_one_who_returns_does_not(
    live: Any, channel: WebchatChannel, clock: Any
) -> None:
    hub = live.app.hub
    await team(hub, "Support")
    gateway = channel.runtime.gateway
    gateway.away_after_seconds = 0.0  # "gone" at once: the test drives the gateway's check

    leaver = await visitor(live)
    gone_id = (await leaver.say("anyone there?"))["conversation_id"]
    stayer = await visitor(live)
    back_id = (await stayer.say("hello"))["conversation_id"]
    back_token = stayer.token
    await leaver.close()
    await stayer.close()
    await gateway.wait_until(lambda: {gone_id, back_id} <= set(gateway.gone_waiting))
    assert sorted(await gateway.mark_gone()) == sorted([gone_id, back_id])
    assert (await _conv(hub, gone_id)).abandon_due_at == clock.now + timedelta(seconds=300)

    returned = await visitor(live, token=back_token)  # back before the timer
    await gateway.wait_until(lambda: back_id in gateway.by_conversation)
    await gateway.settle_writes()
    assert (await _conv(hub, back_id)).abandon_due_at is None

    clock.advance(299)
    assert await abandon.abandon_due(hub) == []
    clock.advance(1)
    assert await abandon.abandon_due(hub) == [gone_id]
    gone = await _conv(hub, gone_id)
    assert (str(gone.status), gone.abandoned_at) == ("abandoned", clock.now)
    assert str((await _conv(hub, back_id)).status) == "queued"
    await returned.close()
