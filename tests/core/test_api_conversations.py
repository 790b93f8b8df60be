"""The conversation lifecycle through the REST API."""

from __future__ import annotations

from typing import Any

from hub.models import Role
from tests.helpers import inbound, login, team, user


async def test_full_lifecycle_with_notes_transfer_resolve_reopen(app: Any) -> None:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,), name="Ana Lima")
    bob = await user(app.hub, "bob@example.com", team_ids=(tech,), name="Bob Stone")
    conv = (await inbound(app.client, "cust-9", "my bill is wrong", team="Billing"))["conversation_id"]
    c = app.new_client()
    csrf = await login(c, "ana@example.com")

    assert (
        await c.post(f"/api/v1/conversations/{conv}/assign", json={"user_id": ana}, headers=csrf)
    ).status_code == 200
    note = await c.post(
        f"/api/v1/conversations/{conv}/notes",
        json={"body": "@bob can you check the router too?"},
        headers=csrf,
    )
    assert (
        note.status_code == 201
        and note.json()["meta"]["mentions"] == [bob]
        and note.json()["direction"] == "internal"
    )
    reply = await c.post(
        f"/api/v1/conversations/{conv}/reply", json={"body": "Looking into it"}, headers=csrf
    )
    assert reply.status_code == 201 and reply.json()["delivery_status"] == "pending"

    tr = await c.post(
        f"/api/v1/conversations/{conv}/transfer", json={"team_id": tech, "note": "router issue"}, headers=csrf
    )
    assert tr.status_code == 200
    assert (tr.json()["team_id"], tr.json()["assignee_id"], tr.json()["status"]) == (tech, None, "queued")
    # Ana handed it off and is not in Tech: she no longer sees it.
    assert (await c.get(f"/api/v1/conversations/{conv}")).status_code == 403

    b = app.new_client()
    bcsrf = await login(b, "bob@example.com")
    assert (
        await b.post(f"/api/v1/conversations/{conv}/assign", json={"user_id": bob}, headers=bcsrf)
    ).status_code == 200
    msgs = (await b.get(f"/api/v1/conversations/{conv}/messages")).json()["items"]
    assert [m["kind"] for m in msgs] == ["text", "note", "text", "note"]
    assert msgs[-1]["meta"] == {"handoff": True}
    bad = await b.post(f"/api/v1/conversations/{conv}/resolve", json={"category": "rant"}, headers=bcsrf)
    assert bad.status_code == 422
    done = await b.post(
        f"/api/v1/conversations/{conv}/resolve", json={"category": "complaint"}, headers=bcsrf
    )
    assert (
        done.status_code == 200
        and done.json()["status"] == "resolved"
        and done.json()["category"] == "complaint"
    )
    closed = await b.post(f"/api/v1/conversations/{conv}/reply", json={"body": "one more"}, headers=bcsrf)
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "conversation_closed"
    again = await b.post(f"/api/v1/conversations/{conv}/reopen", headers=bcsrf)
    assert again.status_code == 200 and again.json()["status"] == "assigned"
    assert again.json()["category"] is None  # chosen again at the next resolution

    events = (await b.get(f"/api/v1/events?conversation_id={conv}")).json()["items"]
    types = [e["type"] for e in events]
    assert types[:2] == ["conversation.created", "message.received"]
    for t in (
        "conversation.assigned",
        "conversation.transferred",
        "conversation.resolved",
        "conversation.reopened",
    ):
        assert t in types
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


