"""The rules API (SQLite and PostgreSQL): admin only; field errors name the field;
reorder, patch, delete; the dry run of an unsaved body; a rule's firings."""

from __future__ import annotations

from typing import Any

from hub.models import Role
from tests.core.test_rules import settle
from tests.helpers import inbound, login, team, user


async def test_rules_api(app: Any) -> None:
    hub = app.hub
    billing = await team(hub, "Billing")
    await user(hub, "ana@example.com", team_ids=(billing,))
    await user(hub, "root@example.com", role=Role.admin)
    agent, ah = app.client, await login(app.client, "ana@example.com")
    root = app.new_client()
    rh = await login(root, "root@example.com")

    res = await agent.get("/api/v1/rules")
    assert res.status_code == 403 and res.json()["error"]["code"] == "role_required"
    good = {
        "name": "Urgent",
        "trigger": "message_received",
        "conditions": [{"field": "text", "op": "contains_any", "values": ["urgent"]}],
        "actions": [{"type": "set_priority", "priority": 30}],
    }
    res = await agent.post("/api/v1/rules", json=good, headers=ah)
    assert res.status_code == 403

    bad = {
        "name": "",
        "trigger": "waiting",
        "conditions": [
            {"field": "text", "op": "sounds_like", "values": ["x"]},
            {"field": "text", "op": "matches", "value": "(unclosed"},
            {"field": "team", "op": "in", "values": [9999]},
        ],
        "actions": [{"type": "set_team", "team_id": 9999}, {"type": "explode"}],
    }
    res = await root.post("/api/v1/rules", json=bad, headers=rh)
    assert res.status_code == 422 and res.json()["error"]["code"] == "validation_error"
    fields = {f["field"]: f["code"] for f in res.json()["error"]["fields"]}
    assert fields == {
        "name": "required",
        "trigger_params.minutes": "out_of_range",
        "conditions.0.op": "not_valid",
        "conditions.1.value": "not_valid",
        "actions.1.type": "not_valid",
    }
    res = await root.post(
        "/api/v1/rules", json={**good, "actions": [{"type": "set_team", "team_id": 9999}]}, headers=rh
    )
    assert [f["field"] for f in res.json()["error"]["fields"]] == ["actions.0.team_id"]

    first = (await root.post("/api/v1/rules", json=good, headers=rh)).json()
    second = (await root.post("/api/v1/rules", json={**good, "name": "Second"}, headers=rh)).json()
    assert (first["position"], second["position"]) == (1, 2)
    res = await root.put("/api/v1/rules/order", json={"ids": [second["id"], first["id"]]}, headers=rh)
    assert [r["name"] for r in res.json()["items"]] == ["Second", "Urgent"]
    res = await root.put("/api/v1/rules/order", json={"ids": [second["id"]]}, headers=rh)
    assert res.status_code == 422
    res = await root.patch(f"/api/v1/rules/{second['id']}", json={"active": False}, headers=rh)
    assert res.status_code == 200 and res.json()["active"] is False and res.json()["name"] == "Second"

    cid = (await inbound(app.client, "cust-1", "URGENT: help", team="Billing"))["conversation_id"]
    await inbound(app.client, "cust-2", "hello", team="Billing")
    await settle(hub)  # "Urgent" has set priority 30 on the first one
    try_it = {**good, "name": "Try", "actions": [{"type": "set_priority", "priority": 35}]}
    res = await root.post("/api/v1/rules/dry-run", json={"rule": try_it}, headers=rh)
    assert res.status_code == 200
    assert res.json() == {
        "looked_at": 2,
        "matched": [
            {
                "conversation_id": cid,
                "channel": "loopback",
                "status": "queued",
                "actions": [{"type": "set_priority", "priority": 35}],
            }
        ],
    }
    firings = (await root.get(f"/api/v1/rules/{first['id']}/firings")).json()["items"]
    assert [(f["conversation_id"], f["outcome"]) for f in firings] == [(cid, "fired")]
    assert (await root.get(f"/api/v1/rules/{second['id']}/firings")).json()["items"] == []  # inactive

    assert (await root.delete(f"/api/v1/rules/{first['id']}", headers=rh)).status_code == 204
    res = await root.get(f"/api/v1/rules/{first['id']}")
    assert res.status_code == 404 and res.json()["error"]["code"] == "rule_not_found"
