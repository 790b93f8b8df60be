"""A contact's timeline (conversations, satisfaction, notes, changes with who made
them, paged), suggested duplicates (typed-in email, Arabic name forms) and the merge
screen's preview and merge. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from channels.webchat import record_csat
from hub.domain import InboundMessage
from hub.models import Role
from hub.services import SYSTEM
from hub.services.contacts import update_contact
from hub.services.conversations import add_note, resolve
from hub.services.ingest import ingest
from tests.helpers import login, user


def msg(channel: str, kind: str, sender: str, pid: str, name: str = "", thread: str = "") -> InboundMessage:
    return InboundMessage(
        channel=channel,
        provider_message_id=pid,
        address_kind=kind,  # type: ignore[arg-type]
        sender=sender,
        sender_name=name,
        thread_key=thread,
        body="hello",
    )


async def test_timeline_merges_every_source_newest_first(app: Any, clock: Any) -> None:
    hub = app.hub
    await user(hub, "root@example.com", Role.admin)
    headers = await login(app.client, "root@example.com")
    chat = await ingest(hub, msg("webchat", "webchat", "v_00000001", "w1", "Huda", thread="v_00000001"))
    clock.advance(60)
    await add_note(hub, SYSTEM, chat.conversation_id, "prefers mornings")
    clock.advance(60)
    await resolve(hub, SYSTEM, chat.conversation_id, category="complaint")
    clock.advance(60)
    await record_csat(hub, chat.conversation_id, "v_00000001", 2, "slow")
    clock.advance(60)
    r = await app.client.patch(
        f"/api/v1/contacts/{chat.contact_id}", json={"tags": ["refund"]}, headers=headers
    )
    assert r.status_code == 200
    page = (await app.client.get(f"/api/v1/contacts/{chat.contact_id}/timeline")).json()
    kinds = [e["kind"] for e in page["items"]]
    assert kinds == ["updated", "satisfaction", "note", "conversation"]
    change, rating, note, conv = page["items"]
    assert change["changes"] == {"tags": [[], ["refund"]]} and change["actor_id"] is not None
    assert rating["score"] == 2 and rating["comment"] == "slow"
    assert note["body"] == "prefers mornings"
    assert conv["channel"] == "webchat" and conv["category"] == "complaint" and conv["status"] == "resolved"
    assert page["next_before"] is None
    first = (await app.client.get(f"/api/v1/contacts/{chat.contact_id}/timeline", params={"limit": 2})).json()
    assert [e["kind"] for e in first["items"]] == ["updated", "satisfaction"]
    rest = (
        await app.client.get(
            f"/api/v1/contacts/{chat.contact_id}/timeline",
            params={"limit": 2, "before": first["next_before"]},
        )
    ).json()
    assert [e["kind"] for e in rest["items"]] == ["note", "conversation"]


async def test_duplicates_and_merge(app: Any, clock: Any) -> None:
    hub = app.hub
    await user(hub, "sup@example.com", Role.supervisor)
    headers = await login(app.client, "sup@example.com")
    # A web-chat visitor typed the email that an email customer writes from.
    visitor = await ingest(hub, msg("webchat", "webchat", "v_00000002", "w2", "أحمد", thread="v_00000002"))
    await update_contact(hub, SYSTEM, visitor.contact_id, {"attributes": {"email": "Ahmad@Example.com"}})
    mail = await ingest(hub, msg("email", "email", "ahmad@example.com", "m1", "Someone"))
    namesake = await ingest(hub, msg("sms", "phone", "+966500000001", "s1", "احمد"))
    await ingest(hub, msg("sms", "phone", "+966500000002", "s2", "Other"))
    await hub.projections.catch_up()
    found = (await app.client.get(f"/api/v1/contacts/{visitor.contact_id}/duplicates")).json()
    assert [(d["contact"]["id"], d["reasons"]) for d in found] == [
        (mail.contact_id, ["same_email"]),
        (namesake.contact_id, ["same_name"]),
    ]
    back = (await app.client.get(f"/api/v1/contacts/{mail.contact_id}/duplicates")).json()
    assert [d["contact"]["id"] for d in back] == [visitor.contact_id]

    preview = (
        await app.client.get(
            f"/api/v1/contacts/{visitor.contact_id}/merge-preview", params={"source_id": mail.contact_id}
        )
    ).json()
    assert [i["address"] for i in preview["identities"]] == ["ahmad@example.com"]
    assert preview["conversations"] == 1 and preview["blocking_conversations"] == []
    clock.advance(60)
    merged = await app.client.post(
        f"/api/v1/contacts/{visitor.contact_id}/merge", json={"source_id": mail.contact_id}, headers=headers
    )
    assert merged.status_code == 200, merged.text
    assert {i["address"] for i in merged.json()["identities"]} == {"v_00000002", "ahmad@example.com"}
    await hub.projections.catch_up()
    assert (await app.client.get(f"/api/v1/contacts/{visitor.contact_id}")).json()["figures"][
        "conversations_total"
    ] == 2
    timeline = (await app.client.get(f"/api/v1/contacts/{visitor.contact_id}/timeline")).json()["items"]
    assert timeline[0]["kind"] == "merged" and timeline[0]["source_id"] == mail.contact_id

    await user(hub, "agent@example.com", Role.agent)
    agent = app.new_client()
    agent_headers = await login(agent, "agent@example.com")
    r = await agent.post(
        f"/api/v1/contacts/{visitor.contact_id}/merge",
        json={"source_id": namesake.contact_id},
        headers=agent_headers,
    )
    assert r.status_code == 403
