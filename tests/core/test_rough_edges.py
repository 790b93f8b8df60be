"""Issue 16's rough edges at the API: field errors with stable codes (so the console can
translate them), bounded tags, reopen dropping the category, the widget's offline form
without an email channel, and the demo's English-first agent in the README."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from hub.demo import DEMO_DOMAIN, PEOPLE, seed
from hub.models import Role
from hub.services import SYSTEM
from hub.services.conversations import assign
from tests.channels.webchat_support import make_channel
from tests.helpers import inbound, login, team, user

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def extra_channels() -> list[Any]:
    return [make_channel()]  # web chat, and no email channel


async def test_validation_errors_name_each_field_with_a_code_and_limit(app: Any) -> None:
    r = await app.client.post("/api/v1/auth/login", json={"email": "ab", "password": ""})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"] == [
        {
            "field": "body.email",
            "code": "text_too_short",
            "message": error["fields"][0]["message"],
            "limit": "3",
        },
        {
            "field": "body.password",
            "code": "required",
            "message": error["fields"][1]["message"],
            "limit": "1",
        },
    ]
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    r = await app.client.post(
        "/api/v1/users",
        json={"email": "x" * 400, "role": "boss", "colour": "red", "team_ids": ["one"]},
        headers=csrf,
    )
    assert r.status_code == 422
    codes = {f["field"]: (f["code"], f.get("limit")) for f in r.json()["error"]["fields"]}
    assert codes == {
        "body.email": ("text_too_long", "320"),
        "body.name": ("required", None),
        "body.role": ("unknown_option", None),
        "body.colour": ("unknown_field", None),
        "body.team_ids.0": ("not_a_number", None),
    }


async def test_every_field_code_has_a_translation_in_both_languages() -> None:
    from hub.api import errors

    codes = set(errors._FIELD_CODES.values()) | {"bad_email", "not_valid"}
    strings = (ROOT / "agent_ui/static/i18n.js").read_text(encoding="utf-8")
    for path in (ROOT / "agent_ui/static/strings").glob("*.js"):
        strings += path.read_text(encoding="utf-8")
    for code in codes:
        # Defined in the English and the Arabic block (each key appears once per language).
        assert len(re.findall(rf"\berr_{code}:", strings)) >= 2, code


async def test_a_500_character_tag_is_refused_and_tags_stay_bounded(app: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    contact_id = (await inbound(app.client, "cust-1", "hi"))["contact_id"]
    for tag, code in (("t" * 500, "text_too_long"), ("t" * 51, "invalid_tags")):
        r = await app.client.patch(f"/api/v1/contacts/{contact_id}", json={"tags": [tag]}, headers=csrf)
        assert r.status_code == 422, r.text
        assert [f["code"] for f in r.json()["error"]["fields"]] == [code]
    r = await app.client.patch(
        f"/api/v1/contacts/{contact_id}", json={"tags": [f"tag-{i}" for i in range(51)]}, headers=csrf
    )
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["code"] == "invalid_tags"
    ok = await app.client.patch(f"/api/v1/contacts/{contact_id}", json={"tags": ["t" * 50]}, headers=csrf)
    assert ok.status_code == 200 and ok.json()["tags"] == ["t" * 50]


async def test_reopen_drops_the_category_and_names_the_actor(app: Any) -> None:
    support = await team(app.hub, "Support")
    ana = await user(app.hub, "ana@example.com", team_ids=(support,))
    csrf = await login(app.client, "ana@example.com")
    conv = (await inbound(app.client, "cust-1", "hi", team="Support"))["conversation_id"]
    await assign(app.hub, SYSTEM, conv, ana)
    r = await app.client.post(
        f"/api/v1/conversations/{conv}/resolve", json={"category": "order"}, headers=csrf
    )
    assert r.status_code == 200 and r.json()["category"] == "order"
    r = await app.client.post(f"/api/v1/conversations/{conv}/reopen", json={}, headers=csrf)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["category"]) == ("assigned", None)
    events = (await app.client.get("/api/v1/events", params={"conversation_id": conv})).json()["items"]
    closing = {
        e["type"]: e for e in events if e["type"] in ("conversation.resolved", "conversation.reopened")
    }
    # The console names who resolved and reopened from the events' actor.
    assert closing["conversation.resolved"]["actor_id"] == ana
    assert closing["conversation.reopened"]["actor_id"] == ana
    assert closing["conversation.reopened"]["payload"].get("category") is None


async def test_offline_form_without_an_email_channel_asks_no_email(app: Any) -> None:
    # The fixed test clock is Monday 09:00 UTC; the team opens on Sundays only.
    await team(app.hub, "Support", business_hours={"timezone": "UTC", "days": {"sun": [["09:00", "17:00"]]}})
    async with app.new_client() as c:
        cfg = (await c.get("/channels/webchat/s/acme/config")).json()
        assert cfg["availability"]["online"] is False
        assert cfg["email_followup"] is False  # so the form promises no email answer
        token = (await c.post("/channels/webchat/s/acme/session")).json()["token"]
        auth = {"authorization": f"Bearer {token}"}
        empty = await c.post(
            "/channels/webchat/s/acme/offline", json={"id": str(uuid.uuid4()), "message": ""}, headers=auth
        )
        assert empty.status_code == 422
        assert [f["field"] for f in empty.json()["error"]["fields"]] == ["message"]
        r = await c.post(
            "/channels/webchat/s/acme/offline",
            json={"id": str(uuid.uuid4()), "message": "Call me back"},
            headers=auth,
        )
        assert r.status_code == 201, r.text
        # An address given is still kept (the site's rule: optional).
        r = await c.post(
            "/channels/webchat/s/acme/offline",
            json={"id": str(uuid.uuid4()), "email": "not-an-address", "message": "again"},
            headers=auth,
        )
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "prechat.email"


async def test_the_readme_signs_a_newcomer_in_as_the_english_first_demo_agent(app: Any) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = readme.split("## Try it with demo data", 1)[1].split("\n## ", 1)[0]
    first = re.search(r"Sign in\s+as `([a-z.]+)@demo\.switchboard\.test`", demo)
    assert first is not None, demo
    people = {local: (role, languages) for local, _name, role, _teams, _skills, languages, _bot in PEOPLE}
    role, languages = people[first.group(1)]
    assert role == Role.agent and languages[0] == "en"
    # The Arabic-first agent is named with a warning that her console opens in Arabic.
    assert "`amal@demo.switchboard.test`" in demo and "opens in Arabic" in demo
    accounts = await seed(app.hub, password="demo-password-1")
    assert f"{first.group(1)}@{DEMO_DOMAIN}" in accounts.emails
    # The start-up banner says it too.
    assert f"amal@{DEMO_DOMAIN} opens in Arabic" in accounts.banner("http://hub.test")
    me = await app.client.post(
        "/api/v1/auth/login", json={"email": f"{first.group(1)}@{DEMO_DOMAIN}", "password": "demo-password-1"}
    )
    assert me.status_code == 200 and me.json()["user"]["language"] == "en"
    amal = await app.client.post(
        "/api/v1/auth/login", json={"email": f"amal@{DEMO_DOMAIN}", "password": "demo-password-1"}
    )
    assert amal.json()["user"]["language"] == "ar"
