"""The console websocket: auth, origin, fan-out by visibility, commands, resume, back-pressure."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import hypothesis
import pytest
import websockets
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from agent_ui import gateway as gateway_mod
from hub.events import PAYLOADS, Event
from hub.models import Role
from hub.services import SYSTEM
from hub.services.access import Actor
from hub.services.conversations import assign
from hub.services.visibility import INTERNAL, may_see
from tests.helpers import PASSWORD, inbound, team, user


class Console:
    """A test console: a real websocket client that reads frames with timeouts."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seq = 0

    async def recv(self) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), 5))
        return frame

    async def until(self, pred: Any) -> dict[str, Any]:
        while True:
            frame = await self.recv()
            if pred(frame):
                return frame

    async def event(self, event_type: str) -> dict[str, Any]:
        frame = await self.until(lambda f: f["type"] == "event" and f["event"]["type"] == event_type)
        return frame["event"]  # type: ignore[no-any-return]

    async def command(self, name: str, **args: Any) -> dict[str, Any]:
        self.seq += 1
        cid = f"c{self.seq}"
        await self.ws.send(json.dumps({"type": "command", "id": cid, "command": name, **args}))
        return await self.until(lambda f: f.get("id") == cid and f["type"] in ("ack", "error"))


async def connect(
    live: Any, email: str, last_event_id: int | None = None, origin: str | None = None
) -> tuple[Console, Any]:
    cookie, _ = await live.session(email, PASSWORD)
    url = f"{live.ws_base}/ws" + (f"?last_event_id={last_event_id}" if last_event_id is not None else "")
    headers = {"Cookie": cookie}
    if origin:
        headers["Origin"] = origin
    ws = await websockets.connect(url, additional_headers=headers)
    console = Console(ws)
    hello = await console.recv()
    return console, hello


async def test_unauthenticated_and_foreign_origin_sockets_are_refused(live: Any) -> None:
    ws = await websockets.connect(f"{live.ws_base}/ws")
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None and info.value.rcvd.code == gateway_mod.CLOSE_UNAUTHORIZED
    await user(live.app.hub, "ana@example.com")
    cookie, _ = await live.session("ana@example.com", PASSWORD)
    ws = await websockets.connect(
        f"{live.ws_base}/ws", additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}
    )
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None and info.value.rcvd.code == gateway_mod.CLOSE_ORIGIN


async def test_agent_gets_own_work_not_other_teams(live: Any) -> None:
    hub = live.app.hub
    a, b = await team(hub, "Billing"), await team(hub, "Tech")
    ana = await user(hub, "ana@example.com", team_ids=(a,))
    console, hello = await connect(live, "ana@example.com", origin=live.base)
    assert hello["type"] == "hello" and hello["user"]["id"] == ana
    other = await inbound(live.app.client, "cust-b", "not yours", team="Tech")
    mine = await inbound(live.app.client, "cust-a", "hello Billing", team="Billing")
    created = await console.event("conversation.created")
    assert created["conversation_id"] == mine["conversation_id"]  # Tech's never arrives first
    received = await console.event("message.received")
    assert received["payload"]["body"] == "hello Billing"
    await assign(hub, SYSTEM, mine["conversation_id"], ana)
    await inbound(live.app.client, "cust-a", "second")
    await inbound(live.app.client, "cust-b", "still not yours")
    got = await console.event("message.received")
    assert got["payload"]["body"] == "second" and got["user_id"] == ana
    assert other["conversation_id"] != got["conversation_id"] and b
    await console.ws.close()


