"""Supervisor figures, unread counts, SLA due times and canned responses over REST."""

from __future__ import annotations

from typing import Any

from hub.models import Role
from hub.services import SYSTEM
from hub.services.conversations import assign
from hub.services.users import set_presence
from tests.helpers import inbound, login, team, user


async def test_queue_figures_and_service_level(app: Any, clock: Any) -> None:
    t = await team(app.hub, "Support", routing={"sla_seconds": {"loopback": 60}})
    ana = await user(app.hub, "ana@example.com", team_ids=(t,))
    await user(app.hub, "sup@example.com", role=Role.supervisor, team_ids=(t,))
    await set_presence(app.hub, SYSTEM, ana, "available")
    fast = (await inbound(app.client, "c1", "a", team="Support"))["conversation_id"]
    clock.advance(10)
    await assign(app.hub, SYSTEM, fast, ana)  # answered in 10 s: within the 60 s target
    slow = (await inbound(app.client, "c2", "b", team="Support"))["conversation_id"]
    clock.advance(120)  # c2 waited past its target and is still unanswered
    await inbound(app.client, "c3", "c", team="Support")
    s = app.new_client()
    await login(s, "sup@example.com")
    q = (await s.get("/api/v1/queues")).json()["items"]
    assert len(q) == 1 and q[0]["team_name"] == "Support"
    fig = q[0]
    assert (fig["waiting"], fig["in_progress"], fig["answered_today"]) == (2, 1, 1)
    assert fig["longest_wait_seconds"] == 120 and fig["service_level_today"] == 0.5
    assert fig["agents"]["available"] == 1 and fig["agents"]["offline"] == 1
    agents = (await s.get("/api/v1/agents/live")).json()["items"]
    ana_row = next(a for a in agents if a["user_id"] == ana)
    assert ana_row["load"] == {"loopback": 1} and ana_row["conversations"][0]["id"] == fast
    conv = (await s.get(f"/api/v1/conversations/{slow}")).json()
    assert conv["sla_due_at"].startswith("2026-01-05T09:01:10")  # queued at 09:00:10 + 60 s


async def test_agents_cannot_see_the_agent_board(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    await login(app.client, "ana@example.com")
    assert (await app.client.get("/api/v1/agents/live")).status_code == 403


async def test_unread_counts_follow_read_markers(app: Any) -> None:
    t = await team(app.hub, "Support")
    await user(app.hub, "ana@example.com", team_ids=(t,))
    conv = (await inbound(app.client, "c1", "one", team="Support"))["conversation_id"]
    second = await inbound(app.client, "c1", "two")
    await inbound(app.client, "c1", "three")
    c = app.new_client()
    csrf = await login(c, "ana@example.com")
    listed = (await c.get("/api/v1/conversations")).json()["items"][0]
    assert listed["unread_count"] == 3 and listed["contact_name"] == ""
    r = await c.post(
        f"/api/v1/conversations/{conv}/read", json={"message_id": second["message_id"]}, headers=csrf
    )
    assert r.status_code == 204
    assert (await c.get(f"/api/v1/conversations/{conv}")).json()["unread_count"] == 1


async def test_canned_responses_search_and_scoping(app: Any) -> None:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    await user(app.hub, "sup@example.com", role=Role.supervisor, team_ids=(billing,))
    await user(app.hub, "ana@example.com", team_ids=(tech,))
    s = app.new_client()
    csrf = await login(s, "sup@example.com")
    r = await s.post(
        "/api/v1/canned-responses",
        json={
            "shortcut": "refund",
            "title": "Refund policy",
            "body": "Refunds take 5 days.",
            "team_id": billing,
        },
        headers=csrf,
    )
    assert r.status_code == 201
    r = await s.post(
        "/api/v1/canned-responses",
        json={"shortcut": "hello", "title": "تحية", "body": "أهلًا بك! كيف أساعدك؟", "language": "ar"},
        headers=csrf,
    )
    assert r.status_code == 201
    dup = await s.post(
        "/api/v1/canned-responses",
        json={"shortcut": "hello", "title": "x", "body": "y", "language": "ar"},
        headers=csrf,
    )
    assert dup.status_code == 409
    other_team = await s.post(
        "/api/v1/canned-responses",
        json={"shortcut": "x", "title": "x", "body": "y", "team_id": tech},
        headers=csrf,
    )
    assert other_team.status_code == 403
    assert [c["shortcut"] for c in (await s.get("/api/v1/canned-responses?q=/ref")).json()["items"]] == [
        "refund"
    ]
    a = app.new_client()
    await login(a, "ana@example.com")
    # Tech's agent sees the global Arabic greeting, not Billing's refund text.
    assert [c["shortcut"] for c in (await a.get("/api/v1/canned-responses")).json()["items"]] == ["hello"]
