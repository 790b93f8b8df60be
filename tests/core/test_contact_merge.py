"""merge_contacts(): identities, conversations, tags and attributes move in one unit of
work; open threads and non-supervisors are refused. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from hub.domain import InboundMessage
from hub.models import Contact, Conversation, EventLog, Identity
from hub.services import SYSTEM
from hub.services.access import Actor
from hub.services.contacts import merge_contacts, update_contact
from hub.services.conversations import resolve
from hub.services.errors import Conflict, Forbidden, Invalid
from hub.services.ingest import ingest


def email(sender: str, pid: str, **kw: Any) -> InboundMessage:
    return InboundMessage(
        channel="email", provider_message_id=pid, address_kind="email", sender=sender, body="hi", **kw
    )


def sms(sender: str, pid: str) -> InboundMessage:
    return InboundMessage(
        channel="sms", provider_message_id=pid, address_kind="phone", sender=sender, body="hi"
    )


async def test_merge_moves_identities_conversations_and_profile(hub: Any) -> None:
    a = await ingest(hub, sms("+15551230010", "SM-a"))
    b = await ingest(hub, email("dana@example.com", "EM-b"))
    await update_contact(
        hub, SYSTEM, a.contact_id, {"tags": ["vip", "sms"], "attributes": {"plan": "free", "city": "Riyadh"}}
    )
    await update_contact(hub, SYSTEM, b.contact_id, {"tags": ["vip"], "attributes": {"plan": "gold"}})
    merged = await merge_contacts(hub, SYSTEM, a.contact_id, b.contact_id)
    assert merged.id == b.contact_id
    async with hub.db.session() as s:
        source = await s.get(Contact, a.contact_id)
        target = await s.get(Contact, b.contact_id)
        idents = (await s.exec(select(Identity).order_by(Identity.kind))).all()  # type: ignore[arg-type]
        conv = await s.get(Conversation, a.conversation_id)
        events = (await s.exec(select(EventLog).where(EventLog.type == "contact.merged"))).all()
    assert source is not None and source.merged_into_id == b.contact_id
    assert target is not None and target.tags == ["sms", "vip"]
    assert target.attributes == {"plan": "gold", "city": "Riyadh"}  # the target wins a clash
    assert {(i.kind, i.contact_id) for i in idents} == {("email", b.contact_id), ("phone", b.contact_id)}
    assert conv is not None and conv.contact_id == b.contact_id
    assert [e.payload for e in events] == [{"source_id": a.contact_id, "target_id": b.contact_id}]
    # A later message from the old phone number threads onto the target contact.
    again = await ingest(hub, sms("+15551230010", "SM-a2"))
    assert again.contact_id == b.contact_id and again.conversation_id == a.conversation_id


async def test_merge_refuses_two_open_conversations_on_one_thread(hub: Any) -> None:
    a = await ingest(hub, sms("+15551230011", "SM-c"))
    b = await ingest(hub, sms("+15551230012", "SM-d"))
    with pytest.raises(Conflict) as info:
        await merge_contacts(hub, SYSTEM, a.contact_id, b.contact_id)
    assert info.value.code == "thread_open"
    async with hub.db.session() as s:
        source = await s.get(Contact, a.contact_id)
        conv = await s.get(Conversation, a.conversation_id)
        logged = (await s.exec(select(EventLog).where(EventLog.type == "contact.merged"))).all()
    assert source is not None and source.merged_into_id is None  # nothing moved
    assert conv is not None and conv.contact_id == a.contact_id and logged == []
    await resolve(hub, SYSTEM, a.conversation_id)  # one closed: now it may merge
    await merge_contacts(hub, SYSTEM, a.contact_id, b.contact_id)
    with pytest.raises(Conflict) as again:
        await merge_contacts(hub, SYSTEM, a.contact_id, b.contact_id)
    assert again.value.code == "already_merged"


async def test_merge_needs_a_supervisor_and_two_contacts(hub: Any) -> None:
    a = await ingest(hub, sms("+15551230013", "SM-e"))
    b = await ingest(hub, email("eve@example.com", "EM-f"))
    with pytest.raises(Invalid):
        await merge_contacts(hub, SYSTEM, a.contact_id, a.contact_id)
    agent = Actor(user_id=None, role="agent")
    with pytest.raises(Forbidden) as info:
        await merge_contacts(hub, agent, a.contact_id, b.contact_id)
    assert info.value.code == "role_required"
    supervisor = Actor(user_id=None, role="supervisor")
    assert (await merge_contacts(hub, supervisor, a.contact_id, b.contact_id)).id == b.contact_id