async def test_reopen_refused_while_another_conversation_is_open_on_the_thread(app: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    first = (await inbound(app.client, "cust-7", "a"))["conversation_id"]
    assert (await app.client.post(f"/api/v1/conversations/{first}/resolve", headers=csrf)).status_code == 200
    second = (await inbound(app.client, "cust-7", "b"))["conversation_id"]
    assert second != first
    r = await app.client.post(f"/api/v1/conversations/{first}/reopen", headers=csrf)
    assert r.status_code == 409 and r.json()["error"]["code"] == "thread_open"


async def test_list_filters_and_keyset_paging(app: Any) -> None:
    t = await team(app.hub, "Support")
    await user(app.hub, "root@example.com", role=Role.admin)
    await login(app.client, "root@example.com")
    ids = [
        (await inbound(app.client, f"cust-{i}", "hi", team="Support" if i % 2 else None))["conversation_id"]
        for i in range(7)
    ]
    page1 = (await app.client.get("/api/v1/conversations?limit=3")).json()
    page2 = (await app.client.get(f"/api/v1/conversations?limit=3&cursor={page1['next_cursor']}")).json()
    page3 = (await app.client.get(f"/api/v1/conversations?limit=3&cursor={page2['next_cursor']}")).json()
    seen = [c["id"] for p in (page1, page2, page3) for c in p["items"]]
    assert seen == sorted(ids, reverse=True) and page3["next_cursor"] is None
    in_team = (await app.client.get(f"/api/v1/conversations?team_id={t}&status=queued")).json()["items"]
    assert sorted(c["id"] for c in in_team) == [ids[i] for i in (1, 3, 5)]


async def test_contacts_profile_identities_and_edit(app: Any) -> None:
    t = await team(app.hub, "Support")
    await user(app.hub, "ana@example.com", team_ids=(t,))
    r = await inbound(app.client, "cust-x", "hi", team="Support", sender_name="Noor")
    c = app.new_client()
    csrf = await login(c, "ana@example.com")
    prof = (await c.get(f"/api/v1/contacts/{r['contact_id']}")).json()
    assert prof["name"] == "Noor" and prof["identities"][0]["address"] == "cust-x"
    edit = await c.patch(
        f"/api/v1/contacts/{r['contact_id']}",
        json={"vip": True, "tags": ["gold", " gold", "ar"]},
        headers=csrf,
    )
    assert edit.status_code == 200 and edit.json()["vip"] is True and edit.json()["tags"] == ["ar", "gold"]
    await app.hub.projections.catch_up()  # the search index follows the log (docs/crm.md)
    found = (await c.get("/api/v1/contacts?q=noo")).json()["items"]
    assert [x["id"] for x in found] == [r["contact_id"]]
    convs = (await c.get(f"/api/v1/contacts/{r['contact_id']}/conversations")).json()["items"]
    assert [x["id"] for x in convs] == [r["conversation_id"]]


async def test_presence_self_and_supervisor(app: Any) -> None:
    t = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    bob = await user(app.hub, "bob@example.com", team_ids=(t,))
    await user(app.hub, "sup@example.com", role=Role.supervisor, team_ids=(t,))
    a = app.new_client()
    csrf = await login(a, "ana@example.com")
    r = await a.put(f"/api/v1/users/{ana}/presence", json={"presence": "available"}, headers=csrf)
    assert r.status_code == 200 and r.json()["presence"] == "available"
    assert (
        await a.put(f"/api/v1/users/{bob}/presence", json={"presence": "away"}, headers=csrf)
    ).status_code == 403
    bad = await a.put(f"/api/v1/users/{ana}/presence", json={"presence": "sleeping"}, headers=csrf)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "body.presence"
    s = app.new_client()
    scsrf = await login(s, "sup@example.com")
    assert (await s.put(f"/api/v1/users/{bob}/presence", json={"presence": "away"}, headers=scsrf)).json()[
        "presence"
    ] == "away"


async def test_admin_manages_users_and_teams(app: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    t = (
        await app.client.post(
            "/api/v1/teams", json={"name": "VIP desk", "routing": {"strategy": "round_robin"}}, headers=csrf
        )
    ).json()
    created = await app.client.post(
        "/api/v1/users",
        json={
            "email": "New.Agent@Example.com",
            "name": "New Agent",
            "team_ids": [t["id"]],
            "skills": {"arabic": 5},
            "capacity": {"voice": 1, "webchat": 4},
            "language": "ar",
        },
        headers=csrf,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["generated_password"] and len(body["generated_password"]) >= 10
    assert body["user"]["email"] == "new.agent@example.com" and body["user"]["team_ids"] == [t["id"]]
    dup = await app.client.post(
        "/api/v1/users", json={"email": "new.agent@example.com", "name": "x"}, headers=csrf
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "email_taken"
    uid = body["user"]["id"]
    patched = await app.client.patch(f"/api/v1/users/{uid}", json={"capacity": {"email": -1}}, headers=csrf)
    assert patched.status_code == 422 and patched.json()["error"]["code"] == "bad_capacity"
    members = await app.client.put(f"/api/v1/teams/{t['id']}/members", json={"user_ids": []}, headers=csrf)
    assert members.json()["member_ids"] == []


async def test_team_settings_are_validated_when_saved(app: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    r = await app.client.post(
        "/api/v1/teams", json={"name": "X", "routing": {"stratgy": "round_robin"}}, headers=csrf
    )
    assert r.status_code == 422 and "stratgy" in r.json()["error"]["message"]
    r = await app.client.post(
        "/api/v1/teams", json={"name": "X", "business_hours": {"timezone": "Mars/Olympus"}}, headers=csrf
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_team_settings"
    r = await app.client.post(
        "/api/v1/teams",
        json={
            "name": "X",
            "routing": {"strategy": "round_robin"},
            "business_hours": {"timezone": "Asia/Riyadh", "days": {"sun": [["09:00", "17:00"]]}},
        },
        headers=csrf,
    )
    assert r.status_code == 201


async def test_teams_are_deleted_only_without_conversations(app: Any) -> None:
    used, empty = await team(app.hub, "Used"), await team(app.hub, "Empty")
    await user(app.hub, "root@example.com", role=Role.admin, team_ids=(empty,))
    csrf = await login(app.client, "root@example.com")
    await inbound(app.client, "cust-1", "hi", team="Used")
    r = await app.client.delete(f"/api/v1/teams/{used}", headers=csrf)
    assert r.status_code == 409 and r.json()["error"]["code"] == "team_in_use"
    assert (await app.client.delete(f"/api/v1/teams/{empty}", headers=csrf)).status_code == 204
    assert [t["name"] for t in (await app.client.get("/api/v1/teams")).json()["items"]] == ["Used"]
