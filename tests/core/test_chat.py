"""Internal messages between staff (issue 18) over REST, on SQLite and PostgreSQL: rooms
and unread counts, who may read a direct message or a team room (not admins for DMs),
conversation cards per viewer, search with Arabic folding, @mentions as notifications,
paging, bad input and the per-user send limit."""

from __future__ import annotations

from typing import Any

import httpx

from hub.models import Role
from hub.services import chat
from tests.helpers import inbound, login, team, user


async def _world(app: Any) -> dict[str, Any]:
    support, tech = await team(app.hub, "Support"), await team(app.hub, "Tech")
    w: dict[str, Any] = {"support": support, "tech": tech}
    w["ana"] = await user(app.hub, "ana@example.com", team_ids=(support,), name="Ana Lima")
    w["bob"] = await user(app.hub, "bob@example.com", team_ids=(support,), name="Bob Ode")
    w["cara"] = await user(app.hub, "cara@example.com", team_ids=(tech,), name="Cara Tech")
    w["root"] = await user(app.hub, "root@example.com", role=Role.admin, name="Root Admin")
    return w


async def _as(app: Any, email: str) -> httpx.AsyncClient:
    c: httpx.AsyncClient = app.new_client()
    c.headers.update(await login(c, email))
    return c


def _room(rooms: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [r for r in rooms["items"] if r["kind"] == kind]
    assert len(found) == 1, rooms
    return found[0]


async def test_direct_messages_unread_counts_and_who_may_read(app: Any) -> None:
    w = await _world(app)
    ana, bob, cara, root = [await _as(app, f"{n}@example.com") for n in ("ana", "bob", "cara", "root")]
    rooms = (await ana.get("/api/v1/chat/rooms")).json()
    assert [(r["kind"], r["name"], r["unread"]) for r in rooms["items"]] == [("team", "Support", 0)]
    dm = await ana.post("/api/v1/chat/dms", json={"user_id": w["bob"]})
    assert dm.status_code == 200, dm.text
    room = dm.json()["id"]
    again = await bob.post("/api/v1/chat/dms", json={"user_id": w["ana"]})
    assert again.json()["id"] == room and again.json()["name"] == "Ana Lima"  # one room per pair
    for text in ("hello Bob", "  second one  "):
        r = await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": text})
        assert r.status_code == 201, r.text
    assert r.json()["body"] == "second one" and r.json()["author_id"] == w["ana"]
    rooms = (await bob.get("/api/v1/chat/rooms")).json()
    mine = _room(rooms, "dm")
    assert (mine["name"], mine["user_id"], mine["unread"]) == ("Ana Lima", w["ana"], 2)
    assert mine["last"]["body"] == "second one" and rooms["unread"] == 2
    assert rooms["items"][0]["kind"] == "dm"  # the most recently active first
    assert _room((await ana.get("/api/v1/chat/rooms")).json(), "dm")["unread"] == 0  # own messages
    # Nobody else reads it: not a colleague, not an admin (REST, /events and writes alike).
    for other in (cara, root):
        for resp in (
            await other.get(f"/api/v1/chat/rooms/{room}/messages"),
            await other.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "x"}),
            await other.post(f"/api/v1/chat/rooms/{room}/read", json={}),
        ):
            assert resp.status_code == 404 and resp.json()["error"]["code"] == "room_not_found"
        events = (await other.get("/api/v1/events", params={"type": "chat.message"})).json()["items"]
        assert events == []
        assert [r["kind"] for r in (await other.get("/api/v1/chat/rooms")).json()["items"]] == ["team"] * (
            2 if other is root else 1
        )
    # The admin's audit log keeps the entry (who, when, which room) without the words.
    audit = (await root.get("/api/v1/audit", params={"kind": "chat.message"})).json()["items"]
    assert len(audit) == 2 and all(e["actor_id"] == w["ana"] for e in audit)
    assert all("body" not in e["payload"] and e["payload"]["room_id"] == room for e in audit)
    seen = (await bob.get("/api/v1/events", params={"type": "chat.message"})).json()["items"]
    assert [e["payload"]["body"] for e in seen] == ["hello Bob", "second one"]
    assert seen[0]["payload"]["member_ids"] == sorted([w["ana"], w["bob"]])
    history = (await bob.get(f"/api/v1/chat/rooms/{room}/messages")).json()
    first = history["items"][0]["id"]
    read = (await bob.post(f"/api/v1/chat/rooms/{room}/read", json={"message_id": first})).json()
    assert read == {"room_id": room, "last_read_message_id": first, "unread": 1}
    read = (await bob.post(f"/api/v1/chat/rooms/{room}/read", json={})).json()
    assert read["unread"] == 0 and read["last_read_message_id"] == history["items"][1]["id"]
    back = (await bob.post(f"/api/v1/chat/rooms/{room}/read", json={"message_id": first})).json()
    assert back["last_read_message_id"] == history["items"][1]["id"]  # never moves back
    reads = (await bob.get("/api/v1/events", params={"type": "chat.read"})).json()["items"]
    assert len(reads) == 2  # the no-op emitted nothing
    assert (await ana.get("/api/v1/events", params={"type": "chat.read"})).json()["items"] == []
    # Bad input: clear 4xx codes.
    me = await ana.post("/api/v1/chat/dms", json={"user_id": w["ana"]})
    assert me.status_code == 422 and me.json()["error"]["code"] == "chat_self"
    nobody = await ana.post("/api/v1/chat/dms", json={"user_id": 999_999})
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "user_not_found"
    empty = await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": ""})
    assert empty.status_code == 422 and empty.json()["error"]["fields"][0]["code"] == "required"
    blank = await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "   "})
    assert blank.status_code == 422 and blank.json()["error"]["code"] == "empty_body"
    long = await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "x" * 4001})
    field = long.json()["error"]["fields"][0]
    assert long.status_code == 422 and (field["field"], field["code"], field["limit"]) == (
        "body.body",
        "text_too_long",
        "4000",
    )
    extra = await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "hi", "room": 1})
    assert extra.status_code == 422


