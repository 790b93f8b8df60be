"""Rights follow the user onto sockets that are already open, and one visibility rule
decides live delivery, the resume replay and ``GET /events``."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from agent_ui import gateway as gateway_mod
from hub.events import Event
from hub.models import Role
from hub.services import SYSTEM
from hub.services.conversations import assign
from hub.services.users import set_presence
from tests.core.test_gateway import Console, connect
from tests.helpers import PASSWORD, inbound, team, user


async def closed_with(console: Console) -> int:
    """Read until the hub closes the socket; returns the close code."""
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await console.recv()
    assert info.value.rcvd is not None
    return info.value.rcvd.code


async def admin_client(live: Any) -> tuple[httpx.AsyncClient, dict[str, str]]:
    await user(live.app.hub, "root@example.com", role=Role.admin)
    cookie, csrf = await live.session("root@example.com", PASSWORD)
    c = httpx.AsyncClient(base_url=live.base, headers={"Cookie": cookie, "x-csrf-token": csrf})
    return c, {}


async def test_deactivation_closes_the_open_socket_and_no_command_is_acked(live: Any) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(t,))
    console, _ = await connect(live, "ana@example.com")
    conv = (await inbound(live.app.client, "cust-1", "hi", team="Support"))["conversation_id"]
    await console.event("message.received")
    admin, _ = await admin_client(live)
    r = await admin.patch(f"/api/v1/users/{ana}", json={"active": False})
    assert r.status_code == 200, r.text
    # The change's event may close the socket before the command is sent; either way
    # nothing is acked or written (a command that arrives first is refused by its own
    # re-check of the credential).
    with contextlib.suppress(ConnectionClosed):
        await console.ws.send(
            json.dumps(
                {"type": "command", "id": "n1", "command": "note", "conversation_id": conv, "body": "?"}
            )
        )
    frames: list[dict[str, Any]] = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            frames.append(await console.recv())
    assert info.value.rcvd is not None and info.value.rcvd.code == gateway_mod.CLOSE_UNAUTHORIZED
    assert not [f for f in frames if f.get("id") == "n1"]  # neither acked nor answered
    msgs = (await admin.get(f"/api/v1/conversations/{conv}/messages")).json()["items"]
    assert [m["kind"] for m in msgs] == ["text"]  # the note was not written
    await admin.aclose()


async def test_sign_out_closes_that_sessions_socket_only(live: Any) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    await user(hub, "ana@example.com", team_ids=(t,))
    first, _ = await connect(live, "ana@example.com")
    cookie, csrf = await live.session("ana@example.com", PASSWORD)
    second = Console(await websockets.connect(f"{live.ws_base}/ws", additional_headers={"Cookie": cookie}))
    assert (await second.recv())["type"] == "hello"
    async with httpx.AsyncClient(base_url=live.base, headers={"Cookie": cookie}) as c:
        assert (await c.post("/api/v1/auth/logout", headers={"x-csrf-token": csrf})).status_code == 204
    assert await closed_with(second) == gateway_mod.CLOSE_UNAUTHORIZED
    # The other session (another browser) keeps working.
    ok = await first.command("set_presence", presence="available")
    assert ok["type"] == "ack"
    await first.ws.close()


async def test_removed_from_a_team_stops_its_events_and_commands(live: Any) -> None:
    hub = live.app.hub
    a, b = await team(hub, "Billing"), await team(hub, "Tech")
    ana = await user(hub, "ana@example.com", team_ids=(a, b))
    console, _ = await connect(live, "ana@example.com")
    conv_a = (await inbound(live.app.client, "cust-a", "billing question", team="Billing"))["conversation_id"]
    await console.event("message.received")
    admin, _ = await admin_client(live)
    r = await admin.put(f"/api/v1/teams/{a}/members", json={"user_ids": []})
    assert r.status_code == 200, r.text
    changed = await console.until(lambda f: f["type"] == "rights_changed")
    assert changed["team_ids"] == [b]
    refused = await console.command("assign", conversation_id=conv_a, user_id=ana)
    assert refused["type"] == "error" and refused["code"] == "not_your_team"
    await inbound(live.app.client, "cust-a", "more billing text", team="Billing")
    await inbound(live.app.client, "cust-b", "tech question", team="Tech")
    got = await console.event("message.received")
    assert got["payload"]["body"] == "tech question"  # Billing's message never arrived first
    await console.ws.close()
    await admin.aclose()


async def test_a_watch_ends_when_the_conversation_moves_out_of_sight(live: Any) -> None:
    hub = live.app.hub
    a, b = await team(hub, "Billing"), await team(hub, "Tech")
    await user(hub, "sup@example.com", role=Role.supervisor, team_ids=(a,))
    bob = await user(hub, "bob@example.com", team_ids=(a,))
    sup, _ = await connect(live, "sup@example.com")
    conv = (await inbound(live.app.client, "cust-1", "hi", team="Billing"))["conversation_id"]
    await assign(hub, SYSTEM, conv, bob)
    assert (await sup.command("watch", conversation_id=conv))["type"] == "ack"
    await inbound(live.app.client, "cust-1", "watched text")
    assert (await sup.event("message.received"))["payload"]["body"] == "watched text"
    admin, _ = await admin_client(live)
    r = await admin.post(f"/api/v1/conversations/{conv}/transfer", json={"team_id": b})
    assert r.status_code == 200, r.text
    ended = await sup.until(lambda f: f["type"] == "watch_ended")
    assert ended == {"type": "watch_ended", "conversation_id": conv, "reason": "not_visible"}
    await inbound(live.app.client, "cust-1", "secret after transfer")
    note = await admin.post(f"/api/v1/conversations/{conv}/notes", json={"body": "private note"})
    assert note.status_code == 201
    # Sentinel: something the supervisor does see, after the two above.
    await inbound(live.app.client, "cust-2", "sentinel", team="Billing")
    seen = await sup.until(lambda f: f["type"] == "event" and f["event"]["type"].startswith("message."))
    assert seen["event"]["payload"]["body"] == "sentinel"
    await sup.ws.close()
    await admin.aclose()


async def test_replay_live_and_rest_show_exactly_the_same_events(live: Any) -> None:
    """Outbox events, other teams' presence and offers, teammates' assigned work:
    what live delivery hides, replay and GET /events hide too."""
    hub = live.app.hub
    a, b = await team(hub, "Billing"), await team(hub, "Tech")
    ana = await user(hub, "ana@example.com", team_ids=(a,))
    bob = await user(hub, "bob@example.com", team_ids=(a,))
    tess = await user(hub, "tess@example.com", team_ids=(b,))
    console, hello = await connect(live, "ana@example.com")
    start = hello["head"]
    mine = (await inbound(live.app.client, "cust-a", "for ana", team="Billing"))["conversation_id"]
    theirs = (await inbound(live.app.client, "cust-b", "for bob", team="Billing"))["conversation_id"]
    await assign(hub, SYSTEM, mine, ana)
    await assign(hub, SYSTEM, theirs, bob)
    await inbound(live.app.client, "cust-b", "bob's private thread")  # teammate's assigned work
    await inbound(live.app.client, "cust-t", "tech only", team="Tech")
    await set_presence(hub, SYSTEM, tess, "available")  # another team's agent
    await set_presence(hub, SYSTEM, bob, "available")  # a teammate (agents do not see it)
    ana_csrf = await live.session("ana@example.com", PASSWORD)
    async with httpx.AsyncClient(base_url=live.base, headers={"Cookie": ana_csrf[0]}) as c:
        r = await c.post(
            f"/api/v1/conversations/{mine}/reply",
            json={"body": "hello"},
            headers={"x-csrf-token": ana_csrf[1]},
        )
        assert r.status_code == 201  # emits outbox.enqueued (internal) and message.created
        # Reactors' events (Ana's "assigned" notification) are published before the sentinel.
        await hub.projections.catch_up()
        await inbound(live.app.client, "cust-a", "sentinel")
        live_ids: list[int] = []
        while True:
            frame = await console.recv()
            if frame["type"] != "event" or frame["event"]["id"] == 0:
                continue
            live_ids.append(frame["event"]["id"])
            if frame["event"]["payload"].get("body") == "sentinel":
                break
        await console.ws.close()
        rest = (await c.get(f"/api/v1/events?after={start}")).json()["items"]
    replay_console, replay_hello = await connect(live, "ana@example.com", last_event_id=start)
    replay_ids = [(await replay_console.recv())["event"]["id"] for _ in range(replay_hello["replayed"])]
    await replay_console.ws.close()
    rest_ids = [e["id"] for e in rest]
    assert live_ids == replay_ids == rest_ids
    types = {e["type"] for e in rest}
    assert "outbox.enqueued" not in types and "presence.changed" not in types
    assert all(e["user_id"] in (None, ana) for e in rest if e["type"].startswith("message."))
    assert {e["conversation_id"] for e in rest} <= {mine, theirs}


async def test_supervisors_are_scoped_to_their_teams(live: Any) -> None:
    hub = live.app.hub
    a, b = await team(hub, "Billing"), await team(hub, "Tech")
    await user(hub, "sup@example.com", role=Role.supervisor, team_ids=(a,))
    ana = await user(hub, "ana@example.com", team_ids=(a,))
    tess = await user(hub, "tess@example.com", team_ids=(b,))
    cookie, csrf = await live.session("sup@example.com", PASSWORD)
    async with httpx.AsyncClient(base_url=live.base, headers={"Cookie": cookie, "x-csrf-token": csrf}) as c:
        away = await c.put(f"/api/v1/users/{tess}/presence", json={"presence": "away"})
        assert away.status_code == 403 and away.json()["error"]["code"] == "not_your_team"
        assert (await c.put(f"/api/v1/users/{ana}/presence", json={"presence": "away"})).status_code == 200
        offers = await c.get(f"/api/v1/offers?user_id={tess}")
        assert offers.status_code == 403 and offers.json()["error"]["code"] == "not_your_team"
        assert (await c.get(f"/api/v1/offers?user_id={ana}")).status_code == 200
        canned = await c.post(
            "/api/v1/canned-responses", json={"shortcut": "hi", "title": "Hi", "body": "Hello", "team_id": a}
        )
        assert canned.status_code == 201, canned.text
        moved = await c.patch(f"/api/v1/canned-responses/{canned.json()['id']}", json={"team_id": b})
        assert moved.status_code == 403 and moved.json()["error"]["code"] == "not_your_team"
    sup, _ = await connect(live, "sup@example.com")
    refused = await sup.command("set_presence", user_id=tess, presence="away")
    assert refused["type"] == "error" and refused["code"] == "not_your_team"
    gw = live.app.app.state.gateway
    conn = next(iter(gw.by_user[await sup_id(live.app.hub, "sup@example.com")]))
    for team_id, allowed in ((a, True), (b, False)):
        stats = Event(id=0, type="queue.stats", team_id=team_id, payload={})
        offer = Event(
            id=0,
            type="offer.created",
            team_id=team_id,
            user_id=ana if allowed else tess,
            conversation_id=1,
            payload={},
        )
        presence = Event(
            id=0,
            type="presence.changed",
            user_id=ana if allowed else tess,
            payload={"user_id": 0, "presence": "away", "previous": "available"},
        )
        for ev in (stats, offer, presence):
            assert (conn in gw.recipients(ev)) is allowed, (ev.type, team_id)
    await sup.ws.close()


async def sup_id(hub: Any, email: str) -> int:
    from sqlmodel import select

    from hub.models import User

    async with hub.db.session() as s:
        found = (await s.exec(select(User.id).where(User.email == email))).first()
    assert found is not None, email
    return int(found)


async def test_bad_last_event_id_is_refused(live: Any) -> None:
    hub = live.app.hub
    await user(hub, "ana@example.com")
    cookie, _ = await live.session("ana@example.com", PASSWORD)
    ws = await websockets.connect(
        f"{live.ws_base}/ws?last_event_id=abc", additional_headers={"Cookie": cookie}
    )
    assert await closed_with(Console(ws)) == gateway_mod.CLOSE_BAD_REQUEST
    ws = await websockets.connect(
        f"{live.ws_base}/ws?last_event_id=999999", additional_headers={"Cookie": cookie}
    )
    console = Console(ws)
    first = await console.recv()
    assert first["type"] == "resync" and first["reason"] == "unknown_event_id"
    assert await closed_with(console) == gateway_mod.CLOSE_RESYNC


async def test_unknown_command_arguments_are_rejected_like_rest(live: Any) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(t,))
    conv = (await inbound(live.app.client, "cust-1", "hi", team="Support"))["conversation_id"]
    await assign(hub, SYSTEM, conv, ana)
    console, _ = await connect(live, "ana@example.com")
    extra = await console.command("reply", conversation_id=conv, body="x", bcc="someone@else")
    assert extra["code"] == "validation_error" and extra["fields"] == [
        {"field": "bcc", "message": "unknown field"}
    ]
    socket_bad = await console.command("set_priority", conversation_id=conv, priority=False)
    cookie, csrf = await live.session("ana@example.com", PASSWORD)
    async with httpx.AsyncClient(base_url=live.base, headers={"Cookie": cookie, "x-csrf-token": csrf}) as c:
        rest_bad = await c.post(f"/api/v1/conversations/{conv}/priority", json={"priority": 500})
        socket_range = await console.command("set_priority", conversation_id=conv, priority=500)
    assert rest_bad.json()["error"]["code"] == socket_range["code"] == "validation_error"
    assert socket_bad["code"] == "validation_error"
    await console.ws.close()
