"""Organisations (domains join contacts automatically, off the request path; the
central view's figures), account managers, consent per channel, and identities staff
add, verify and remove. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from channels.webchat import record_csat
from hub.domain import InboundMessage
from hub.models import Role
from hub.services import SYSTEM
from hub.services.conversations import resolve
from hub.services.ingest import ingest
from tests.helpers import login, user


def mail(sender: str, pid: str, thread: str = "") -> InboundMessage:
    return InboundMessage(
        channel="email",
        provider_message_id=pid,
        address_kind="email",
        sender=sender,
        thread_key=thread,
        body="hi",
    )


async def test_domains_join_contacts_and_the_central_view(app: Any) -> None:
    hub = app.hub
    await user(hub, "sup@example.com", Role.supervisor)
    headers = await login(app.client, "sup@example.com")
    r = await app.client.post(
        "/api/v1/organizations", json={"name": "Acme Trading", "domains": ["@ACME.com"]}, headers=headers
    )
    assert r.status_code == 201 and r.json()["domains"] == ["acme.com"], r.text
    acme = r.json()["id"]
    bad = await app.client.post(
        "/api/v1/organizations", json={"name": "G", "domains": ["gmail.com"]}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["code"] == "public_domain"
    clash = await app.client.post(
        "/api/v1/organizations", json={"name": "B", "domains": ["acme.com"]}, headers=headers
    )
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "domain_taken"

    first = await ingest(hub, mail("rana@acme.com", "m1"))
    other = await ingest(hub, mail("sam@elsewhere.org", "m2"))
    await hub.projections.catch_up()
    profile = (await app.client.get(f"/api/v1/contacts/{first.contact_id}")).json()
    assert profile["organization"] == {"id": acme, "name": "Acme Trading"}
    change = (await app.client.get(f"/api/v1/contacts/{first.contact_id}/timeline")).json()["items"][0]
    assert change["kind"] == "updated" and change["reason"] == "domain" and change["actor_id"] is None
    assert (await app.client.get(f"/api/v1/contacts/{other.contact_id}")).json()["organization"] is None

    # A domain added later brings in the contacts already there.
    r = await app.client.post("/api/v1/organizations", json={"name": "Elsewhere"}, headers=headers)
    elsewhere = r.json()["id"]
    r = await app.client.patch(
        f"/api/v1/organizations/{elsewhere}",
        json={"domains": ["elsewhere.org"], "attributes": {"industry": "logistics", "seats": 40}},
        headers=headers,
    )
    assert r.json()["attributes"] == {"industry": "logistics", "seats": 40}
    await hub.projections.catch_up()
    assert (await app.client.get(f"/api/v1/contacts/{other.contact_id}")).json()["organization"][
        "id"
    ] == elsewhere

    # Staff's choice wins over the domain.
    third = await ingest(hub, mail("lee@acme.com", "m3"))
    r = await app.client.patch(
        f"/api/v1/contacts/{third.contact_id}", json={"organization_id": elsewhere}, headers=headers
    )
    assert r.status_code == 200
    await hub.projections.catch_up()
    assert (await app.client.get(f"/api/v1/contacts/{third.contact_id}")).json()["organization"][
        "id"
    ] == elsewhere

    # The central view: Acme's contacts, conversations, complaints and satisfaction.
    second = await ingest(hub, mail("rana@acme.com", "m4", thread="t2"))
    await resolve(hub, SYSTEM, first.conversation_id, category="complaint")
    await resolve(hub, SYSTEM, second.conversation_id)
    view = (await app.client.get(f"/api/v1/organizations/{acme}")).json()
    assert (view["contacts"], view["conversations"], view["open_complaints"]) == (1, 2, 0)
    members = (await app.client.get(f"/api/v1/organizations/{acme}/contacts")).json()
    assert [c["id"] for c in members["items"]] == [first.contact_id] and members["total"] == 1
    convs = (await app.client.get(f"/api/v1/organizations/{acme}/conversations")).json()["items"]
    assert {c["id"] for c in convs} == {first.conversation_id, second.conversation_id}
    found = (await app.client.get("/api/v1/contacts", params={"q": "acme trad"})).json()["items"]
    assert [c["id"] for c in found] == [first.contact_id]
    listed = (await app.client.get("/api/v1/organizations", params={"q": "elsewhere.o"})).json()["items"]
    assert [o["id"] for o in listed] == [elsewhere]


async def test_satisfaction_over_an_organisation(app: Any) -> None:
    hub = app.hub
    await user(hub, "root@example.com", Role.admin)
    headers = await login(app.client, "root@example.com")
    org = (await app.client.post("/api/v1/organizations", json={"name": "Zed"}, headers=headers)).json()["id"]
    for n, score in enumerate((2, 5)):
        visitor = f"v_0000000{n}"
        r = await ingest(
            hub,
            InboundMessage(
                channel="webchat",
                provider_message_id=f"w{n}",
                address_kind="webchat",
                sender=visitor,
                thread_key=visitor,
                body="hi",
            ),
        )
        await app.client.patch(
            f"/api/v1/contacts/{r.contact_id}", json={"organization_id": org}, headers=headers
        )
        await resolve(hub, SYSTEM, r.conversation_id)
        await record_csat(hub, r.conversation_id, visitor, score)
    view = (await app.client.get(f"/api/v1/organizations/{org}")).json()
    assert view["csat_average"] == 3.5 and view["csat_count"] == 2 and view["contacts"] == 2


async def test_owner_consent_and_identities(app: Any, clock: Any) -> None:
    hub = app.hub
    manager = await user(hub, "manager@example.com", Role.agent)
    await user(hub, "root@example.com", Role.admin)
    headers = await login(app.client, "root@example.com")
    cid = (await ingest(hub, mail("dana@example.com", "m1"))).contact_id
    r = await app.client.patch(
        f"/api/v1/contacts/{cid}",
        json={"owner_id": manager, "consent": {"sms": True, "email": False}},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["owner_id"] == manager
    assert body["consent"]["sms"]["granted"] is True and body["consent"]["email"]["granted"] is False
    assert body["consent"]["sms"]["at"] == clock.now.isoformat()
    clock.advance(60)
    again = (
        await app.client.patch(
            f"/api/v1/contacts/{cid}", json={"consent": {"sms": True, "email": None}}, headers=headers
        )
    ).json()
    assert (
        set(again["consent"]) == {"sms"} and again["consent"]["sms"] == body["consent"]["sms"]
    )  # unchanged: same record
    bad = await app.client.patch(
        f"/api/v1/contacts/{cid}", json={"consent": {"pigeon": True}}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["code"] == "invalid_consent"
    nobody = await app.client.patch(f"/api/v1/contacts/{cid}", json={"owner_id": 9999}, headers=headers)
    assert nobody.status_code == 422 and nobody.json()["error"]["fields"][0]["code"] == "unknown_user"
    assert (await app.client.get("/api/v1/contacts", params={"owner_id": manager})).json()["items"][0][
        "id"
    ] == cid

    channel_made = body["identities"][0]
    assert channel_made["verified_at"] is not None  # the customer wrote from it
    r = await app.client.post(
        f"/api/v1/contacts/{cid}/identities",
        json={"kind": "phone", "address": "+966 50 765 4321"},
        headers=headers,
    )
    assert r.status_code == 201 and r.json()["address"] == "+966507654321" and r.json()["verified_at"] is None
    phone = r.json()["id"]
    taken = await app.client.post(
        f"/api/v1/contacts/{cid}/identities",
        json={"kind": "email", "address": "DANA@example.com"},
        headers=headers,
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "identity_taken"
    wrong = await app.client.post(
        f"/api/v1/contacts/{cid}/identities", json={"kind": "phone", "address": "12"}, headers=headers
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["fields"][0]["code"] == "bad_phone"
    verified = await app.client.post(
        f"/api/v1/contacts/{cid}/identities/{phone}/verify", json={"verified": True}, headers=headers
    )
    assert verified.json()["verified_at"] is not None
    await hub.projections.catch_up()
    assert [
        c["id"]
        for c in (await app.client.get("/api/v1/contacts", params={"q": "0507654321"})).json()["items"]
    ] == [cid]  # the national form is in the search text too
    assert [
        c["id"]
        for c in (await app.client.get("/api/v1/contacts", params={"q": "+966507654321"})).json()["items"]
    ] == [cid]
    assert (
        await app.client.delete(f"/api/v1/contacts/{cid}/identities/{phone}", headers=headers)
    ).status_code == 204
    await hub.projections.catch_up()
    assert (await app.client.get("/api/v1/contacts", params={"q": "+966507654321"})).json()["items"] == []
