"""Campaigns through the API (docs/campaigns.md), on SQLite and PostgreSQL: who may do
what, drafts and their checks, the dry run, freezing and sending through the outbox
with consent and quiet hours, coupons, pause/resume/cancel audited, results and the
recipients CSV, replies linked to the campaign."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from hub.models import CampaignRecipient, Conversation, EventLog, Message, Role
from hub.services import consent
from hub.services.uow import unit_of_work
from tests.core.campaign_support import bulk_contacts, create, drain, freeze, segment, statuses
from tests.helpers import inbound, login, team, user


@pytest.fixture
def settings(db_url: str, tmp_path: Any) -> Any:
    from tests.conftest import make_settings

    return make_settings(db_url, tmp_path, campaigns={"rates": {"loopback": 1000.0}})


async def _admin(app: Any) -> dict[str, str]:
    await user(app.hub, "root@example.com", role=Role.admin)
    return await login(app.client, "root@example.com")


async def test_rights_drafts_and_field_checks(app: Any) -> None:
    hub, client = app.hub, app.client
    sales, care = await team(hub, "Sales"), await team(hub, "Care")
    await user(hub, "agent@example.com", team_ids=(sales,))
    await user(hub, "sup@example.com", role=Role.supervisor, team_ids=(sales,))
    await user(hub, "sup2@example.com", role=Role.supervisor, team_ids=(care,))
    h = await login(client, "agent@example.com")
    r = await client.post("/api/v1/campaigns", json={"name": "x"}, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"
    assert (await client.get("/api/v1/campaigns")).status_code == 403

    sup = app.new_client()
    hs = await login(sup, "sup@example.com")
    seg = await segment(sup, hs, "Everyone", {})
    body = {"name": "Promo", "team_id": care, "audience": {"segment_id": seg}, "channel": "loopback"}
    body["content"] = {"en": {"body": "Hi"}}
    r = await sup.post("/api/v1/campaigns", json=body, headers=hs)
    assert r.status_code == 422
    assert {f["code"] for f in r.json()["error"]["fields"]} == {"not_your_team"}
    # Email needs a subject; a disabled channel is refused at the field; unknown fields 422.
    r = await sup.post("/api/v1/campaigns", json={**body, "team_id": sales, "channel": "email"}, headers=hs)
    codes = {(f["field"], f["code"]) for f in r.json()["error"]["fields"]}
    assert ("body.channel", "bad_channel") in codes
    r = await sup.post("/api/v1/campaigns", json={**body, "team_id": sales, "colour": 1}, headers=hs)
    assert r.status_code == 422
    r = await sup.post(
        "/api/v1/campaigns", json={**body, "team_id": sales, "schedule": {"quiet_start": "25:00"}}, headers=hs
    )
    assert r.status_code == 422
    c = await create(sup, hs, **{**body, "team_id": sales})
    assert c["status"] == "draft" and c["results"]["recipients"] == 0
    assert c["schedule"]["quiet_start"] == "21:00"  # the [campaigns] default

    # Another team's supervisor: not found; the own team's: listed, editable while draft.
    other = app.new_client()
    ho = await login(other, "sup2@example.com")
    assert (await other.get(f"/api/v1/campaigns/{c['id']}")).json()["error"]["code"] == "campaign_not_found"
    assert (await other.get("/api/v1/campaigns")).json()["items"] == []
    assert [x["id"] for x in (await sup.get("/api/v1/campaigns")).json()["items"]] == [c["id"]]
    r = await sup.patch(f"/api/v1/campaigns/{c['id']}", json={"name": "Promo 2"}, headers=hs)
    assert r.status_code == 200 and r.json()["name"] == "Promo 2"
    r = await other.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=ho)
    assert r.status_code == 404

    # Started: no more edits, no delete; cancel is audited with its actor.
    r = await sup.post(f"/api/v1/campaigns/{c['id']}/start", json={"at": "2026-01-06T09:00:00Z"}, headers=hs)
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    r = await sup.patch(f"/api/v1/campaigns/{c['id']}", json={"name": "x"}, headers=hs)
    assert r.status_code == 409 and r.json()["error"]["code"] == "campaign_not_draft"
    assert (await sup.delete(f"/api/v1/campaigns/{c['id']}", headers=hs)).status_code == 409
    assert (await sup.post(f"/api/v1/campaigns/{c['id']}/resume", headers=hs)).json()["error"][
        "code"
    ] == "bad_campaign_state"
    assert (await sup.post(f"/api/v1/campaigns/{c['id']}/cancel", headers=hs)).json()["status"] == "cancelled"
    async with hub.db.session() as s:
        rows = (
            await s.exec(select(EventLog).where(EventLog.type.like("campaign.%")).order_by(EventLog.id))  # type: ignore[attr-defined,arg-type]
        ).all()
    sup_id = rows[0].actor_id
    assert [(e.type, e.actor_id, e.team_id) for e in rows] == [
        ("campaign.created", sup_id, sales),
        ("campaign.updated", sup_id, sales),
        ("campaign.started", sup_id, sales),
        ("campaign.cancelled", sup_id, sales),
    ]


async def test_send_respects_consent_quiet_hours_and_coupons(app: Any, clock: Any) -> None:
    hub, client, loop = app.hub, app.client, app.hub.channels.get("loopback")
    h = await _admin(app)
    riyadh = await bulk_contacts(hub, 6, prefix="ry", timezone="Asia/Riyadh", language="ar")  # 12:00 local
    york = await bulk_contacts(hub, 3, prefix="ny", timezone="America/New_York")  # 04:00 local: quiet
    seg = await segment(client, h, "All", {})
    async with unit_of_work(hub) as uow:
        await consent.record(
            uow.session,
            contact_id=riyadh[0],
            channel="loopback",
            purpose="marketing",
            state="opted_out",
            source="api",
            now=clock.now,
        )
    c = await create(
        client,
        h,
        audience={"segment_id": seg},
        content={"en": {"body": "Hi {{contact.name}}, code {{coupon}}"}, "ar": {"body": "رمزك {{coupon}}"}},
    )
    cid = c["id"]
    r = await client.post(
        f"/api/v1/campaigns/{cid}/coupons", json={"codes": ["A1", "A2", "A3", "A1"]}, headers=h
    )
    assert r.json() == {"added": 3, "duplicates": 1, "total": 3}
    await client.post(
        f"/api/v1/campaigns/{cid}/coupons", json={"codes": [f"B{i}" for i in range(5)]}, headers=h
    )

    p = (await client.post(f"/api/v1/campaigns/{cid}/preview", headers=h)).json()
    assert p["eligible"] == 8 and p["excluded"] == {"opted_out": 1}
    assert p["by_language"] == {"ar": 5, "en": 3}
    assert p["samples"]["ar"]["body"] == "رمزك A1" and p["sms"]["ar"]["encoding"] == "UCS-2"
    assert p["sms"]["en"] == {
        "encoding": "GSM-7",
        "characters": len(p["samples"]["en"]["body"]),
        "segments": 1,
        "per_segment": 160,
    }

    r = await client.post(f"/api/v1/campaigns/{cid}/start", json={}, headers=h)
    assert r.json()["status"] == "running"
    await freeze(hub)
    assert await statuses(hub, cid) == {"pending": 8, "excluded": 1}
    await drain(app)
    # Riyadh now; New York waits for 09:00 in New York (14:00 UTC).
    assert sorted(m.to for m in loop.sent) == sorted(f"ry-{i}" for i in riyadh[1:])
    assert {m.body for m in loop.sent} == {f"رمزك {code}" for code in ("A1", "A2", "A3", "B0", "B1")}
    async with unit_of_work(hub) as uow:  # one of New York opts out before their time comes
        await consent.record(
            uow.session,
            contact_id=york[0],
            channel="loopback",
            purpose="marketing",
            state="opted_out",
            source="api",
            now=clock.now,
        )
    clock.advance(4 * 3600 + 59 * 60)
    await drain(app)
    assert len(loop.sent) == 5
    clock.advance(60)
    await drain(app)
    assert sorted(m.to for m in list(loop.sent)[5:]) == [f"ny-{york[1]}", f"ny-{york[2]}"]
    assert all(m.idempotency_key.startswith("campaign-") for m in loop.sent)
    await freeze(hub)
    c = (await client.get(f"/api/v1/campaigns/{cid}")).json()
    assert c["status"] == "completed"
    res = c["results"]
    assert (res["recipients"], res["sent"], res["excluded"], res["excluded_by_reason"]) == (
        7,
        7,
        2,
        {"opted_out": 2},
    )
    assert (res["coupons"], res["coupons_assigned"]) == (8, 8)

    # Redemptions: idempotent, unknown codes 404; the recipients CSV names everyone.
    r = await client.post(f"/api/v1/campaigns/{cid}/redemptions", json={"code": "A2"}, headers=h)
    assert r.json()["already"] is False and r.json()["contact_id"] in riyadh
    r = await client.post(f"/api/v1/campaigns/{cid}/redemptions", json={"code": "A2"}, headers=h)
    assert r.json()["already"] is True
    r = await client.post(f"/api/v1/campaigns/{cid}/redemptions", json={"code": "ZZ"}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "coupon_not_found"
    assert (await client.get(f"/api/v1/campaigns/{cid}")).json()["results"]["redemptions"] == 1
    text = (await client.get(f"/api/v1/campaigns/{cid}/recipients.csv")).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 9 and {r["status"] for r in rows} == {"sent", "excluded"}
    page = (await client.get(f"/api/v1/campaigns/{cid}/recipients", params={"status": "excluded"})).json()
    assert {x["contact_id"] for x in page["items"]} == {riyadh[0], york[0]}


async def test_pause_resume_and_a_reply_opens_a_linked_conversation(app: Any, clock: Any) -> None:
    hub, client, loop = app.hub, app.client, app.hub.channels.get("loopback")
    h = await _admin(app)
    ids = await bulk_contacts(hub, 4, prefix="pr")
    seg = await segment(client, h, "All", {})
    c = await create(
        client,
        h,
        name="Spring sale",
        audience={"segment_id": seg},
        schedule={"quiet_start": None, "quiet_end": None},
    )
    cid = c["id"]
    # One of them is already talking to us: their conversation is open before the campaign.
    open_conv = (await inbound(client, f"pr-{ids[3]}", "where is my order?"))["conversation_id"]
    await hub.projections.catch_up()
    await client.post(f"/api/v1/campaigns/{cid}/start", json={}, headers=h)
    assert (await client.post(f"/api/v1/campaigns/{cid}/pause", headers=h)).json()["status"] == "paused"
    await freeze(hub)
    await drain(app)
    assert list(loop.sent) == []  # paused: nothing frozen, nothing sent
    await client.post(f"/api/v1/campaigns/{cid}/resume", headers=h)
    await freeze(hub)
    await drain(app)
    assert sorted(m.to for m in loop.sent) == sorted(f"pr-{i}" for i in ids)
    # A test send goes too, to the author, marked as a test and not counted.
    r = await client.post(f"/api/v1/campaigns/{cid}/test-send", json={"address": "me-1"}, headers=h)
    assert r.status_code == 202
    await drain(app)
    assert list(loop.sent)[-1].to == "me-1" and list(loop.sent)[-1].body == "Hi Root"

    # The customer answers: a new conversation, routed as usual, linked to the campaign.
    clock.advance(3600)
    conv_id = (await inbound(client, f"pr-{ids[0]}", "is it still on?"))["conversation_id"]
    await hub.projections.catch_up()
    got = (await client.get(f"/api/v1/conversations/{conv_id}")).json()
    assert got["campaign"] == {"id": cid, "name": "Spring sale"}
    async with hub.db.session() as s:
        notes = (
            await s.exec(select(Message).where(Message.conversation_id == conv_id, Message.kind == "event"))
        ).all()
        rec = (await s.exec(select(CampaignRecipient).where(CampaignRecipient.contact_id == ids[0]))).one()
        conv = await s.get(Conversation, conv_id)
    assert [n.body for n in notes] == ["Reply to campaign “Spring sale”"]
    assert rec.replied_at is not None and rec.conversation_id == conv_id and conv is not None
    c = (await client.get(f"/api/v1/campaigns/{cid}")).json()
    assert c["status"] == "completed" and c["results"]["replied"] == 1 and c["results"]["recipients"] == 4
    # Writing into the conversation that was already open is a reply too.
    await inbound(client, f"pr-{ids[3]}", "and the sale, is it for me?")
    await hub.projections.catch_up()
    assert (await client.get(f"/api/v1/conversations/{open_conv}")).json()["campaign"]["id"] == cid
    assert (await client.get(f"/api/v1/campaigns/{cid}")).json()["results"]["replied"] == 2
    # A second conversation much later is no reply to it.
    clock.advance(8 * 86400)
    h = await login(client, "root@example.com")  # the session has expired meanwhile
    await client.post(f"/api/v1/conversations/{conv_id}/resolve", json={}, headers=h)
    other = (await inbound(client, f"pr-{ids[1]}", "hello again"))["conversation_id"]
    await hub.projections.catch_up()
    got = (await client.get(f"/api/v1/conversations/{other}")).json()
    assert got["id"] == other and got["campaign"] is None
    # Erasing a customer takes their address and name off the recipient rows too.
    from hub.services import SYSTEM
    from hub.services.privacy import erase_contact

    await erase_contact(hub, SYSTEM, ids[2])
    await hub.projections.catch_up()
    page = (await client.get(f"/api/v1/campaigns/{cid}/recipients")).json()["items"]
    erased = [x for x in page if x["contact_id"] == ids[2]]
    assert [(x["address"], x["status"]) for x in erased] == [("", "sent")]
    others = {x["address"] for x in page if x["contact_id"] != ids[2] and not x["test"]}
    assert others == {f"pr-{i}" for i in ids if i != ids[2]}
    assert clock.now - rec.replied_at > timedelta(days=7)


async def test_a_list_the_win_back_preset_and_a_survey_campaign(app: Any, clock: Any) -> None:
    hub, client, loop = app.hub, app.client, app.hub.channels.get("loopback")
    h = await _admin(app)
    # Two customers wrote 120 days ago (lapsed), one 10 days ago (not lapsed).
    for sender in ("old-1", "old-2"):
        await inbound(client, sender, "hello")
    clock.advance(110 * 86400)
    await inbound(client, "recent", "hi")
    clock.advance(10 * 86400)
    await hub.projections.catch_up()
    h = await login(client, "root@example.com")

    presets = (await client.get("/api/v1/campaigns/presets")).json()
    assert [p["key"] for p in presets] == ["win_back"]
    r = await client.post("/api/v1/campaigns/presets/win_back", json={}, headers=h)
    assert r.status_code == 201, r.text
    wb, seg_id = r.json()["campaign"], r.json()["segment_id"]
    again = (await client.post("/api/v1/campaigns/presets/win_back", json={}, headers=h)).json()
    assert again["segment_id"] == seg_id  # the segment is made once
    assert wb["channel"] == "preferred" and "loopback" in wb["fallback"]
    p = (await client.post(f"/api/v1/campaigns/{wb['id']}/preview", headers=h)).json()
    assert (p["eligible"], p["by_channel"]) == (2, {"loopback": 2})
    assert p["samples"]["en"]["body"].startswith("Hi old-1") or p["samples"]["en"]["body"].startswith(
        "Hi there"
    )
    assert (await client.post(f"/api/v1/campaigns/{wb['id']}/start", json={}, headers=h)).status_code == 200
    await freeze(hub)
    await drain(app)
    assert sorted(m.to for m in loop.sent) == ["old-1", "old-2"]
    assert all(m.body.startswith("Hi ") for m in loop.sent)

    # A list: rows matched to contacts by address; unknown, repeated and empty rows counted.
    ids = await bulk_contacts(hub, 3, prefix="ls", language="ar")
    c = await create(
        client, h, name="List", audience={"type": "list"}, schedule={"quiet_start": None, "quiet_end": None}
    )
    r = await client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_audience"
    csv_text = "Address,Name\n" + "".join(f"ls-{i},x\n" for i in ids) + f"ls-{ids[0]},dup\nnobody,y\n ,z\n"
    r = await client.post(f"/api/v1/campaigns/{c['id']}/list", content=csv_text.encode(), headers=h)
    assert r.json() == {"added": 4, "invalid": 1, "duplicates": 1, "total": 4}
    bad = await client.post(f"/api/v1/campaigns/{c['id']}/list", content=b"phone\n+1\n", headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_csv"
    await client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)
    await freeze(hub)
    await drain(app)
    assert await statuses(hub, c["id"]) == {"sent": 3, "excluded": 1}
    assert sorted(m.to for m in list(loop.sent)[2:]) == sorted(f"ls-{i}" for i in ids)

    # A survey campaign: the survey's question; the answer counts in the campaign and in
    # the survey results.
    seg = await segment(client, h, "Arabic", {"language": "ar"})
    s = await create(
        client,
        h,
        name="NPS",
        kind="survey",
        survey_key="nps",
        audience={"segment_id": seg},
        content={},
        schedule={"quiet_start": None, "quiet_end": None},
    )
    await client.post(f"/api/v1/campaigns/{s['id']}/start", json={}, headers=h)
    await hub.projections.catch_up()
    await freeze(hub)
    await drain(app)
    questions = [m for m in loop.sent if "survey" in m.meta]
    assert sorted(m.to for m in questions) == sorted(f"ls-{i}" for i in ids)
    await inbound(client, f"ls-{ids[0]}", "9")
    await hub.projections.catch_up()
    res = (await client.get(f"/api/v1/campaigns/{s['id']}")).json()["results"]
    assert (res["sent"], res["survey_answers"]) == (3, 1)
    answers = (await client.get("/api/v1/surveys", params={"contact_id": ids[0]})).json()
    assert [a["score"] for a in answers] == [9]


def test_who_receives_campaign_events() -> None:
    from types import SimpleNamespace

    from hub.services.access import Actor
    from hub.services.visibility import may_see

    def ev(t: str, team: int | None, user_id: int | None = None) -> Any:
        return SimpleNamespace(
            type=t,
            conversation_id=9 if t == "campaign.replied" else None,
            team_id=team,
            user_id=user_id,
            payload={"campaign_id": 1},
        )

    sup = Actor(user_id=1, role="supervisor", team_ids=frozenset({5}))
    other_sup = Actor(user_id=2, role="supervisor", team_ids=frozenset({6}))
    agent = Actor(user_id=3, role="agent", team_ids=frozenset({5}))
    admin = Actor(user_id=4, role="admin")
    none = frozenset[int]
    for t in ("campaign.progress", "campaign.started", "campaign.cancelled"):
        got = [may_see(a, ev(t, 5), lambda _u: none()) for a in (sup, other_sup, agent, admin)]
        assert got == [True, False, False, True], t
        assert [may_see(a, ev(t, None), lambda _u: none()) for a in (sup, admin)] == [False, True]
    # A reply's entry: like the conversation's events (its team, its assignee).
    got = [may_see(a, ev("campaign.replied", 5), lambda _u: none()) for a in (sup, other_sup, agent, admin)]
    assert got == [True, False, True, True]


async def test_a_scheduled_start_in_each_contacts_own_time(app: Any, clock: Any) -> None:
    hub, client = app.hub, app.client
    h = await _admin(app)
    tokyo = await bulk_contacts(hub, 1, prefix="tk", timezone="Asia/Tokyo")
    york = await bulk_contacts(hub, 1, prefix="ny", timezone="America/New_York")
    seg = await segment(client, h, "All", {})
    schedule = {
        "start_at": "2026-01-06T10:00:00Z",
        "local_time": True,
        "quiet_start": None,
        "quiet_end": None,
    }
    c = await create(client, h, audience={"segment_id": seg}, schedule=schedule)
    r = await client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)
    assert r.json()["status"] == "scheduled"
    await freeze(hub)
    assert await statuses(hub, c["id"]) == {}  # not yet: frozen 14 hours ahead of 10:00
    clock.advance(11 * 3600)  # 20:00 UTC on the 5th
    await freeze(hub)
    async with hub.db.session() as s:
        rows = (await s.exec(select(CampaignRecipient).where(CampaignRecipient.campaign_id == c["id"]))).all()
    due = {r.contact_id: r.due_at.isoformat() if r.due_at else None for r in rows}
    # 10:00 in Tokyo is 01:00 UTC; 10:00 in New York is 15:00 UTC.
    assert due == {tokyo[0]: "2026-01-06T01:00:00+00:00", york[0]: "2026-01-06T15:00:00+00:00"}
    assert (await client.get(f"/api/v1/campaigns/{c['id']}")).json()["status"] == "running"


async def test_two_workers_failures_and_retries(app: Any, clock: Any) -> None:
    from channels.base import SendError
    from hub.outbox import OutboxWorker

    hub, client, loop = app.hub, app.client, app.hub.channels.get("loopback")
    h = await _admin(app)
    ids = await bulk_contacts(hub, 300, prefix="tw")
    seg = await segment(client, h, "All", {})
    c = await create(
        client, h, audience={"segment_id": seg}, schedule={"quiet_start": None, "quiet_end": None}
    )
    hub.settings.campaigns.rates["loopback"] = 40.0
    await client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)
    await freeze(hub)
    # The first send fails and is retried later; the second is refused for good.
    loop.failures.extend([SendError("busy, try later"), SendError("number blocked", retryable=False)])
    other = OutboxWorker(hub)
    assert await app.worker.run_once() == 40
    # The window is full: the worker sleeps until it frees, one second on (no busy loop).
    assert await app.worker.next_due() == clock.now + timedelta(seconds=1)
    per_pass: list[int] = [38]  # 40 claimed: one failed for good, one to retry
    for _ in range(60):
        before = len(loop.sent)
        await asyncio.gather(app.worker.run_once(), other.run_once())  # two workers, one database
        per_pass.append(len(loop.sent) - before)
        clock.advance(0.5)
    # 40 a second at most, whichever worker claims: never more than 40 in any second.
    assert max(per_pass) == 40 and max(a + b for a, b in itertools.pairwise(per_pass)) <= 40
    keys = [m.idempotency_key for m in loop.sent]
    assert len(keys) == len(set(keys)) == 299
    res = (await client.get(f"/api/v1/campaigns/{c['id']}")).json()["results"]
    assert (res["sent"], res["failed"], res["failed_by_reason"]) == (299, 1, {"number blocked": 1})
    assert len(ids) == 300


async def test_cancel_mid_send_stops_the_rest(app: Any, clock: Any) -> None:
    hub, client, loop = app.hub, app.client, app.hub.channels.get("loopback")
    h = await _admin(app)
    await bulk_contacts(hub, 5, prefix="cx")
    seg = await segment(client, h, "All", {})
    c = await create(
        client, h, audience={"segment_id": seg}, schedule={"quiet_start": None, "quiet_end": None}
    )
    hub.settings.campaigns.rates["loopback"] = 2.0
    await client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)
    await freeze(hub)
    await drain(app)
    assert len(loop.sent) == 2  # the rest wait for the window
    r = await client.post(f"/api/v1/campaigns/{c['id']}/cancel", headers=h)
    assert r.json()["status"] == "cancelled" and r.json()["results"]["cancelled"] == 3
    clock.advance(5)
    await drain(app)
    assert len(loop.sent) == 2 and await statuses(hub, c["id"]) == {"sent": 2, "cancelled": 3}
    assert (await client.post(f"/api/v1/campaigns/{c['id']}/cancel", headers=h)).status_code == 409


async def test_a_supervisors_list_reaches_only_the_customers_they_may_see(app: Any, clock: Any) -> None:
    """A list is addresses to find, not a way around the teams' walls: an address whose
    customer has no conversation in the supervisor's teams reads as unknown."""
    hub, client, loop = app.hub, app.client, app.hub.channels.get("loopback")
    sales, care = await team(hub, "Sales"), await team(hub, "Care")
    await user(hub, "sup@example.com", role=Role.supervisor, team_ids=(sales,))
    ours = (await inbound(client, "ours", "hello"))["conversation_id"]
    theirs = (await inbound(client, "theirs", "hello"))["conversation_id"]  # Care's customer
    async with unit_of_work(hub, None) as uow:
        for conv_id, team_id in ((ours, sales), (theirs, care)):
            conv = await uow.session.get(Conversation, conv_id)
            assert conv is not None
            conv.team_id = team_id
            uow.session.add(conv)
    h = await login(client, "sup@example.com")
    c = await create(
        client,
        h,
        name="List",
        team_id=sales,
        audience={"type": "list"},
        schedule={"quiet_start": None, "quiet_end": None},
    )
    r = await client.post(f"/api/v1/campaigns/{c['id']}/list", content=b"address\nours\ntheirs\n", headers=h)
    assert r.json()["added"] == 2, r.text
    assert (await client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)).status_code == 200
    await freeze(hub)
    await drain(app)
    assert [m.to for m in loop.sent] == ["ours"]
    rows = (await client.get(f"/api/v1/campaigns/{c['id']}/recipients", headers=h)).json()["items"]
    assert sorted((x["address"], x["status"], x["reason"], x["contact_id"] is None) for x in rows) == [
        ("ours", "sent", None, False),
        ("theirs", "excluded", "unknown_contact", True),
    ]
