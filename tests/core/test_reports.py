"""Reports from the rollups: known traffic through the real services with a fake clock
(arrivals, assignments, replies, a transfer, resolutions, a survey answer, a weekend),
exact figures, percentiles, business-hours variants, tables, time series, CSV, rights,
and a rebuild giving identical figures — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from hub.models import OfferStatus, ReportSample, ReportSlot, Role
from hub.services import SYSTEM, abandon
from hub.services.conversations import assign, reopen, reply, resolve, transfer
from hub.services.offers import close_offer, create_offer
from hub.services.surveys import save_policy
from hub.services.users import set_presence
from tests.helpers import inbound, login, team, user

# Sun-Thu 09:00-17:00 Riyadh (UTC+3).
HOURS = {
    "timezone": "Asia/Riyadh",
    "days": {d: [["09:00", "17:00"]] for d in ("sun", "mon", "tue", "wed", "thu")},
}
WEEK = {"since": "2026-01-04T00:00:00+03:00", "until": "2026-01-12T00:00:00+03:00"}


def at(clock: Any, day: int, hh: int, mm: int) -> None:
    """Move the fake clock to 2026-01-<day> hh:mm UTC."""
    clock.now = datetime(2026, 1, day, hh, mm, tzinfo=UTC)


async def traffic(app: Any, clock: Any) -> dict[str, int]:
    hub = app.hub
    at(clock, 5, 8, 55)
    care = await team(hub, "Care", business_hours=HOURS, routing={"sla_seconds": {"loopback": 60}})
    billing = await team(hub, "Billing")
    sara = await user(hub, "sara@example.com", Role.agent, (care, billing))
    await user(hub, "boss@example.com", Role.supervisor, (care,))
    await user(hub, "root@example.com", Role.admin)
    await save_policy(hub, SYSTEM, None, None, {"enabled": True, "delay_seconds": 0, "ask_comment": False})
    agent = await _actor(hub, sara)
    # Monday 2026-01-05, 12:00 Riyadh. A: answered in 60 s, first reply at 180 s,
    # resolved at 600 s, rated 5.
    at(clock, 5, 9, 0)
    a = await inbound(app.client, "cust-a", "hello", team="Care")
    at(clock, 5, 9, 1)
    await assign(hub, SYSTEM, a["conversation_id"], sara)
    at(clock, 5, 9, 3)
    await reply(hub, agent, a["conversation_id"], "hi, how can I help?")
    at(clock, 5, 9, 5)
    await inbound(app.client, "cust-a", "my order is late")
    at(clock, 5, 9, 10)
    await resolve(hub, SYSTEM, a["conversation_id"])
    await settle(app)  # the survey goes out
    at(clock, 5, 9, 11)
    await inbound(app.client, "cust-a", "5")
    # B: answered after 20 min (outside the 60 s target), replied at 40 min,
    # transferred to Billing, resolved at 50 min.
    at(clock, 5, 9, 20)
    b = await inbound(app.client, "cust-b", "refund please", team="Care")
    at(clock, 5, 9, 40)
    await assign(hub, SYSTEM, b["conversation_id"], sara)
    at(clock, 5, 10, 0)
    await reply(hub, agent, b["conversation_id"], "on it")
    at(clock, 5, 10, 5)
    await transfer(hub, SYSTEM, b["conversation_id"], to_team_id=billing, to_user_id=sara)
    at(clock, 5, 10, 10)
    await resolve(hub, SYSTEM, b["conversation_id"])
    await settle(app)
    # C: Thursday 16:50 Riyadh; first reply Sunday 09:10: two days and more, but only
    # 20 open minutes.
    at(clock, 8, 13, 50)
    c = await inbound(app.client, "cust-c", "anyone?", team="Care")
    at(clock, 8, 13, 51)
    await assign(hub, SYSTEM, c["conversation_id"], sara)
    at(clock, 11, 6, 10)
    await reply(hub, agent, c["conversation_id"], "sorry for the wait")
    await settle(app)
    return {"care": care, "billing": billing, "sara": sara}


async def _actor(hub: Any, user_id: int) -> Any:
    from hub.models import User
    from hub.services.access import actor_for

    async with hub.db.session() as s:
        u = await s.get(User, user_id)
        return await actor_for(s, u)  # type: ignore[arg-type]


async def settle(app: Any) -> None:
    await app.hub.projections.catch_up()
    await app.hub.projections.run_due()
    while await app.worker.run_once():
        pass
    await app.hub.projections.catch_up()


async def test_exact_figures_of_a_known_week(app: Any, clock: Any) -> None:
    ids = await traffic(app, clock)
    h = await login(app.client, "root@example.com")
    r = await app.client.get("/api/v1/reports/summary", params=WEEK, headers=h)
    assert r.status_code == 200, r.text
    f = r.json()
    assert (f["conversations"], f["inbound_messages"], f["resolved"], f["transfers"]) == (3, 5, 2, 1)
    # Outbound: three agent replies; A's survey question and its thank-you; B's question.
    assert (f["outbound_messages"], f["agent_replies"], f["surveys_sent"]) == (6, 3, 2)
    # Answered (first assignment): A in 60 s, B in 1,200 s, C in 60 s; the target is 60 s.
    assert (f["answered"], f["service_level"]) == (3, round(2 / 3, 4))
    frt = f["first_response_seconds"]
    assert (frt["count"], frt["p50"], frt["p90"]) == (3, 2400.0, 231600.0)
    assert frt["avg"] == round((180 + 2400 + 231600) / 3, 3)
    assert frt["avg_business"] == round((180 + 2400 + 1200) / 3, 3)  # C: 20 open minutes
    assert (frt["p50_business"], frt["p90_business"]) == (1200.0, 2400.0)
    fat = f["first_assignment_seconds"]
    assert (fat["count"], fat["avg"], fat["p50"], fat["p90"]) == (3, round(1320 / 3, 3), 60.0, 1200.0)
    res = f["resolution_seconds"]
    assert (res["count"], res["avg"], res["p50"], res["p90"]) == (2, 1800.0, 600.0, 3000.0)
    assert f["csat"] == {"responses": 1, "average": 5.0, "satisfied_share": 1.0}
    assert f["reopen_rate"] == 0.0

    # Per agent and per team: B's resolution counts for Billing (where it was), its
    # first response for Billing too (the conversation's team now).
    agents = (await app.client.get("/api/v1/reports/agents", params=WEEK, headers=h)).json()
    sara = next(row for row in agents if row["agent_id"] == ids["sara"])
    # Inbound while hers: "my order is late" and the "5"; first messages arrive unassigned.
    assert (sara["agent_replies"], sara["resolved"], sara["inbound_messages"]) == (3, 2, 2)
    teams = {
        row["team_id"]: row
        for row in (await app.client.get("/api/v1/reports/teams", params=WEEK, headers=h)).json()
    }
    assert (teams[ids["care"]]["conversations"], teams[ids["care"]]["resolved"]) == (3, 1)
    assert (teams[ids["billing"]]["resolved"], teams[ids["billing"]]["transfers"]) == (1, 1)

    # A day in Riyadh's calendar.
    series = (
        await app.client.get(
            "/api/v1/reports/timeseries",
            params={**WEEK, "metric": "conversations", "group_by": "day", "timezone": "Asia/Riyadh"},
            headers=h,
        )
    ).json()
    assert series == [
        {"start": "2026-01-05T00:00:00+03:00", "value": 2},
        {"start": "2026-01-08T00:00:00+03:00", "value": 1},
        {"start": "2026-01-11T00:00:00+03:00", "value": 0},
    ]
    # Arrivals by weekday × hour in Riyadh: Monday 12:00 (two), Thursday 16:00 (one).
    heat = (
        await app.client.get("/api/v1/reports/heatmap", params={**WEEK, "timezone": "Asia/Riyadh"}, headers=h)
    ).json()["rows"]
    assert (heat[0][12], heat[3][16], sum(map(sum, heat))) == (2, 1, 3)
    # Filters: one channel, one team.
    only = (
        await app.client.get("/api/v1/reports/summary", params={**WEEK, "team_id": ids["billing"]}, headers=h)
    ).json()
    assert (only["conversations"], only["resolved"]) == (0, 1)

    # CSV of every table.
    r = await app.client.get("/api/v1/reports/agents", params={**WEEK, "format": "csv"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    header = r.text.splitlines()[0].split(",")
    assert "agent_id" in header and "first_response_seconds.avg" in header
    r = await app.client.get("/api/v1/reports/summary", params=WEEK, headers={**h, "accept": "text/csv"})
    assert r.text.startswith("conversations,")

    # A rebuild from the event log gives identical figures.
    before = await _rollups(app)
    await app.hub.projections.rebuild("reports")
    assert await _rollups(app) == before
    again = (await app.client.get("/api/v1/reports/summary", params=WEEK, headers=h)).json()
    assert again == f


async def _rollups(app: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Both rollup tables as sorted rows of (column, value), ids and zero counters left out."""

    def rows(items: Any) -> list[tuple[Any, ...]]:
        return sorted(
            (tuple(sorted((k, v) for k, v in r.model_dump().items() if k != "id" and v != 0)) for r in items),
            key=repr,
        )

    async with app.hub.db.session() as s:
        return rows((await s.exec(select(ReportSlot))).all()), rows(
            (await s.exec(select(ReportSample))).all()
        )


