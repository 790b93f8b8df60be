"""The profile (issue 16): one's own name, language, time zone and notification
settings, validated with stable codes; signing out the other sessions ends them and
closes their open sockets, and keeps this one (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import websockets

from hub.models import Role
from tests.core.test_gateway import Console
from tests.helpers import PASSWORD, login, team, user


async def test_read_and_edit_my_own_profile(app: Any) -> None:
    billing = await team(app.hub, "Billing")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,), name="Ana Lima")
    await user(app.hub, "root@example.com", role=Role.admin)
    c = app.new_client()
    h = await login(c, "ana@example.com")
    got = (await c.get("/api/v1/profile")).json()
    assert got == {
        "id": ana,
        "email": "ana@example.com",
        "name": "Ana Lima",
        "role": "agent",
        "language": "en",
        "timezone": None,
        "notify": {
            "mention": True,
            "assigned": True,
            "transferred": True,
            "offer_missed": True,
            "escalated": True,
            "low_score": True,
        },
        "browser_notifications": False,
    }
    res = await c.patch(
        "/api/v1/profile",
        json={
            "name": "  Ana   Maria Lima ",
            "language": "ar",
            "timezone": "Asia/Riyadh",
            "notify": {"offer_missed": False, "low_score": False},
            "browser_notifications": True,
        },
        headers=h,
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["name"] == "Ana Maria Lima" and body["language"] == "ar" and body["timezone"] == "Asia/Riyadh"
    assert body["browser_notifications"] is True
    assert [k for k, on in body["notify"].items() if not on] == ["offer_missed", "low_score"]
    # Kinds not named keep their setting; turning one back on.
    body = (await c.patch("/api/v1/profile", json={"notify": {"low_score": True}}, headers=h)).json()
    assert [k for k, on in body["notify"].items() if not on] == ["offer_missed"]
    me = (await c.get("/api/v1/auth/me")).json()
    assert me["user"]["name"] == "Ana Maria Lima" and me["user"]["language"] == "ar"
    # The console formats every time in the zone chosen here (format.js setTimeZone).
    assert me["timezone"] == body["timezone"] and body["timezone"]
    assert (await c.get("/api/v1/profile")).json() == body
    # A null time zone means "the browser's".
    assert (await c.patch("/api/v1/profile", json={"timezone": None}, headers=h)).json()["timezone"] is None
    # Without the CSRF header a cookie request is refused.
    assert (await c.patch("/api/v1/profile", json={"name": "X"})).status_code == 403


async def test_bad_input_has_a_stable_code_next_to_the_field(app: Any) -> None:
    await user(app.hub, "ana@example.com", name="Ana")
    c = app.new_client()
    h = await login(c, "ana@example.com")
    for body, code, field in (
        ({"timezone": "Mars/Olympus"}, "bad_timezone", "timezone"),
        ({"timezone": "notazone"}, "bad_timezone", "timezone"),
        ({"name": "   "}, "bad_name", "name"),
        ({"name": "x" * 201}, "bad_name", "name"),
    ):
        res = await c.patch("/api/v1/profile", json=body, headers=h)
        assert res.status_code == 422 and res.json()["error"]["code"] == code, (body, res.text)
        assert [f["field"] for f in res.json()["error"]["fields"]] == [field]
    for body in (
        {"notify": {"spam": True}},
        {"notify": {"mention": "yes"}},
        {"language": "fr"},
        {"name": None},
        {"timezone": "x" * 65},
        {"role": "admin"},
        {"browser_notifications": 1},
        {"name": "a\u0000b"},
    ):
        res = await c.patch("/api/v1/profile", json=body, headers=h)
        assert res.status_code == 422, (body, res.text)
    assert (await c.get("/api/v1/profile")).json()["name"] == "Ana"


async def test_sign_out_other_sessions_closes_their_sockets(live: Any) -> None:
    await user(live.app.hub, "ana@example.com", name="Ana")
    await user(live.app.hub, "ben@example.com", name="Ben")
    (phone, _), (laptop, laptop_csrf) = [await live.session("ana@example.com", PASSWORD) for _ in range(2)]
    ben_cookie, _ = await live.session("ben@example.com", PASSWORD)
    sockets = {}
    for name, cookie in (("phone", phone), ("laptop", laptop), ("ben", ben_cookie)):
        ws = await websockets.connect(f"{live.ws_base}/ws", additional_headers={"Cookie": cookie})
        sockets[name] = Console(ws)
        assert (await sockets[name].recv())["type"] == "hello"
    import httpx

    try:
        async with httpx.AsyncClient(base_url=live.base) as c:
            res = await c.post(
                "/api/v1/profile/sign-out-others", headers={"Cookie": laptop, "x-csrf-token": laptop_csrf}
            )
            assert res.status_code == 200 and res.json() == {"sessions_revoked": 1}
            # The phone's session is gone; the laptop's (this one) stays.
            assert (await c.get("/api/v1/auth/me", headers={"Cookie": phone})).status_code == 401
            assert (await c.get("/api/v1/auth/me", headers={"Cookie": laptop})).status_code == 200
            assert (await c.get("/api/v1/auth/me", headers={"Cookie": ben_cookie})).status_code == 200
        try:
            while True:
                await sockets["phone"].recv()
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4401
            assert closed.rcvd.reason == "session revoked"
        # The laptop's socket and Ben's stay open and answer commands.
        for name in ("laptop", "ben"):
            ack = await sockets[name].command("set_presence", presence="away")
            assert ack["type"] == "ack", ack
    finally:
        for s in sockets.values():
            await s.ws.close()
