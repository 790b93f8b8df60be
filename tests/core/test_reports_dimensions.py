"""Reports by customer dimension: a segment, a tier, a conversation tag or category
narrows the figures to those conversations (conversation-based; message counts, kept
per team × channel × agent only, are null), the breakdown tables, the drill-down with a
dimension, and the errors. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from channels.twilio.store import add_tag
from hub.models import Role
from hub.services import SYSTEM, abandon
from hub.services.contacts import update_contact
from hub.services.conversations import assign, resolve
from tests.core.test_reports import settle
from tests.helpers import inbound, login, team, user

DAY = {"since": "2026-03-02T00:00:00+00:00", "until": "2026-03-03T00:00:00+00:00"}


def at(clock: Any, hh: int, mm: int) -> None:
    clock.now = datetime(2026, 3, 2, hh, mm, tzinfo=UTC)


async def traffic(app: Any, clock: Any) -> dict[str, Any]:
    hub = app.hub
    at(clock, 8, 0)
    care = await team(hub, "Care", routing={"sla_seconds": {"loopback": 60}})
    other = await team(hub, "Other")
    sara = await user(hub, "sara@example.com", Role.agent, (care,))
    await user(hub, "boss@example.com", Role.supervisor, (care,))
    await user(hub, "elsewhere@example.com", Role.supervisor, (other,))
    await user(hub, "root@example.com", Role.admin)
    at(clock, 9, 0)
    a = await inbound(app.client, "cust-a", "my refund", team="Care")
    b = await inbound(app.client, "cust-b", "opening hours?", team="Care")
    c = await inbound(app.client, "cust-c", "(call)", team="Care")
    await update_contact(hub, SYSTEM, a["contact_id"], {"vip": True})
    await add_tag(hub, a["conversation_id"], "refund")
    at(clock, 9, 1)
    await assign(hub, SYSTEM, a["conversation_id"], sara)
    at(clock, 9, 2)
    await assign(hub, SYSTEM, b["conversation_id"], sara)
    assert await abandon.caller_hung_up(hub, c["conversation_id"])
    at(clock, 9, 10)
    await resolve(hub, SYSTEM, a["conversation_id"], category="complaint")
    await resolve(hub, SYSTEM, b["conversation_id"], category="inquiry")
    await settle(app)
    return {"a": a["conversation_id"], "b": b["conversation_id"], "c": c["conversation_id"]}


async def test_figures_by_segment_tier_tag_and_category(app: Any, clock: Any) -> None:
    ids = await traffic(app, clock)
    boss = await login(app.client, "boss@example.com")
    r = await app.client.post(
        "/api/v1/segments", json={"name": "VIPs", "filter": {"vip": True}}, headers=boss
    )
    assert r.status_code == 201, r.text
    segment = r.json()["id"]

    async def summary(**params: Any) -> dict[str, Any]:
        r = await app.client.get("/api/v1/reports/summary", params={**DAY, **params}, headers=boss)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    everything = await summary()
    assert (everything["conversations"], everything["answered"], everything["abandoned"]) == (3, 2, 1)
    assert everything["inbound_messages"] == 3
    for narrowed in (
        await summary(segment_id=segment),
        await summary(tier="vip"),
        await summary(tag="refund"),
        await summary(category="complaint"),
    ):
        assert (narrowed["conversations"], narrowed["answered"], narrowed["service_level"]) == (1, 1, 1.0)
        assert (narrowed["resolved"], narrowed["abandoned"]) == (1, 0)
        assert narrowed["first_response_seconds"]["count"] == 0
        assert narrowed["resolution_seconds"]["avg"] == 600.0
        assert narrowed["inbound_messages"] is None  # not kept per customer
    inquiry = await summary(category="inquiry")
    assert (inquiry["conversations"], inquiry["answered"], inquiry["service_level"]) == (1, 1, 0.0)
    # Another team's supervisor sees nothing of Care's, whatever the dimension.
    async with app.new_client() as other:
        await login(other, "elsewhere@example.com")
        r = await other.get("/api/v1/reports/summary", params={**DAY, "tier": "vip"})
        assert r.json()["conversations"] == 0

    async def breakdown(by: str) -> dict[str, dict[str, Any]]:
        r = await app.client.get("/api/v1/reports/breakdown", params={**DAY, "by": by}, headers=boss)
        assert r.status_code == 200, r.text
        return {row["key"]: row for row in r.json()}

    cats = await breakdown("category")
    assert (cats["complaint"]["conversations"], cats["inquiry"]["conversations"]) == (1, 1)
    assert cats["order"]["conversations"] == 0
    assert list(await breakdown("tag")) == ["refund"]
    segs = await breakdown("segment")
    assert segs[str(segment)]["label"] == "VIPs" and segs[str(segment)]["conversations"] == 1
    assert (await breakdown("tier"))["vip"]["resolved"] == 1
    csv = await app.client.get(
        "/api/v1/reports/breakdown", params={**DAY, "by": "category", "format": "csv"}, headers=boss
    )
    assert csv.text.splitlines()[0].startswith("key,label,conversations")

    r = await app.client.get(
        "/api/v1/reports/conversations",
        params={**DAY, "metric": "conversations", "segment_id": segment},
        headers=boss,
    )
    assert [c["id"] for c in r.json()["items"]] == [ids["a"]]
    series = await app.client.get(
        "/api/v1/reports/timeseries",
        params={**DAY, "metric": "inbound_messages", "group_by": "day", "tier": "vip"},
        headers=boss,
    )
    assert [p["value"] for p in series.json()] == [None]

    for params, status, code in (
        ({"category": "nope"}, 422, "bad_category"),
        ({"segment_id": 999_999}, 404, "not_found"),
    ):
        r = await app.client.get("/api/v1/reports/summary", params={**DAY, **params}, headers=boss)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    r = await app.client.get("/api/v1/reports/breakdown", params={**DAY, "by": "planet"}, headers=boss)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "bad_dimension")
