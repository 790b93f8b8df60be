"""Credentials: the password policy, changing one's password (other sessions, tokens
and their open sockets end), API tokens (list, revoke, expiry, last use) and the last
active admin. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from agent_ui import gateway as gateway_mod
from hub.models import Role, User
from hub.services import SYSTEM, Conflict
from hub.services.password_policy import common_passwords
from hub.services.users import update_user
from tests.core.test_gateway import Console, connect
from tests.helpers import PASSWORD, login, user

ROOT = Path(__file__).resolve().parents[2]
NEW = "a brand new passphrase"


async def token(client: httpx.AsyncClient, csrf: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/auth/tokens", json={"name": "crm", **body}, headers=csrf)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


# -- password policy -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "too_short"),
        ("ana.lopez@example.com", "contains_email"),
        ("my-lopez-password-x", "contains_email"),  # the name part of the address
        ("Password2024!", "common"),  # padding removed
        ("qwertyuiop", "common"),  # a keyboard walk
        ("P@ssw0rd123456", "common"),  # l33t spelling undone
        ("iloveyou123", "common"),
    ],
)
async def test_weak_passwords_are_refused_with_a_reason(app: Any, password: str, reason: str) -> None:
    await user(app.hub, "ana.lopez@example.com")
    csrf = await login(app.client, "ana.lopez@example.com")
    r = await app.client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": password},
        headers=csrf,
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "weak_password" and r.json()["error"]["reason"] == reason


async def test_good_passwords_pass_the_policy(app: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    for n, password in enumerate(["correct horse battery", "bananas-and-tea-at-9", "demo-password-1"]):
        r = await app.client.post(
            "/api/v1/users",
            json={"email": f"ana{n}@example.com", "name": "Ana", "password": password},
            headers=csrf,
        )
        assert r.status_code == 201, (password, r.text)


def test_the_common_password_list_ships_with_the_package() -> None:
    words = common_passwords()
    assert 900 <= len(words) <= 2000 and {"123456", "password", "qwertyuiop", "iloveyou"} <= words
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "data/*.txt" in package_data["hub"]


# -- changing one's password -------------------------------------------------------------------
async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    here = await login(app.client, "ana@example.com")
    other = app.new_client()
    await login(other, "ana@example.com")
    secret = (await token(app.client, here))["token"]
    r = await app.client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW}, headers=here
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions_revoked": 1, "tokens_revoked": 0}
    assert (await app.client.get("/api/v1/auth/me")).status_code == 200  # this browser stays in
    assert (await other.get("/api/v1/auth/me")).status_code == 401  # the other one is out
    assert (await other.get("/api/v1/auth/me", headers=bearer(secret))).status_code == 200  # kept
    fresh = app.new_client()
    bad = await fresh.post("/api/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
    assert bad.status_code == 401
    await login(fresh, "ana@example.com", NEW)


async def test_revoke_tokens_also_ends_the_api_tokens(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    secret = (await token(app.client, csrf))["token"]
    r = await app.client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW, "revoke_tokens": True},
        headers=csrf,
    )
    assert r.json() == {"sessions_revoked": 0, "tokens_revoked": 1}
    bot = app.new_client()
    assert (await bot.get("/api/v1/auth/me", headers=bearer(secret))).status_code == 401


async def test_a_wrong_current_password_or_a_weak_new_one_changes_nothing(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    other = app.new_client()
    await login(other, "ana@example.com")
    wrong = await app.client.post(
        "/api/v1/auth/password", json={"current_password": "guess-guess", "new_password": NEW}, headers=csrf
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_password"
    weak = await app.client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "qwerty123456"},
        headers=csrf,
    )
    assert weak.status_code == 422 and weak.json()["error"]["reason"] == "common"
    assert (await other.get("/api/v1/auth/me")).status_code == 200
    await login(app.new_client(), "ana@example.com")  # the old password still works


async def test_wrong_current_passwords_count_as_failed_sign_ins(app: Any) -> None:
    """A stolen session cannot be used to guess the account's password."""
    await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    for _ in range(app.hub.settings.auth.login_max_attempts):
        r = await app.client.post(
            "/api/v1/auth/password",
            json={"current_password": "guess-guess", "new_password": NEW},
            headers=csrf,
        )
        assert r.status_code == 422
    r = await app.client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW}, headers=csrf
    )
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"


