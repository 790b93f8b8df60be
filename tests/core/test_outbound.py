"""Starting a conversation with a customer (hub.services.outbound) on the loopback
channel: the conversation, the first message through the reply path and the outbox,
reuse of the open conversation, rights, refusals; and the snooze bound (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from hub.config import Settings
from hub.models import Contact, Conversation, EventLog, Message, OutboxItem, Role, User
from hub.services import SYSTEM
from hub.services.conversations import assign, resolve
from tests.conftest import make_settings
from tests.helpers import inbound, login, team, user


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # The loopback channel is answered by Billing: outbound on it needs that team.
    return make_settings(db_url, tmp_path, channels={"loopback": {"team": "Billing"}})


async def _world(app: Any) -> dict[str, Any]:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,), name="Ana Lima")
    await user(app.hub, "ben@example.com", team_ids=(billing,))
    await user(app.hub, "tom@example.com", team_ids=(billing, tech))
    got = await inbound(app.client, "cust-1", "hello", team="Billing", sender_name="Layla Haddad")
    await assign(app.hub, SYSTEM, got["conversation_id"], ana)
    await resolve(app.hub, SYSTEM, got["conversation_id"])
    clients = {}
    for name in ("ana", "ben"):
        c = app.new_client()
        clients[name] = (c, await login(c, f"{name}@example.com"))
    return {"ana": ana, "contact": got["contact_id"], "old": got["conversation_id"], "c": clients}


async def test_outbound_opens_an_assigned_conversation_and_sends_through_the_outbox(
    app: Any, loopback: Any
) -> None:
    w = await _world(app)
    ana, ah = w["c"]["ana"]
    options = (await ana.get(f"/api/v1/contacts/{w['contact']}/outbound")).json()["items"]
    assert [(o["channel"], o["address"], o["allowed"]) for o in options] == [("loopback", "cust-1", True)]

    res = await ana.post(
        f"/api/v1/contacts/{w['contact']}/outbound",
        json={"channel": "loopback", "body": "  Your refund was approved.  "},
        headers=ah,
    )
    assert res.status_code == 201, res.text
    out = res.json()
    conv, message = out["conversation"], out["message"]
    assert out["reused"] is False and conv["id"] != w["old"]
    assert (conv["status"], conv["assignee_id"], conv["channel"]) == ("assigned", w["ana"], "loopback")
    assert conv["contact_name"] == "Layla Haddad"
    assert (message["body"], message["direction"], message["delivery_status"]) == (
        "Your refund was approved.",
        "outbound",
        "pending",
    )
    async with app.hub.db.session() as s:
        stored = await s.get(Conversation, conv["id"])
        item = (await s.exec(select(OutboxItem).where(OutboxItem.message_id == message["id"]))).one()
        events = (
            await s.exec(
                select(EventLog.type).where(EventLog.conversation_id == conv["id"]).order_by(col(EventLog.id))
            )
        ).all()
    assert stored is not None and stored.contact_address == "cust-1" and stored.team_id is not None
    assert item.status == "pending"
    assert events == ["conversation.created", "conversation.assigned", "message.created", "outbox.enqueued"]

    # Only the outbox worker sends it: nothing left before it ran.
    assert list(loopback.sent) == []
    await app.worker.run_once()
    [sent] = list(loopback.sent)
    assert (sent.to, sent.body, sent.conversation_id) == ("cust-1", "Your refund was approved.", conv["id"])
    async with app.hub.db.session() as s:
        assert (await s.get(Message, message["id"])).delivery_status == "sent"  # type: ignore[union-attr]

    # The customer answers: their message lands in the conversation the agent opened.
    back = await inbound(app.client, "cust-1", "thank you!")
    assert back["conversation_id"] == conv["id"]

    # Writing again while it is open reuses it.
    again = await ana.post(
        f"/api/v1/contacts/{w['contact']}/outbound",
        json={"channel": "loopback", "body": "One more thing"},
        headers=ah,
    )
    assert again.status_code == 201 and again.json()["reused"] is True
    assert again.json()["conversation"]["id"] == conv["id"]


async def test_an_unassigned_open_conversation_becomes_the_agents(app: Any) -> None:
    w = await _world(app)
    queued = await inbound(app.client, "cust-1", "are you there?", team="Billing")
    ana, ah = w["c"]["ana"]
    res = await ana.post(
        f"/api/v1/contacts/{w['contact']}/outbound",
        json={"channel": "loopback", "body": "Yes, here"},
        headers=ah,
    )
    assert res.status_code == 201, res.text
    assert res.json()["reused"] is True
    assert res.json()["conversation"]["id"] == queued["conversation_id"]
    assert res.json()["conversation"]["assignee_id"] == w["ana"]
    assert res.json()["conversation"]["status"] == "assigned"

    # Someone else's open conversation is theirs: a colleague is refused.
    ben, bh = w["c"]["ben"]
    taken = await ben.post(
        f"/api/v1/contacts/{w['contact']}/outbound", json={"channel": "loopback", "body": "Hi"}, headers=bh
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "already_assigned"


async def test_refusals_come_before_anything_is_written(app: Any) -> None:
    w = await _world(app)
    ana, ah = w["c"]["ana"]
    url = f"/api/v1/contacts/{w['contact']}/outbound"

    async def refused(body: dict[str, Any], status: int, code: str) -> None:
        res = await ana.post(url, json=body, headers=ah)
        assert (res.status_code, res.json()["error"]["code"]) == (status, code), res.text

    await refused({"channel": "loopback", "body": "   "}, 422, "empty_body")
    await refused({"channel": "voice", "body": "hi"}, 422, "validation_error")
    await refused({"channel": "whatsapp", "body": "hi"}, 409, "channel_disabled")
    await refused({"channel": "loopback", "body": "x" * 70_000}, 422, "validation_error")
    await refused({"channel": "loopback", "body": "hi", "colour": "red"}, 422, "validation_error")
    too_many = {str(i): "v" for i in range(25)}
    await refused(
        {"channel": "loopback", "body": "hi", "template": {"name": "t", "variables": too_many}},
        422,
        "validation_error",
    )
    await refused(
        {"channel": "loopback", "body": "", "template": {"name": "order_update"}}, 422, "unknown_template"
    )
    missing = await ana.post(
        "/api/v1/contacts/999999/outbound", json={"channel": "loopback", "body": "hi"}, headers=ah
    )
    assert missing.status_code == 404

    # Opted out of every message (SMS STOP): refused with a clear code. Marketing
    # opt-out: still allowed (hub.services.consent).
    from hub.services.consent import set_consent

    await set_consent(app.hub, SYSTEM, w["contact"], "loopback", "service", "opted_out")
    await refused({"channel": "loopback", "body": "hi"}, 409, "opted_out")
    options = (await ana.get(url)).json()["items"]
    assert [(o["allowed"], o["reason"]) for o in options] == [(False, "opted_out")]
    await set_consent(app.hub, SYSTEM, w["contact"], "loopback", "service", None)
    await set_consent(app.hub, SYSTEM, w["contact"], "loopback", "marketing", "opted_out")
    assert (
        await ana.post(url, json={"channel": "loopback", "body": "about your order"}, headers=ah)
    ).status_code == 201

    async with app.hub.db.session() as s:
        convs = (await s.exec(select(Conversation).where(Conversation.contact_id == w["contact"]))).all()
    assert len(convs) == 2  # the old one and the one the allowed message opened


async def test_the_agent_must_be_in_the_channels_team(app: Any) -> None:
    w = await _world(app)
    tech = await team(app.hub, "Support")
    await user(app.hub, "sid@example.com", team_ids=(tech,))
    await user(app.hub, "sup@example.com", role=Role.supervisor, team_ids=(tech,))
    # Sid can see the contact (a conversation assigned to him) but not the channel's team.
    got = await inbound(app.client, "cust-1", "again", team="Support")
    async with app.hub.db.session() as s:
        sid = (await s.exec(select(User.id).where(User.email == "sid@example.com"))).one()
    await assign(app.hub, SYSTEM, got["conversation_id"], sid)
    await resolve(app.hub, SYSTEM, got["conversation_id"])
    c = app.new_client()
    h = await login(c, "sid@example.com")
    url = f"/api/v1/contacts/{w['contact']}/outbound"
    options = (await c.get(url)).json()["items"]
    assert [(o["allowed"], o["reason"]) for o in options] == [(False, "not_your_team")]
    res = await c.post(url, json={"channel": "loopback", "body": "hi"}, headers=h)
    assert res.status_code == 403 and res.json()["error"]["code"] == "not_your_team"

    # Someone who cannot see the contact at all is refused the same way.
    other = app.new_client()
    oh = await login(other, "sup@example.com")
    async with app.hub.db.session() as s:
        fresh = Contact(name="Nobody")
        s.add(fresh)
        await s.commit()
        fresh_id = fresh.id
    res = await other.post(
        f"/api/v1/contacts/{fresh_id}/outbound", json={"channel": "loopback", "body": "hi"}, headers=oh
    )
    assert res.status_code == 403 and res.json()["error"]["code"] == "not_your_team"


async def test_snooze_until_a_chosen_time_is_bounded_to_a_year(app: Any, clock: Any) -> None:
    w = await _world(app)
    conv = (await inbound(app.client, "cust-9", "later please", team="Billing"))["conversation_id"]
    await assign(app.hub, SYSTEM, conv, w["ana"])
    ana, ah = w["c"]["ana"]
    url = f"/api/v1/conversations/{conv}/snooze"
    past = (clock() - timedelta(minutes=1)).isoformat()
    res = await ana.post(url, json={"until": past}, headers=ah)
    assert res.status_code == 422 and res.json()["error"]["code"] == "bad_snooze"
    far = (clock() + timedelta(days=400)).isoformat()
    res = await ana.post(url, json={"until": far}, headers=ah)
    assert res.status_code == 422 and res.json()["error"]["code"] == "snooze_too_far"
    garbage = await ana.post(url, json={"until": "notadate"}, headers=ah)
    assert garbage.status_code == 422 and garbage.json()["error"]["code"] == "validation_error"
    chosen = clock() + timedelta(days=30, hours=3)
    res = await ana.post(url, json={"until": chosen.isoformat()}, headers=ah)
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "snoozed"
    async with app.hub.db.session() as s:
        stored = await s.get(Conversation, conv)
    assert stored is not None and stored.snoozed_until == chosen