async def test_commands_ack_or_explain(live: Any) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(t,))
    conv = (await inbound(live.app.client, "cust-1", "hi", team="Support"))["conversation_id"]
    console, _ = await connect(live, "ana@example.com")
    err = await console.command("reply", conversation_id=conv, body="hello")
    assert err["type"] == "error" and err["code"] == "not_assignee"
    ok = await console.command("assign", conversation_id=conv, user_id=ana)
    assert ok["type"] == "ack" and ok["result"]["assignee_id"] == ana
    sent = await console.command("reply", conversation_id=conv, body="Hello! How can I help?")
    assert sent["type"] == "ack" and sent["result"]["delivery_status"] == "pending"
    ev = await console.event("message.created")
    assert ev["payload"]["message_id"] == sent["result"]["message_id"]
    bad = await console.command("resolve", conversation_id="seven")
    assert bad["type"] == "error" and bad["code"] == "validation_error"  # same code as REST
    assert bad["fields"][0]["field"] == "conversation_id"
    unknown = await console.command("teleport", conversation_id=conv)
    assert unknown["code"] == "unknown_command"
    presence = await console.command("set_presence", presence="available")
    assert presence["result"] == {"user_id": ana, "presence": "available"}
    await console.ws.send("not json")
    assert (await console.until(lambda f: f["type"] == "error"))["code"] == "bad_json"
    await console.ws.close()


async def test_reconnect_receives_exactly_what_was_missed(live: Any) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    await user(hub, "ana@example.com", team_ids=(t,))
    console, hello = await connect(live, "ana@example.com")
    await inbound(live.app.client, "cust-1", "one", team="Support")
    last = (await console.event("message.received"))["id"]
    await console.ws.close()  # the network blip
    for body in ("two", "three"):
        await inbound(live.app.client, "cust-1", body, team="Support")
    await inbound(live.app.client, "cust-2", "four", team="Support")
    console, hello = await connect(live, "ana@example.com", last_event_id=last)
    assert hello["replayed"] == 4  # two, three, and cust-2's created + received
    replayed = [await console.recv() for _ in range(4)]
    bodies = [f["event"]["payload"].get("body") for f in replayed if f["event"]["type"] == "message.received"]
    assert bodies == ["two", "three", "four"]
    ids = [f["event"]["id"] for f in replayed]
    assert ids == sorted(ids) and ids[0] > last
    await inbound(live.app.client, "cust-2", "five", team="Support")
    live_ev = await console.event("message.received")
    assert live_ev["payload"]["body"] == "five" and live_ev["id"] > ids[-1]
    await console.ws.close()


async def test_a_slow_console_is_told_to_resync_instead_of_growing(
    live: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = live.app.hub
    await user(hub, "root@example.com", role=Role.admin)
    monkeypatch.setattr(gateway_mod, "QUEUE_LIMIT", 3)
    console, _ = await connect(live, "root@example.com")
    gw = live.app.app.state.gateway
    # Delivered synchronously: the socket's sender cannot drain in between.
    for i in range(1, 11):
        gw.deliver(
            Event(
                id=10_000 + i,
                type="presence.changed",
                user_id=1,
                payload={"user_id": 1, "presence": "away", "previous": "available"},
            )
        )
    frames = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            frames.append(await console.recv())
    assert frames[-1] == {"type": "resync", "reason": "slow_consumer"}
    assert len([f for f in frames if f["type"] == "event"]) <= 3
    assert info.value.rcvd is not None and info.value.rcvd.code == gateway_mod.CLOSE_RESYNC


async def test_socket_presence_signals_and_typing(live: Any) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(t,))
    await user(hub, "sup@example.com", role=Role.supervisor, team_ids=(t,))
    sup, _ = await connect(live, "sup@example.com")
    ana_console, _ = await connect(live, "ana@example.com")
    connected = await sup.until(
        lambda f: (
            f["type"] == "event" and f["event"]["type"] == "agent.connected" and f["event"]["user_id"] == ana
        )
    )
    assert connected["event"]["id"] == 0  # ephemeral: not in the event log
    conv = (await inbound(live.app.client, "cust-1", "hi", team="Support"))["conversation_id"]
    assert (await sup.command("watch", conversation_id=conv))["type"] == "ack"
    assert (await ana_console.command("typing", conversation_id=conv))["type"] == "ack"
    typing = await sup.event("typing")
    assert typing["payload"] == {"conversation_id": conv, "user_id": ana, "side": "agent"}
    await ana_console.ws.close()
    gone = await sup.event("agent.disconnected")
    assert gone["user_id"] == ana
    await sup.ws.close()