async def test_only_admins_set_a_password_without_the_current_one(app: Any) -> None:
    ana = await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    r = await app.client.patch(f"/api/v1/users/{ana}", json={"password": NEW}, headers=csrf)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"
    await user(app.hub, "root@example.com", role=Role.admin)
    admin = app.new_client()
    admin_csrf = await login(admin, "root@example.com")
    r = await admin.patch(f"/api/v1/users/{ana}", json={"password": NEW}, headers=admin_csrf)
    assert r.status_code == 200, r.text
    assert (await app.client.get("/api/v1/auth/me")).status_code == 401  # ana's session ended
    r = await admin.patch(f"/api/v1/users/{ana}", json={"password": "ana@example.com"}, headers=admin_csrf)
    assert r.status_code == 422 and r.json()["error"]["reason"] == "contains_email"


async def test_sockets_of_revoked_credentials_close(live: Any) -> None:
    """The other session's socket and the token's socket close with 4401 "password
    changed"; the socket of the session that made the change keeps working."""
    await user(live.app.hub, "ana@example.com")
    mine, _ = await connect(live, "ana@example.com")
    other, _ = await connect(live, "ana@example.com")
    cookie, csrf = await live.session("ana@example.com", PASSWORD)
    async with httpx.AsyncClient(base_url=live.base, headers={"Cookie": cookie, "x-csrf-token": csrf}) as c:
        secret = (await c.post("/api/v1/auth/tokens", json={"name": "bot"})).json()["token"]
        bot = Console(await websockets.connect(f"{live.ws_base}/ws", additional_headers=bearer(secret)))
        assert (await bot.recv())["type"] == "hello"
        here = Console(await websockets.connect(f"{live.ws_base}/ws", additional_headers={"Cookie": cookie}))
        assert (await here.recv())["type"] == "hello"
        r = await c.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW, "revoke_tokens": True},
        )
        assert r.status_code == 200, r.text
    for console in (mine, other, bot):
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await console.recv()
        assert info.value.rcvd is not None
        assert (info.value.rcvd.code, info.value.rcvd.reason) == (
            gateway_mod.CLOSE_UNAUTHORIZED,
            "password changed",
        )
    assert (await here.command("set_presence", presence="available"))["type"] == "ack"
    await here.ws.close()


# -- API tokens ------------------------------------------------------------------------------
async def test_tokens_are_listed_with_their_dates_and_last_use(app: Any, clock: Any) -> None:
    await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    expires = (clock.now + timedelta(days=30)).replace(tzinfo=None).isoformat()  # no zone: UTC
    made = await token(app.client, csrf, expires_at=expires)
    assert made["expires_at"].startswith((clock.now + timedelta(days=30)).date().isoformat())
    listed = (await app.client.get("/api/v1/auth/tokens")).json()
    assert listed["next_cursor"] is None and [t["name"] for t in listed["items"]] == ["crm"]
    item = listed["items"][0]
    assert item["last_used_at"] is None and item["revoked_at"] is None and "token" not in item
    bot = app.new_client()

    async def last_used() -> str:
        return str((await app.client.get("/api/v1/auth/tokens")).json()["items"][0]["last_used_at"])

    assert (await bot.get("/api/v1/auth/me", headers=bearer(made["token"]))).status_code == 200
    first = await last_used()
    assert first.startswith("2026-01-05T09:00:00")
    clock.advance(30)  # within the minute: no write
    await bot.get("/api/v1/auth/me", headers=bearer(made["token"]))
    assert await last_used() == first
    clock.advance(31)
    await bot.get("/api/v1/auth/me", headers=bearer(made["token"]))
    assert (await last_used()).startswith("2026-01-05T09:01:01")


async def test_an_expired_token_is_refused(app: Any, clock: Any) -> None:
    await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    past = await app.client.post(
        "/api/v1/auth/tokens",
        json={"name": "x", "expires_at": (clock.now - timedelta(seconds=1)).isoformat()},
        headers=csrf,
    )
    assert past.status_code == 422 and past.json()["error"]["code"] == "bad_expiry"
    made = await token(app.client, csrf, expires_at=(clock.now + timedelta(hours=1)).isoformat())
    bot = app.new_client()
    assert (await bot.get("/api/v1/auth/me", headers=bearer(made["token"]))).status_code == 200
    clock.advance(3600)
    assert (await bot.get("/api/v1/auth/me", headers=bearer(made["token"]))).status_code == 401


