"""SMS/MMS through Twilio: signed webhooks in, the real client out to a local double."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from channels.twilio import TwilioSmsChannel
from hub.config import Settings
from hub.domain import Attachment
from hub.models import Contact, Conversation, Identity, Message, MessageKind
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.channels.twilio_double import (
    ACCOUNT_SID,
    CUSTOMER,
    OUR_NUMBER,
    TwilioDouble,
    channel_config,
    hub_settings,
    post_webhook,
    webhook,
)
from tests.helpers import team

INCOMING = "/channels/sms/incoming"
STATUS = "/channels/sms/status"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return hub_settings(db_url, tmp_path)


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


@pytest.fixture
def sms(twilio_api: TwilioDouble) -> TwilioSmsChannel:
    return TwilioSmsChannel.from_config(channel_config(twilio_api.url, opt_out_keywords=["إلغاء", "توقف"]))


@pytest.fixture
def extra_channels(sms: TwilioSmsChannel) -> list[Any]:
    return [sms]


async def messages(hub: Any, **where: Any) -> list[Message]:
    async with hub.db.session() as s:
        stmt = select(Message).order_by(col(Message.id))
        for key, value in where.items():
            stmt = stmt.where(getattr(Message, key) == value)
        return list((await s.exec(stmt)).all())


async def count(hub: Any, model: Any) -> int:
    async with hub.db.session() as s:
        n: int = (await s.exec(select(func.count()).select_from(model))).one()
    return n


def assert_empty_twiml(res: Any) -> None:
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(res.text)
    assert root.tag == "Response" and list(root) == []


# -- inbound ---------------------------------------------------------------------------


async def test_inbound_sms_is_stored_then_answered_with_empty_twiml(app: Any) -> None:
    support = await team(app.hub, "Support")
    res = await post_webhook(app.client, INCOMING, webhook("sms_inbound"))
    assert_empty_twiml(res)
    [m] = await messages(app.hub)
    assert (m.channel, m.direction, m.kind, m.body) == (
        "sms",
        "inbound",
        "text",
        "Hi, has order 1042 shipped yet?",
    )
    assert m.provider_message_id == "SM1f0e3a9c2b7d4e5f8a6b0c1d2e3f4a5b"
    assert m.raw["FromCity"] == "SAN FRANCISCO"  # the provider's payload is kept beside it
    async with app.hub.db.session() as s:
        conv = await s.get(Conversation, m.conversation_id)
        ident = (await s.exec(select(Identity))).one()
    assert conv is not None
    assert (conv.contact_address, conv.channel_account, conv.team_id) == (CUSTOMER, OUR_NUMBER, support)
    assert (ident.kind, ident.address) == ("phone", CUSTOMER)


async def test_a_retried_message_sid_is_a_no_op(app: Any) -> None:
    params = webhook("sms_inbound")
    for _ in range(3):
        assert_empty_twiml(await post_webhook(app.client, INCOMING, params))
    assert await count(app.hub, Message) == 1


async def test_mms_media_urls_are_kept_as_attachments(app: Any) -> None:
    assert_empty_twiml(await post_webhook(app.client, INCOMING, webhook("mms_inbound")))
    [m] = await messages(app.hub)
    assert m.kind == MessageKind.media and m.body == "The box arrived damaged"
    assert [(a["content_type"], a["url"].rsplit("/", 1)[1]) for a in m.attachments] == [
        ("image/jpeg", "ME4b2c8d0e6f1a3b5c7d9e1f3a5b7c9d1e"),
        ("video/mp4", "ME9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"),
    ]
    assert m.attachments[0]["filename"].endswith(".jpg")


async def test_a_webhook_for_another_account_is_refused(app: Any) -> None:
    params = webhook("sms_inbound", AccountSid="AC" + "f" * 32)
    res = await post_webhook(app.client, INCOMING, params)
    assert res.status_code == 403
    assert await count(app.hub, Message) == 0


# -- outbound --------------------------------------------------------------------------


async def _conversation(app: Any) -> int:
    assert_empty_twiml(await post_webhook(app.client, INCOMING, webhook("sms_inbound")))
    [m] = await messages(app.hub)
    return m.conversation_id


async def test_reply_goes_out_through_the_twilio_client_with_from_to_and_status_callback(
    app: Any, twilio_api: TwilioDouble
) -> None:
    conv = await _conversation(app)
    m = await reply(app.hub, SYSTEM, conv, "Yes — it left our warehouse today.")
    assert await app.worker.run_once() == 1
    [sent] = twilio_api.messages()
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.content_type.startswith("application/x-www-form-urlencoded")
    assert sent.username == ACCOUNT_SID
    assert sent.form == {
        "To": [CUSTOMER],
        "From": [OUR_NUMBER],
        "Body": ["Yes — it left our warehouse today."],
        "StatusCallback": ["http://testserver/channels/sms/status"],
    }
    [stored] = await messages(app.hub, id=m.id)
    assert stored.delivery_status == "sent" and str(stored.provider_message_id).startswith("SM")


async def test_reply_with_media_sends_every_media_url(app: Any, twilio_api: TwilioDouble) -> None:
    conv = await _conversation(app)
    files = [
        Attachment(
            filename="label.pdf", content_type="application/pdf", url="https://cdn.example.com/label.pdf"
        ),
        Attachment(filename="box.jpg", content_type="image/jpeg", url="https://cdn.example.com/box.jpg"),
    ]
    await reply(app.hub, SYSTEM, conv, "Here is the return label", attachments=files)
    await app.worker.run_once()
    [sent] = twilio_api.messages()
    assert sent.form["MediaUrl"] == ["https://cdn.example.com/label.pdf", "https://cdn.example.com/box.jpg"]


async def test_twilio_rejection_shows_its_code_on_the_message(app: Any, twilio_api: TwilioDouble) -> None:
    conv = await _conversation(app)
    twilio_api.fail_next(400, 21211, "The 'To' number +14155550111 is not a valid phone number.")
    m = await reply(app.hub, SYSTEM, conv, "hello?")
    await app.worker.run_once()
    [stored] = await messages(app.hub, id=m.id)
    assert stored.delivery_status == "failed"
    assert stored.error is not None
    assert "Twilio error 21211" in stored.error and "not a valid phone number" in stored.error
    assert await app.worker.run_once() == 0  # not retried


# -- status callbacks ------------------------------------------------------------------


async def _sent_message(app: Any) -> tuple[int, dict[str, str]]:
    """The id of a sent reply and the SID parameters of its status callbacks."""
    conv = await _conversation(app)
    m = await reply(app.hub, SYSTEM, conv, "On its way")
    await app.worker.run_once()
    [stored] = await messages(app.hub, id=m.id)
    sid = str(stored.provider_message_id)
    assert stored.id is not None
    return stored.id, {"MessageSid": sid, "SmsSid": sid}


STATUS_CASES = [
    ("message_status_queued", "sent", None),
    ("message_status_sent", "sent", None),
    ("message_status_delivered", "delivered", None),
    (
        "message_status_undelivered",
        "failed",
        "undelivered: Twilio error 30003 (unreachable destination handset)",
    ),
    ("message_status_failed", "failed", "failed: Twilio error 30007 (filtered as spam by the carrier)"),
]


async def test_status_callbacks_update_the_message(app: Any) -> None:
    conv = await _conversation(app)
    for fixture, status, error in STATUS_CASES:  # one fresh reply per callback
        m = await reply(app.hub, SYSTEM, conv, f"reply for {fixture}")
        await app.worker.run_once()
        [sent] = await messages(app.hub, id=m.id)
        sid = str(sent.provider_message_id)
        res = await post_webhook(app.client, STATUS, webhook(fixture, MessageSid=sid, SmsSid=sid))
        assert res.status_code == 204, fixture
        [after] = await messages(app.hub, id=m.id)
        assert (after.delivery_status, after.error) == (status, error), fixture


async def test_statuses_never_go_backwards(app: Any) -> None:
    message_id, sid = await _sent_message(app)
    await post_webhook(app.client, STATUS, webhook("message_status_delivered", **sid))
    await post_webhook(app.client, STATUS, webhook("message_status_sent", **sid))
    [after] = await messages(app.hub, id=message_id)
    assert after.delivery_status == "delivered"


async def test_unsigned_status_callback_changes_nothing(app: Any) -> None:
    message_id, sid = await _sent_message(app)
    res = await post_webhook(app.client, STATUS, webhook("message_status_undelivered", **sid), signature=None)
    assert res.status_code == 403
    [after] = await messages(app.hub, id=message_id)
    assert after.delivery_status == "sent"


async def test_a_status_arriving_before_the_outbox_records_the_sid_is_applied_later(
    app: Any, twilio_api: TwilioDouble
) -> None:
    conv = await _conversation(app)
    m = await reply(app.hub, SYSTEM, conv, "fast network")
    sid = "SM" + "ab" * 16
    twilio_api.answer_next_raw(201, {"sid": sid, "status": "queued", "to": CUSTOMER, "from": OUR_NUMBER})
    # Twilio's callback wins the race against the outbox's commit of the SID.
    res = await post_webhook(
        app.client, STATUS, webhook("message_status_delivered", MessageSid=sid, SmsSid=sid)
    )
    assert res.status_code == 204
    sub = app.hub.bus.subscribe()
    await app.worker.run_once()
    async with asyncio.timeout(5):
        async for event in sub:
            if event.type == "message.status" and event.payload["delivery_status"] == "delivered":
                break
    sub.close()
    [after] = await messages(app.hub, id=m.id)
    assert (after.provider_message_id, after.delivery_status) == (sid, "delivered")


# -- opt-out ---------------------------------------------------------------------------


async def _consent(hub: Any) -> dict[str, str]:
    """purpose -> state on SMS (hub.services.consent), once the keyword reactor ran."""
    from hub.services.consent import state_of

    await hub.projections.catch_up()
    async with hub.db.session() as s:
        contact = (await s.exec(select(Contact))).one()
        return await state_of(s, contact.id, "sms")


def test_opt_out_keywords_match_the_whole_message_in_any_case(sms: TwilioSmsChannel) -> None:
    from channels.twilio.parse import keyword_of

    for body in ("STOP", "stop", " Unsubscribe. ", "StopAll", "QUIT!", "إلغاء", " توقف "):
        assert keyword_of(body, sms.config) == "opt_out", body
    for body in ("START", "unstop"):
        assert keyword_of(body, sms.config) == "opt_in", body
    for body in ("please stop calling me", "stopping by later", "", "END?!x"):
        assert keyword_of(body, sms.config) is None, body


@pytest.mark.parametrize("keyword", ["STOP", "إلغاء"])
async def test_opt_out_keyword_blocks_later_sends_without_calling_twilio(
    app: Any, twilio_api: TwilioDouble, keyword: str
) -> None:
    res = await post_webhook(app.client, INCOMING, webhook("sms_inbound", Body=keyword))
    assert_empty_twiml(res)
    assert await _consent(app.hub) == {"marketing": "opted_out", "service": "opted_out"}
    stored = await messages(app.hub)
    # The keyword itself is kept; Twilio confirms its own STOP, the hub confirms إلغاء.
    expected = ["text", "event"] if keyword == "STOP" else ["text", "event", "text"]
    assert [m.kind for m in stored] == expected
    assert "blocked until they reply START" in stored[1].body
    m = await reply(app.hub, SYSTEM, stored[0].conversation_id, "Sorry to see you go")
    while await app.worker.run_once():
        pass
    [after] = await messages(app.hub, id=m.id)
    assert after.delivery_status == "failed" and "opted out of SMS" in str(after.error)
    assert len(twilio_api.messages()) == (0 if keyword == "STOP" else 1)


async def test_start_after_stop_allows_sending_again(app: Any, twilio_api: TwilioDouble) -> None:
    await post_webhook(app.client, INCOMING, webhook("sms_inbound", Body="STOP"))
    again = webhook("sms_inbound", Body="START", MessageSid="SM" + "1" * 32, SmsSid="SM" + "1" * 32)
    assert_empty_twiml(await post_webhook(app.client, INCOMING, again))
    assert await _consent(app.hub) == {"marketing": "opted_in", "service": "opted_in"}
    [first, *_] = await messages(app.hub)
    await reply(app.hub, SYSTEM, first.conversation_id, "Welcome back")
    await app.worker.run_once()
    assert [r.one("Body") for r in twilio_api.messages()] == ["Welcome back"]
