"""Canned answers with variables and per-language variants: the one renderer
(hub.services.templating), the preview API, variants on create/update, the language
filter, rights (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from hub.models import Role
from hub.services import SYSTEM
from hub.services.complaints import NewComplaint, open_complaint
from hub.services.contact_fields import create_field
from hub.services.contacts import update_contact
from hub.services.conversations import assign
from hub.services.templating import render
from tests.helpers import inbound, login, team, user

KNOWN = {"contact.name": "Layla Haddad", "contact.first_name": "Layla", "agent.name": None}


def test_placeholders_are_filled_as_text_with_fallbacks() -> None:
    out = render('Hi {{ contact.first_name }}, {{agent.name | "the team"}} here. {{contact.name}}!', KNOWN)
    assert out.text == "Hi Layla, the team here. Layla Haddad!"
    assert [(s.status, s.variable) for s in out.segments if s.status != "text"] == [
        ("filled", "contact.first_name"),
        ("fallback", "agent.name"),
        ("filled", "contact.name"),
    ]
    assert out.unknown == [] and out.missing == []


def test_unknown_and_missing_variables_are_reported_not_guessed() -> None:
    out = render("Dear {{contact.nickname}}, from {{agent.name}} {{ contact.nickname }}", KNOWN)
    # Unknown names stay as written (the agent sees them); known ones without a value are empty.
    assert out.text == "Dear {{contact.nickname}}, from  {{ contact.nickname }}"
    assert out.unknown == ["contact.nickname"]
    assert out.missing == ["agent.name"]
    assert [s.status for s in out.segments] == ["text", "unknown", "text", "missing", "text", "unknown"]


def test_templates_are_never_evaluated_and_values_never_re_expanded() -> None:
    values = {"contact.name": "{{agent.name}} <img src=x onerror=alert(1)>", "agent.name": "Ana"}
    out = render("{{contact.name}} | {{__import__('os').system('x')}} | {{ 7*7 }} | {contact.name}", values)
    assert out.text == (
        "{{agent.name}} <img src=x onerror=alert(1)> | {{__import__('os').system('x')}} | {{ 7*7 }} | {contact.name}"
    )
    assert out.unknown == []  # not even read as names
    assert render('{{contact.name | "a" | "b"}}', values).segments[0].status == "text"


async def _world(app: Any) -> dict[str, Any]:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,), name="Ana Lima")
    await user(app.hub, "sam@example.com", role=Role.supervisor, team_ids=(tech,))
    await user(app.hub, "root@example.com", role=Role.admin)
    en = await inbound(
        app.client, "cust-en", "hello", team="Billing", sender_name="Layla Haddad", language="en"
    )
    ar = await inbound(app.client, "cust-ar", "مرحبا", team="Billing", sender_name="سارة", language="ar")
    plain = await inbound(app.client, "cust-x", "hi", team="Billing")
    for got in (en, ar, plain):
        await assign(app.hub, SYSTEM, got["conversation_id"], ana)
    await create_field(
        app.hub, SYSTEM, {"key": "plan", "label_en": "Plan", "label_ar": "الباقة", "type": "text"}
    )
    await update_contact(app.hub, SYSTEM, en["contact_id"], {"attributes": {"plan": "Gold"}})
    complaint = await open_complaint(
        app.hub,
        SYSTEM,
        NewComplaint(conversation_id=en["conversation_id"], assignee_id=ana, acknowledge=False),
    )
    clients = {}
    for name in ("ana", "sam", "root"):
        c = app.new_client()
        clients[name] = (c, await login(c, f"{name}@example.com"))
    return {"en": en, "ar": ar, "plain": plain, "billing": billing, "ref": complaint.reference, "c": clients}


async def test_preview_fills_variables_and_picks_the_conversations_language(app: Any) -> None:
    w = await _world(app)
    root, rh = w["c"]["root"]
    made = await root.post(
        "/api/v1/canned-responses",
        json={
            "shortcut": "refund",
            "title": "Refund approved",
            "language": "en",
            "body": "Hi {{contact.first_name}}, {{agent.name}} from {{team.name}}: refund for "
            '{{conversation.reference | "your order"}} ({{contact.custom.plan}} plan). {{contact.shoe_size}}',
            "variants": {"ar": 'مرحبًا {{contact.name | "عميلنا"}}، معك {{agent.name}}.'},
            "team_id": w["billing"],
        },
        headers=rh,
    )
    assert made.status_code == 201, made.text
    assert made.json()["variants"] == {"ar": 'مرحبًا {{contact.name | "عميلنا"}}، معك {{agent.name}}.'}
    cid = made.json()["id"]
    ana, _ = w["c"]["ana"]

    en = (
        await ana.get(
            f"/api/v1/canned-responses/{cid}/preview", params={"conversation_id": w["en"]["conversation_id"]}
        )
    ).json()
    assert en["language"] == "en"
    assert en["text"] == (
        f"Hi Layla, Ana Lima from Billing: refund for {w['ref']} (Gold plan). {{{{contact.shoe_size}}}}"
    )
    assert en["unknown"] == ["contact.shoe_size"] and en["missing"] == []
    assert [s["variable"] for s in en["segments"] if s["status"] == "unknown"] == ["contact.shoe_size"]

    ar = (
        await ana.get(
            f"/api/v1/canned-responses/{cid}/preview", params={"conversation_id": w["ar"]["conversation_id"]}
        )
    ).json()
    assert (ar["language"], ar["text"]) == ("ar", "مرحبًا سارة، معك Ana Lima.")

    # No language on the conversation or the contact: the row's own body; no reference,
    # no plan value: the fallback, and the plan reported missing.
    plain = (
        await ana.get(
            f"/api/v1/canned-responses/{cid}/preview",
            params={"conversation_id": w["plain"]["conversation_id"]},
        )
    ).json()
    assert plain["language"] == "en"
    assert plain["text"].startswith("Hi , Ana Lima from Billing: refund for your order ( plan).")
    assert plain["missing"] == ["contact.first_name", "contact.custom.plan"]
    # Asking for a language explicitly; and for a contact without a conversation.
    forced = (
        await ana.get(
            f"/api/v1/canned-responses/{cid}/preview",
            params={"conversation_id": w["en"]["conversation_id"], "language": "ar"},
        )
    ).json()
    assert forced["language"] == "ar"
    by_contact = (
        await ana.get(f"/api/v1/canned-responses/{cid}/preview", params={"contact_id": w["ar"]["contact_id"]})
    ).json()
    assert by_contact["text"] == "مرحبًا سارة، معك Ana Lima."

    # An Arabic conversation finds the English row through its Arabic variant.
    found = (await ana.get("/api/v1/canned-responses", params={"language": "ar"})).json()["items"]
    assert [r["shortcut"] for r in found] == ["refund"]

    # Rights: another team's supervisor sees neither the conversation nor the answer.
    sam, _ = w["c"]["sam"]
    denied = await sam.get(
        f"/api/v1/canned-responses/{cid}/preview", params={"conversation_id": w["en"]["conversation_id"]}
    )
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_your_team"
    hidden = await sam.get(f"/api/v1/canned-responses/{cid}/preview")
    assert hidden.status_code == 404

    names = (await ana.get("/api/v1/canned-responses/variables")).json()["items"]
    assert names == [
        "contact.name",
        "contact.first_name",
        "agent.name",
        "team.name",
        "conversation.reference",
        "contact.custom.plan",
    ]


async def test_variants_are_validated_and_follow_a_language_change(app: Any) -> None:
    w = await _world(app)
    root, rh = w["c"]["root"]
    base = {"shortcut": "bye", "title": "Bye", "body": "Goodbye", "language": "en"}
    same = await root.post("/api/v1/canned-responses", json={**base, "variants": {"en": "Bye"}}, headers=rh)
    assert same.status_code == 422 and same.json()["error"]["code"] == "bad_variant"
    other = await root.post(
        "/api/v1/canned-responses", json={**base, "variants": {"fr": "Au revoir"}}, headers=rh
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "validation_error"
    big = await root.post(
        "/api/v1/canned-responses", json={**base, "variants": {"ar": "x" * 20_001}}, headers=rh
    )
    assert big.status_code == 422
    made = await root.post(
        "/api/v1/canned-responses", json={**base, "variants": {"ar": "  مع السلامة  ", "en": ""}}, headers=rh
    )
    assert made.status_code == 201, made.text
    assert made.json()["variants"] == {"ar": "مع السلامة"}  # trimmed; the empty one dropped
    cid = made.json()["id"]
    nulled = await root.patch(f"/api/v1/canned-responses/{cid}", json={"variants": None}, headers=rh)
    assert nulled.status_code == 422
    # Switching the row to Arabic with an Arabic body: the old Arabic variant goes.
    switched = await root.patch(
        f"/api/v1/canned-responses/{cid}", json={"language": "ar", "body": "وداعًا"}, headers=rh
    )
    assert switched.status_code == 200, switched.text
    assert (switched.json()["language"], switched.json()["variants"]) == ("ar", {})
    both = await root.patch(
        f"/api/v1/canned-responses/{cid}", json={"variants": {"en": "Bye now"}}, headers=rh
    )
    assert both.json()["variants"] == {"en": "Bye now"}
    ana, _ = w["c"]["ana"]
    en = (
        await ana.get(
            f"/api/v1/canned-responses/{cid}/preview", params={"conversation_id": w["en"]["conversation_id"]}
        )
    ).json()
    assert (en["language"], en["text"]) == ("en", "Bye now")
