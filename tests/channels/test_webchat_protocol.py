"""The customer websocket end to end: a real uvicorn, the `websockets` client, SQLite and
PostgreSQL. Agents act through hub services and the staff console socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from sqlmodel import col, select
from websockets.exceptions import ConnectionClosed

from channels.webchat import WebchatChannel
from channels.webchat import socket as ws_mod
from hub.models import Contact, Conversation, EventLog, Identity, Message
from hub.services import SYSTEM
from hub.services.conversations import add_note, assign, reply, resolve
from tests.channels.webchat_support import ORIGIN, make_channel, mount_page, open_socket, visitor
from tests.helpers import team, user


@pytest.fixture
def channel() -> WebchatChannel:
    return make_channel()


@pytest.fixture
def extra_channels(channel: WebchatChannel) -> list[Any]:
    return [channel]


async def closed_with(ws: Any) -> tuple[int, list[dict[str, Any]]]:
    """Read until the server closes; the close code and the frames before it."""
    frames = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    assert info.value.rcvd is not None
    return info.value.rcvd.code, frames


async def rows(hub: Any, model: Any, *where: Any) -> list[Any]:
    async with hub.db.session() as s:
        return list((await s.exec(select(model).where(*where))).all())


async def test_visitor_chats_and_notes_never_reach_them(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", name="Ana Lima", team_ids=(support,))
    v = await visitor(live)
    assert v.welcome["new_visitor"] and v.welcome["messages"] == [] and v.visitor_id.startswith("v_")
    ack = await v.say("Hello, my order is late", prechat={"name": "Sam"})
    assert ack["type"] == "ack" and not ack["duplicate"]
    # Durable before the ack: the message is committed and threaded on the visitor.
    conv = (await rows(hub, Conversation, Conversation.id == ack["conversation_id"]))[0]
    assert (conv.channel, conv.thread_key, conv.team_id) == ("webchat", v.visitor_id, support)
    stored = (await rows(hub, Message, Message.id == ack["message_id"]))[0]
    assert stored.body == "Hello, my order is late" and stored.provider_message_id.endswith(
        f":{uuid.UUID(stored.provider_message_id.split(':')[1])}"
    )
    await assign(hub, SYSTEM, conv.id, ana)
    assigned = await v.frame("conversation")
    assert assigned["conversation"] == {"id": conv.id, "status": "assigned", "agent_name": "Ana"}
    await add_note(hub, SYSTEM, conv.id, "internal: customer is a VIP, be nice")
    await reply(hub, SYSTEM, conv.id, "Sorry about that! Let me check.")
    got = await v.frame("message")
    # The note was committed first: had it leaked, it would be this frame.
    assert got["message"]["body"] == "Sorry about that! Let me check."
    assert got["message"]["author"] == "system" and "path" not in json.dumps(got)
    agent_actor = await _actor(hub, ana)
    await reply(hub, agent_actor, conv.id, "Found it: it ships today.")
    got = await v.frame("message")
    assert got["message"]["author"] == "agent" and got["message"]["author_name"] == "Ana"
    await v.close()


async def _actor(hub: Any, user_id: int) -> Any:
    from hub.models import User
    from hub.services.access import actor_for

    async with hub.db.session() as s:
        u = await s.get(User, user_id)
        assert u is not None
        return await actor_for(s, u)


async def test_resend_with_the_same_id_is_a_no_op(live: Any) -> None:
    v = await visitor(live)
    mid = str(uuid.uuid4())
    first = await v.say("only once", mid=mid)
    again = await v.say("only once", mid=mid)
    assert again["duplicate"] and again["message_id"] == first["message_id"]
    assert len(await rows(live.app.hub, Message, Message.conversation_id == first["conversation_id"])) == 1
    # The same client id from another visitor is another message (ids are per visitor).
    other = await visitor(live)
    theirs = await other.say("only once", mid=mid)
    assert not theirs["duplicate"] and theirs["conversation_id"] != first["conversation_id"]
    await v.close()
    await other.close()


async def test_reload_shows_history_without_notes(live: Any) -> None:
    hub = live.app.hub
    v = await visitor(live)
    ack = await v.say("first")
    await add_note(hub, SYSTEM, ack["conversation_id"], "private remark")
    await reply(hub, SYSTEM, ack["conversation_id"], "an answer")
    await v.frame("message")
    await v.close()
    again = await visitor(live, token=v.token)
    assert again.visitor_id == v.visitor_id and not again.welcome["new_visitor"]
    assert [m["body"] for m in again.welcome["messages"]] == ["first", "an answer"]
    assert [m["author"] for m in again.welcome["messages"]] == ["you", "system"]
    assert again.welcome["conversations"] == [
        {"id": ack["conversation_id"], "status": "queued", "rated": False}
    ]
    await again.close()


async def test_tampered_tokens_and_guessed_ids_are_refused(live: Any) -> None:
    hub = live.app.hub
    a = await visitor(live)
    ack = await a.say("my private problem")
    await reply(hub, SYSTEM, ack["conversation_id"], "private answer")
    await a.frame("message")
    agent_msg = (
        await rows(
            hub, Message, Message.conversation_id == ack["conversation_id"], Message.direction == "outbound"
        )
    )[0]
    # A tampered token: one character of the payload changed.
    version, body, mac = a.token.split(".")
    forged = f"{version}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{mac}"
    ws = await open_socket(live)
    await ws.send(json.dumps({"type": "hello", "token": forged}))
    code, frames = await closed_with(ws)
    assert code == ws_mod.CLOSE_UNAUTHORIZED and frames[0]["code"] == "bad_token"
    # A genuine token of another site.
    ws = await open_socket(live, "acme-ar")
    await ws.send(json.dumps({"type": "hello", "token": a.token}))
    code, frames = await closed_with(ws)
    assert code == ws_mod.CLOSE_ORIGIN and frames[0]["code"] == "wrong_site"
    # Another visitor guessing A's ids.
    b = await visitor(live)
    assert b.welcome["messages"] == []
    await b.send({"type": "csat", "id": "c1", "conversation_id": ack["conversation_id"], "score": 1})
    err = await b.frame("error", id="c1")
    assert err["code"] == "not_your_conversation"
    await b.send({"type": "read", "message_id": agent_msg.id})
    err = await b.frame("error")
    assert err["code"] == "not_your_message"
    async with _client(live) as c:
        res = await c.get("/s/acme/history", headers={"authorization": f"Bearer {b.token}"})
        assert res.status_code == 200 and res.json()["messages"] == []
        res = await c.get("/s/acme/history", headers={"authorization": f"Bearer {forged}"})
        assert res.status_code == 401 and res.json()["error"]["code"] == "bad_token"
        res = await c.get(
            f"/s/acme/attachments/{agent_msg.id}/0", headers={"authorization": f"Bearer {b.token}"}
        )
        assert res.status_code == 404
        res = await c.get("/s/acme/history")
        assert res.status_code == 401 and res.json()["error"]["code"] == "not_authenticated"
    # B's own first message opens B's own conversation, never A's.
    mine = await b.say("hello")
    assert mine["conversation_id"] != ack["conversation_id"]
    await a.close()
    await b.close()


def _client(live: Any) -> Any:
    import httpx

    return httpx.AsyncClient(base_url=f"{live.base}/channels/webchat")


async def test_origins_and_unknown_sites(live: Any) -> None:
    ws = await open_socket(live, origin="https://evil.example")
    code, _ = await closed_with(ws)
    assert code == ws_mod.CLOSE_ORIGIN
    ws = await open_socket(live, "nope-site")
    code, _ = await closed_with(ws)
    assert code == ws_mod.CLOSE_UNKNOWN_SITE
    same = await visitor(live, origin=live.base)  # the widget's own iframe
    await same.close()
    async with _client(live) as c:
        res = await c.get("/s/acme/config", headers={"origin": "https://evil.example"})
        assert res.status_code == 403 and "access-control-allow-origin" not in res.headers
        res = await c.get("/s/acme/config", headers={"origin": ORIGIN})
        assert res.status_code == 200 and res.headers["access-control-allow-origin"] == ORIGIN
        cfg = res.json()
        assert cfg["topics"] == ["Billing", "Other"] and cfg["availability"]["online"] is True
        assert "token_secret" not in json.dumps(cfg) and "allowed_origins" not in cfg
        pre = await c.options(
            "/s/acme/messages",
            headers={"origin": ORIGIN, "access-control-request-method": "POST"},
        )
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == ORIGIN
        pre = await c.options("/s/acme/messages", headers={"origin": "https://evil.example"})
        assert pre.status_code == 403


async def test_handshake_needs_hello(live: Any) -> None:
    ws = await open_socket(live)
    await ws.send(json.dumps({"type": "message", "id": str(uuid.uuid4()), "body": "hi"}))
    code, frames = await closed_with(ws)
    assert code == ws_mod.CLOSE_BAD_HELLO and frames[0]["code"] == "validation_error"


async def test_frames_are_validated_with_clear_errors(live: Any) -> None:
    v = await visitor(live)
    await v.ws.send("not json")
    assert (await v.frame("error"))["code"] == "bad_json"
    await v.send({"type": "teleport"})
    assert "unknown frame type" in (await v.frame("error"))["message"]
    await v.send({"type": "message", "id": "not-a-uuid", "body": "x"})
    err = await v.frame("error")
    assert err["code"] == "validation_error" and err["fields"][0]["field"] == "id"
    await v.send({"type": "message", "id": str(uuid.uuid4()), "body": "x", "colour": "red"})
    err = await v.frame("error")
    assert err["fields"] == [{"field": "colour", "message": "unknown field"}]
    empty = await v.say("   ")
    assert empty["code"] == "empty_body"
    long = await v.say("x" * 4001)
    assert long["code"] == "too_long" and "4000" in long["message"]
    bad_prechat = await v.say("hi", prechat={"email": "not-an-email", "phone": "+1"})
    assert bad_prechat["code"] == "validation_error"
    assert {f["field"] for f in bad_prechat["fields"]} == {"prechat.email", "prechat.phone"}
    await v.ws.send(json.dumps({"type": "typing", "pad": "x" * (ws_mod.MAX_FRAME_CHARS + 1)}))
    assert (await v.frame("error"))["code"] == "frame_too_large"
    await v.close()


async def test_typing_both_ways_and_read_receipts(live: Any) -> None:
    from tests.core.test_gateway import connect as console_connect

    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", name="Ana", team_ids=(support,))
    v = await visitor(live)
    ack = await v.say("hi")
    await assign(hub, SYSTEM, ack["conversation_id"], ana)
    await v.frame("conversation")
    console, _ = await console_connect(live, "ana@example.com")
    await v.send({"type": "typing"})
    typing = await console.event("typing")
    assert typing["payload"] == {"conversation_id": ack["conversation_id"], "side": "customer"}
    assert typing["user_id"] == ana
    assert (await console.command("typing", conversation_id=ack["conversation_id"]))["type"] == "ack"
    got = await v.frame("typing")
    assert got == {
        "type": "typing",
        "conversation_id": ack["conversation_id"],
        "side": "agent",
        "name": "Ana",
    }
    sent = await console.command("reply", conversation_id=ack["conversation_id"], body="Hi there")
    message_id = sent["result"]["message_id"]
    await v.frame("message")
    await live.app.worker.run_once()  # the outbox confirms the send (provider id wc-<id>)
    await v.send({"type": "read", "message_id": message_id})
    status = await console.until(
        lambda f: (
            f["type"] == "event"
            and f["event"]["type"] == "message.status"
            and f["event"]["payload"]["delivery_status"] == "read"
        )
    )
    assert status["event"]["payload"]["message_id"] == message_id
    seen = await v.frame("status", message_id=message_id, status="read")
    assert seen
    await console.ws.close()
    await v.close()


async def test_csat_after_resolution_is_stored(live: Any) -> None:
    hub = live.app.hub
    v = await visitor(live)
    ack = await v.say("thanks for the help")
    conv_id = ack["conversation_id"]
    await v.send({"type": "csat", "id": "early", "conversation_id": conv_id, "score": 5})
    assert (await v.frame("error", id="early"))["code"] == "not_resolved"
    await resolve(hub, SYSTEM, conv_id)
    survey = await v.frame("survey")
    assert survey["conversation_id"] == conv_id
    await v.send({"type": "csat", "id": "bad", "conversation_id": conv_id, "score": 9})
    bad = await v.frame("error", id="bad")
    assert bad["code"] == "validation_error" and bad["fields"][0]["field"] == "score"
    await v.send({"type": "csat", "id": "ok", "conversation_id": conv_id, "score": 4, "comment": " Quick "})
    saved = await v.frame("csat_saved", id="ok")
    assert saved["conversation_id"] == conv_id
    conv = (await rows(hub, Conversation, Conversation.id == conv_id))[0]
    assert (conv.csat_score, conv.csat_comment) == (4, "Quick")
    events = await rows(hub, EventLog, col(EventLog.conversation_id) == conv_id)
    assert [e.payload.get("reason") for e in events if e.type == "conversation.updated"] == ["csat"]
    await v.send({"type": "csat", "id": "again", "conversation_id": conv_id, "score": 1})
    assert (await v.frame("error", id="again"))["code"] == "already_rated"
    # A new message after resolution opens a new conversation in the same thread.
    nxt = await v.say("one more question")
    assert nxt["conversation_id"] != conv_id
    await v.close()


async def test_prechat_details_are_attributes_not_identities(live: Any) -> None:
    hub = live.app.hub
    v = await visitor(live)
    ack = await v.say(
        "hello", prechat={"name": "  Sam   Lee ", "email": "Sam@Example.COM", "topic": "Billing"}
    )
    conv = (await rows(hub, Conversation, Conversation.id == ack["conversation_id"]))[0]
    contact = (await rows(hub, Contact, Contact.id == conv.contact_id))[0]
    assert contact.name == "Sam Lee"
    assert contact.attributes["email"] == "sam@example.com" and contact.attributes["unverified"] == ["email"]
    identities = await rows(hub, Identity, Identity.contact_id == contact.id)
    assert [(i.kind, i.address) for i in identities] == [("webchat", v.visitor_id)]
    # Another visitor typing the same email is a different, unlinked contact with no history.
    w = await visitor(live)
    other = await w.say("hi", prechat={"email": "sam@example.com"})
    assert other["conversation_id"] != ack["conversation_id"]
    assert w.welcome["messages"] == []
    await v.close()
    await w.close()


async def test_metrics_count_widget_sockets(live: Any) -> None:
    v = await visitor(live)
    gauge = live.app.hub.metrics.websockets.labels("widget")
    assert gauge._value.get() == 1
    await v.close()
    # The server notices the close when its receive loop ends.
    gw = live.app.app.state.channels.get("webchat").runtime.gateway
    async with asyncio.timeout(5):
        await gw.wait_until(lambda: gauge._value.get() == 0)


async def test_frame_page_is_only_framable_by_the_site(app: Any, channel: WebchatChannel) -> None:
    mount_page(app, channel)
    res = await app.client.get("/widget/frame?site=acme")
    unknown = await app.client.get("/widget/frame?site=nope")
    csp = res.headers["content-security-policy"]
    assert res.status_code == 200 and "frame-ancestors https://shop.example;" in csp + ";"
    assert "x-frame-options" not in res.headers and "script-src 'self'" in csp
    assert '<script type="module" src="/static/widget/frame.js">' in res.text
    assert (
        unknown.status_code == 404 and "frame-ancestors 'none'" in unknown.headers["content-security-policy"]
    )
    loader = await app.client.get("/static/widget/widget.js")
    assert loader.status_code == 200 and "javascript" in loader.headers["content-type"]
