"""Conversation labels: the admin list, rights, validation, idempotency, the event and
the conversation list's label filter (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from hub.models import Role
from hub.services import SYSTEM
from hub.services.conversations import assign
from hub.services.labels import MAX_PER_CONVERSATION, add_to_conversation
from tests.helpers import inbound, login, team, user


async def _world(app: Any) -> dict[str, Any]:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,))
    await user(app.hub, "ben@example.com", team_ids=(billing,))  # same team, not handling
    await user(app.hub, "sue@example.com", role=Role.supervisor, team_ids=(billing,))
    await user(app.hub, "sam@example.com", role=Role.supervisor, team_ids=(tech,))
    await user(app.hub, "root@example.com", role=Role.admin)
    conv = (await inbound(app.client, "cust-1", "my bill", team="Billing"))["conversation_id"]
    other = (await inbound(app.client, "cust-2", "another bill", team="Billing"))["conversation_id"]
    await assign(app.hub, SYSTEM, conv, ana)
    await assign(app.hub, SYSTEM, other, ana)
    clients = {}
    for name in ("ana", "ben", "sue", "sam", "root"):
        c = app.new_client()
        clients[name] = (c, await login(c, f"{name}@example.com"))
    return {"conv": conv, "other": other, "c": clients}


async def test_admin_manages_the_list_and_everyone_reads_it(app: Any) -> None:
    w = await _world(app)
    root, rh = w["c"]["root"]
    ana, ah = w["c"]["ana"]
    listed = (await ana.get("/api/v1/labels")).json()["items"]
    assert [x["key"] for x in listed] == ["callback"]  # seeded for the voice channel

    new = {
        "key": "billing-dispute",
        "name_en": "Billing dispute",
        "name_ar": "نزاع فوترة",
        "color": "#AA0011",
    }
    denied = await ana.post("/api/v1/labels", json=new, headers=ah)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "role_required"
    sue, sh = w["c"]["sue"]
    assert (await sue.post("/api/v1/labels", json=new, headers=sh)).json()["error"]["code"] == "role_required"

    made = await root.post("/api/v1/labels", json=new, headers=rh)
    assert made.status_code == 201, made.text
    assert made.json()["color"] == "#aa0011" and made.json()["position"] == 1 and made.json()["active"]
    again = await root.post("/api/v1/labels", json=new, headers=rh)
    assert again.status_code == 409 and again.json()["error"]["code"] == "label_exists"

    for body, code, field in (
        ({**new, "key": "Has Space"}, "bad_label_key", "key"),
        ({**new, "key": "x" * 41}, "bad_label_key", "key"),
        ({**new, "key": "ok", "color": "red"}, "bad_label_color", "color"),
        ({**new, "key": "ok", "name_en": "   "}, "bad_label_name", "name_en"),
        ({**new, "key": "ok", "name_ar": "ع" * 61}, "bad_label_name", "name_ar"),
    ):
        res = await root.post("/api/v1/labels", json=body, headers=rh)
        assert res.status_code == 422 and res.json()["error"]["code"] == code, (body, res.text)
        assert [f["field"] for f in res.json()["error"]["fields"]] == [field]

    renamed = await root.patch(
        "/api/v1/labels/billing-dispute",
        json={"name_ar": "خلاف على الفاتورة", "color": "#00ff00", "position": -1},
        headers=rh,
    )
    assert renamed.status_code == 200 and renamed.json()["name_ar"] == "خلاف على الفاتورة"
    assert [x["key"] for x in (await ana.get("/api/v1/labels")).json()["items"]] == [
        "billing-dispute",
        "callback",
    ]
    nulled = await root.patch("/api/v1/labels/billing-dispute", json={"name_en": None}, headers=rh)
    assert nulled.status_code == 422
    denied = await ana.patch("/api/v1/labels/billing-dispute", json={"color": "#000000"}, headers=ah)
    assert denied.status_code == 403
    missing = await root.patch("/api/v1/labels/nope", json={"color": "#000000"}, headers=rh)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "label_not_found"

    off = await root.patch("/api/v1/labels/billing-dispute", json={"active": False}, headers=rh)
    assert off.status_code == 200 and not off.json()["active"]
    active = (await ana.get("/api/v1/labels", params={"active": "true"})).json()["items"]
    assert [x["key"] for x in active] == ["callback"]

    assert (await ana.delete("/api/v1/labels/billing-dispute", headers=ah)).status_code == 403
    assert (await root.delete("/api/v1/labels/billing-dispute", headers=rh)).status_code == 204
    gone = await root.delete("/api/v1/labels/billing-dispute", headers=rh)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "label_not_found"


async def test_labels_on_a_conversation_rights_idempotency_event_and_filter(app: Any) -> None:
    w = await _world(app)
    conv, other = w["conv"], w["other"]
    root, rh = w["c"]["root"]
    await root.post(
        "/api/v1/labels",
        json={"key": "vip", "name_en": "VIP", "name_ar": "مهم", "color": "#123456"},
        headers=rh,
    )
    await root.post(
        "/api/v1/labels",
        json={"key": "old", "name_en": "Old", "name_ar": "قديم", "color": "#123456", "active": False},
        headers=rh,
    )
    ana, ah = w["c"]["ana"]
    url = f"/api/v1/conversations/{conv}/labels"

    # Not handling it (same team), supervisor of another team: refused.
    ben, bh = w["c"]["ben"]
    res = await ben.put(f"{url}/vip", headers=bh)
    assert res.status_code == 403 and res.json()["error"]["code"] == "not_assignee"
    sam, smh = w["c"]["sam"]
    res = await sam.put(f"{url}/vip", headers=smh)
    assert res.status_code == 403 and res.json()["error"]["code"] == "not_your_team"
    assert (await sam.delete(f"{url}/vip", headers=smh)).json()["error"]["code"] == "not_your_team"

    before = (await ana.get(f"/api/v1/events?conversation_id={conv}")).json()["items"]
    res = await ana.put(f"{url}/vip", headers=ah)
    assert res.status_code == 200 and res.json()["tags"] == ["vip"], res.text
    assert (await ana.put(f"{url}/vip", headers=ah)).json()["tags"] == ["vip"]  # idempotent
    events = (await ana.get(f"/api/v1/events?conversation_id={conv}")).json()["items"][len(before) :]
    # (Routing may offer it meanwhile: only the conversation's own changes count here.)
    changes = [
        (e["type"], e["payload"].get("reason")) for e in events if e["type"].startswith("conversation.")
    ]
    assert changes == [("conversation.updated", "labels")], events

    # The supervisor of its team may too; unknown, inactive and malformed keys are refused.
    sue, sh = w["c"]["sue"]
    assert (await sue.put(f"{url}/callback", headers=sh)).json()["tags"] == ["callback", "vip"]
    for key, status, code in (
        ("nope", 404, "label_not_found"),
        ("old", 409, "label_inactive"),
        ("Bad%20Key", 422, "bad_label_key"),
    ):
        res = await ana.put(f"{url}/{key}", headers=ah)
        assert res.status_code == status and res.json()["error"]["code"] == code, (key, res.text)
    assert (await ana.put("/api/v1/conversations/999999/labels/vip", headers=ah)).status_code == 404

    # The list filter, within what the reader may see.
    await ana.put(f"/api/v1/conversations/{other}/labels/callback", headers=ah)
    found = (await ana.get("/api/v1/conversations", params={"label": "vip"})).json()["items"]
    assert [c["id"] for c in found] == [conv]
    found = (await ana.get("/api/v1/conversations", params={"label": "callback"})).json()["items"]
    assert sorted(c["id"] for c in found) == sorted([conv, other])
    assert (await sam.get("/api/v1/conversations", params={"label": "vip"})).json()["items"] == []
    assert (await ana.get("/api/v1/conversations", params={"label": "vi"})).json()["items"] == []

    # Removing: idempotent, one event; any tag the conversation carries may go.
    before = (await ana.get(f"/api/v1/events?conversation_id={conv}")).json()["items"]
    assert (await ana.delete(f"{url}/vip", headers=ah)).json()["tags"] == ["callback"]
    assert (await ana.delete(f"{url}/vip", headers=ah)).json()["tags"] == ["callback"]
    events = (await ana.get(f"/api/v1/events?conversation_id={conv}")).json()["items"][len(before) :]
    # (Routing may offer it meanwhile: only the conversation's own changes count here.)
    changes = [
        (e["type"], e["payload"].get("reason")) for e in events if e["type"].startswith("conversation.")
    ]
    assert changes == [("conversation.updated", "labels")], events
    assert (await ana.get("/api/v1/conversations", params={"label": "vip"})).json()["items"] == []


async def test_count_is_bounded_and_system_adds_any_tag(app: Any) -> None:
    w = await _world(app)
    conv = w["conv"]
    # The system (e.g. a channel) may tag with keys that are not in the list.
    for i in range(MAX_PER_CONVERSATION - 1):
        await add_to_conversation(app.hub, SYSTEM, conv, f"sys-{i}")
    ana, ah = w["c"]["ana"]
    assert (await ana.put(f"/api/v1/conversations/{conv}/labels/callback", headers=ah)).status_code == 200
    res = await ana.put(f"/api/v1/conversations/{conv}/labels/callback", headers=ah)
    assert res.status_code == 200  # already there: no count check
    root, rh = w["c"]["root"]
    await root.post(
        "/api/v1/labels",
        json={"key": "vip", "name_en": "VIP", "name_ar": "مهم", "color": "#123456"},
        headers=rh,
    )
    res = await ana.put(f"/api/v1/conversations/{conv}/labels/vip", headers=ah)
    assert res.status_code == 409 and res.json()["error"]["code"] == "too_many_labels"
    assert len(res.json()["error"]["message"]) > 0
