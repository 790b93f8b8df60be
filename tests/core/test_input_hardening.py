"""Issue 11, "No 5xx from input": every reproduced 500 is now a 4xx with a stable code.

One row per reproduced defect; each runs on SQLite and PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest

from channels.telegram.parse import load_update
from channels.webchat.frames import PrechatIn
from hub.models import Role
from tests.helpers import PASSWORD, inbound, login, team, user

BIG = 2**63  # far above the largest id (the columns are 32-bit signed INTEGER)

# (name, method, path, json body or None, expected status, expected code)
CASES: list[tuple[str, str, str, Any, int, str]] = [
    ("path id above 2^63", "GET", f"/api/v1/conversations/{BIG}", None, 422, "validation_error"),
    (
        "query team_id above int32",
        "GET",
        "/api/v1/conversations?team_id=23845870980",
        None,
        422,
        "validation_error",
    ),
    ("cursor above 2^63", "GET", f"/api/v1/conversations?cursor={BIG}", None, 422, "validation_error"),
    ("contacts cursor not ours", "GET", f"/api/v1/contacts?cursor={BIG}", None, 422, "bad_cursor"),
    (
        "after above 2^63",
        "GET",
        f"/api/v1/conversations/{{cid}}/messages?after={BIG}",
        None,
        422,
        "validation_error",
    ),
    ("offers user_id above 2^63", "GET", f"/api/v1/offers?user_id={BIG}", None, 422, "validation_error"),
    (
        "body user_id above 2^63",
        "POST",
        "/api/v1/conversations/{cid}/assign",
        {"user_id": BIG},
        422,
        "validation_error",
    ),
    (
        "priority false",
        "POST",
        "/api/v1/conversations/{cid}/priority",
        {"priority": False},
        422,
        "validation_error",
    ),
    (
        "assign user_id true",
        "POST",
        "/api/v1/conversations/{cid}/assign",
        {"user_id": True},
        422,
        "validation_error",
    ),
    (
        "canned team_id missing",
        "POST",
        "/api/v1/canned-responses",
        {"shortcut": "hi", "title": "Hi", "body": "Hello", "team_id": 999},
        404,
        "team_not_found",
    ),
    ("user role null", "PATCH", "/api/v1/users/{uid}", {"role": None}, 422, "validation_error"),
    ("user name null", "PATCH", "/api/v1/users/{uid}", {"name": None}, 422, "validation_error"),
    ("user active null", "PATCH", "/api/v1/users/{uid}", {"active": None}, 422, "validation_error"),
    ("contact tags null", "PATCH", "/api/v1/contacts/{contact}", {"tags": None}, 422, "validation_error"),
    ("contact vip null", "PATCH", "/api/v1/contacts/{contact}", {"vip": None}, 422, "validation_error"),
    ("team name null", "PATCH", "/api/v1/teams/{tid}", {"name": None}, 422, "validation_error"),
    (
        "snooze until year 9999",
        "POST",
        "/api/v1/conversations/{cid}/snooze",
        {"until": "9999-12-31T00:00:00Z"},
        422,
        "snooze_too_far",
    ),
    ("NUL in body", "PATCH", "/api/v1/contacts/{contact}", {"name": "a\u0000b"}, 422, "validation_error"),
    (
        "NUL in nested body",
        "PATCH",
        "/api/v1/contacts/{contact}",
        {"attributes": {"k": ["a\u0000b"]}},
        422,
        "validation_error",
    ),
    ("NUL in query", "GET", "/api/v1/canned-responses?q=a%00b", None, 422, "validation_error"),
    (
        "NUL in sign-in",
        "POST",
        "/api/v1/auth/login",
        {"email": "a\u0000b@x.test", "password": "p"},
        422,
        "validation_error",
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "status", "code"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_input_is_a_4xx(
    app: Any, name: str, method: str, path: str, body: Any, status: int, code: str
) -> None:
    tid = await team(app.hub, "Support")
    uid = await user(app.hub, "agent@example.test", team_ids=(tid,))
    await user(app.hub, "admin@example.test", Role.admin)
    conv = await inbound(app.client, "+15550001", "hello")
    headers = await login(app.client, "admin@example.test", PASSWORD)
    cid = conv["conversation_id"]
    contact = conv.get("contact_id")
    if contact is None:
        got = await app.client.get(f"/api/v1/conversations/{cid}")
        contact = got.json()["contact_id"]
    url = path.format(cid=cid, uid=uid, tid=tid, contact=contact)
    res = await app.client.request(method, url, json=body, headers=headers)
    assert res.status_code == status, res.text
    assert res.json()["error"]["code"] == code


async def test_webhook_text_is_stored_with_nul_removed_and_names_cut(app: Any) -> None:
    """Provider webhooks are never refused for NUL (they would be redelivered forever)."""
    sent = await inbound(app.client, "+15550002", "a\u0000b", sender_name="N\u0000" + "x" * 10_000_000)
    await user(app.hub, "admin@example.test", Role.admin)
    headers = await login(app.client, "admin@example.test", PASSWORD)
    cid = sent["conversation_id"]
    msgs = (await app.client.get(f"/api/v1/conversations/{cid}/messages", headers=headers)).json()["items"]
    assert [m["body"] for m in msgs] == ["ab"]
    conv = (await app.client.get(f"/api/v1/conversations/{cid}", headers=headers)).json()
    contact = (await app.client.get(f"/api/v1/contacts/{conv['contact_id']}", headers=headers)).json()
    assert contact["name"] == ("N" + "x" * 10_000_000)[:200]


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        (b"[" * 100_000 + b"]" * 100_000, False),  # was a RecursionError (500)
        (b'{"a": "' + b"[" * 100 + b'"}', True),  # brackets inside strings do not count
        (b'{"a": "x\\u0000y"}', True),
    ],
)
def test_telegram_update_parse_is_depth_safe_and_strips_nul(body: bytes, ok: bool) -> None:
    if ok:
        assert "\x00" not in str(load_update(body))
    else:
        with pytest.raises(ValueError, match="nested too deeply"):
            load_update(body)


async def test_openapi_declares_the_real_error_body(app: Any) -> None:
    schema = (await app.client.get("/api/v1/openapi.json")).json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    operation = schema["paths"]["/api/v1/conversations/{conversation_id}"]["get"]
    for status in ("401", "403", "404", "409", "422", "429"):
        ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ErrorBody"
    param = next(p for p in operation["parameters"] if p["name"] == "conversation_id")
    assert (param["schema"]["minimum"], param["schema"]["maximum"]) == (1, 2**31 - 1)


def test_webchat_visitor_text_has_nul_removed() -> None:
    frame = PrechatIn.model_validate({"name": "a\u0000b", "topic": "x\u0000"})
    assert (frame.name, frame.topic) == ("ab", "x")
