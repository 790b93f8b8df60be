"""End to end: one customer on SMS, WhatsApp and the phone, agents in the console API.

All three Twilio adapters run in one hub. Webhooks are signed like Twilio signs them;
replies and the call bridge go through the real ``twilio`` client to the REST double.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from channels.twilio import TwilioSmsChannel, TwilioVoiceChannel, TwilioWhatsAppChannel
from hub.config import Settings
from hub.models import Contact, Conversation, Identity, Message
from hub.services import SYSTEM
from hub.services.users import set_presence
from tests.channels.twilio_double import (
    CUSTOMER,
    OUR_NUMBER,
    WHATSAPP_NUMBER,
    TwilioDouble,
    channel_config,
    cheap_passwords,
    hub_settings,
    post_webhook,
    webhook,
)
from tests.helpers import login, team, user

MISSED = "CA" + "77" * 16


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return hub_settings(db_url, tmp_path)


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


@pytest.fixture
def extra_channels(twilio_api: TwilioDouble) -> list[Any]:
    url = twilio_api.url
    return [
        TwilioSmsChannel.from_config(channel_config(url)),
        TwilioWhatsAppChannel.from_config(channel_config(url, numbers={WHATSAPP_NUMBER: "Support"})),
        TwilioVoiceChannel.from_config(channel_config(url)),
    ]


async def conversations(hub: Any) -> dict[str, Conversation]:
    async with hub.db.session() as s:
        rows = (await s.exec(select(Conversation).order_by(col(Conversation.id)))).all()
    return {c.thread_key or c.channel: c for c in rows}


async def thread(hub: Any, conversation_id: int) -> list[Message]:
    async with hub.db.session() as s:
        rows = await s.exec(
            select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.id))
        )
        return list(rows.all())


def verbs(res: Any) -> list[str]:
    assert res.status_code == 200, res.text
    return [el.tag for el in ET.fromstring(res.text).iter()][1:]


async def test_one_customer_across_sms_whatsapp_and_voice(
    app: Any, twilio_api: TwilioDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_passwords(monkeypatch)
    hub, client = app.hub, app.client
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana")
    await set_presence(hub, SYSTEM, ana, "available")
    csrf = await login(client, "ana@example.com")

    # 1. The same phone number writes by SMS and by WhatsApp: one contact.
    assert (await post_webhook(client, "/channels/sms/incoming", webhook("sms_inbound"))).status_code == 200
    assert (
        await post_webhook(client, "/channels/whatsapp/incoming", webhook("whatsapp_inbound"))
    ).status_code == 200
    async with hub.db.session() as s:
        contacts = (await s.exec(select(Contact))).all()
        identities = (await s.exec(select(Identity))).all()
    assert len(contacts) == 1 and [(i.kind, i.address) for i in identities] == [("phone", CUSTOMER)]
    convs = await conversations(hub)
    assert {c.contact_id for c in convs.values()} == {contacts[0].id}

    # 2. Ana accepts both and replies from the console; each goes out with the right From/To.
    for channel, text in (("sms", "Your order ships today."), ("whatsapp", "طلبك يُشحن اليوم")):
        conv_id = convs[channel].id
        res = await client.post(
            f"/api/v1/conversations/{conv_id}/assign", json={"user_id": ana}, headers=csrf
        )
        assert res.status_code == 200, res.text
        res = await client.post(f"/api/v1/conversations/{conv_id}/reply", json={"body": text}, headers=csrf)
        assert res.status_code == 201, res.text
    assert await app.worker.run_once() == 2
    sent = {r.one("Body"): (r.one("From"), r.one("To")) for r in twilio_api.messages()}
    assert sent == {
        "Your order ships today.": (OUR_NUMBER, CUSTOMER),
        "طلبك يُشحن اليوم": (f"whatsapp:{WHATSAPP_NUMBER}", f"whatsapp:{CUSTOMER}"),
    }

    # 3. The customer calls: greeted and queued, offered to Ana, accepted, bridged.
    call_sid = webhook("voice_incoming")["CallSid"]
    twilio_api.add_call(call_sid, CUSTOMER, OUR_NUMBER)
    assert verbs(await post_webhook(client, "/channels/voice/incoming", webhook("voice_incoming"))) == [
        "Say",
        "Enqueue",
    ]
    call_conv = (await conversations(hub))[call_sid]
    assert (call_conv.status, call_conv.team_id, call_conv.contact_id) == ("queued", support, contacts[0].id)
    assert call_conv.priority > convs["sms"].priority  # a caller is waiting: ahead of chat
    res = await client.post(
        f"/api/v1/conversations/{call_conv.id}/assign", json={"user_id": ana}, headers=csrf
    )
    assert res.status_code == 200, res.text
    update = await twilio_api.wait_for(lambda r: r.path.endswith(f"/Calls/{call_sid}.json"))
    dial = ET.fromstring(update.one("Twiml") or "").find("Dial")
    assert dial is not None and [(n.tag, n.text) for n in dial] == [("Client", f"agent-{ana}")]
    for fixture in ("voice_agent_ringing", "voice_agent_answered", "voice_agent_completed"):
        await post_webhook(client, "/channels/voice/agent-status", webhook(fixture, To=f"client:agent-{ana}"))
    await post_webhook(client, "/channels/voice/status", webhook("voice_status_completed"))
    events = [m.body for m in await thread(hub, call_conv.id) if m.kind == "event"]  # type: ignore[arg-type]
    assert events[1:] == [
        "Connecting the caller to Ana (browser softphone)",
        "Ringing Ana",
        "Ana answered the call",
        "Call with Ana ended after 0:58",
        "Call ended (completed, 1:03 in total)",
    ]

    # 4. Ana signs off; the next call finds nobody and leaves a voicemail to return.
    await set_presence(hub, SYSTEM, ana, "offline")
    missed = {"CallSid": MISSED}
    res = await post_webhook(client, "/channels/voice/incoming", webhook("voice_incoming", **missed))
    assert "Record" in verbs(res)
    await post_webhook(client, "/channels/voice/recording", webhook("voice_recording", **missed))
    await post_webhook(client, "/channels/voice/transcription", webhook("voice_transcription", **missed))
    await post_webhook(client, "/channels/voice/status", webhook("voice_status_completed", **missed))
    voicemail = (await conversations(hub))[MISSED]
    assert (voicemail.status, voicemail.tags, voicemail.contact_id) == (
        "queued",
        ["callback"],
        contacts[0].id,
    )
    inbound = [(m.kind, m.body) for m in await thread(hub, voicemail.id) if m.direction == "inbound"]  # type: ignore[arg-type]
    assert inbound == [
        ("call", f"Incoming call to {OUR_NUMBER}"),
        ("media", "Voicemail (0:14)"),
        ("text", "Voicemail transcription: Hi, this is Layla about order 1042, please call me back."),
    ]
    assert len(twilio_api.call_updates()) == 1  # nothing was bridged for the missed call
