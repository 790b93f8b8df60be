"""The complaints register through the API and the loopback channel, on SQLite and
PostgreSQL: opening from a thread and from a customer's keyword, the reference
acknowledged on the customer's channel, targets in business hours (a weekend and a
holiday with a fake clock), escalation exactly once across a restart, the automatic
"status <reference>" answer that never reveals another customer's case, resolution,
the satisfaction question, reopening and closing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from hub.app import build_projections
from hub.models import Complaint, ComplaintEntry, Conversation, EventLog, Role
from hub.services import SYSTEM
from hub.services.conversations import resolve
from tests.helpers import inbound, login, team, user

# Sun-Thu 09:00-17:00 in Riyadh (UTC+3); 2026-01-11 (a Sunday) is a holiday.
HOURS = {
    "timezone": "Asia/Riyadh",
    "days": {d: [["09:00", "17:00"]] for d in ("sun", "mon", "tue", "wed", "thu")},
    "closed_dates": ["2026-01-11"],
}


async def staff(app: Any) -> tuple[int, int, dict[str, str]]:
    hub = app.hub
    care = await team(hub, "Care", business_hours=HOURS)
    agent = await user(hub, "sara@example.com", Role.agent, (care,))
    await user(hub, "boss@example.com", Role.supervisor, (care,))
    return care, agent, await login(app.client, "sara@example.com")


async def sent_bodies(app: Any, loopback: Any) -> list[str]:
    await app.hub.projections.catch_up()
    await app.hub.projections.run_due()
    while await app.worker.run_once():
        pass
    return [m.body for m in loopback.sent]


async def test_open_from_a_thread_acknowledges_with_reference_and_due_date(
    app: Any, loopback: Any, clock: Any
) -> None:
    # Thursday 2026-01-08 15:00 in Riyadh (12:00 UTC): 2 open hours left that day.
    clock.now = datetime(2026, 1, 8, 12, 0, tzinfo=UTC)
    care, agent, h = await staff(app)
    first = await inbound(app.client, "cust-1", "my order arrived broken", team="Care")
    conv_id = first["conversation_id"]
    await app.client.post(f"/api/v1/conversations/{conv_id}/assign", json={"user_id": agent}, headers=h)
    r = await app.client.post(
        "/api/v1/complaints",
        json={
            "conversation_id": conv_id,
            "category": "delivery",
            "subcategory": "damaged_item",
            "severity": "high",
            "description": "Parcel crushed",
            "assignee_id": agent,
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["reference"] == "C-2026-000001" and c["status"] == "acknowledged" and c["team_id"] == care
    # High: respond within 4 business hours. Thu 15:00 + 2 h = Thu 17:00; Fri, Sat are
    # closed, Sunday the 11th is a holiday: Mon 09:00 + 2 h = Mon 11:00 Riyadh (08:00 UTC).
    assert c["response_due_at"].startswith("2026-01-12T08:00:00")
    # 16 business hours: Thu 2 + Mon 8 + Tue 6 → Tue 15:00 Riyadh.
    assert c["resolution_due_at"].startswith("2026-01-13T12:00:00")
    bodies = await sent_bodies(app, loopback)
    assert len(bodies) == 1 and "C-2026-000001" in bodies[0] and "2026-01-12" in bodies[0]
    assert loopback.sent[0].to == "cust-1"
    detail = (await app.client.get(f"/api/v1/complaints/{c['id']}")).json()
    assert [e["kind"] for e in detail["history"]] == ["opened", "notified"]
    assert detail["conversations"] == [conv_id]
    # A second complaint gets the next number; references are never reused.
    r2 = await app.client.post("/api/v1/complaints", json={"conversation_id": conv_id}, headers=h)
    assert r2.json()["reference"] == "C-2026-000002"


async def test_bad_input_names_each_field(app: Any) -> None:
    _, _, h = await staff(app)
    first = await inbound(app.client, "cust-2", "hello", team="Care")
    r = await app.client.post(
        "/api/v1/complaints",
        json={"conversation_id": first["conversation_id"], "category": "billing", "subcategory": "late_delivery",
              "severity": "apocalyptic"},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 422
    fields = {f["field"]: f["code"] for f in r.json()["error"]["fields"]}
    assert fields == {"subcategory": "unknown_option", "severity": "unknown_option"}
    r = await app.client.post("/api/v1/complaints", json={"description": "x" * 8001}, headers=h)
    assert r.status_code == 422
    r = await app.client.post("/api/v1/complaints", json={"channel": "loopback"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "contact_id"


async def test_customer_keyword_opens_and_status_is_answered_only_to_its_owner(
    app: Any, loopback: Any, clock: Any
) -> None:
    await staff(app)
    a = await inbound(app.client, "cust-a", "I want to make a complaint: you charged me twice", team="Care")
    bodies = await sent_bodies(app, loopback)
    async with app.hub.db.session() as s:
        c = (await s.exec(select(Complaint))).one()
    assert c.source == "keyword" and c.contact_id == a["contact_id"] and c.reference in bodies[0]
    # Arabic, in Arabic.
    await inbound(app.client, "cust-b", "أريد تقديم شكوى بخصوص التوصيل", team="Care")
    bodies = await sent_bodies(app, loopback)
    assert "الرقم المرجعي" in bodies[1]
    loopback.sent.clear()

    # The owner asks: the status and the expected date, and no conversation waits for an agent.
    before = await _open_conversations(app)
    await inbound(app.client, "cust-a", f"status {c.reference}")
    (answer,) = await sent_bodies(app, loopback)
    assert c.reference in answer and "received" in answer
    assert await _open_conversations(app) == before
    # Another customer asking about that reference, and anyone asking about one that does
    # not exist, get the same answer: nothing tells them it exists.
    loopback.sent.clear()
    await inbound(app.client, "cust-stranger", f"status {c.reference}")
    await inbound(app.client, "cust-stranger", "status C-2026-999999")
    other, missing = await sent_bodies(app, loopback)
    assert other == missing and c.reference not in other
    # "status" alone, with one open complaint, in Arabic.
    loopback.sent.clear()
    await inbound(app.client, "cust-a", "حالة")
    (arabic,) = await sent_bodies(app, loopback)
    assert c.reference in arabic and "الشكوى" in arabic
    # A keyword in a conversation that already has an open complaint opens no second one.
    await inbound(app.client, "cust-a", "this complaint is still not handled")
    await app.hub.projections.catch_up()
    async with app.hub.db.session() as s:
        assert len((await s.exec(select(Complaint))).all()) == 2


async def _open_conversations(app: Any) -> int:
    async with app.hub.db.session() as s:
        rows = (await s.exec(select(Conversation).where(Conversation.status == "queued"))).all()
    return len(rows)


async def test_escalation_fires_once_across_a_restart(
    app: Any, loopback: Any, clock: Any, settings: Any
) -> None:
    hub = app.hub
    # Monday 2026-01-05 10:00 Riyadh; critical: respond in 1 business hour, warn at half.
    clock.now = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    care, _agent, h = await staff(app)
    first = await inbound(app.client, "cust-e", "broken again", team="Care")
    boss = await login(app.new_client(), "boss@example.com")
    r = await app.client.post(
        "/api/v1/complaints",
        json={"conversation_id": first["conversation_id"], "severity": "critical"},
        headers=h,
    )
    cid = r.json()["id"]
    assert boss  # the supervisor exists and may see the escalation
    clock.advance(31 * 60)
    await hub.projections.run_due()
    clock.advance(30 * 60)
    await hub.projections.run_due()
    # A second hub process on the same database (a restart, or a scale-out peer).
    other = build_projections(hub)
    await other.prepare()
    await other.run_due()
    await hub.projections.run_due()
    async with hub.db.session() as s:
        entries = (
            await s.exec(
                select(ComplaintEntry).where(
                    ComplaintEntry.complaint_id == cid, ComplaintEntry.kind == "escalated"
                )
            )
        ).all()
        events = (await s.exec(select(EventLog).where(EventLog.type == "complaint.escalated"))).all()
    assert sorted(e.changes["stage"] for e in entries) == ["response", "response_warning"]
    assert len(events) == 2 and all(e.team_id == care for e in events)
    listed = (await app.client.get("/api/v1/complaints", params={"overdue": True})).json()["items"]
    assert [c["id"] for c in listed] == [cid] and listed[0]["escalated_at"] is not None
    attention = (await app.client.get("/api/v1/complaints", params={"attention": True})).json()["items"]
    assert [c["id"] for c in attention] == [cid]
    # Answering stops the response clock; the resolution target still stands.
    r = await app.client.patch(f"/api/v1/complaints/{cid}", json={"status": "investigating"}, headers=h)
    assert r.status_code == 200 and r.json()["responded_at"] is not None


async def test_resolve_notify_survey_reopen_and_close(app: Any, loopback: Any, clock: Any) -> None:
    _, agent, h = await staff(app)
    first = await inbound(app.client, "cust-r", "where is my refund", team="Care")
    r = await app.client.post(
        "/api/v1/complaints",
        json={"conversation_id": first["conversation_id"], "assignee_id": agent},
        headers=h,
    )
    cid = r.json()["id"]
    await resolve(app.hub, SYSTEM, first["conversation_id"])
    await sent_bodies(app, loopback)
    loopback.sent.clear()
    # Resolving needs a resolution text.
    r = await app.client.patch(f"/api/v1/complaints/{cid}", json={"status": "resolved"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "resolution"
    r = await app.client.patch(
        f"/api/v1/complaints/{cid}",
        json={
            "status": "resolved",
            "resolution": "Refunded in full.",
            "root_cause": "system",
            "remedy": "refund",
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    bodies = await sent_bodies(app, loopback)
    assert any("Refunded in full." in b for b in bodies)
    assert any("How satisfied are you with how we handled" in b for b in bodies)
    # The customer rates the handling; it is not a new conversation.
    before = await _open_conversations(app)
    await inbound(app.client, "cust-r", "4")
    await app.hub.projections.catch_up()
    detail = (await app.client.get(f"/api/v1/complaints/{cid}")).json()
    assert detail["satisfaction"] == 4 and await _open_conversations(app) == before
    # Reopening within the period works; after it, the complaint closes by itself.
    r = await app.client.patch(f"/api/v1/complaints/{cid}", json={"status": "reopened"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "reopened"
    r = await app.client.patch(
        f"/api/v1/complaints/{cid}",
        json={"status": "resolved", "resolution": "Refunded twice now."},
        headers=h,
    )
    clock.advance(15 * 86400)
    await app.hub.projections.run_due()
    h = await login(app.client, "sara@example.com")  # the old session has expired meanwhile
    detail = (await app.client.get(f"/api/v1/complaints/{cid}")).json()
    assert detail["status"] == "closed"
    r = await app.client.patch(f"/api/v1/complaints/{cid}", json={"status": "reopened"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["code"] == "reopen_expired"
    # Full history of who changed what.
    kinds = [e["kind"] for e in detail["history"]]
    assert kinds.count("changed") >= 3 and "notified" in kinds


async def test_agents_see_their_teams_complaints_only(app: Any) -> None:
    hub = app.hub
    _, _, h = await staff(app)
    other = await team(hub, "Billing")
    await user(hub, "omar@example.com", Role.agent, (other,))
    first = await inbound(app.client, "cust-x", "hello", team="Care")
    r = await app.client.post(
        "/api/v1/complaints", json={"conversation_id": first["conversation_id"]}, headers=h
    )
    cid = r.json()["id"]
    outsider = app.new_client()
    oh = await login(outsider, "omar@example.com")
    assert (await outsider.get(f"/api/v1/complaints/{cid}")).status_code == 403
    assert (await outsider.get("/api/v1/complaints")).json()["items"] == []
    r = await outsider.patch(f"/api/v1/complaints/{cid}", json={"status": "investigating"}, headers=oh)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_team"
    # Options are the admin's.
    r = await app.client.put(
        "/api/v1/complaint-options/severity/urgent", json={"label_en": "U", "label_ar": "ع"}, headers=h
    )
    assert r.status_code == 403


async def test_attachments_are_stored_downloaded_and_guarded(app: Any) -> None:
    hub = app.hub
    _, _, h = await staff(app)
    other = await team(hub, "Billing")
    await user(hub, "omar@example.com", Role.agent, (other,))
    first = await inbound(app.client, "cust-f", "hello", team="Care")
    cid = (
        await app.client.post(
            "/api/v1/complaints", json={"conversation_id": first["conversation_id"]}, headers=h
        )
    ).json()["id"]
    r = await app.client.post(
        f"/api/v1/complaints/{cid}/attachments",
        params={"filename": "../../receipt <1>.html"},
        content=b"<script>alert(1)</script>",
        headers={**h, "content-type": "text/html"},
    )
    assert r.status_code == 201, r.text
    (ref,) = r.json()["attachments"]
    assert ref["filename"] == "receipt <1>.html" and "path" not in ref
    got = await app.client.get(ref["url"])
    assert got.status_code == 200 and got.content == b"<script>alert(1)</script>"
    assert got.headers["content-type"] == "application/octet-stream"  # never served as HTML
    assert got.headers["content-disposition"].startswith("attachment")
    outsider = app.new_client()
    oh = await login(outsider, "omar@example.com")
    assert (await outsider.get(ref["url"])).status_code == 403
    r = await outsider.post(f"/api/v1/complaints/{cid}/attachments", content=b"x", headers=oh)
    assert r.status_code == 403
    r = await app.client.post(f"/api/v1/complaints/{cid}/attachments", content=b"", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_file"
    detail = (await app.client.get(f"/api/v1/complaints/{cid}")).json()
    assert detail["history"][-1]["kind"] == "attachment"
