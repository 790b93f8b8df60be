"""Campaigns on the real adapters: SMS to the Twilio REST double (driven by the official
client) with its status callback marking the recipient delivered, a WhatsApp approved
template with its variables, an email with text, HTML and RFC 8058 one-click
unsubscribe headers (aiosmtpd), and Telegram only to those who wrote to the bot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from channels.email import EmailChannel
from channels.telegram import TelegramChannel
from channels.twilio import TwilioSmsChannel, TwilioWhatsAppChannel
from hub.config import Settings, load_settings
from hub.models import CampaignRecipient, Role
from tests.channels.email_servers import SmtpSink, running_sink
from tests.channels.telegram_double import BotApiDouble
from tests.channels.test_email_smtp import email_section
from tests.channels.twilio_double import (
    ACCOUNT_SID,
    OUR_NUMBER,
    WHATSAPP_NUMBER,
    TwilioDouble,
    channel_config,
    cheap_passwords,
    post_webhook,
    webhook,
)
from tests.core.campaign_support import bulk_contacts, create, drain, freeze, segment
from tests.helpers import login, user

TEMPLATE_SID = "HX" + "0123456789abcdef" * 2
TG_TOKEN = "7012345678:AAFtestTokenForTheLocalDouble_0123"
TG_SECRET = "whsec-telegram_test-0123456789"


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
        TwilioSmsChannel.from_config(channel_config(twilio_api.url, status_callback=True)),
        TwilioWhatsAppChannel.from_config(
            channel_config(
                twilio_api.url,
                numbers={f"whatsapp:{WHATSAPP_NUMBER}": "Support"},
                templates={"spring_offer": TEMPLATE_SID},
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


async def _admin(app: Any) -> dict[str, str]:
    await user(app.hub, "root@example.com", role=Role.admin, name="Root")
    return await login(app.client, "root@example.com")


async def _run(app: Any, h: dict[str, str], **body: Any) -> int:
    seg = await segment(app.client, h, f"seg-{body['channel']}", {})
    c = await create(
        app.client, h, audience={"segment_id": seg}, schedule={"quiet_start": None, "quiet_end": None}, **body
    )
    r = await app.client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)
    assert r.status_code == 200, r.text
    await freeze(app.hub)
    await drain(app)
    return int(c["id"])


async def _recipients(app: Any, cid: int) -> list[CampaignRecipient]:
    async with app.hub.db.session() as s:
        return list(
            (await s.exec(select(CampaignRecipient).where(CampaignRecipient.campaign_id == cid))).all()
        )


async def test_sms_and_whatsapp_template_through_twilio(app: Any, twilio_api: TwilioDouble) -> None:
    h = await _admin(app)
    phones = iter(["+14155550111", "+14155550112", "12345"])
    ids = await bulk_contacts(app.hub, 3, prefix="tw", kind="phone", address=lambda i, cid: next(phones))
    cid = await _run(
        app, h, name="Sale", channel="sms", content={"en": {"body": "Hi {{contact.name}}: 20% off"}}
    )
    sent = twilio_api.messages()
    assert sorted(m.one("To") or "" for m in sent) == ["+14155550111", "+14155550112"]
    assert {m.one("Body") for m in sent} == {"Hi tw 0: 20% off", "Hi tw 1: 20% off"}
    assert all(m.username == ACCOUNT_SID and m.one("From") == OUR_NUMBER for m in sent)
    rows = {r.contact_id: r for r in await _recipients(app, cid)}
    assert (rows[ids[2]].status, rows[ids[2]].reason) == ("excluded", "invalid_number")

    # Twilio's status callback marks the recipient delivered (no message row carries the SID).
    sid = str(rows[ids[0]].provider_id)
    res = await post_webhook(
        app.client, "/channels/sms/status", webhook("message_status_delivered", MessageSid=sid, SmsSid=sid)
    )
    assert res.status_code in (200, 204)
    rows = {r.contact_id: r for r in await _recipients(app, cid)}
    assert rows[ids[0]].status == "delivered" and rows[ids[0]].delivered_at is not None
    assert rows[ids[1]].status == "sent"
    got = (await app.client.get(f"/api/v1/campaigns/{cid}")).json()["results"]
    assert (got["delivered"], got["sent"], got["excluded"]) == (1, 1, 1)

    # WhatsApp: only an approved template, with its variables filled per contact.
    before = len(twilio_api.messages())
    content = {
        "en": {"template": "spring_offer", "variables": {"1": "{{contact.first_name}}", "2": "SPRING"}}
    }
    await _run(app, h, name="WA", channel="whatsapp", content=content)
    wa = twilio_api.messages()[before:]
    assert sorted(m.one("To") or "" for m in wa) == ["whatsapp:+14155550111", "whatsapp:+14155550112"]
    assert {m.one("ContentSid") for m in wa} == {TEMPLATE_SID} and all(m.one("Body") is None for m in wa)
    assert {json.loads(m.one("ContentVariables") or "{}")["1"] for m in wa} == {"tw"}


async def test_email_has_one_click_unsubscribe_and_telegram_needs_a_chat(
    app: Any, smtp_sink: SmtpSink, bot_api: BotApiDouble
) -> None:
    h = await _admin(app)
    await bulk_contacts(app.hub, 2, prefix="em", kind="email", address=lambda i, cid: f"em{i}@customer.test")
    content = {
        "en": {
            "subject": "Hello {{contact.first_name}}",
            "body": "Our spring offer. Unsubscribe: {{unsubscribe_url}}",
            "html": "<p>Our <b>spring</b> offer, {{contact.name}}</p>",
        }
    }
    mail_id = await _run(app, h, name="Mail", channel="email", sender_name="Acme News", content=content)
    mails = await smtp_sink.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in mails) == ["em0@customer.test", "em1@customer.test"]
    msg = mails[0].message
    url = msg["List-Unsubscribe"].strip("<>")
    assert url.startswith("http://testserver/u/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Subject"] == "Hello em" and "Acme News" in msg["From"]
    assert url in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<b>spring</b>" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    # The one-click POST (RFC 8058) opts that contact out of marketing email.
    async with httpx.AsyncClient(transport=app.client._transport, base_url="http://testserver") as anon:
        r = await anon.post(
            url.removeprefix("http://testserver"),
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code in (200, 204), r.text
    await app.hub.projections.catch_up()
    res = (await app.client.get(f"/api/v1/campaigns/{mail_id}")).json()["results"]
    assert (res["sent"], res["opted_out"]) == (2, 1)  # the link names the campaign
    seg = await segment(app.client, h, "again", {})
    c = await create(
        app.client, h, name="Mail 2", channel="email", audience={"segment_id": seg}, content=content
    )
    p = (await app.client.post(f"/api/v1/campaigns/{c['id']}/preview", headers=h)).json()
    assert (p["eligible"], p["excluded"]) == (1, {"opted_out": 1})

    # Telegram: the bot may write only to those who wrote to it (a verified chat).
    await bulk_contacts(app.hub, 1, prefix="tg", kind="telegram", address=lambda i, cid: "4021557713")
    await bulk_contacts(
        app.hub, 1, prefix="tt", kind="telegram", address=lambda i, cid: "4021557714", verified=False
    )
    cid = await _run(
        app, h, name="TG", channel="telegram", content={"ar": {"body": "مرحبا {{contact.name}}"}}
    )
    calls = bot_api.called("sendMessage")
    assert [(str(c.params.get("chat_id")), c.params.get("text")) for c in calls] == [
        ("4021557713", "مرحبا tg 0")
    ]
    reasons = sorted((r.status, r.reason) for r in await _recipients(app, cid))
    assert reasons == [
        ("excluded", "no_identity"),
        ("excluded", "no_identity"),
        ("excluded", "no_telegram_chat"),
        ("sent", None),
    ]
