"""The audit log (admins): who changed what and when, before and after, filtered and
paged; the first-run checklist; search and paging of the users and canned lists
(issue 16; SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.models import Role
from hub.services import SYSTEM
from hub.services.canned import create as create_canned
from tests.channels.webchat_support import make_channel
from tests.helpers import login, team, user


async def _admin(app: Any) -> tuple[Any, dict[str, str], int]:
    root = await user(app.hub, "root@example.com", role=Role.admin, name="Rita Root")
    c = app.new_client()
    return c, await login(c, "root@example.com"), root


async def test_admin_changes_are_listed_with_before_and_after(app: Any, clock: Any) -> None:
    c, h, root = await _admin(app)
    support = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(support,), name="Ana")
    clock.advance(3600)
    r = await c.patch(
        f"/api/v1/users/{ana}",
        json={"name": "Ana Haddad", "role": "supervisor", "password": "a much longer passphrase 9"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    r = await c.patch(f"/api/v1/teams/{support}", json={"description": "Front line"}, headers=h)
    assert r.status_code == 200, r.text
    made = await c.post("/api/v1/teams", json={"name": "Sales"}, headers=h)
    sales = made.json()["id"]
    await c.put(f"/api/v1/teams/{sales}/members", json={"user_ids": [ana]}, headers=h)

    page = (await c.get("/api/v1/audit", params={"actor_id": root})).json()
    kinds = [(e["type"], e["payload"].get("reason")) for e in page["items"]]
    # Newest first; only what Rita did (the setup by the hub itself is not hers).
    assert kinds[:4] == [
        ("user.updated", "members"),
        ("team.updated", "members"),
        ("team.updated", "created"),
        ("team.updated", "updated"),
    ]
    assert all(e["actor_id"] == root and e["actor_name"] == "Rita Root" for e in page["items"])
    edit = next(
        e for e in page["items"] if e["type"] == "user.updated" and e["payload"]["reason"] == "updated"
    )
    assert edit["user_id"] == ana
    assert edit["changes"]["name"] == ["Ana", "Ana Haddad"]
    assert edit["changes"]["role"] == ["agent", "supervisor"]
    assert edit["changes"]["password"] == ["***", "***"]  # never the secret
    assert "passphrase" not in str(edit)
    team_edit = next(
        e for e in page["items"] if e["type"] == "team.updated" and e["payload"]["reason"] == "updated"
    )
    assert team_edit["changes"] == {"description": ["", "Front line"]}
    members = next(
        e for e in page["items"] if e["payload"].get("reason") == "members" and e["type"] == "team.updated"
    )
    assert members["changes"] == {"members": [[], [ana]]} and members["team_id"] == sales

    # Filters: kind, entity, time.
    teams_only = (await c.get("/api/v1/audit", params={"kind": "team"})).json()["items"]
    assert teams_only and {e["type"] for e in teams_only} == {"team.updated"}
    exact = (
        await c.get("/api/v1/audit", params={"kind": "user.updated", "entity": "user", "entity_id": ana})
    ).json()
    assert exact["items"] and all(e["user_id"] == ana for e in exact["items"])
    # Ana's creation happened at 09:00, the edits an hour later.
    early = (
        await c.get(
            "/api/v1/audit", params={"entity": "user", "entity_id": ana, "until": "2026-01-05T09:30:00Z"}
        )
    ).json()["items"]
    assert [e["payload"]["reason"] for e in early] == ["created"]
    assert early[0]["changes"]["name"] == [None, "Ana"] and early[0]["actor_id"] is None
    late = (await c.get("/api/v1/audit", params={"since": "2026-01-05T09:30:00Z", "kind": "user"})).json()[
        "items"
    ]
    assert {e["payload"]["reason"] for e in late} == {"updated", "members"}

    # Paging: two at a time, no entry twice, all of them in the end.
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await c.get("/api/v1/audit", params=params)).json()
        assert len(body["items"]) <= 2
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    everything = (await c.get("/api/v1/audit", params={"limit": 200})).json()["items"]
    assert seen == [e["id"] for e in everything] and seen == sorted(seen, reverse=True)


async def test_the_audit_log_is_for_admins_and_checks_its_filters(app: Any) -> None:
    c, _h, _ = await _admin(app)
    support = await team(app.hub, "Support")
    await user(app.hub, "sue@example.com", role=Role.supervisor, team_ids=(support,))
    await user(app.hub, "ana@example.com", team_ids=(support,))
    for email in ("sue@example.com", "ana@example.com"):
        other = app.new_client()
        await login(other, email)
        r = await other.get("/api/v1/audit")
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"
    r = await c.get(
        "/api/v1/audit", params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_audit_range"
    for params in (
        {"kind": "Robert'); DROP TABLE"},
        {"kind": "x" * 65},
        {"entity": "contact", "entity_id": 1},
        {"limit": 1000},
        {"since": "notadate"},
        {"cursor": 2**40},
    ):
        r = await c.get("/api/v1/audit", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", params


async def test_the_checklist_of_an_empty_hub(app: Any) -> None:
    c, h, _ = await _admin(app)
    first = (await c.get("/api/v1/setup/checklist")).json()
    assert [(s["key"], s["done"]) for s in first["steps"]] == [
        ("team", False),
        ("agents", False),
        ("channel", False),  # the loopback channel is for tests and demos
    ]
    assert first["complete"] is False and first["channels"] == []
    await c.post("/api/v1/teams", json={"name": "Support"}, headers=h)
    await c.post("/api/v1/users", json={"email": "ana@example.com", "name": "Ana"}, headers=h)
    now = (await c.get("/api/v1/setup/checklist")).json()
    assert [(s["key"], s["done"], s["count"]) for s in now["steps"]] == [
        ("team", True, 1),
        ("agents", True, 1),
        ("channel", False, 0),
    ]
    await user(app.hub, "ana2@example.com")
    other = app.new_client()
    await login(other, "ana2@example.com")
    r = await other.get("/api/v1/setup/checklist")
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"


@pytest.mark.parametrize("extra_channels", [[make_channel()]])
async def test_a_connected_channel_ticks_the_last_step(app: Any, extra_channels: Any) -> None:
    c, _h, _ = await _admin(app)
    await team(app.hub, "Support")
    await user(app.hub, "ana@example.com")
    body = (await c.get("/api/v1/setup/checklist")).json()
    assert body["complete"] is True and body["channels"] == ["webchat"]


async def test_users_and_canned_lists_search_and_page(app: Any) -> None:
    c, _h, _ = await _admin(app)
    support = await team(app.hub, "Support")
    for i in range(7):
        await user(app.hub, f"agent{i}@example.com", name=f"Agent {i:02d}", team_ids=(support,))
    await user(app.hub, "layla@shop.example", name="Layla Haddad")

    everyone = (await c.get("/api/v1/users")).json()
    assert len(everyone["items"]) == 9 and everyone["next_cursor"] is None  # the directory: all
    page1 = (await c.get("/api/v1/users", params={"q": "agent", "limit": 3})).json()
    assert [u["name"] for u in page1["items"]] == ["Agent 00", "Agent 01", "Agent 02"]
    assert page1["items"][0]["team_ids"] == [support]
    names = [u["name"] for u in page1["items"]]
    cursor = page1["next_cursor"]
    while cursor is not None:
        more = (await c.get("/api/v1/users", params={"q": "agent", "limit": 3, "cursor": cursor})).json()
        names += [u["name"] for u in more["items"]]
        cursor = more["next_cursor"]
    assert names == [f"Agent {i:02d}" for i in range(7)]
    # Name or email, any case, every word; LIKE wildcards are plain characters.
    assert [
        u["name"] for u in (await c.get("/api/v1/users", params={"q": "SHOP haddad"})).json()["items"]
    ] == ["Layla Haddad"]
    assert (await c.get("/api/v1/users", params={"q": "%"})).json()["items"] == []
    for params in ({"q": "x" * 101}, {"limit": 0}, {"limit": 201}, {"cursor": -1}):
        r = await c.get("/api/v1/users", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", params

    for i in range(5):
        await create_canned(
            app.hub,
            SYSTEM,
            {"shortcut": f"ship{i}", "title": f"Shipping {i}", "body": "It ships.", "language": "en"},
        )
    await create_canned(
        app.hub, SYSTEM, {"shortcut": "refund", "title": "Refunds", "body": "5 days.", "language": "en"}
    )
    got: list[str] = []
    cursor = 0
    while cursor is not None:
        body = (
            await c.get("/api/v1/canned-responses", params={"q": "ship", "limit": 2, "cursor": cursor})
        ).json()
        assert len(body["items"]) <= 2
        got += [r["shortcut"] for r in body["items"]]
        cursor = body["next_cursor"]
    assert got == [f"ship{i}" for i in range(5)]
    assert (await c.get("/api/v1/canned-responses", params={"cursor": -1})).status_code == 422
