"""Internal messages live over the console socket (SQLite and PostgreSQL): ``chat.send``
and ``chat.read`` with acks and errors, a direct message reaches its two members and
nobody else (not an admin), and someone who leaves a team stops receiving its room on
the socket that is already open — live and on resume."""

from __future__ import annotations

from typing import Any

import httpx

from hub.models import Role
from tests.core.test_gateway import Console, connect
from tests.helpers import PASSWORD, team, user


async def _client(live: Any, email: str) -> httpx.AsyncClient:
    cookie, csrf = await live.session(email, PASSWORD)
    return httpx.AsyncClient(base_url=live.base, headers={"Cookie": cookie, "x-csrf-token": csrf})


async def _chat(console: Console) -> dict[str, Any]:
    return await console.until(lambda f: f["type"] == "event" and f["event"]["type"].startswith("chat."))


async def test_two_agents_exchange_a_direct_message_live(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Lima")
    bob = await user(hub, "bob@example.com", team_ids=(support,), name="Bob Ode")
    await user(hub, "root@example.com", role=Role.admin)
    a, _ = await connect(live, "ana@example.com")
    b, _ = await connect(live, "bob@example.com")
    root, _ = await connect(live, "root@example.com")
    ana_http = await _client(live, "ana@example.com")
    dm = (await ana_http.post("/api/v1/chat/dms", json={"user_id": bob})).json()["id"]
    team_room = next(
        r for r in (await ana_http.get("/api/v1/chat/rooms")).json()["items"] if r["kind"] == "team"
    )
    ack = await a.command("chat.send", room_id=dm, body="مرحبا Bob, #12?")
    assert ack["type"] == "ack", ack
    assert ack["result"]["room_id"] == dm and ack["result"]["message_id"] > 0
    got = (await _chat(b))["event"]
    assert (got["type"], got["user_id"], got["team_id"]) == ("chat.message", ana, None)
    p = got["payload"]
    assert (p["body"], p["room_id"], p["author_id"], p["conversation_ids"]) == (
        "مرحبا Bob, #12?",
        dm,
        ana,
        [12],
    )
    assert (await _chat(a))["event"]["payload"]["message_id"] == ack["result"][
        "message_id"
    ]  # the author's tabs
    # Bob reads it: his own consoles hear chat.read; ana does not.
    read = await b.command("chat.read", room_id=dm)
    assert read["type"] == "ack" and read["result"]["unread"] == 0
    seen = (await _chat(b))["event"]
    assert (
        seen["type"] == "chat.read" and seen["payload"]["last_read_message_id"] == ack["result"]["message_id"]
    )
    # Sentinel: the admin's next chat event is the team room's, never the DM.
    reply = await b.command("chat.send", room_id=team_room["id"], body="team hello")
    assert reply["type"] == "ack"
    admin_got = (await _chat(root))["event"]
    assert (admin_got["type"], admin_got["payload"]["body"]) == ("chat.message", "team hello")
    assert (await _chat(a))["event"]["payload"]["body"] == "team hello"  # no chat.read reached ana first
    # Errors: the REST codes, plus validation with fields.
    bad = await root.command("chat.send", room_id=dm, body="let me in")
    assert bad["type"] == "error" and bad["code"] == "room_not_found"
    empty = await a.command("chat.send", room_id=dm, body="")
    assert empty["type"] == "error" and empty["code"] == "validation_error"
    assert empty["fields"][0]["field"] == "body"
    stray = await a.command("chat.read", room_id=dm, message_id=True)
    assert stray["type"] == "error" and stray["code"] == "validation_error"
    for c in (a, b, root):
        await c.ws.close()
    await ana_http.aclose()


async def test_leaving_a_team_stops_its_room_on_the_open_socket(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,))
    bob = await user(hub, "bob@example.com", team_ids=(support,))
    await user(hub, "root@example.com", role=Role.admin)
    b, hello = await connect(live, "bob@example.com")
    ana_http, root_http = await _client(live, "ana@example.com"), await _client(live, "root@example.com")
    room = (await ana_http.get("/api/v1/chat/rooms")).json()["items"][0]["id"]
    dm = (await ana_http.post("/api/v1/chat/dms", json={"user_id": bob})).json()["id"]
    await ana_http.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "before"})
    assert (await _chat(b))["event"]["payload"]["body"] == "before"
    r = await root_http.put(f"/api/v1/teams/{support}/members", json={"user_ids": [ana]})
    assert r.status_code == 200, r.text
    assert (await b.until(lambda f: f["type"] == "rights_changed"))["team_ids"] == []
    await ana_http.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "after he left"})
    await ana_http.post(f"/api/v1/chat/rooms/{dm}/messages", json={"body": "sentinel dm"})
    assert (await _chat(b))["event"]["payload"]["body"] == "sentinel dm"  # the team's never came
    refused = await b.command("chat.send", room_id=room, body="still here?")
    assert refused["type"] == "error" and refused["code"] == "room_not_found"
    await b.ws.close()
    # Resuming from before the change: the replay leaves the team room out too.
    again, _ = await connect(live, "bob@example.com", last_event_id=hello["head"])
    replayed = []
    while True:
        frame = await again.recv()
        if frame["type"] == "event" and frame["event"]["type"] == "chat.message":
            replayed.append(frame["event"]["payload"]["body"])
            if replayed[-1] == "sentinel dm":
                break
    assert replayed == ["sentinel dm"]
    await again.ws.close()
    await ana_http.aclose()
    await root_http.aclose()
