"""The contacts workspace API: Arabic-aware and phone search, filters, sorted keyset
paging, profiles with figures and tiers, custom fields validated on every write, tier
administration and who may do what. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from hub.domain import InboundMessage
from hub.models import Role
from hub.services import SYSTEM
from hub.services.contacts import update_contact
from hub.services.conversations import resolve
from hub.services.ingest import ingest
from tests.helpers import login, team, user

ADMIN = "root@example.com"


def sms(sender: str, pid: str, name: str = "", team_name: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel="sms",
        provider_message_id=pid,
        address_kind="phone",
        sender=sender,
        sender_name=name,
        body="hello",
        team=team_name,
    )


def mail(sender: str, pid: str, name: str = "", thread: str = "") -> InboundMessage:
    return InboundMessage(
        channel="email",
        provider_message_id=pid,
        address_kind="email",
        sender=sender,
        sender_name=name,
        thread_key=thread,
        body="hello",
    )


async def admin_client(app: Any) -> dict[str, str]:
    await user(app.hub, ADMIN, Role.admin)
    return await login(app.client, ADMIN)


async def ids(app: Any, **params: Any) -> list[int]:
    r = await app.client.get("/api/v1/contacts", params=params)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


async def test_arabic_and_phone_search(app: Any) -> None:
    hub = app.hub
    await admin_client(app)
    ahmad = (await ingest(hub, sms("+966501234567", "s1", name="أحمد السيد"))).contact_id
    library = (await ingest(hub, mail("info@books.example", "m1", name="مكتبة النور"))).contact_id
    mustafa = (await ingest(hub, mail("m@example.com", "m2", name="مُصطفى"))).contact_id
    await hub.projections.catch_up()
    assert await ids(app, q="احمد") == [ahmad]  # hamza form
    assert await ids(app, q="إحمد السيد") == [ahmad]
    assert await ids(app, q="مكتبه") == [library]  # taa marbuta / haa
    assert await ids(app, q="مصطفي") == [mustafa]  # alef maqsura / yaa, diacritics
    assert await ids(app, q="٠٥٠١٢٣") == [ahmad]  # Arabic-Indic digits, national form
    assert await ids(app, q="+966 50 123 4567") == [ahmad]
    assert await ids(app, q="(050) 123-4567") == [ahmad]
    assert await ids(app, q="books.example") == [library]
    assert await ids(app, q="نور") == [library]  # a two-letter-plus term in the middle
    assert await ids(app, q="zzz") == []


async def test_profile_edits_reach_search_and_the_timeline_events(app: Any) -> None:
    hub = app.hub
    headers = await admin_client(app)
    cid = (await ingest(hub, mail("dana@example.com", "m1"))).contact_id
    r = await app.client.post(
        "/api/v1/contact-fields",
        json={
            "key": "plan",
            "label_en": "Plan",
            "label_ar": "الباقة",
            "type": "choice",
            "options": ["free", "gold"],
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = await app.client.patch(
        f"/api/v1/contacts/{cid}",
        json={
            "name": "Dana Ḥaddad",
            "tags": ["wholesale"],
            "attributes": {"plan": "gold"},
            "timezone": "Asia/Riyadh",
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["attributes"] == {"plan": "gold"} and r.json()["timezone"] == "Asia/Riyadh"
    await hub.projections.catch_up()
    assert await ids(app, q="wholesale") == [cid]
    assert await ids(app, q="dana") == [cid]
    assert await ids(app, field="plan:gold") == [cid]
    assert await ids(app, field="plan:free") == []
    events = (await app.client.get("/api/v1/events", params={"type": "contact.updated"})).json()["items"]
    changes = events[-1]["payload"]["changes"]
    assert changes["attributes.plan"] == [None, "gold"] and changes["tags"] == [[], ["wholesale"]]
    assert events[-1]["actor_id"] is not None


@pytest.mark.parametrize(
    ("ftype", "options", "good", "stored", "bad"),
    [
        ("text", [], "  hi ", "hi", 5),
        ("number", [], 12.5, 12.5, "12"),
        ("date", [], "2026-02-01", "2026-02-01", "2026-02-30"),
        ("boolean", [], True, True, "yes"),
        ("choice", ["a", "b"], "b", "b", "c"),
        ("multi_choice", ["a", "b", "c"], ["c", "a"], ["a", "c"], ["a", "z"]),
    ],
)
async def test_custom_field_values_are_validated_per_type(
    app: Any, ftype: str, options: list[str], good: Any, stored: Any, bad: Any
) -> None:
    headers = await admin_client(app)
    cid = (await ingest(app.hub, mail("x@example.com", "m1"))).contact_id
    body = {"key": "f", "label_en": "F", "label_ar": "ف", "type": ftype, "options": options}
    assert (await app.client.post("/api/v1/contact-fields", json=body, headers=headers)).status_code == 201
    ok = await app.client.patch(f"/api/v1/contacts/{cid}", json={"attributes": {"f": good}}, headers=headers)
    assert ok.status_code == 200 and ok.json()["attributes"]["f"] == stored, ok.text
    refused = await app.client.patch(
        f"/api/v1/contacts/{cid}", json={"attributes": {"f": bad}}, headers=headers
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "validation_error" and error["fields"][0]["field"] == "attributes.f"
    unknown = await app.client.patch(
        f"/api/v1/contacts/{cid}", json={"attributes": {"nope": 1}}, headers=headers
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["code"] == "unknown_field"


async def test_field_definitions_are_checked_and_admin_only(app: Any) -> None:
    headers = await admin_client(app)
    bad = await app.client.post(
        "/api/v1/contact-fields",
        json={"key": "Bad Key", "label_en": "x", "label_ar": "x", "type": "colour"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert {f["code"] for f in bad.json()["error"]["fields"]} == {"invalid_key", "invalid_type"}
    no_options = await app.client.post(
        "/api/v1/contact-fields",
        json={"key": "k", "label_en": "K", "label_ar": "ك", "type": "choice"},
        headers=headers,
    )
    assert no_options.json()["error"]["fields"][0]["code"] == "options_required"
    body = {"key": "k", "label_en": "K", "label_ar": "ك", "type": "text", "required": True}
    assert (await app.client.post("/api/v1/contact-fields", json=body, headers=headers)).status_code == 201
    assert (await app.client.post("/api/v1/contact-fields", json=body, headers=headers)).status_code == 409
    locked = await app.client.patch("/api/v1/contact-fields/k", json={"type": "number"}, headers=headers)
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "type_locked"
    cid = (await ingest(app.hub, mail("r@example.com", "m1"))).contact_id
    cleared = await app.client.patch(
        f"/api/v1/contacts/{cid}", json={"attributes": {"k": ""}}, headers=headers
    )
    assert cleared.json()["error"]["fields"][0]["code"] == "field_required"
    await user(app.hub, "agent@example.com", Role.agent)
    agent = app.new_client()
    agent_headers = await login(agent, "agent@example.com")
    assert (await agent.get("/api/v1/contact-fields")).status_code == 200
    denied = await agent.post("/api/v1/contact-fields", json={**body, "key": "other"}, headers=agent_headers)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "role_required"


async def test_sorted_paging_visits_every_contact_once(app: Any) -> None:
    hub = app.hub
    await admin_client(app)
    expected = set()
    for n in range(23):
        r = await ingest(hub, sms(f"+1555010{n:04d}", f"p{n}", name=f"name {n % 5}"))
        expected.add(r.contact_id)
    await hub.projections.catch_up()
    for sort in ("created", "name", "last_contact", "conversations", "recent"):
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 4}
            if cursor:
                params["cursor"] = cursor
            page = (await app.client.get("/api/v1/contacts", params=params)).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen)), sort
    r = await app.client.get("/api/v1/contacts", params={"sort": "name", "cursor": "garbage"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_cursor"
    total = (await app.client.get("/api/v1/contacts", params={"count": "true", "q": "name 3"})).json()[
        "total"
    ]
    assert total == 4  # names "name 3": n = 3, 8, 13, 18


async def test_tier_badges_filters_and_admin_changes(app: Any) -> None:
    hub = app.hub
    headers = await admin_client(app)
    regular = None
    for n in range(3):
        regular = await ingest(hub, mail("often@example.com", f"o{n}", thread=f"t{n}"))
        await resolve(hub, SYSTEM, regular.conversation_id)
    once = (await ingest(hub, mail("once@example.com", "once"))).contact_id
    await update_contact(hub, SYSTEM, once, {"vip": True})
    await hub.projections.catch_up()
    assert regular is not None
    profile = (await app.client.get(f"/api/v1/contacts/{regular.contact_id}")).json()
    assert profile["tiers"] == ["frequent"] and profile["figures"]["conversations_90d"] == 3
    assert profile["figures"]["preferred_channel"] == "email"
    assert await ids(app, tier="frequent") == [regular.contact_id]
    assert await ids(app, tier="vip") == [once]
    listed = (await app.client.get("/api/v1/contacts")).json()["items"]
    assert {c["id"]: c["tiers"] for c in listed} == {once: ["vip"], regular.contact_id: ["frequent"]}
    # An admin raises the bar: the projection re-evaluates everyone off the request path.
    r = await app.client.patch(
        "/api/v1/tiers/frequent",
        json={"rule": {"all": [{"field": "conversations_90d", "op": ">=", "value": 4}]}},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    await hub.projections.catch_up()
    assert await ids(app, tier="frequent") == []
    bad = await app.client.patch(
        "/api/v1/tiers/frequent",
        json={"rule": {"all": [{"field": "shoe_size", "op": ">", "value": 1}]}},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["code"] == "invalid_rule"
    created = await app.client.post(
        "/api/v1/tiers",
        json={
            "key": "wholesale",
            "label_en": "Wholesale",
            "label_ar": "جملة",
            "color": "#047857",
            "rule": {"all": [{"field": "tags", "op": "has", "value": "wholesale"}]},
            "routing": {"boost": 20},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    await update_contact(hub, SYSTEM, once, {"tags": ["wholesale"]})
    await hub.projections.catch_up()
    assert await ids(app, tier="wholesale") == [once]


async def test_agents_see_only_contacts_of_their_conversations(app: Any) -> None:
    hub = app.hub
    sales = await team(hub, "sales")
    support = await team(hub, "support")
    await user(hub, "s@example.com", Role.agent, team_ids=(sales,))
    mine = (await ingest(hub, sms("+15550100001", "a", team_name="sales"))).contact_id
    other = (await ingest(hub, sms("+15550100002", "b", team_name="support"))).contact_id
    await hub.projections.catch_up()
    assert support
    await login(app.client, "s@example.com")
    assert await ids(app) == [mine]
    assert await ids(app, q="+15550100002") == []
    assert (await app.client.get(f"/api/v1/contacts/{other}")).status_code == 403


async def test_the_list_count_stops_at_its_cap(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.api.routes_contacts as routes

    monkeypatch.setattr(routes, "COUNT_CAP", 3)
    await admin_client(app)
    for n in range(5):
        await ingest(app.hub, sms(f"+1555030{n:04d}", f"c{n}", name=f"capped {n}"))
    await app.hub.projections.catch_up()
    page = (await app.client.get("/api/v1/contacts", params={"q": "capped", "count": "true"})).json()
    assert (page["total"], page["total_capped"]) == (3, True) and len(page["items"]) == 5
    few = (await app.client.get("/api/v1/contacts", params={"q": "+15550300001", "count": "true"})).json()
    assert (few["total"], few["total_capped"]) == (1, False)