async def test_rights_and_bad_ranges(app: Any, clock: Any) -> None:
    ids = await traffic(app, clock)
    agent = app.new_client()
    await login(agent, "sara@example.com")
    assert (await agent.get("/api/v1/reports/summary", params=WEEK)).status_code == 403
    boss = app.new_client()
    await login(boss, "boss@example.com")
    mine = (await boss.get("/api/v1/reports/summary", params=WEEK)).json()
    assert mine["conversations"] == 3  # their team: Care
    assert (
        await boss.get("/api/v1/reports/summary", params={**WEEK, "team_id": ids["billing"]})
    ).status_code == 403
    r = await boss.get(
        "/api/v1/reports/summary", params={"since": "2026-01-05T00:00:00", "until": WEEK["until"]}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_range"
    r = await boss.get("/api/v1/reports/timeseries", params={**WEEK, "metric": "nope"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_metric"


OPS = (
    *("in", "in", "assign", "reply", "resolve", "transfer", "answer", "project"),
    *("presence", "reopen", "offer", "hangup", "gone"),
)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_rollups_equal_a_rebuild_after_random_traffic(app: Any, clock: Any, seed: int) -> None:
    """Whatever happens in whatever order, the incremental rollups equal a recomputation."""
    import random

    rng = random.Random(seed)
    hub = app.hub
    care = await team(hub, "Care", business_hours=HOURS)
    other = await team(hub, "Other")
    agents = [await user(hub, f"a{i}@example.com", Role.agent, (care, other)) for i in range(3)]
    actors = [await _actor(hub, a) for a in agents]
    await save_policy(hub, SYSTEM, None, None, {"enabled": True, "delay_seconds": 0})
    convs: list[int] = []
    for step in range(40):
        clock.advance(rng.choice([5, 60, 900, 1799, 1800, 3600, 86400]))
        op = rng.choice(OPS)
        try:
            if op == "in" or not convs:
                r = await inbound(app.client, f"cust-{rng.randint(0, 5)}", f"m{step}", team="Care")
                convs.append(r["conversation_id"])
            elif op == "assign":
                n = rng.randrange(3)
                await assign(hub, SYSTEM, rng.choice(convs), agents[n])
            elif op == "reply":
                n = rng.randrange(3)
                await reply(hub, actors[n], rng.choice(convs), "ok")
            elif op == "resolve":
                await resolve(hub, SYSTEM, rng.choice(convs))
            elif op == "transfer":
                await transfer(hub, SYSTEM, rng.choice(convs), to_team_id=rng.choice([care, other]))
            elif op == "answer":
                await inbound(app.client, f"cust-{rng.randint(0, 5)}", str(rng.randint(1, 5)))
            elif op == "presence":
                presence = rng.choice(["available", "busy", "away", "wrap_up", "offline"])
                await set_presence(hub, SYSTEM, rng.choice(agents), presence)
            elif op == "reopen":
                await reopen(hub, SYSTEM, rng.choice(convs))
            elif op == "offer":
                conv = rng.choice(convs)
                await create_offer(hub, conv, rng.choice(agents), None)
                status = rng.choice([OfferStatus.rejected, OfferStatus.expired, OfferStatus.cancelled])
                await close_offer(hub, conv, status)
            elif op == "hangup":
                await abandon.caller_hung_up(hub, rng.choice(convs))
            elif op == "gone":
                await abandon.set_visitor_gone(hub, [rng.choice(convs)], rng.choice([0, 60]))
                await abandon.abandon_due(hub)
            else:
                await settle(app)
        except Exception as exc:  # a refused action (closed, not assigned) is part of the game
            from hub.services.errors import ServiceError

            if not isinstance(exc, ServiceError):
                raise
    await settle(app)
    incremental = await _rollups(app)
    assert incremental[0], "some traffic was counted"
    await hub.projections.rebuild("reports")
    rebuilt = await _rollups(app)
    for n in (0, 1):
        a, b = set(incremental[n]), set(rebuilt[n])
        assert a == b, {"only incremental": sorted(a - b, key=repr), "only rebuilt": sorted(b - a, key=repr)}