async def test_a_tasks_creator_follows_it_live(live: Any) -> None:
    """A task an agent makes for a colleague: its events reach the creator's socket too
    (the same rule as replay, hub.services.visibility._may_see_task)."""
    from hub.services import tasks
    from hub.services.access import Actor

    hub = live.app.hub
    a = await team(hub, "Billing")
    ana = await user(hub, "ana@example.com", team_ids=(a,))
    ben = await user(hub, "ben@example.com", team_ids=(a,))
    console, _ = await connect(live, "ana@example.com", origin=live.base)
    made = await tasks.create_task(
        hub,
        Actor(user_id=ana, role="agent", team_ids=frozenset({a})),
        title="Call the customer back",
        assignee_user_id=ben,
    )
    got = await console.event("task.created")
    assert got["payload"]["task_id"] == made["id"] and got["user_id"] == ben
    await console.ws.close()


# -- who receives an event: the indexes against every socket ----------------------------
_TYPES = sorted(
    {
        *PAYLOADS,
        "typing",
        "read",
        "queue.stats",
        "agent.connected",
        "agent.disconnected",
        "user.access_changed",
        "outbox.enqueued",
    }
)
_USERS = st.one_of(st.none(), st.integers(1, 6))
_TEAMS = st.one_of(st.none(), st.integers(1, 3))


@st.composite
def _events(draw: Any) -> Event:
    payload: dict[str, Any] = {}
    for key, values in (
        ("previous_assignee_id", _USERS),
        ("previous_team_id", _TEAMS),
        ("created_by", _USERS),
        ("user_id", _USERS),
        ("room_kind", st.sampled_from(["dm", "team"])),
        ("member_ids", st.lists(st.integers(1, 6), max_size=2)),
    ):
        if draw(st.booleans()):
            payload[key] = draw(values)
    return Event(
        id=1,
        type=draw(st.sampled_from(_TYPES)),
        conversation_id=draw(st.sampled_from([None, 10, 11])),
        team_id=draw(_TEAMS),
        user_id=draw(_USERS),
        payload=payload,
    )


@st.composite
def _sockets(draw: Any) -> list[tuple[Actor, set[int]]]:
    out = []
    for _ in range(draw(st.integers(1, 8))):
        actor = Actor(
            user_id=draw(st.integers(1, 6)),
            role=draw(st.sampled_from(["agent", "supervisor", "admin"])),
            team_ids=frozenset(draw(st.sets(st.integers(1, 3), max_size=2))),
        )
        out.append((actor, draw(st.sets(st.sampled_from([10, 11]), max_size=2))))
    return out


@hypothesis.settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(sockets=_sockets(), events=st.lists(_events(), min_size=1, max_size=5))
def test_the_fanout_indexes_reach_exactly_whom_may_see_admits(
    sockets: list[tuple[Actor, set[int]]], events: list[Event]
) -> None:
    """``recipients`` looks only at the indexes' candidates (a socket's user, team,
    role and watches); the answer must be the same as asking ``may_see`` of every socket."""
    gw = gateway_mod.Gateway(None, {})  # type: ignore[arg-type]
    conns = []
    for actor, watching in sockets:
        conn = gateway_mod.Connection(None, actor)  # type: ignore[arg-type]
        gw.by_user[conn.user_id].add(conn)
        gw._index(conn, add=True)
        for cid in watching:
            gw.watch(conn, cid, True)
        conns.append(conn)
    gw.teams_of_user = {a.user_id: a.team_ids for a, _ in sockets if a.user_id is not None}
    for event in events:
        expected = set()
        if event.type not in INTERNAL:
            expected = {c for c in conns if may_see(c.actor, event, gw.teams_of, c.watching)}
        assert gw.recipients(event) == expected, event


def test_an_event_frame_is_the_event_as_json() -> None:
    event = Event(
        id=7,
        type="message.received",
        conversation_id=3,
        team_id=1,
        user_id=2,
        payload={"body": 'مرحبا <b>"hi"</b>\u2028', "attachments": [], "n": 1.5, "none": None},
    )
    frame = json.loads(gateway_mod.event_frame(event))
    assert frame == {"type": "event", "event": event.model_dump(mode="json")}
