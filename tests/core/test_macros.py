"""Macros (SQLite and PostgreSQL): personal and shared, who sees and changes which, and
applying one does each action as the agent — with the agent's own rights."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from hub.models import CannedResponse, Conversation, Label, Message, Role
from hub.services import SYSTEM
from hub.services.conversations import assign
from hub.services.uow import unit_of_work
from tests.helpers import inbound, login, team, user


async def test_macros(app: Any) -> None:
    hub = app.hub
    billing, tech = await team(hub, "Billing"), await team(hub, "Tech")
    ana = await user(hub, "ana@example.com", team_ids=(billing,))
    await user(hub, "ben@example.com", team_ids=(billing,))
    await user(hub, "tom@example.com", team_ids=(tech,))
    await user(hub, "sue@example.com", role=Role.supervisor, team_ids=(billing,))
    async with unit_of_work(hub) as uow:
        uow.session.add(Label(key="billing", name_en="Billing", name_ar="فواتير"))
        canned = CannedResponse(
            shortcut="thanks", title="Thanks", body='Thank you, {{contact.name | "friend"}}!', language="en"
        )
        uow.session.add(canned)
    clients = {}
    for name in ("ana", "ben", "tom", "sue"):
        c = app.new_client()
        clients[name] = (c, await login(c, f"{name}@example.com"))
    (a, ah), (b, bh), (t, _th), (s, sh) = (clients[n] for n in ("ana", "ben", "tom", "sue"))

    bundle = [
        {"type": "add_labels", "labels": ["billing"]},
        {"type": "canned_reply", "canned_id": canned.id},
        {"type": "resolve", "category": "inquiry"},
    ]
    res = await a.post("/api/v1/macros", json={"name": "Done", "actions": bundle}, headers=ah)
    assert res.status_code == 201, res.text
    mine = res.json()
    assert (mine["scope"], mine["owner_id"], mine["editable"]) == ("personal", ana, True)
    res = await a.post(
        "/api/v1/macros", json={"name": "Shared", "scope": "everyone", "actions": bundle}, headers=ah
    )
    assert res.status_code == 403 and res.json()["error"]["code"] == "role_required"
    res = await a.post(
        "/api/v1/macros", json={"name": "", "actions": [{"type": "assign", "user_id": 1}]}, headers=ah
    )
    assert {f["field"] for f in res.json()["error"]["fields"]} == {"name", "actions.0.type"}
    res = await s.post(
        "/api/v1/macros",
        json={"name": "Tech only", "scope": "team", "team_id": tech, "actions": bundle},
        headers=sh,
    )
    assert res.status_code == 422 and res.json()["error"]["fields"][0]["code"] == "not_your_team"
    team_macro = (
        await s.post(
            "/api/v1/macros",
            json={
                "name": "Billing",
                "scope": "team",
                "team_id": billing,
                "actions": [{"type": "set_priority", "priority": 20}],
            },
            headers=sh,
        )
    ).json()

    assert {m["name"] for m in (await a.get("/api/v1/macros")).json()["items"]} == {"Done", "Billing"}
    assert {m["name"] for m in (await b.get("/api/v1/macros")).json()["items"]} == {"Billing"}
    assert (await t.get("/api/v1/macros")).json()["items"] == []
    res = await b.patch(f"/api/v1/macros/{team_macro['id']}", json={"name": "Mine now"}, headers=bh)
    assert res.status_code == 403 and res.json()["error"]["code"] == "not_your_macro"

    cid = (await inbound(app.client, "cust-1", "my bill", team="Billing"))["conversation_id"]
    # Ben may not use Ana's personal macro; nor apply anything to Ana's conversation.
    await assign(hub, SYSTEM, cid, ana)
    res = await b.post(f"/api/v1/conversations/{cid}/macros/{mine['id']}/apply", headers=bh)
    assert res.status_code == 404 and res.json()["error"]["code"] == "macro_not_found"
    # An agent may not set a priority: the team macro is refused as a whole (nothing done).
    res = await a.post(f"/api/v1/conversations/{cid}/macros/{team_macro['id']}/apply", headers=ah)
    assert res.status_code == 403 and res.json()["error"]["code"] == "role_required"

    res = await a.post(f"/api/v1/conversations/{cid}/macros/{mine['id']}/apply", headers=ah)
    assert res.status_code == 200, res.text
    assert [(r["type"], r["ok"]) for r in res.json()["results"]] == [
        ("add_labels", True),
        ("canned_reply", True),
        ("resolve", True),
    ]
    async with hub.db.session() as db:
        conv = await db.get(Conversation, cid)
        sent = (
            await db.exec(
                select(Message).where(Message.conversation_id == cid, Message.direction == "outbound")
            )
        ).all()
    assert (
        conv is not None
        and conv.tags == ["billing"]
        and conv.status == "resolved"
        and conv.category == "inquiry"
    )
    assert [(m.body, m.author_id) for m in sent] == [("Thank you, friend!", ana)]
    # Again on the resolved conversation: the label is there already, the reply is
    # refused — and the macro stops there, saying which step did (nothing resolved twice).
    res = await a.post(f"/api/v1/conversations/{cid}/macros/{mine['id']}/apply", headers=ah)
    results = res.json()["results"]
    assert [(r["type"], r["ok"]) for r in results] == [("add_labels", True), ("canned_reply", False)]
    assert results[-1]["error"] == "conversation_closed"

    assert (await a.delete(f"/api/v1/macros/{mine['id']}", headers=ah)).status_code == 204
    assert (await s.delete(f"/api/v1/macros/{team_macro['id']}", headers=sh)).status_code == 204
