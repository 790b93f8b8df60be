"""ingest(): identity resolution, threading and idempotency, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import func, select

from hub.domain import InboundMessage
from hub.models import Contact, Conversation, ConversationStatus, Identity, Message
from hub.services import SYSTEM, Invalid
from hub.services.conversations import resolve
from hub.services.ingest import ingest


def msg(channel: str, sender: str, pid: str, body: str = "hello", **kw: Any) -> InboundMessage:
    kind = {"sms": "phone", "voice": "phone", "whatsapp": "phone", "email": "email"}.get(channel, "loopback")
    return InboundMessage(
        channel=channel, provider_message_id=pid, address_kind=kind, sender=sender, body=body, **kw
    )


async def count(hub: Any, model: Any) -> int:
    async with hub.db.session() as s:
        n: int = (await s.exec(select(func.count()).select_from(model))).one()
    return n


async def test_first_message_creates_contact_conversation_and_message(hub: Any) -> None:
    r = await ingest(hub, msg("sms", "+966501234567", "SM1", "مرحبا، أحتاج مساعدة"))
    assert r.new_conversation and not r.duplicate
    async with hub.db.session() as s:
        conv = await s.get(Conversation, r.conversation_id)
        m = await s.get(Message, r.message_id)
        ident = (await s.exec(select(Identity))).one()
    assert (
        conv is not None
        and conv.status == ConversationStatus.queued
        and conv.contact_address == "+966501234567"
    )
    assert m is not None and m.body == "مرحبا، أحتاج مساعدة" and m.direction == "inbound"
    assert (ident.kind, ident.address, ident.contact_id) == ("phone", "+966501234567", r.contact_id)


async def test_retry_of_same_provider_id_is_a_no_op(hub: Any) -> None:
    first = await ingest(hub, msg("sms", "+15551230001", "SM-dup"))
    again = await ingest(hub, msg("sms", "+15551230001", "SM-dup", body="changed on retry"))
    assert again.duplicate and again.message_id == first.message_id
    assert await count(hub, Message) == 1


async def test_concurrent_duplicate_deliveries_store_one_row(hub: Any) -> None:
    """A provider firing the same webhook many times at once, for a brand-new customer."""
    results = await asyncio.gather(*(ingest(hub, msg("sms", "+15551230002", "SM-race")) for _ in range(12)))
    assert len({r.message_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert await count(hub, Message) == 1
    assert await count(hub, Contact) == 1
    assert await count(hub, Conversation) == 1


async def test_concurrent_first_messages_share_one_contact_and_conversation(hub: Any) -> None:
    results = await asyncio.gather(*(ingest(hub, msg("sms", "+15551230003", f"SM-{i}")) for i in range(10)))
    assert len({r.message_id for r in results}) == 10
    assert len({r.conversation_id for r in results}) == 1
    assert await count(hub, Contact) == 1 and await count(hub, Identity) == 1


async def test_one_phone_number_is_one_contact_across_sms_voice_whatsapp(hub: Any) -> None:
    a = await ingest(hub, msg("sms", "+44 20 7946 0018", "SM-a"))
    b = await ingest(hub, msg("whatsapp", "whatsapp:+442079460018", "SM-b"))
    c = await ingest(hub, msg("voice", "tel:+44-20-7946-0018", "CA-c", kind="call"))
    assert a.contact_id == b.contact_id == c.contact_id
    # One conversation per channel, all on the same customer.
    assert len({a.conversation_id, b.conversation_id, c.conversation_id}) == 3
    async with hub.db.session() as s:
        addresses = (await s.exec(select(Identity.address))).all()
    assert addresses == ["+442079460018"]


async def test_email_addresses_are_normalized(hub: Any) -> None:
    a = await ingest(hub, msg("email", "Layla <Layla.Hassan@Example.COM>", "<m1@example.com>"))
    b = await ingest(hub, msg("email", "layla.hassan@example.com", "<m2@example.com>"))
    assert a.contact_id == b.contact_id and a.conversation_id == b.conversation_id


async def test_threads_keep_conversations_apart_and_resolved_threads_start_new_ones(hub: Any) -> None:
    t1 = await ingest(hub, msg("email", "sam@example.com", "<1@x>", thread_key="<root-1@x>"))
    t1b = await ingest(hub, msg("email", "sam@example.com", "<2@x>", thread_key="<root-1@x>"))
    t2 = await ingest(hub, msg("email", "sam@example.com", "<3@x>", thread_key="<root-2@x>"))
    assert t1.conversation_id == t1b.conversation_id != t2.conversation_id
    await resolve(hub, SYSTEM, t1.conversation_id, category="inquiry")
    t1c = await ingest(hub, msg("email", "sam@example.com", "<4@x>", thread_key="<root-1@x>"))
    assert t1c.new_conversation and t1c.conversation_id not in (t1.conversation_id, t2.conversation_id)


async def test_waiting_conversation_returns_to_queue_when_customer_writes(hub: Any) -> None:
    r = await ingest(hub, msg("sms", "+15551230004", "SM-w1"))
    async with hub.db.transaction() as s:
        conv = await s.get(Conversation, r.conversation_id)
        assert conv is not None
        conv.status = ConversationStatus.waiting_on_customer
    await ingest(hub, msg("sms", "+15551230004", "SM-w2"))
    async with hub.db.session() as s:
        conv = await s.get(Conversation, r.conversation_id)
    assert conv is not None and conv.status == ConversationStatus.queued


@pytest.mark.parametrize("sender", ["not a number", "+1", ""])
async def test_bad_phone_numbers_are_refused_with_a_reason(hub: Any, sender: str) -> None:
    if not sender:
        with pytest.raises(ValueError, match="sender"):
            msg("sms", sender, "SM-bad")
        return
    with pytest.raises(Invalid, match="phone number"):
        await ingest(hub, msg("sms", sender, "SM-bad"))
    assert await count(hub, Message) == 0


async def test_ingest_publishes_events_after_commit(hub: Any) -> None:
    sub = hub.bus.subscribe()
    r = await ingest(hub, msg("sms", "+15551230005", "SM-e1"))
    first, second = sub.get_nowait(), sub.get_nowait()
    assert first is not None and second is not None
    assert [first.type, second.type] == ["conversation.created", "message.received"]
    assert first.id < second.id and second.payload["message_id"] == r.message_id
    # What was published is already committed: a fresh session sees it.
    async with hub.db.session() as s:
        assert await s.get(Message, r.message_id) is not None
    sub.close()
