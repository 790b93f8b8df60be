"""Reports, the agent side and abandonment: known traffic through the real services
with a fake clock — presence changes, concurrent conversations, a reopening, offers
rejected and expired, a caller hanging up in the queue, a web-chat visitor gone, a
silent messaging customer — and the exact figures (handle time, busy and presence time,
occupancy, utilisation, missed offers, first-contact resolution, abandonment, the
service level over answered + abandoned after the target), the drill-down lists, the
open intervals up to now, and a rebuild giving the same rows. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from hub.models import Conversation, OfferStatus, ReportAgentState, ReportSample, ReportSlot, Role
from hub.services import SYSTEM, abandon
from hub.services.conversations import assign, reopen, resolve
from hub.services.offers import close_offer, create_offer
from hub.services.users import set_presence
from tests.core.test_reports import settle
from tests.helpers import inbound, login, team, user

DAY = {"since": "2026-02-02T00:00:00+00:00", "until": "2026-02-03T00:00:00+00:00"}


def at(clock: Any, hh: int, mm: int, ss: int = 0) -> None:
    clock.now = datetime(2026, 2, 2, hh, mm, ss, tzinfo=UTC)


async def traffic(app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    hub = app.hub
    at(clock, 8, 0)
    care = await team(hub, "Care", routing={"sla_seconds": {"loopback": 60}})
    sara = await user(hub, "sara@example.com", Role.agent, (care,))
    omar = await user(hub, "omar@example.com", Role.agent, (care,))
    await user(hub, "boss@example.com", Role.supervisor, (care,))
    await user(hub, "root@example.com", Role.admin)
    at(clock, 9, 0)
    await set_presence(hub, SYSTEM, sara, "available")
    # A: assigned after 60 s (in target), resolved at 9:11; B alongside it from 9:05
    # (180 s: late) to 9:20. Sara is busy 9:01-9:20 and holds 1,500 conversation-seconds.
    a = (await inbound(app.client, "cust-a", "hello", team="Care"))["conversation_id"]
    at(clock, 9, 1)
    await assign(hub, SYSTEM, a, sara)
    at(clock, 9, 2)
    b = (await inbound(app.client, "cust-b", "refund", team="Care"))["conversation_id"]
    # Offers: Omar rejects B, then lets it expire; Sara takes it.
    await create_offer(hub, b, omar, None)
    at(clock, 9, 3)
    await close_offer(hub, b, OfferStatus.rejected)
    await create_offer(hub, b, omar, None)
    at(clock, 9, 4)
    await close_offer(hub, b, OfferStatus.expired)
    at(clock, 9, 5)
    await assign(hub, SYSTEM, b, sara)
    at(clock, 9, 11)
    await resolve(hub, SYSTEM, a)
    at(clock, 9, 20)
    await resolve(hub, SYSTEM, b)
    # A comes back 9:25-9:28: its first resolution was not at first contact.
    at(clock, 9, 25)
    await reopen(hub, SYSTEM, a)
    at(clock, 9, 28)
    await resolve(hub, SYSTEM, a)
    # D: a caller hangs up after 120 s (late) and is called back: abandoned, not answered.
    at(clock, 9, 30)
    await set_presence(hub, SYSTEM, sara, "away")
    d = (await inbound(app.client, "cust-d", "(call)", team="Care"))["conversation_id"]
    at(clock, 9, 32)
    assert await abandon.caller_hung_up(hub, d)
    assert not await abandon.caller_hung_up(hub, d)  # Twilio retries change nothing
    # E: a web-chat visitor gone; their timer fires 90 s after they arrived.
    at(clock, 9, 33)
    e = (await inbound(app.client, "cust-e", "hi?", team="Care"))["conversation_id"]
    await abandon.set_visitor_gone(hub, [e], 60)
    at(clock, 9, 33, 59)
    assert await abandon.abandon_due(hub) == []  # not yet
    at(clock, 9, 34, 30)
    assert await abandon.abandon_due(hub) == [e]
    # G: a messaging customer silent for 30 minutes (the setting; loopback stands in for SMS).
    monkeypatch.setattr(abandon, "MESSAGING", ("loopback",))
    monkeypatch.setattr(hub.settings.reports, "messaging_abandon_after_minutes", 30)
    at(clock, 9, 35)
    g = (await inbound(app.client, "cust-g", "price?", team="Care"))["conversation_id"]
    # F: a visitor who comes back is not abandoned.
    at(clock, 9, 36)
    f = (await inbound(app.client, "cust-f", "back soon", team="Care"))["conversation_id"]
    await abandon.set_visitor_gone(hub, [f], 10)
    await abandon.clear_visitor_gone(hub, [f])
    at(clock, 9, 40)
    await assign(hub, SYSTEM, d, sara)  # the callback
    at(clock, 9, 45)
    await resolve(hub, SYSTEM, d)
    at(clock, 10, 0)
    await set_presence(hub, SYSTEM, sara, "offline")
    at(clock, 10, 4, 59)
    assert await abandon.abandon_due(hub) == []
    at(clock, 10, 5)
    assert await abandon.abandon_due(hub) == [g]
    await settle(app)
    return {"care": care, "sara": sara, "omar": omar, "a": a, "b": b, "d": d, "e": e, "f": f, "g": g}


async def test_agent_figures_and_abandonment(app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await traffic(app, clock, monkeypatch)
    async with app.hub.db.session() as s:
        convs = {c.id: c for c in (await s.exec(select(Conversation))).all()}
    assert str(convs[ids["d"]].status) == "resolved" and convs[ids["d"]].abandoned_at is not None
    assert str(convs[ids["e"]].status) == "abandoned"
    assert str(convs[ids["f"]].status) == "queued" and convs[ids["f"]].abandon_due_at is None
    assert str(convs[ids["g"]].status) == "abandoned"

    h = await login(app.client, "root@example.com")
    at(clock, 12, 0)
    f = (await app.client.get("/api/v1/reports/summary", params=DAY, headers=h)).json()
    # Answered: A (60 s, in target), B (180 s, late); D's callback is not an answer.
    assert (f["answered"], f["answered_in_target"]) == (2, 1)
    # Abandoned: D after 120 s, E after 90 s, G after 30 min: all past the 60 s target.
    assert (f["abandoned"], f["abandoned_late"]) == (3, 3)
    assert f["abandon_rate"] == round(3 / 5, 4)
    assert f["service_level"] == round(1 / (2 + 3), 4)
    assert f["service_level_answered"] == 0.5
    wait = f["abandon_wait_seconds"]
    assert (wait["count"], wait["avg"], wait["p50"], wait["p90"]) == (
        3,
        round((120 + 90 + 1800) / 3, 3),
        120.0,
        1800.0,
    )
    # Handle: A 600 s, B 900 s, A again 180 s, D 300 s.
    handle = f["handle_seconds"]
    assert (handle["count"], handle["avg"], handle["p50"], handle["p90"]) == (4, 495.0, 300.0, 900.0)
    assert f["handled"] == 4
    # First contact: B and D (A was reopened, so neither of its resolutions counts).
    assert f["resolved"] == 4
    assert f["first_contact_resolution"] == 0.5
    assert (f["offers"], f["offers_missed"]) == (2, 2)

    agents = {
        r["agent_id"]: r
        for r in (await app.client.get("/api/v1/reports/agents", params=DAY, headers=h)).json()
    }
    sara, omar = agents[ids["sara"]], agents[ids["omar"]]
    # Signed in 9:00-10:00: available 30 min, away 30 min.
    assert sara["signed_in_seconds"] == 3600.0
    assert sara["presence_seconds"] == {"available": 1800.0, "busy": 0.0, "away": 1800.0, "wrap_up": 0.0}
    # Busy 9:01-9:20, 9:25-9:28 and 9:40-9:45.
    assert sara["busy_seconds"] == 1140.0 + 180.0 + 300.0
    assert sara["handle_seconds_total"] == 600.0 + 900.0 + 180.0 + 300.0
    assert sara["occupancy"] == round(1620 / 3600, 4)
    assert sara["utilisation"] == round(1980 / 3600, 4)
    assert (omar["offers"], omar["offers_missed"]) == (2, 2)

    # Drill-down: the conversations behind the figures.
    async def drill(metric: str, **extra: Any) -> list[int]:
        r = await app.client.get(
            "/api/v1/reports/conversations", params={**DAY, "metric": metric, **extra}, headers=h
        )
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await drill("abandoned") == sorted([ids["d"], ids["e"], ids["g"]], reverse=True)
    assert await drill("answered") == [ids["b"], ids["a"]]
    assert await drill("answered_late") == [ids["b"]]
    assert await drill("reopened") == [ids["a"]]
    assert await drill("resolved") == [ids["d"], ids["b"], ids["a"]]
    page = (
        await app.client.get(
            "/api/v1/reports/conversations", params={**DAY, "metric": "conversations", "limit": 2}, headers=h
        )
    ).json()
    assert [c["id"] for c in page["items"]] == [ids["f"], ids["g"]]
    rest = await drill("conversations", cursor=page["next_cursor"], limit=10)
    assert rest == [ids["e"], ids["d"], ids["b"], ids["a"]]
    bad = await app.client.get("/api/v1/reports/conversations", params={**DAY, "metric": "x"}, headers=h)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "bad_metric")
    # An agent reads no reports, drill-down included.
    ha = await login(app.client, "sara@example.com")
    r = await app.client.get(
        "/api/v1/reports/conversations", params={**DAY, "metric": "resolved"}, headers=ha
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "role_required")


async def test_open_intervals_count_up_to_now(app: Any, clock: Any) -> None:
    hub = app.hub
    at(clock, 8, 0)
    care = await team(hub, "Care")
    sara = await user(hub, "sara@example.com", Role.agent, (care,))
    await user(hub, "root@example.com", Role.admin)
    at(clock, 9, 0)
    await set_presence(hub, SYSTEM, sara, "available")
    a = (await inbound(app.client, "cust-a", "hello", team="Care"))["conversation_id"]
    at(clock, 9, 10)
    await assign(hub, SYSTEM, a, sara)
    await settle(app)
    at(clock, 9, 40)  # still available, still holding A
    h = await login(app.client, "root@example.com")
    (row,) = [
        r
        for r in (await app.client.get("/api/v1/reports/agents", params=DAY, headers=h)).json()
        if r["agent_id"] == sara
    ]
    assert (row["signed_in_seconds"], row["busy_seconds"]) == (2400.0, 1800.0)
    assert row["occupancy"] == 0.75
    # A supervisor of another team does not see Sara's time.
    other = await team(hub, "Other")
    await user(hub, "boss@example.com", Role.supervisor, (other,))
    hb = await login(app.client, "boss@example.com")
    rows = (await app.client.get("/api/v1/reports/agents", params=DAY, headers=hb)).json()
    assert sara not in [r["agent_id"] for r in rows]


async def test_rebuild_gives_the_same_agent_rows(
    app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await traffic(app, clock, monkeypatch)

    async def snapshot() -> tuple[list[Any], list[Any], list[Any]]:
        async with app.hub.db.session() as s:
            slots = sorted(
                tuple(v for k, v in r.model_dump().items() if k != "id")
                for r in (await s.exec(select(ReportSlot))).all()
            )
            samples = sorted(
                tuple(v for k, v in r.model_dump().items() if k != "id")
                for r in (await s.exec(select(ReportSample))).all()
            )
            state = sorted(
                tuple(r.model_dump().values()) for r in (await s.exec(select(ReportAgentState))).all()
            )
        return slots, samples, state

    before = await snapshot()
    assert any(row for row in before[0])
    await app.hub.projections.rebuild("reports")
    assert await snapshot() == before
