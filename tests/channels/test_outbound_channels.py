"""Outbound conversations on the real adapters: an SMS and a WhatsApp template leave
through the outbox to the Twilio REST double (driven by the official client), an email
reaches the customer's mail server (aiosmtpd), and what may not be sent is refused
before anything is written: Telegram without a chat the customer opened, WhatsApp free
text outside the 24-hour window, an email without a subject."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from channels.email import EmailChannel
from channels.telegram import TelegramChannel
from channels.twilio import TwilioSmsChannel, TwilioWhatsAppChannel
from hub.config import Settings, load_settings
from hub.models import Conversation, Message, OutboxItem, Role
from hub.services import SYSTEM
from hub.services.conversations import assign, resolve
from tests.channels.email_servers import SmtpSink, running_sink
from tests.channels.telegram_double import BotApiDouble
from tests.channels.test_email_smtp import email_section
from tests.channels.twilio_double import (
    ACCOUNT_SID,
    CUSTOMER,
    OUR_NUMBER,
    WHATSAPP_NUMBER,
    TwilioDouble,
    channel_config,
    cheap_passwords,
    post_webhook,
    webhook,
)
from tests.helpers import login, team, user

TEMPLATE_SID = "HX" + "fedcba9876543210" * 2
TG_TOKEN = "7012345678:AAFtestTokenForTheLocalDouble_0123"
TG_SECRET = "whsec-telegram_test-0123456789"
CUSTOMER_EMAIL = "layla@customer.test"


@pytest.fixture(autouse=True)
def _cheap(monkeypatch: Any) -> None:
    cheap_passwords(monkeypatch)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    team = {"team": "Support"}
    return load_settings(
        None,
        database_url=db_url,
        data_dir=str(tmp_path / "var"),
        public_url="http://testserver",
        channels={"loopback": {}, "sms": team, "whatsapp": team, "email": team, "telegram": team},
    )


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    async with running_sink() as sink:
        yield sink


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiDouble]:
    double = BotApiDouble(TG_TOKEN)
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
def extra_channels(twilio_api: TwilioDouble, smtp_sink: SmtpSink, bot_api: BotApiDouble) -> list[Any]:
    return [
        TwilioSmsChannel.from_config(channel_config(twilio_api.url)),
        TwilioWhatsAppChannel.from_config(
            channel_config(
                twilio_api.url,
                numbers={f"whatsapp:{WHATSAPP_NUMBER}": "Support"},
                templates={"order_update": TEMPLATE_SID},
            )
        ),
        EmailChannel.from_config(email_section(smtp_port=smtp_sink.port)),
        TelegramChannel.from_config(
            {
                "bot_token": TG_TOKEN,
                "webhook_secret": TG_SECRET,
                "base_url": bot_api.base_url,
                "team": "Support",
            }
        ),
    ]


async def _world(app: Any) -> dict[str, Any]:
    """Layla wrote one SMS last week (resolved); Ana of Support writes to her now."""
    support = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(support,), name="Ana")
    res = await post_webhook(app.client, "/channels/sms/incoming", webhook("sms_inbound"))
    assert res.status_code == 200, res.text
    async with app.hub.db.session() as s:
        conv = (await s.exec(select(Conversation))).one()
    await assign(app.hub, SYSTEM, conv.id, ana)
    await resolve(app.hub, SYSTEM, conv.id)
    client = app.new_client()
    headers = await login(client, "ana@example.com")
    return {"contact": conv.contact_id, "old": conv.id, "ana": ana, "client": client, "h": headers}


async def _start(w: dict[str, Any], **body: Any) -> Any:
    return await w["client"].post(f"/api/v1/contacts/{w['contact']}/outbound", json=body, headers=w["h"])


async def _delivered(app: Any, message_id: int) -> tuple[Message, OutboxItem]:
    async with app.hub.db.session() as s:
        m = await s.get(Message, message_id)
        item = (await s.exec(select(OutboxItem).where(OutboxItem.message_id == message_id))).one()
    assert m is not None
    return m, item


async def test_outbound_sms_leaves_through_the_outbox_to_twilio(app: Any, twilio_api: TwilioDouble) -> None:
    w = await _world(app)
    res = await _start(w, channel="sms", body="Hi Layla, your refund is on its way.")
    assert res.status_code == 201, res.text
    conv, message = res.json()["conversation"], res.json()["message"]
    assert conv["id"] != w["old"] and conv["assignee_id"] == w["ana"] and conv["status"] == "assigned"
    assert twilio_api.messages() == []  # written, not sent: the outbox sends

    assert await app.worker.run_once() == 1
    [sent] = twilio_api.messages()
    assert sent.username == ACCOUNT_SID  # the official client's Basic auth
    assert sent.form == {
        "To": [CUSTOMER],
        "From": [OUR_NUMBER],
        "Body": ["Hi Layla, your refund is on its way."],
        "StatusCallback": ["http://testserver/channels/sms/status"],
    }
    m, item = await _delivered(app, message["id"])
    assert (m.delivery_status, item.status) == ("sent", "sent")
    assert m.provider_message_id and m.provider_message_id.startswith("SM")

    # Her answer by SMS threads into the conversation Ana opened.
    back = await post_webhook(
        app.client,
        "/channels/sms/incoming",
        webhook("sms_inbound", MessageSid="SM" + "7" * 32, Body="Thanks!"),
    )
    assert back.status_code == 200
    async with app.hub.db.session() as s:
        last = (await s.exec(select(Message).order_by(col(Message.id).desc()))).first()
    assert last is not None and (last.conversation_id, last.body) == (conv["id"], "Thanks!")


async def test_outbound_whatsapp_needs_a_template_outside_the_window(
    app: Any, twilio_api: TwilioDouble
) -> None:
    w = await _world(app)
    options = {
        o["channel"]: o
        for o in (await w["client"].get(f"/api/v1/contacts/{w['contact']}/outbound")).json()["items"]
    }
    assert options["whatsapp"]["window_open"] is False and options["whatsapp"]["templates"] == [
        "order_update"
    ]
    assert options["whatsapp"]["allowed"] is True

    free = await _start(w, channel="whatsapp", body="Are you still there?")
    assert free.status_code == 409 and free.json()["error"]["code"] == "whatsapp_window_closed"
    unknown = await _start(w, channel="whatsapp", body="", template={"name": "promo", "variables": {}})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_template"
    async with app.hub.db.session() as s:
        assert (await s.exec(select(Conversation).where(Conversation.channel == "whatsapp"))).first() is None

    res = await _start(
        w,
        channel="whatsapp",
        body="",
        template={"name": "order_update", "variables": {"1": "Layla\n Haddad", "2": "1042"}},
    )
    assert res.status_code == 201, res.text
    message = res.json()["message"]
    # Whitespace WhatsApp refuses in a variable is folded; the thread shows what was sent.
    assert message["meta"] == {"template": "order_update", "variables": {"1": "Layla Haddad", "2": "1042"}}
    assert message["body"] == "[order_update] Layla Haddad, 1042"
    assert await app.worker.run_once() == 1
    [sent] = twilio_api.messages()
    assert sent.username == ACCOUNT_SID
    assert sent.one("To") == f"whatsapp:{CUSTOMER}" and sent.one("From") == f"whatsapp:{WHATSAPP_NUMBER}"
    assert sent.one("ContentSid") == TEMPLATE_SID and sent.one("Body") is None
    assert json.loads(sent.one("ContentVariables") or "{}") == {"1": "Layla Haddad", "2": "1042"}
    m, item = await _delivered(app, message["id"])
    assert (m.delivery_status, item.status) == ("sent", "sent")


async def test_outbound_email_reaches_the_customers_mail_server(app: Any, smtp_sink: SmtpSink) -> None:
    w = await _world(app)
    added = await w["client"].post(
        f"/api/v1/contacts/{w['contact']}/identities",
        json={"kind": "email", "address": CUSTOMER_EMAIL},
        headers=w["h"],
    )
    assert added.status_code == 201, added.text
    no_subject = await _start(w, channel="email", body="Your invoice is attached below.", subject="  ")
    assert no_subject.status_code == 422 and no_subject.json()["error"]["code"] == "subject_required"
    res = await _start(w, channel="email", body="Your invoice was corrected.", subject="Invoice 1042")
    assert res.status_code == 201, res.text
    conv = res.json()["conversation"]
    assert conv["subject"] == "Invoice 1042"

    assert await app.worker.run_once() == 1
    [mail] = await smtp_sink.wait_for(1)
    assert mail.rcpt_tos == [CUSTOMER_EMAIL]
    msg = mail.message
    # We write first: no "Re:", the conversation's token for her answer to thread by.
    assert msg["Subject"] == f"Invoice 1042 [#SB-{conv['id']}]"
    assert msg["In-Reply-To"] is None
    assert msg.get_body(("plain",)).get_content().strip().startswith("Your invoice was corrected.")  # type: ignore[union-attr]
    m, item = await _delivered(app, res.json()["message"]["id"])
    assert (m.delivery_status, item.status) == ("sent", "sent")

    # Her answer quotes our Message-ID: it lands in the conversation Ana opened.
    answer = (
        f"From: Layla <{CUSTOMER_EMAIL}>\r\nTo: support@acme.test\r\n"
        f"Subject: Re: {msg['Subject']}\r\nMessage-ID: <answer-1@customer.test>\r\n"
        f"In-Reply-To: {msg['Message-ID']}\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nThank you, received.\r\n"
    ).encode()
    await app.hub.channels.get("email").receive(answer)
    async with app.hub.db.session() as s:
        last = (await s.exec(select(Message).order_by(col(Message.id).desc()))).first()
    assert last is not None and (last.conversation_id, last.direction) == (conv["id"], "inbound")
    assert last.body.startswith("Thank you, received.")


async def test_telegram_is_refused_when_the_customer_never_wrote_to_the_bot(
    app: Any, bot_api: BotApiDouble
) -> None:
    w = await _world(app)
    url = f"/api/v1/contacts/{w['contact']}/outbound"
    options = {o["channel"]: o for o in (await w["client"].get(url)).json()["items"]}
    assert (options["telegram"]["allowed"], options["telegram"]["reason"]) == (False, "no_telegram_chat")
    assert (options["email"]["allowed"], options["email"]["reason"]) == (False, "no_address")
    refused = await _start(w, channel="telegram", body="Hello from support")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_telegram_chat"
    # A Telegram id typed into the profile is no chat either: a bot may not write first.
    typed = await w["client"].post(
        f"/api/v1/contacts/{w['contact']}/identities",
        json={"kind": "telegram", "address": "4021557713"},
        headers=w["h"],
    )
    assert typed.status_code == 201, typed.text
    again = await _start(w, channel="telegram", body="Hello from support")
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_telegram_chat"
    assert await app.worker.run_once() == 0
    assert bot_api.called("sendMessage") == []
    async with app.hub.db.session() as s:
        assert (await s.exec(select(Conversation).where(Conversation.channel == "telegram"))).first() is None


async def test_a_supervisor_outside_the_channels_team_is_refused(app: Any) -> None:
    w = await _world(app)
    other = await team(app.hub, "Sales")
    await user(app.hub, "sid@example.com", role=Role.supervisor, team_ids=(other,))
    c = app.new_client()
    h = await login(c, "sid@example.com")
    res = await c.post(
        f"/api/v1/contacts/{w['contact']}/outbound", json={"channel": "sms", "body": "hi"}, headers=h
    )
    assert res.status_code == 403 and res.json()["error"]["code"] == "not_your_team"


async def test_whatsapp_free_text_within_the_window_reuses_the_open_conversation(
    app: Any, twilio_api: TwilioDouble, clock: Any
) -> None:
    w = await _world(app)
    res = await post_webhook(app.client, "/channels/whatsapp/incoming", webhook("whatsapp_inbound"))
    assert res.status_code == 200, res.text
    async with app.hub.db.session() as s:
        wa = (await s.exec(select(Conversation).where(Conversation.channel == "whatsapp"))).one()
    assert wa.contact_id == w["contact"]  # one phone identity serves SMS and WhatsApp
    clock.advance(23 * 3600)
    w["h"] = await login(w["client"], "ana@example.com")  # a new day, a new sign-in
    options = {
        o["channel"]: o
        for o in (await w["client"].get(f"/api/v1/contacts/{w['contact']}/outbound")).json()["items"]
    }
    assert options["whatsapp"]["window_open"] is True
    ok = await _start(w, channel="whatsapp", body="We are on it")
    assert ok.status_code == 201, ok.text
    assert ok.json()["reused"] is True and ok.json()["conversation"]["id"] == wa.id
    assert ok.json()["conversation"]["assignee_id"] == w["ana"]
    assert await app.worker.run_once() == 1
    [sent] = twilio_api.messages()
    assert (sent.one("Body"), sent.one("To")) == ("We are on it", f"whatsapp:{CUSTOMER}")
    clock.advance(3600 + 1)  # 24 hours and a second after her message
    w["h"] = await login(w["client"], "ana@example.com")
    late = await _start(w, channel="whatsapp", body="Still there?")
    assert late.status_code == 409 and late.json()["error"]["code"] == "whatsapp_window_closed"
