"""Opt-out and opt-in keywords through the real entry points: signed Twilio webhooks
(SMS and WhatsApp) with the real client out to the local Twilio double, and Telegram
updates with the real python-telegram-bot client out to the local Bot API double.
Each keyword is recorded (source "keyword"), noted in the thread and confirmed once
through the outbox in the customer's language; SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from channels.telegram import TelegramChannel
from channels.twilio import TwilioSmsChannel, TwilioWhatsAppChannel
from hub.config import Settings
from hub.models import ContactConsent, Conversation, Message, Role
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.channels.telegram_double import BotApiDouble
from tests.channels.twilio_double import (
    CUSTOMER,
    WHATSAPP_NUMBER,
    TwilioDouble,
    channel_config,
    hub_settings,
    post_webhook,
    webhook,
)
from tests.helpers import team, user

TOKEN = "7012345678:AAFtestTokenForTheLocalDouble_0123"
SECRET = "whsec-telegram_test-0123456789"
TG_FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    s: Settings = hub_settings(db_url, tmp_path)
    return s


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiDouble]:
    double = BotApiDouble(TOKEN)
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
def extra_channels(twilio_api: TwilioDouble, bot_api: BotApiDouble) -> list[Any]:
    sms = TwilioSmsChannel.from_config(channel_config(twilio_api.url))
    whatsapp = TwilioWhatsAppChannel.from_config(
        channel_config(twilio_api.url, numbers={f"whatsapp:{WHATSAPP_NUMBER}": "Support"})
    )
    telegram = TelegramChannel.from_config(
        {
            "bot_token": TOKEN,
            "webhook_secret": SECRET,
            "base_url": bot_api.base_url,
            "timeout": 2,
            "team": "Support",
            "topics": {"billing": "Billing"},
        }
    )
    return [sms, whatsapp, telegram]


async def settle(app: Any) -> None:
    await app.hub.projections.catch_up()
    while await app.worker.run_once():
        pass


async def consent_of(app: Any, channel: str) -> dict[str, tuple[str, str]]:
    async with app.hub.db.session() as s:
        rows = (await s.exec(select(ContactConsent).where(ContactConsent.channel == channel))).all()
    return {r.purpose: (r.state, r.source) for r in rows}


async def sid_webhook(app: Any, path: str, fixture: str, sid: str, **kw: str) -> None:
    res = await post_webhook(
        app.client, path, webhook(fixture, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid, **kw)
    )
    assert res.status_code == 200, res.text


async def test_sms_arabic_keyword_blocks_everything_and_is_confirmed_once(
    app: Any, twilio_api: TwilioDouble
) -> None:
    await sid_webhook(app, "/channels/sms/incoming", "sms_inbound", "SM" + "a" * 32, Body=" إلغاء ")
    # Twilio retries the webhook: still one decision and one confirmation.
    await sid_webhook(app, "/channels/sms/incoming", "sms_inbound", "SM" + "a" * 32, Body=" إلغاء ")
    await settle(app)
    assert await consent_of(app, "sms") == {
        "marketing": ("opted_out", "keyword"),
        "service": ("opted_out", "keyword"),
    }
    bodies = [r.one("Body") for r in twilio_api.messages()]
    assert len(bodies) == 1 and bodies[0].startswith("تم إلغاء اشتراكك") and "«ابدأ»" in bodies[0]
    assert twilio_api.messages()[0].one("To") == CUSTOMER

    # SMS is carrier-level: even a reply in the conversation is refused now...
    async with app.hub.db.session() as s:
        conv_id = (await s.exec(select(Message.conversation_id))).first()
    await reply(app.hub, SYSTEM, conv_id, "One more thing")
    await settle(app)
    assert len(twilio_api.messages()) == 1
    # ...until START, which Twilio itself confirms (the hub sends nothing of its own).
    await sid_webhook(app, "/channels/sms/incoming", "sms_inbound", "SM" + "b" * 32, Body="START")
    await settle(app)
    assert await consent_of(app, "sms") == {
        "marketing": ("opted_in", "keyword"),
        "service": ("opted_in", "keyword"),
    }
    assert len(twilio_api.messages()) == 1


async def test_whatsapp_stop_is_a_marketing_opt_out_confirmed_in_english(
    app: Any, twilio_api: TwilioDouble
) -> None:
    await team(app.hub, "Support")
    await sid_webhook(app, "/channels/whatsapp/incoming", "whatsapp_inbound", "SM" + "c" * 32, Body="STOP")
    await settle(app)
    assert await consent_of(app, "whatsapp") == {"marketing": ("opted_out", "keyword")}
    [confirm] = twilio_api.messages()
    assert confirm.one("Body").startswith("You will no longer receive marketing messages")
    # The customer still gets answers in their conversation.
    async with app.hub.db.session() as s:
        conv_id = (await s.exec(select(Message.conversation_id))).first()
    await reply(app.hub, SYSTEM, conv_id, "Your order ships today")
    await settle(app)
    assert [r.one("Body") for r in twilio_api.messages()][1:] == ["Your order ships today"]
    async with app.hub.db.session() as s:
        kinds = (await s.exec(select(Message.kind).order_by(col(Message.id)))).all()
    assert kinds[:3] == ["text", "event", "text"]  # the keyword kept, the note, the confirmation


def telegram_update(text: str, n: int) -> dict[str, Any]:
    update: dict[str, Any] = json.loads((TG_FIXTURES / "text_private.json").read_text(encoding="utf-8"))
    update = copy.deepcopy(update)
    update["update_id"] = 800_000_000 + n
    update["message"].update(message_id=70_000 + n, text=text)
    return update


async def post_update(app: Any, update: dict[str, Any]) -> None:
    res = await app.client.post(
        "/channels/telegram/webhook",
        content=json.dumps(update).encode(),
        headers={"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET},
    )
    assert res.status_code == 200, res.text


async def test_telegram_stop_and_start_commands(app: Any, bot_api: BotApiDouble) -> None:
    billing = await team(app.hub, "Billing")
    await team(app.hub, "Support")
    await user(app.hub, "root@example.com", role=Role.admin)
    # A new chat's /start with a deep-link topic: routed as before, nothing recorded.
    start = json.loads((TG_FIXTURES / "start_billing.json").read_text(encoding="utf-8"))
    await post_update(app, start)
    await post_update(app, telegram_update("/start", 1))
    await settle(app)
    assert await consent_of(app, "telegram") == {}
    assert bot_api.called("sendMessage") == []
    async with app.hub.db.session() as s:
        first = (await s.exec(select(Message.conversation_id).order_by(col(Message.id)))).first()
        conv = await s.get(Conversation, first)
        assert conv is not None and conv.team_id == billing

    await post_update(app, telegram_update("/stop@our_bot", 2))
    await settle(app)
    assert await consent_of(app, "telegram") == {"marketing": ("opted_out", "keyword")}
    [sent] = bot_api.called("sendMessage")
    # Layla's Telegram client is in Arabic (language_code ar): so is the confirmation.
    expected = "لن تصلك منا رسائل تسويقية"
    assert expected in sent.params["text"] and "/start" in sent.params["text"]

    await post_update(app, telegram_update("/start", 3))
    await settle(app)
    assert await consent_of(app, "telegram") == {"marketing": ("opted_in", "keyword")}
    assert len(bot_api.called("sendMessage")) == 2
