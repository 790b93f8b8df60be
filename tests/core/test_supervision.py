"""Supervision (issue 16): the whisper from the watch view, the waiting column of
assigned conversations and the estimated wait per queue (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from hub.models import OutboxItem, Role
from hub.services import SYSTEM
from hub.services.conversations import assign, reply, resolve
from hub.services.supervision import estimate, team_estimate
from hub.services.users import set_presence
from tests.core.test_gateway import connect
from tests.helpers import inbound, login, team, user


async def test_a_whisper_reaches_the_agent_live_and_never_the_customer(live: Any) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(t,))
    await user(hub, "sue@example.com", role=Role.supervisor, team_ids=(t,))
    conv = (await inbound(live.app.client, "cust-1", "help me", team="Support"))["conversation_id"]
    await assign(hub, SYSTEM, conv, ana)
    console, _ = await connect(live, "ana@example.com")

    sue = live.app.new_client()
    csrf = await login(sue, "sue@example.com")
    r = await sue.post(
        f"/api/v1/conversations/{conv}/whisper", json={"body": "Offer the refund, @ana"}, headers=csrf
    )
    assert r.status_code == 201, r.text
    note = r.json()
    assert (note["kind"], note["direction"], note["meta"]["whisper"]) == ("note", "internal", True)

    # The assigned agent sees it live, marked as the supervisor's whisper.
    event = await console.until(
        lambda f: (
            f["type"] == "event"
            and f["event"]["type"] == "message.created"
            and f["event"]["payload"]["message_id"] == note["id"]
        )
    )
    payload = event["event"]["payload"]
    assert payload["whisper"] is True and payload["body"] == "Offer the refund, @ana"
    assert payload["author_id"] != ana and payload["kind"] == "note"
    # An ordinary note is not a whisper.
    plain = await sue.post(f"/api/v1/conversations/{conv}/notes", json={"body": "fyi"}, headers=csrf)
    assert plain.json()["meta"].get("whisper") is None

    # Nothing for the customer's channel: no outbox row, nothing sent.
    async with hub.db.session() as s:
        rows = (await s.exec(select(OutboxItem))).all()
    assert rows == []
    assert list(live.app.app.state.channels.get("loopback").sent) == []
    await console.ws.close()


async def test_only_supervisors_of_the_team_whisper(app: Any) -> None:
    t, other = await team(app.hub, "Support"), await team(app.hub, "Sales")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    await user(app.hub, "sam@example.com", role=Role.supervisor, team_ids=(other,))
    conv = (await inbound(app.client, "cust-1", "hi", team="Support"))["conversation_id"]
    await assign(app.hub, SYSTEM, conv, ana)
    a = app.new_client()
    ah = await login(a, "ana@example.com")
    r = await a.post(f"/api/v1/conversations/{conv}/whisper", json={"body": "x"}, headers=ah)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"
    s = app.new_client()
    sh = await login(s, "sam@example.com")
    r = await s.post(f"/api/v1/conversations/{conv}/whisper", json={"body": "x"}, headers=sh)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_team"
    await user(app.hub, "sue@example.com", role=Role.supervisor, team_ids=(t,))
    u = app.new_client()
    uh = await login(u, "sue@example.com")
    for body, code in (({"body": ""}, "validation_error"), ({"body": "x" * 70_000}, "validation_error")):
        r = await u.post(f"/api/v1/conversations/{conv}/whisper", json=body, headers=uh)
        assert r.status_code == 422 and r.json()["error"]["code"] == code
    r = await u.post(f"/api/v1/conversations/{conv}/whisper", json={"body": "   "}, headers=uh)
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_body"


async def test_waiting_since_the_first_unanswered_customer_message(app: Any, clock: Any) -> None:
    t = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    await user(app.hub, "sue@example.com", role=Role.supervisor, team_ids=(t,))
    first = await inbound(app.client, "cust-1", "hello?", team="Support")
    conv = first["conversation_id"]
    answered = (await inbound(app.client, "cust-2", "a question", team="Support"))["conversation_id"]
    queued = (await inbound(app.client, "cust-3", "still queued", team="Support"))["conversation_id"]
    await assign(app.hub, SYSTEM, conv, ana)
    await assign(app.hub, SYSTEM, answered, ana)
    actor = await _actor(app, ana)
    await reply(app.hub, actor, answered, "Here is the answer")
    s = app.new_client()
    await login(s, "sue@example.com")

    async def waiting() -> dict[int, str]:
        r = await s.get("/api/v1/live/awaiting-reply")
        assert r.status_code == 200, r.text
        return {i["conversation_id"]: i["since"] for i in r.json()["items"]}

    rows = await waiting()
    # Unanswered since the customer's first message; the answered one and the queued
    # one (the queue's own column counts that) are not listed.
    assert set(rows) == {conv}
    assert rows[conv].startswith("2026-01-05T09:00:00")

    clock.advance(60)
    await inbound(app.client, "cust-1", "anyone there?")  # still since the first message
    assert (await waiting())[conv].startswith("2026-01-05T09:00:00")
    clock.advance(60)
    await reply(app.hub, actor, conv, "Sorry for the wait")
    assert conv not in await waiting()
    clock.advance(30)
    await inbound(app.client, "cust-1", "thanks, one more thing")
    assert (await waiting())[conv].startswith("2026-01-05T09:02:30")
    # An internal note does not answer the customer; the other customer now waits too.
    await inbound(app.client, "cust-2", "it did not work")
    rows = await waiting()
    assert set(rows) == {conv, answered} and queued not in rows

    # An agent of another team sees none of it.
    await user(app.hub, "ben@example.com", team_ids=(await team(app.hub, "Sales"),))
    b = app.new_client()
    await login(b, "ben@example.com")
    assert (await b.get("/api/v1/live/awaiting-reply")).json()["items"] == []


async def _actor(app: Any, user_id: int) -> Any:
    from hub.models import User
    from hub.services.access import actor_for

    async with app.hub.db.session() as s:
        u = await s.get(User, user_id)
        assert u is not None
        return await actor_for(s, u)


def test_the_estimate_formula() -> None:
    assert estimate(0, None, 0, free=True) == 0.0  # someone has room and nobody waits
    assert estimate(3, 120.0, 2, free=False) == 4 * 120.0 / 2
    assert estimate(3, None, 2, free=False) is None  # no handle time known
    assert estimate(3, 120.0, 0, free=False) is None  # nobody logged in
    # The queue's figure: its longest channel with someone waiting; else the shortest.
    assert team_estimate({"sms": (2, 90.0), "email": (1, 600.0), "webchat": (0, 0.0)}) == 600.0
    assert team_estimate({"sms": (0, 30.0), "webchat": (0, 0.0)}) == 0.0
    assert team_estimate({"sms": (2, None)}) is None
    assert team_estimate({}) is None


async def test_estimated_wait_from_handle_times_and_staff(app: Any, clock: Any) -> None:
    t = await team(app.hub, "Support")
    empty = await team(app.hub, "Empty")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,), capacity={"loopback": 1})
    ben = await user(app.hub, "ben@example.com", team_ids=(t,), capacity={"loopback": 1})
    await user(app.hub, "sue@example.com", role=Role.supervisor, team_ids=(t, empty))
    s = app.new_client()
    await login(s, "sue@example.com")

    async def figure(name: str = "Support") -> Any:
        items = (await s.get("/api/v1/queues")).json()["items"]
        return next(q for q in items if q["team_name"] == name)["estimated_wait_seconds"]

    # Nobody logged in, nothing known: no estimate ("—" on the page).
    assert await figure() is None
    await set_presence(app.hub, SYSTEM, ana, "available")
    assert await figure() == 0  # room for a newcomer at once

    # Two handled conversations: 100 s and 300 s from assignment to resolution.
    for sender, seconds in (("c1", 100), ("c2", 300)):
        conv = (await inbound(app.client, sender, "hi", team="Support"))["conversation_id"]
        await assign(app.hub, SYSTEM, conv, ana)
        clock.advance(seconds)
        await resolve(app.hub, SYSTEM, conv)
    # Ana busy with one, Ben available but full: three more wait.
    busy = (await inbound(app.client, "c3", "hi", team="Support"))["conversation_id"]
    await assign(app.hub, SYSTEM, busy, ana)
    await set_presence(app.hub, SYSTEM, ben, "available")
    other = (await inbound(app.client, "c4", "hi", team="Support"))["conversation_id"]
    await assign(app.hub, SYSTEM, other, ben)
    for sender in ("c5", "c6", "c7"):
        await inbound(app.client, sender, "waiting", team="Support")
    # (3 waiting + 1) × AHT 200 s / 2 logged-in slots.
    assert await figure() == 400
    await set_presence(app.hub, SYSTEM, ben, "away")
    assert await figure() == 800  # one slot left
    assert await figure("Empty") is None
