"""In-app notifications (issue 16): derived once from the event log by the reactor —
mentions, assignments, transfers, missed offers, escalations, low scores — listed,
counted and marked read by their owner only, pushed live to that user's sockets only,
and exactly once with two runners on one database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import websockets
from sqlmodel import select

from hub.app import build_projections
from hub.context import Hub
from hub.db import Database
from hub.events import ComplaintPayload
from hub.models import Conversation, EventLog, Notification, OfferStatus, Role
from hub.services import SYSTEM
from hub.services.access import Actor
from hub.services.complaints import NewComplaint, open_complaint
from hub.services.conversations import add_note, assign, transfer
from hub.services.offers import close_offer, create_offer
from hub.services.uow import unit_of_work
from tests.core.test_gateway import Console
from tests.helpers import PASSWORD, inbound, login, team, user


async def _world(app: Any) -> dict[str, Any]:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,), name="Ana Lima")
    ben = await user(app.hub, "ben@example.com", team_ids=(billing,), name="Ben Ode")
    tom = await user(app.hub, "tom@example.com", team_ids=(tech,), name="Tom Tech")
    sue = await user(app.hub, "sue@example.com", role=Role.supervisor, team_ids=(billing,), name="Sue Boss")
    root = await user(app.hub, "root@example.com", role=Role.admin, name="Root Admin")
    conv = (await inbound(app.client, "cust-1", "my bill is wrong", team="Billing"))["conversation_id"]
    return {
        "billing": billing,
        "tech": tech,
        "ana": ana,
        "ben": ben,
        "tom": tom,
        "sue": sue,
        "root": root,
        "conv": conv,
    }


def _actor(uid: int, role: str = "agent", teams: tuple[int, ...] = ()) -> Actor:
    return Actor(user_id=uid, role=role, team_ids=frozenset(teams))


async def _rows(hub: Hub) -> list[Notification]:
    async with hub.db.session() as s:
        return list((await s.exec(select(Notification).order_by(Notification.id))).all())  # type: ignore[arg-type]


async def test_each_kind_notifies_its_people_once(app: Any) -> None:
    w = await _world(app)
    hub = app.hub
    ana = _actor(w["ana"], teams=(w["billing"],))
    # Routing (system) assigns to Ana: one "assigned"; Ana taking it herself is no news.
    await assign(hub, SYSTEM, w["conv"], w["ana"])
    # Ana mentions Ben (same team) and Tom (another team: may not open it) and herself.
    await add_note(hub, ana, w["conv"], "@ben please look <b>now</b>, also @tom and @ana")
    # Ana transfers to Ben: one "transferred" for Ben.
    await transfer(hub, ana, w["conv"], to_user_id=w["ben"])
    # An offer to Ana expires: "offer_missed".
    other = (await inbound(app.client, "cust-2", "hello", team="Billing"))["conversation_id"]
    await create_offer(hub, other, w["ana"], None)
    await close_offer(hub, other, OfferStatus.expired)
    # A complaint escalated to Billing (as the complaint timers do): every member.
    complaint = await open_complaint(hub, SYSTEM, NewComplaint(conversation_id=w["conv"], acknowledge=False))
    async with unit_of_work(hub) as uow:
        uow.emit(
            "complaint.escalated",
            ComplaintPayload(
                complaint_id=complaint.id,
                reference=complaint.reference,
                contact_id=complaint.contact_id,
                status=str(complaint.status),
                reason="response",
                escalated_to=w["billing"],
            ),
            team_id=w["billing"],
        )
    await hub.projections.catch_up()
    await hub.projections.catch_up()  # again: nothing twice

    got = {(n.user_id, n.kind) for n in await _rows(hub)}
    assert got == {
        (w["ana"], "assigned"),
        (w["ben"], "mention"),
        (w["ben"], "transferred"),
        (w["ana"], "offer_missed"),
        (w["ana"], "escalated"),
        (w["ben"], "escalated"),
        (w["sue"], "escalated"),
    }
    rows = await _rows(hub)
    assert len(rows) == len(got)
    mention = next(n for n in rows if n.kind == "mention")
    # Stored as text, bounded; the client shows it as text (no markup is interpreted).
    assert mention.data["excerpt"] == "@ben please look <b>now</b>, also @tom and @ana"
    assert mention.actor_id == w["ana"] and mention.conversation_id == w["conv"]
    moved = next(n for n in rows if n.kind == "transferred")
    assert moved.actor_id == w["ana"] and moved.data["from_user_id"] == w["ana"]
    escalated = next(n for n in rows if n.kind == "escalated")
    assert escalated.data == {"reference": complaint.reference, "stage": "response"}
    assert escalated.complaint_id == complaint.id


async def test_a_supervisor_assigning_notifies_and_accepting_an_offer_does_not(app: Any) -> None:
    w = await _world(app)
    hub = app.hub
    sue = _actor(w["sue"], "supervisor", (w["billing"],))
    await assign(hub, sue, w["conv"], w["ben"])
    other = (await inbound(app.client, "cust-3", "hi", team="Billing"))["conversation_id"]
    await create_offer(hub, other, w["ana"], None)
    from hub.services.offers import accept_offer

    await accept_offer(hub, _actor(w["ana"], teams=(w["billing"],)), other)
    await hub.projections.catch_up()
    rows = await _rows(hub)
    assert [(n.user_id, n.kind, n.actor_id) for n in rows] == [(w["ben"], "assigned", w["sue"])]


async def test_list_count_mark_read_and_nobody_elses(app: Any) -> None:
    w = await _world(app)
    hub = app.hub
    ana = _actor(w["ana"], teams=(w["billing"],))
    for n in range(3):
        await add_note(hub, ana, w["conv"], f"@ben note {n}")
    await add_note(hub, _actor(w["ben"], teams=(w["billing"],)), w["conv"], "@ana thanks")
    await hub.projections.catch_up()

    ben, bh = app.new_client(), None
    bh = await login(ben, "ben@example.com")
    ana_c = app.new_client()
    ah = await login(ana_c, "ana@example.com")
    root = app.new_client()
    rh = await login(root, "root@example.com")

    assert (await ben.get("/api/v1/notifications/unread-count")).json() == {"unread": 3}
    page = (await ben.get("/api/v1/notifications", params={"limit": 2})).json()
    assert [n["data"]["excerpt"] for n in page["items"]] == ["@ben note 2", "@ben note 1"]  # newest first
    rest = (await ben.get("/api/v1/notifications", params={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert [n["data"]["excerpt"] for n in rest["items"]] == ["@ben note 0"] and rest["next_cursor"] is None
    newest = page["items"][0]["id"]

    # Another's notification: neither listed nor markable, even by an admin.
    assert (await ana_c.get("/api/v1/notifications")).json()["items"][0]["data"]["excerpt"] == "@ana thanks"
    for client, headers in ((ana_c, ah), (root, rh)):
        res = await client.post(f"/api/v1/notifications/{newest}/read", headers=headers)
        assert res.status_code == 404 and res.json()["error"]["code"] == "notification_not_found"
        res = await client.post("/api/v1/notifications/read", json={"ids": [newest]}, headers=headers)
        assert res.status_code == 404
    assert (await root.get("/api/v1/notifications")).json()["items"] == []
    assert (await ben.get("/api/v1/notifications/unread-count")).json() == {"unread": 3}

    res = await ben.post(f"/api/v1/notifications/{newest}/read", headers=bh)
    assert res.status_code == 200 and res.json() == {"unread": 2}
    again = await ben.post(f"/api/v1/notifications/{newest}/read", headers=bh)
    assert again.json() == {"unread": 2}
    unread = (await ben.get("/api/v1/notifications", params={"unread": True})).json()["items"]
    assert [n["data"]["excerpt"] for n in unread] == ["@ben note 1", "@ben note 0"]
    assert (await ben.post("/api/v1/notifications/read-all", headers=bh)).json() == {"unread": 0}
    assert (await ana_c.get("/api/v1/notifications/unread-count")).json() == {"unread": 1}
    # Bad input is a 4xx, never a 5xx.
    for body in ({"ids": []}, {"ids": [0]}, {"ids": ["1"]}, {"ids": [1], "x": 1}):
        assert (await ben.post("/api/v1/notifications/read", json=body, headers=bh)).status_code == 422
    assert (await ben.get("/api/v1/notifications", params={"limit": 1000})).status_code == 422
    async with hub.db.session() as s:
        reads = (
            await s.exec(select(EventLog).where(EventLog.type == "notification.read").order_by(EventLog.id))
        ).all()
    assert [(e.user_id, e.payload["all"]) for e in reads] == [(w["ben"], False), (w["ben"], True)]


async def test_turned_off_kinds_are_not_stored(app: Any) -> None:
    w = await _world(app)
    ben = app.new_client()
    bh = await login(ben, "ben@example.com")
    res = await ben.patch("/api/v1/profile", json={"notify": {"mention": False}}, headers=bh)
    assert res.status_code == 200 and res.json()["notify"]["mention"] is False
    ana = _actor(w["ana"], teams=(w["billing"],))
    await add_note(app.hub, ana, w["conv"], "@ben hello")
    await assign(app.hub, SYSTEM, w["conv"], w["ben"])
    await app.hub.projections.catch_up()
    assert [(n.user_id, n.kind) for n in await _rows(app.hub)] == [(w["ben"], "assigned")]


async def test_exactly_once_with_two_runners_on_one_database(app: Any, settings: Any, clock: Any) -> None:
    w = await _world(app)
    hub = app.hub
    other_db = Database(settings.async_database_url)
    other = Hub(
        settings=settings, db=other_db, bus=hub.bus, channels=hub.channels, metrics=hub.metrics, clock=clock
    )
    runners = [hub.projections, build_projections(other)]
    await runners[1].prepare()
    ana = _actor(w["ana"], teams=(w["billing"],))
    try:
        for n in range(6):
            writes = [add_note(hub, ana, w["conv"], f"@ben round {n} {i}") for i in range(3)]
            await asyncio.gather(*writes, *(r.catch_up(wait=False) for r in runners))
        await assign(hub, SYSTEM, w["conv"], w["ben"])
        await asyncio.gather(*(r.catch_up() for r in runners))
        await asyncio.gather(*(r.catch_up() for r in runners))
    finally:
        await other_db.dispose()
    rows = await _rows(hub)
    assert sorted(n.data.get("excerpt", "") for n in rows if n.kind == "mention") == sorted(
        f"@ben round {n} {i}" for n in range(6) for i in range(3)
    )
    assert [n.kind for n in rows].count("assigned") == 1
    async with hub.db.session() as s:
        created = (await s.exec(select(EventLog).where(EventLog.type == "notification.created"))).all()
    assert len(created) == len(rows) and {e.payload["notification_id"] for e in created} == {
        n.id for n in rows
    }


async def test_pushed_live_to_that_user_only(live: Any) -> None:
    hub = live.app.hub
    w = await _world(live.app)
    consoles = {}
    for name in ("ben", "ana", "root"):
        cookie, _ = await live.session(f"{name}@example.com", PASSWORD)
        ws = await websockets.connect(f"{live.ws_base}/ws", additional_headers={"Cookie": cookie})
        consoles[name] = Console(ws)
        assert (await consoles[name].recv())["type"] == "hello"
    try:
        await add_note(hub, _actor(w["ana"], teams=(w["billing"],)), w["conv"], "@ben look at this")
        await hub.projections.catch_up()
        event = await consoles["ben"].event("notification.created")
        assert event["user_id"] == w["ben"]
        assert event["payload"]["kind"] == "mention" and event["payload"]["unread"] == 1
        assert event["payload"]["data"]["excerpt"] == "@ben look at this"
        # Marking read reaches Ben's sockets (other tabs update the badge).
        cookie, csrf = await live.session("ben@example.com", PASSWORD)
        import httpx

        async with httpx.AsyncClient(
            base_url=live.base, headers={"Cookie": cookie, "x-csrf-token": csrf}
        ) as c:
            assert (await c.post("/api/v1/notifications/read-all")).json() == {"unread": 0}
        read = await consoles["ben"].event("notification.read")
        assert read["payload"]["unread"] == 0 and read["payload"]["ids"] == [
            event["payload"]["notification_id"]
        ]
        # Neither Ana (the note's author, same team) nor the admin got either: a
        # conversation event published after them is the marker that ends the read.
        await assign(hub, SYSTEM, w["conv"], w["ben"])
        await hub.projections.catch_up()
        for name in ("ana", "root"):
            seen = []
            while True:
                frame = await consoles[name].recv()
                if frame["type"] != "event":
                    continue
                seen.append(frame["event"]["type"])
                if frame["event"]["type"] == "conversation.assigned":
                    break
            assert "message.created" in seen and not [t for t in seen if t.startswith("notification.")], seen
        assigned = await consoles["ben"].event("notification.created")
        assert assigned["payload"]["kind"] == "assigned"
    finally:
        for c in consoles.values():
            await c.ws.close()


async def test_erasing_the_contact_drops_note_excerpts(app: Any) -> None:
    from hub.services.privacy import erase_contact

    w = await _world(app)
    await add_note(app.hub, _actor(w["ana"], teams=(w["billing"],)), w["conv"], "@ben customer's card 4111")
    await app.hub.projections.catch_up()
    (row,) = await _rows(app.hub)
    assert "4111" in row.data["excerpt"]
    async with app.hub.db.session() as s:
        contact_id = (await s.get(Conversation, w["conv"])).contact_id  # type: ignore[union-attr]
    await erase_contact(app.hub, _actor(w["root"], role="admin"), contact_id)
    (row,) = await _rows(app.hub)
    assert row.kind == "mention" and "excerpt" not in row.data
    async with app.hub.db.session() as s:
        (event,) = (await s.exec(select(EventLog).where(EventLog.type == "notification.created"))).all()
    assert "excerpt" not in event.payload["data"]
