"""Segments and CSV export: counts equal member lists, private segments stay private,
the channel-preference table, export in batches with formulas defused. On SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

import hub.crm.export
from hub.domain import InboundMessage
from hub.models import Role
from hub.services import SYSTEM
from hub.services.contacts import update_contact
from hub.services.ingest import ingest
from tests.helpers import login, user


def msg(channel: str, sender: str, pid: str, name: str = "") -> InboundMessage:
    kind = {"sms": "phone", "email": "email", "telegram": "telegram"}[channel]
    return InboundMessage(
        channel=channel,
        provider_message_id=pid,
        address_kind=kind,
        sender=sender,
        sender_name=name,
        body="hi",
    )


async def seed(hub: Any) -> dict[str, int]:
    ids = {
        "sara": (await ingest(hub, msg("sms", "+966501112222", "1", "سارة"))).contact_id,
        "omar": (await ingest(hub, msg("email", "omar@example.com", "2", "Omar"))).contact_id,
        "lina": (await ingest(hub, msg("telegram", "7001", "3", '=HYPERLINK("x")'))).contact_id,
        "ziad": (await ingest(hub, msg("sms", "+966503334444", "4", "Ziad"))).contact_id,
    }
    await update_contact(hub, SYSTEM, ids["sara"], {"tags": ["gold"]})
    await update_contact(hub, SYSTEM, ids["ziad"], {"tags": ["gold"], "vip": True})
    await hub.projections.catch_up()
    return ids


async def test_segment_counts_equal_member_lists(app: Any) -> None:
    ids = await seed(app.hub)
    await user(app.hub, "sup@example.com", Role.supervisor)
    await user(app.hub, "sup2@example.com", Role.supervisor)
    headers = await login(app.client, "sup@example.com")
    filters: list[dict[str, Any]] = [
        {"tag": "gold"},
        {"tag": "gold", "vip": True},
        {"preferred_channel": "sms"},
        {"channel": "email"},
        {"q": "سارة"},
        {"tier": "vip"},
        {},
    ]
    expected = [
        {ids["sara"], ids["ziad"]},
        {ids["ziad"]},
        {ids["sara"], ids["ziad"]},
        {ids["omar"]},
        {ids["sara"]},
        {ids["ziad"]},
        set(ids.values()),
    ]
    for n, (f, want) in enumerate(zip(filters, expected, strict=True)):
        r = await app.client.post("/api/v1/segments", json={"name": f"s{n}", "filter": f}, headers=headers)
        assert r.status_code == 201, r.text
        seg = r.json()
        members: list[int] = []
        cursor = None
        while True:
            page = (
                await app.client.get(
                    f"/api/v1/segments/{seg['id']}/contacts",
                    params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                )
            ).json()
            members += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seg["count"] == len(members) and set(members) == want, f
    prefs = (await app.client.get("/api/v1/segments/channel-preferences")).json()
    everyone = next(p for p in prefs if p["name"] == "s6")
    assert everyone["by_channel"] == {"sms": 2, "email": 1, "telegram": 1} and everyone["total"] == 4

    private = await app.client.post(
        "/api/v1/segments", json={"name": "mine", "filter": {}, "shared": False}, headers=headers
    )
    other = app.new_client()
    other_headers = await login(other, "sup2@example.com")
    names = [s["name"] for s in (await other.get("/api/v1/segments")).json()]
    assert "mine" not in names and "s0" in names
    assert (await other.get(f"/api/v1/segments/{private.json()['id']}")).status_code == 404
    denied = await other.patch("/api/v1/segments/1", json={"name": "x"}, headers=other_headers)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_owner"
    bad = await app.client.post(
        "/api/v1/segments", json={"name": "b", "filter": {"colour": "red"}}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["code"] == "invalid_filter"


async def test_agents_cannot_manage_segments_or_export(app: Any) -> None:
    await user(app.hub, "agent@example.com", Role.agent)
    headers = await login(app.client, "agent@example.com")
    r = await app.client.post("/api/v1/segments", json={"name": "x", "filter": {}}, headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"
    assert (await app.client.get("/api/v1/contacts/export.csv")).status_code == 403


async def test_export_streams_every_row_with_formulas_defused(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.crm.export, "BATCH", 3)  # several batches from four contacts
    ids = await seed(app.hub)
    await user(app.hub, "root@example.com", Role.admin)
    headers = await login(app.client, "root@example.com")
    field = {"key": "plan", "label_en": "Plan", "label_ar": "الباقة", "type": "text"}
    assert (await app.client.post("/api/v1/contact-fields", json=field, headers=headers)).status_code == 201
    await update_contact(app.hub, SYSTEM, ids["omar"], {"attributes": {"plan": "+1 free"}})
    r = await app.client.get("/api/v1/contacts/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(int(x["id"]) for x in rows) == sorted(ids.values())
    by_id = {int(x["id"]): x for x in rows}
    assert by_id[ids["sara"]]["name"] == "سارة" and by_id[ids["sara"]]["phone"] == "+966501112222"
    assert by_id[ids["lina"]]["name"].startswith("'=")  # never a live formula
    assert by_id[ids["omar"]]["field.plan"] == "'+1 free"
    assert by_id[ids["ziad"]]["tags"] == "gold" and by_id[ids["ziad"]]["tiers"] == "vip"
    gold = await app.client.get("/api/v1/contacts/export.csv", params={"tag": "gold"})
    assert len(list(csv.DictReader(io.StringIO(gold.content.decode("utf-8-sig"))))) == 2


async def test_filters_on_consent_satisfaction_complaints_and_first_contact(app: Any, clock: Any) -> None:
    from channels.webchat import record_csat
    from hub.services.conversations import resolve

    hub_ = app.hub
    await user(hub_, "sup@example.com", Role.supervisor)
    people = {}
    for n, score in enumerate((1, 4, 5)):
        visitor = f"v_0000010{n}"
        r = await ingest(
            hub_,
            InboundMessage(
                channel="webchat",
                provider_message_id=f"w{n}",
                address_kind="webchat",
                sender=visitor,
                thread_key=visitor,
                body="hi",
            ),
        )
        await resolve(hub_, SYSTEM, r.conversation_id, category="complaint" if n == 0 else None)
        await record_csat(hub_, r.conversation_id, visitor, score)
        people[score] = r.contact_id
        clock.advance(86400)
    from hub.services.complaints import NewComplaint, open_complaint

    # An open complaint in the register (a resolve-time category alone is not one).
    await open_complaint(
        hub_, SYSTEM, NewComplaint(conversation_id=await _conv_of(hub_, people[1]), acknowledge=False)
    )
    await update_contact(hub_, SYSTEM, people[4], {"consent": {"sms": True}})
    await update_contact(hub_, SYSTEM, people[5], {"consent": {"sms": False}})
    await hub_.projections.catch_up()
    headers = await login(app.client, "sup@example.com")  # after the days went by

    async def members(f: dict[str, Any]) -> set[int]:
        r = await app.client.post("/api/v1/segments", json={"name": str(f), "filter": f}, headers=headers)
        assert r.status_code == 201, r.text
        page = (await app.client.get(f"/api/v1/segments/{r.json()['id']}/contacts")).json()
        assert r.json()["count"] == len(page["items"])
        return {c["id"] for c in page["items"]}

    assert await members({"consent": "sms"}) == {people[4]}
    assert await members({"open_complaint": True}) == {people[1]}
    assert await members({"open_complaint": False}) == {people[4], people[5]}
    assert await members({"min_csat_average": 4}) == {people[4], people[5]}
    assert await members({"max_csat_average": 2}) == {people[1]}
    second_day = (clock.now - timedelta(days=2, hours=1)).isoformat()
    assert await members({"first_contact_after": second_day}) == {people[4], people[5]}


async def _conv_of(hub_: Any, contact_id: int) -> int:
    from sqlmodel import select

    from hub.models import Conversation

    async with hub_.db.session() as s:
        conv = (await s.exec(select(Conversation).where(Conversation.contact_id == contact_id))).first()
    assert conv is not None and conv.id is not None
    return conv.id
