"""WhatsApp through Twilio: whatsapp: addresses, the 24-hour window, templates."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from channels.base import SendError
from channels.twilio import TwilioWhatsAppChannel
from hub.config import Settings
from hub.domain import Attachment, OutboundMessage
from hub.models import Contact, Conversation, Message, Role
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.channels.twilio_double import (
    CUSTOMER,
    WHATSAPP_NUMBER,
    TwilioDouble,
    channel_config,
    cheap_passwords,
    hub_settings,
    post_webhook,
    webhook,
)
from tests.helpers import login, user

INCOMING = "/channels/whatsapp/incoming"
STATUS = "/channels/whatsapp/status"
ORDER_UPDATE = "HX" + "0123456789abcdef" * 2


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return hub_settings(db_url, tmp_path)


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


@pytest.fixture
def whatsapp(twilio_api: TwilioDouble) -> TwilioWhatsAppChannel:
    cfg = channel_config(
        twilio_api.url,
        numbers={f"whatsapp:{WHATSAPP_NUMBER}": "Support"},
        templates={"order_update": ORDER_UPDATE},
    )
    return TwilioWhatsAppChannel.from_config(cfg)


@pytest.fixture
def extra_channels(whatsapp: TwilioWhatsAppChannel) -> list[Any]:
    return [whatsapp]


async def inbound(app: Any, fixture: str = "whatsapp_inbound", **kw: str) -> Message:
    res = await post_webhook(app.client, INCOMING, webhook(fixture, **kw))
    assert res.status_code == 200, res.text
    async with app.hub.db.session() as s:
        return (await s.exec(select(Message).order_by(col(Message.id).desc()))).first()  # type: ignore[return-value]


async def stored(hub: Any, message_id: int) -> Message:
    async with hub.db.session() as s:
        m = await s.get(Message, message_id)
    assert m is not None
    return m


async def test_inbound_whatsapp_uses_the_phone_identity_and_profile_name(app: Any) -> None:
    m = await inbound(app)
    assert (m.channel, m.body) == ("whatsapp", "مرحبا، أين طلبي؟")
    async with app.hub.db.session() as s:
        conv = await s.get(Conversation, m.conversation_id)
        contact = (await s.exec(select(Contact))).one()
    assert conv is not None and (conv.contact_address, conv.channel_account) == (CUSTOMER, WHATSAPP_NUMBER)
    assert contact.name == "Layla"


async def test_a_location_pin_becomes_a_readable_link(app: Any) -> None:
    m = await inbound(app, "whatsapp_location")
    assert m.body == "Shared location: https://maps.google.com/?q=24.7136,46.6753"


async def test_reply_inside_the_window_goes_out_with_whatsapp_addresses(
    app: Any, twilio_api: TwilioDouble
) -> None:
    m = await inbound(app)
    out = await reply(app.hub, SYSTEM, m.conversation_id, "طلبك في الطريق")
    await app.worker.run_once()
    [sent] = twilio_api.messages()
    assert sent.form == {
        "To": [f"whatsapp:{CUSTOMER}"],
        "From": [f"whatsapp:{WHATSAPP_NUMBER}"],
        "Body": ["طلبك في الطريق"],
        "StatusCallback": ["http://testserver/channels/whatsapp/status"],
    }
    assert (await stored(app.hub, out.id)).delivery_status == "sent"  # type: ignore[arg-type]


async def test_free_text_outside_the_window_fails_without_calling_twilio(
    app: Any, twilio_api: TwilioDouble, clock: Any
) -> None:
    m = await inbound(app)
    clock.advance(24 * 3600 + 1)
    out = await reply(app.hub, SYSTEM, m.conversation_id, "Are you still there?")
    await app.worker.run_once()
    failed = await stored(app.hub, out.id)  # type: ignore[arg-type]
    assert failed.delivery_status == "failed"
    assert str(failed.error).startswith("outside WhatsApp's 24-hour window; send an approved template")
    assert twilio_api.messages() == []


async def test_an_approved_template_goes_out_at_any_time(
    app: Any, twilio_api: TwilioDouble, whatsapp: TwilioWhatsAppChannel, clock: Any
) -> None:
    m = await inbound(app)
    clock.advance(3 * 24 * 3600)
    message = OutboundMessage(
        message_id=m.id,  # type: ignore[arg-type]
        conversation_id=m.conversation_id,
        channel="whatsapp",
        to=CUSTOMER,
        channel_account=WHATSAPP_NUMBER,
        meta={"template": "order_update", "variables": {"1": "1042", "2": "الثلاثاء"}},
    )
    result = await whatsapp.send(message)
    [sent] = twilio_api.messages()
    assert sent.form["ContentSid"] == [ORDER_UPDATE] and "Body" not in sent.form
    assert json.loads(sent.form["ContentVariables"][0]) == {"1": "1042", "2": "الثلاثاء"}
    assert sent.one("To") == f"whatsapp:{CUSTOMER}" and result.provider_message_id.startswith("SM")
    with pytest.raises(SendError) as unknown:
        await whatsapp.send(message.model_copy(update={"meta": {"template": "promo"}}))
    assert not unknown.value.retryable and "known: order_update" in unknown.value.reason


async def test_whatsapp_takes_one_attachment_per_message(app: Any, whatsapp: TwilioWhatsAppChannel) -> None:
    m = await inbound(app)
    files = tuple(Attachment(url=f"https://cdn.example.com/{i}.jpg") for i in range(2))
    message = OutboundMessage(
        message_id=1, conversation_id=m.conversation_id, channel="whatsapp", to=CUSTOMER, attachments=files
    )
    with pytest.raises(SendError, match="at most 1 attachment"):
        await whatsapp.send(message)


async def test_read_and_failed_statuses(app: Any) -> None:
    m = await inbound(app)
    first = await reply(app.hub, SYSTEM, m.conversation_id, "one")
    second = await reply(app.hub, SYSTEM, m.conversation_id, "two")
    await app.worker.run_once()
    one, two = await stored(app.hub, first.id), await stored(app.hub, second.id)  # type: ignore[arg-type]
    sid = {"MessageSid": one.provider_message_id or "", "SmsSid": one.provider_message_id or ""}
    assert (await post_webhook(app.client, STATUS, webhook("whatsapp_status_read", **sid))).status_code == 204
    sid = {"MessageSid": two.provider_message_id or "", "SmsSid": two.provider_message_id or ""}
    assert (
        await post_webhook(app.client, STATUS, webhook("whatsapp_status_failed", **sid))
    ).status_code == 204
    one, two = await stored(app.hub, first.id), await stored(app.hub, second.id)  # type: ignore[arg-type]
    assert one.delivery_status == "read"
    assert two.delivery_status == "failed"
    assert two.error and two.error.startswith("failed: Twilio error 63016: Failed to send freeform message")


async def test_the_composer_can_ask_whether_the_window_is_open(
    app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_passwords(monkeypatch)
    m = await inbound(app)
    url = f"/channels/whatsapp/conversations/{m.conversation_id}/window"
    assert (await app.client.get(url)).status_code == 401
    await user(app.hub, "lead@example.com", role=Role.admin)
    await login(app.client, "lead@example.com")
    res = await app.client.get(url)
    assert res.status_code == 200
    assert res.json() == {
        "open": True,
        "closes_at": "2026-01-06T09:00:00+00:00",
        "templates": ["order_update"],
    }
    clock.advance(24 * 3600 + 1)
    await login(app.client, "lead@example.com")  # sessions last 12 hours
    assert (await app.client.get(url)).json()["open"] is False
