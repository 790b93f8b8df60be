"""Shift hand-over (issue 18) on SQLite and PostgreSQL: an agent going offline leaves a
note and sends their open conversations to the team queue or to a colleague through
the conversation services (the note in each thread), then is offline; a refused
hand-over (a colleague outside the team, someone else's conversation) moves nothing."""

from __future__ import annotations

from typing import Any

from hub.models import Conversation, User
from hub.services import SYSTEM
from hub.services.conversations import assign
from tests.helpers import inbound, login, team, user


async def _setup(app: Any) -> dict[str, Any]:
    hub = app.hub
    billing, tech = await team(hub, "Billing"), await team(hub, "Tech")
    w = {
        "billing": billing,
        "ana": await user(hub, "ana@example.com", team_ids=(billing,)),
        "ben": await user(hub, "ben@example.com", team_ids=(billing,)),
        "tom": await user(hub, "tom@example.com", team_ids=(tech,)),
    }
    w["convs"] = []
    for n in range(3):
        cid = (await inbound(app.client, f"cust-{n}", "hello", team="Billing"))["conversation_id"]
        await assign(hub, SYSTEM, cid, w["ana"] if n < 2 else w["ben"])
        w["convs"].append(cid)
    c = app.new_client()
    w["ana_client"], w["h"] = c, await login(c, "ana@example.com")
    r = await c.put(f"/api/v1/users/{w['ana']}/presence", json={"presence": "available"}, headers=w["h"])
    assert r.status_code == 200, r.text
    return w


async def _conv(app: Any, cid: int) -> Conversation:
    async with app.hub.db.session() as s:
        conv = await s.get(Conversation, cid)
        assert conv is not None
        return conv


async def _presence(app: Any, uid: int) -> str:
    async with app.hub.db.session() as s:
        u = await s.get(User, uid)
        assert u is not None
        return str(u.presence)


async def test_hand_over_to_the_queue_with_a_note_then_offline(app: Any) -> None:
    w = await _setup(app)
    c, h = w["ana_client"], w["h"]
    mine = w["convs"][:2]
    # Refused as a whole: Ben's conversation is not Ana's to hand over; Tom is not in Billing.
    r = await c.post("/api/v1/handover", json={"to": "queue", "conversation_ids": w["convs"]}, headers=h)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_assignee"), r.text
    r = await c.post("/api/v1/handover", json={"to": w["tom"], "conversation_ids": mine}, headers=h)
    assert r.status_code == 422 and {f["code"] for f in r.json()["error"]["fields"]} == {"agent_not_in_team"}
    r = await c.post("/api/v1/handover", json={"to": "queue", "conversation_ids": []}, headers=h)
    assert r.status_code == 422
    assert [(await _conv(app, cid)).assignee_id for cid in mine] == [w["ana"], w["ana"]]
    assert await _presence(app, w["ana"]) == "available"

    note = "Refund approved, <b>waiting</b> for the bank"
    r = await c.post(
        "/api/v1/handover", json={"note": note, "to": "queue", "conversation_ids": mine}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"moved": mine, "failed": [], "presence": "offline"}
    for cid in mine:
        conv = await _conv(app, cid)
        assert (conv.status, conv.assignee_id, conv.team_id) == ("queued", None, w["billing"])
        r = await c.get(f"/api/v1/conversations/{cid}/messages")
        notes = [m for m in r.json()["items"] if m["kind"] == "note"]
        assert [(n["body"], n["meta"]) for n in notes] == [(note, {"handoff": True})]
    assert await _presence(app, w["ana"]) == "offline"


async def test_hand_over_to_a_colleague(app: Any) -> None:
    w = await _setup(app)
    c, h = w["ana_client"], w["h"]
    mine = w["convs"][:2]
    r = await c.post("/api/v1/handover", json={"to": w["ben"], "conversation_ids": mine}, headers=h)
    assert r.status_code == 200 and r.json()["moved"] == mine, r.text
    assert [(await _conv(app, cid)).assignee_id for cid in mine] == [w["ben"], w["ben"]]
    assert await _presence(app, w["ana"]) == "offline"
    r = await c.post("/api/v1/handover", json={"to": w["ana"], "conversation_ids": mine}, headers=h)
    assert r.status_code == 422  # not to oneself
