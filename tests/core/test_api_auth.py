"""Sign-in, sessions, CSRF, API tokens, rate limits and role/team authorization."""

from __future__ import annotations

from typing import Any

from hub.models import Role
from tests.helpers import PASSWORD, inbound, login, team, user


async def test_sign_in_sets_an_httponly_samesite_cookie(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    res = await app.client.post("/api/v1/auth/login", json={"email": "ANA@example.com", "password": PASSWORD})
    assert res.status_code == 200
    cookie = res.headers["set-cookie"].lower()
    assert "sb_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert res.json()["user"]["email"] == "ana@example.com" and res.json()["csrf_token"]
    me = await app.client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["user"]["role"] == "agent"


async def test_wrong_password_and_unknown_user_look_the_same(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    a = await app.client.post(
        "/api/v1/auth/login", json={"email": "ana@example.com", "password": "nope-nope-nope"}
    )
    b = await app.client.post(
        "/api/v1/auth/login", json={"email": "ghost@example.com", "password": "nope-nope-nope"}
    )
    assert a.status_code == b.status_code == 401
    assert (
        a.json() == b.json() == {"error": {"code": "bad_credentials", "message": "wrong email or password"}}
    )


async def test_sign_in_attempts_are_rate_limited(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    limit = app.hub.settings.auth.login_max_attempts
    for _ in range(limit):
        r = await app.client.post(
            "/api/v1/auth/login", json={"email": "ana@example.com", "password": "wrong-wrong"}
        )
        assert r.status_code == 401
    blocked = await app.client.post(
        "/api/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD}
    )
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
    assert int(blocked.headers["retry-after"]) > 0


async def test_state_changes_with_a_cookie_need_the_csrf_header(app: Any) -> None:
    t = await team(app.hub, "Support")
    agent = await user(app.hub, "ana@example.com", team_ids=(t,))
    csrf = await login(app.client, "ana@example.com")
    conv = (await inbound(app.client, "cust-1", "hi", team="Support"))["conversation_id"]
    no_csrf = await app.client.post(f"/api/v1/conversations/{conv}/assign", json={"user_id": agent})
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    wrong = await app.client.post(
        f"/api/v1/conversations/{conv}/assign", json={"user_id": agent}, headers={"x-csrf-token": "forged"}
    )
    assert wrong.status_code == 403
    ok = await app.client.post(f"/api/v1/conversations/{conv}/assign", json={"user_id": agent}, headers=csrf)
    assert ok.status_code == 200 and ok.json()["assignee_id"] == agent


async def test_api_tokens_authenticate_integrations_without_csrf(app: Any) -> None:
    await user(app.hub, "boss@example.com", role=Role.admin)
    csrf = await login(app.client, "boss@example.com")
    res = await app.client.post("/api/v1/auth/tokens", json={"name": "crm sync"}, headers=csrf)
    assert res.status_code == 201
    token = res.json()["token"]
    bot = app.new_client()
    ok = await bot.post("/api/v1/teams", json={"name": "Sales"}, headers={"authorization": f"Bearer {token}"})
    assert ok.status_code == 201
    bad = await bot.get("/api/v1/teams", headers={"authorization": "Bearer sbt_not-a-real-token"})
    assert bad.status_code == 401


async def test_logout_ends_the_session(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    assert (await app.client.post("/api/v1/auth/logout", headers=csrf)).status_code == 204
    assert (await app.client.get("/api/v1/auth/me")).status_code == 401


async def test_agent_of_team_a_cannot_read_team_b(app: Any) -> None:
    a = await team(app.hub, "Billing")
    await team(app.hub, "Tech")
    await user(app.hub, "amal@example.com", team_ids=(a,))
    conv_a = (await inbound(app.client, "cust-a", "invoice?", team="Billing"))["conversation_id"]
    conv_b = (await inbound(app.client, "cust-b", "router broken", team="Tech"))["conversation_id"]
    agent = app.new_client()
    csrf = await login(agent, "amal@example.com")

    listed = (await agent.get("/api/v1/conversations")).json()["items"]
    assert [c["id"] for c in listed] == [conv_a]
    assert (await agent.get(f"/api/v1/conversations/{conv_a}")).status_code == 200
    denied = await agent.get(f"/api/v1/conversations/{conv_b}")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_your_team"
    assert (await agent.get(f"/api/v1/conversations/{conv_b}/messages")).status_code == 403
    assert (
        await agent.post(f"/api/v1/conversations/{conv_b}/notes", json={"body": "x"}, headers=csrf)
    ).status_code == 403
    contact_b = (await app.client.get("/api/v1/conversations")).status_code  # anonymous
    assert contact_b == 401
    events = (await agent.get("/api/v1/events")).json()["items"]
    assert events and all(e["conversation_id"] in (conv_a, None) for e in events)


async def test_supervisor_sees_own_teams_admin_sees_all(app: Any) -> None:
    a, b = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    await user(app.hub, "sup@example.com", role=Role.supervisor, team_ids=(a,))
    await user(app.hub, "root@example.com", role=Role.admin)
    await inbound(app.client, "cust-a", "1", team="Billing")
    await inbound(app.client, "cust-b", "2", team="Tech")
    await inbound(app.client, "cust-c", "3")  # no team: unrouted
    sup, adm = app.new_client(), app.new_client()
    await login(sup, "sup@example.com")
    await login(adm, "root@example.com")
    assert len((await sup.get("/api/v1/conversations")).json()["items"]) == 2
    assert len((await adm.get("/api/v1/conversations")).json()["items"]) == 3
    assert b  # team b exists but is invisible to the supervisor


async def test_agents_cannot_administer(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    res = await app.client.post("/api/v1/users", json={"email": "x@example.com", "name": "X"}, headers=csrf)
    assert res.status_code == 403 and res.json()["error"]["code"] == "role_required"
    res = await app.client.post("/api/v1/teams", json={"name": "Mine"}, headers=csrf)
    assert res.status_code == 403


async def test_agent_may_only_assign_to_self_and_reply_when_assigned(app: Any) -> None:
    t = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    bob = await user(app.hub, "bob@example.com", team_ids=(t,))
    conv = (await inbound(app.client, "cust-1", "hello", team="Support"))["conversation_id"]
    c = app.new_client()
    csrf = await login(c, "ana@example.com")
    r = await c.post(f"/api/v1/conversations/{conv}/assign", json={"user_id": bob}, headers=csrf)
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_self"
    r = await c.post(f"/api/v1/conversations/{conv}/reply", json={"body": "hi"}, headers=csrf)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_assignee"
    assert (
        await c.post(f"/api/v1/conversations/{conv}/assign", json={"user_id": ana}, headers=csrf)
    ).status_code == 200
    assert (
        await c.post(f"/api/v1/conversations/{conv}/reply", json={"body": "hi"}, headers=csrf)
    ).status_code == 201


async def test_unknown_fields_and_bad_types_get_422_naming_the_field(app: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    r = await app.client.post("/api/v1/teams", json={"name": "A", "colour": "red"}, headers=csrf)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error" and err["fields"] == [
        {"field": "body.colour", "code": "unknown_field", "message": "unknown field"}
    ]
    r = await app.client.post("/api/v1/conversations/1/priority", json={"priority": "high"}, headers=csrf)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body.priority"
    r = await app.client.get("/api/v1/conversations?limit=abc")
    assert r.status_code == 422 and "query.limit" in r.json()["error"]["message"]


async def test_openapi_is_published(app: Any) -> None:
    spec = (await app.client.get("/api/v1/openapi.json")).json()
    for path in (
        "/api/v1/conversations",
        "/api/v1/conversations/{conversation_id}/reply",
        "/api/v1/contacts",
        "/api/v1/users",
        "/api/v1/teams",
        "/api/v1/events",
        "/api/v1/auth/login",
    ):
        assert path in spec["paths"]


async def test_the_openapi_schema_is_built_once_off_the_event_loop(app: Any) -> None:
    """Building it takes about a second of CPU: on the loop, that stalled every socket
    and webhook of the process (and a reader on a slow machine timed out)."""
    import asyncio
    import threading

    built_on: list[threading.Thread] = []
    build = app.app.openapi

    def recording() -> dict[str, Any]:
        built_on.append(threading.current_thread())
        return build()

    app.app.openapi = recording
    first, second = await asyncio.gather(
        app.client.get("/api/v1/openapi.json"), app.client.get("/api/v1/openapi.json")
    )
    third = await app.client.get("/api/v1/openapi.json")
    assert first.status_code == second.status_code == third.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.content == second.content == third.content
    assert first.json()["info"]["title"] == "Switchboard"
    assert len(built_on) == 1 and built_on[0] is not threading.main_thread()


def test_production_passwords_use_argon2id_at_full_strength() -> None:
    """The suite hashes at test strength (tests/conftest.py); a hub does not."""
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import hub.auth as a; h = a._hasher; print(h.type.name, h.time_cost, h.memory_cost)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    kind, time_cost, memory_kib = out[0], int(out[1]), int(out[2])
    assert kind == "ID" and time_cost >= 3 and memory_kib >= 64 * 1024
    from hub.auth import hash_password

    assert hash_password("x" * 12).startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # here: test strength