async def test_own_tokens_page_and_revoke(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    csrf = await login(app.client, "ana@example.com")
    made = [await token(app.client, csrf, name=f"t{n}") for n in range(3)]
    first = (await app.client.get("/api/v1/auth/tokens?limit=2")).json()
    assert [t["name"] for t in first["items"]] == ["t2", "t1"] and first["next_cursor"] is not None
    rest = (await app.client.get(f"/api/v1/auth/tokens?limit=2&cursor={first['next_cursor']}")).json()
    assert [t["name"] for t in rest["items"]] == ["t0"] and rest["next_cursor"] is None
    r = await app.client.delete(f"/api/v1/auth/tokens/{made[0]['id']}", headers=csrf)
    assert r.status_code == 204
    assert (
        await app.new_client().get("/api/v1/auth/me", headers=bearer(made[0]["token"]))
    ).status_code == 401
    names = [t["name"] for t in (await app.client.get("/api/v1/auth/tokens")).json()["items"]]
    assert names == ["t2", "t1"]
    everything = (await app.client.get("/api/v1/auth/tokens?include_revoked=true")).json()["items"]
    assert everything[-1]["name"] == "t0" and everything[-1]["revoked_at"] is not None


async def test_admins_list_and_revoke_anyones_tokens_others_do_not(app: Any) -> None:
    ana = await user(app.hub, "ana@example.com")
    await user(app.hub, "bob@example.com")
    await user(app.hub, "root@example.com", role=Role.admin)
    ana_csrf = await login(app.client, "ana@example.com")
    made = await token(app.client, ana_csrf)
    bob = app.new_client()
    bob_csrf = await login(bob, "bob@example.com")
    r = await bob.get(f"/api/v1/auth/tokens?user_id={ana}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"
    r = await bob.delete(f"/api/v1/auth/tokens/{made['id']}", headers=bob_csrf)
    assert r.status_code == 404 and r.json()["error"]["code"] == "token_not_found"
    admin = app.new_client()
    admin_csrf = await login(admin, "root@example.com")
    listed = (await admin.get(f"/api/v1/auth/tokens?user_id={ana}")).json()["items"]
    assert [(t["id"], t["user_id"]) for t in listed] == [(made["id"], ana)]
    assert (await admin.delete(f"/api/v1/auth/tokens/{made['id']}", headers=admin_csrf)).status_code == 204
    assert (await bob.get("/api/v1/auth/me", headers=bearer(made["token"]))).status_code == 401


async def test_revoking_a_token_closes_its_socket(live: Any) -> None:
    await user(live.app.hub, "ana@example.com")
    cookie, csrf = await live.session("ana@example.com", PASSWORD)
    async with httpx.AsyncClient(base_url=live.base, headers={"Cookie": cookie, "x-csrf-token": csrf}) as c:
        made = (await c.post("/api/v1/auth/tokens", json={"name": "bot"})).json()
        bot = Console(
            await websockets.connect(f"{live.ws_base}/ws", additional_headers=bearer(made["token"]))
        )
        assert (await bot.recv())["type"] == "hello"
        assert (await c.delete(f"/api/v1/auth/tokens/{made['id']}")).status_code == 204
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await bot.recv()
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (gateway_mod.CLOSE_UNAUTHORIZED, "token revoked")


# -- the last admin ----------------------------------------------------------------------------
async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app: Any) -> None:
    root = await user(app.hub, "root@example.com", role=Role.admin)
    retired = await user(app.hub, "old@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    assert (
        await app.client.patch(f"/api/v1/users/{retired}", json={"active": False}, headers=csrf)
    ).status_code == 200
    for change in ({"role": "supervisor"}, {"active": False}):
        r = await app.client.patch(f"/api/v1/users/{root}", json=change, headers=csrf)
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "last_admin" and "last active admin" in err["message"]
    second = await user(app.hub, "second@example.com", role=Role.admin)
    assert (
        await app.client.patch(f"/api/v1/users/{root}", json={"role": "supervisor"}, headers=csrf)
    ).status_code == 200
    other = app.new_client()
    other_csrf = await login(other, "second@example.com")
    r = await other.patch(f"/api/v1/users/{second}", json={"active": False}, headers=other_csrf)
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_admin"


async def test_two_admins_demoting_each_other_at_once_leave_one(app: Any) -> None:
    """The check runs in the demoting transaction (admin rows locked on PostgreSQL):
    concurrent demotions of the last two admins cannot both succeed."""
    for round_ in range(3):
        a = await user(app.hub, f"a{round_}@example.com", role=Role.admin)
        b = await user(app.hub, f"b{round_}@example.com", role=Role.admin)
        results = await asyncio.gather(
            update_user(app.hub, SYSTEM, a, {"role": Role.agent}),
            update_user(app.hub, SYSTEM, b, {"active": False}),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(refused) == 1 and refused[0].code == "last_admin", results
        # The survivor is the last admin; make the next round start from none.
        survivor = a if isinstance(results[0], Conflict) else b
        async with app.hub.db.transaction() as s:
            row = await s.get(User, survivor)
            assert row is not None and row.role == Role.admin and row.active
            row.role = Role.agent
            s.add(row)