async def test_team_room_cards_search_and_paging(app: Any) -> None:
    w = await _world(app)
    ana, bob, cara, root = [await _as(app, f"{n}@example.com") for n in ("ana", "bob", "cara", "root")]
    mine = (await inbound(app.client, "cust-s", "support question", team="Support"))["conversation_id"]
    theirs = (await inbound(app.client, "cust-t", "tech question", team="Tech"))["conversation_id"]
    room = _room((await ana.get("/api/v1/chat/rooms")).json(), "team")["id"]
    assert _room((await bob.get("/api/v1/chat/rooms")).json(), "team")["id"] == room  # made once
    body = f"see #{theirs} and http://hub/console#c={mine} — مرحبًا يا أحمد"
    sent = await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": body})
    assert sent.status_code == 201, sent.text
    assert sent.json()["conversation_ids"] == [theirs, mine]
    # Cards only for conversations the viewer may see: ana (Support) not Tech's.
    assert [c["conversation_id"] for c in sent.json()["cards"]] == [mine]
    by_ana = (await ana.get(f"/api/v1/chat/rooms/{room}/messages")).json()["items"][0]
    assert [c["conversation_id"] for c in by_ana["cards"]] == [mine]
    card = by_ana["cards"][0]
    assert card["channel"] == "loopback" and card["status"] == "queued"
    by_root = (await root.get(f"/api/v1/chat/rooms/{room}/messages")).json()["items"][0]
    assert [c["conversation_id"] for c in by_root["cards"]] == [theirs, mine]  # admins read team rooms
    got = (await cara.get("/api/v1/chat/cards", params={"ids": [mine, theirs]})).json()["items"]
    assert [c["conversation_id"] for c in got] == [theirs]
    assert (await cara.get(f"/api/v1/chat/rooms/{room}/messages")).status_code == 404  # not her team
    # Search: Arabic letter forms and marks folded, only the caller's rooms.
    for who, hits in ((bob, 1), (root, 1), (cara, 0)):
        found = (await who.get("/api/v1/chat/search", params={"q": "مرحبا يا احمد"})).json()["items"]
        assert len(found) == hits
    assert (await bob.get("/api/v1/chat/search", params={"q": "50%"})).json()["items"] == []
    short = await bob.get("/api/v1/chat/search", params={"q": "x"})
    assert short.status_code == 422
    # Paging back through the history: newest page first, oldest first within a page.
    for i in range(3):
        await bob.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": f"note {i}"})
    page = (await ana.get(f"/api/v1/chat/rooms/{room}/messages", params={"limit": 2})).json()
    assert [m["body"] for m in page["items"]] == ["note 1", "note 2"]
    older = await ana.get(
        f"/api/v1/chat/rooms/{room}/messages", params={"limit": 2, "before": page["next_cursor"]}
    )
    assert [m["body"] for m in older.json()["items"]] == [body.strip(), "note 0"]
    assert older.json()["next_cursor"] is None
    assert _room((await ana.get("/api/v1/chat/rooms")).json(), "team")["unread"] == 3
    assert w["cara"]  # used above through her client


async def test_mentions_notify_those_who_may_read_the_room(app: Any) -> None:
    w = await _world(app)
    ana, bob = await _as(app, "ana@example.com"), await _as(app, "bob@example.com")
    cara = await _as(app, "cara@example.com")
    room = _room((await ana.get("/api/v1/chat/rooms")).json(), "team")["id"]
    r = await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "@bob and @cara and @ana, look"})
    assert r.json()["mentions"] == [w["bob"]]  # cara cannot read the room; not oneself
    await app.hub.projections.catch_up()
    items = (await bob.get("/api/v1/notifications")).json()["items"]
    assert [(n["kind"], n["actor_id"], n["conversation_id"]) for n in items] == [("mention", w["ana"], None)]
    assert items[0]["data"]["room_id"] == room and items[0]["data"]["excerpt"].startswith("@bob and")
    assert (await cara.get("/api/v1/notifications")).json()["items"] == []
    assert (await ana.get("/api/v1/notifications")).json()["items"] == []


async def test_sends_are_limited_per_user(app: Any, clock: Any) -> None:
    w = await _world(app)
    ana, bob = await _as(app, "ana@example.com"), await _as(app, "bob@example.com")
    room = (await ana.post("/api/v1/chat/dms", json={"user_id": w["bob"]})).json()["id"]
    for i in range(chat.SEND_LIMIT):
        assert (
            await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": f"m{i}"})
        ).status_code == 201
        clock.advance(0.5)
    refused = await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "one too many"})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= refused.json()["error"]["retry_after"] <= 30
    ok = await bob.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "bob is not limited"})
    assert ok.status_code == 201  # per user
    clock.advance(chat.SEND_WINDOW.total_seconds())
    assert (await ana.post(f"/api/v1/chat/rooms/{room}/messages", json={"body": "later"})).status_code == 201
