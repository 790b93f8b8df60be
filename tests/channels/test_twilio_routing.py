"""A call through the routing engine: queued, offered by routing, accepted, bridged."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from hub.models import Conversation
from hub.services import SYSTEM, Actor
from hub.services.offers import accept_offer
from hub.services.users import set_presence

# Reuse the e2e module's fixtures (settings with public_url, the REST double, the adapters).
from tests.channels import test_twilio_e2e as e2e
from tests.channels.test_twilio_e2e import conversations, verbs
from tests.channels.twilio_double import (
    CUSTOMER,
    OUR_NUMBER,
    TwilioDouble,
    cheap_passwords,
    post_webhook,
    webhook,
)
from tests.helpers import team, user

settings = e2e.settings
twilio_api = e2e.twilio_api
extra_channels = e2e.extra_channels


@pytest.fixture
def routing_enabled() -> bool:
    return True


async def test_call_is_offered_by_routing_then_bridged_on_accept(
    app: Any,
    twilio_api: TwilioDouble,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cheap_passwords(monkeypatch)
    hub, client = app.hub, app.client
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana")
    await set_presence(hub, SYSTEM, ana, "available")
    await hub.routing.idle()

    call_sid = webhook("voice_incoming")["CallSid"]
    twilio_api.add_call(call_sid, CUSTOMER, OUR_NUMBER)
    assert verbs(await post_webhook(client, "/channels/voice/incoming", webhook("voice_incoming"))) == [
        "Say",
        "Enqueue",
    ]
    await hub.routing.idle()
    call: Conversation = (await conversations(hub))[call_sid]
    assert call.status == "offered"  # routing chose Ana; nothing is bridged before she accepts
    assert not [r for r in twilio_api.requests if r.path.endswith(f"/Calls/{call_sid}.json")]

    await accept_offer(hub, Actor(user_id=ana, role="agent", team_ids=frozenset({support})), call.id)  # type: ignore[arg-type]
    update = await twilio_api.wait_for(lambda r: r.path.endswith(f"/Calls/{call_sid}.json"))
    dial = ET.fromstring(update.one("Twiml") or "").find("Dial")
    assert dial is not None and [(n.tag, n.text) for n in dial] == [("Client", f"agent-{ana}")]
