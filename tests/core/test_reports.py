"""Reports from the rollups: known traffic through the real services with a fake clock
(arrivals, assignments, replies, a transfer, resolutions, a survey answer, a weekend),
exact figures, percentiles, business-hours variants, tables, time series, CSV, rights,
and a rebuild giving identical figures — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from hub.models import (
    OfferStatus,
    ReportDay,
    ReportHistogram,
    ReportHour,
    ReportSample,
    ReportSlot,
    Role,
    SurveyRequest,
)
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


KEYS = {"slot", "team_id", "channel", "agent_id", "metric", "day", "hour", "bucket"}


async def _rollups(app: Any) -> tuple[list[tuple[Any, ...]], ...]:
    """The rollup tables as sorted rows of (column, value), ids and zero counters left out
    (a row left all zero — a recomputed sample moved away — is no row)."""

    def rows(items: Any) -> list[tuple[Any, ...]]:
        out = []
        for r in items:
            pairs = tuple(sorted((k, v) for k, v in r.model_dump().items() if k != "id" and v != 0))
            if any(k not in KEYS for k, _ in pairs):
                out.append(pairs)
        return sorted(out, key=repr)

    async with app.hub.db.session() as s:
        return (
            rows((await s.exec(select(ReportSlot))).all()),
            rows((await s.exec(select(ReportSample))).all()),
            rows((await s.exec(select(ReportHistogram))).all()),
            rows((await s.exec(select(ReportDay))).all()),
            rows((await s.exec(select(ReportHour))).all()),
        )


async def _check_kept_with_samples(app: Any) -> int:
    """The slot sums and the histograms are the aggregate of the samples; the slots'
    survey figures the recomputation of the answered ``survey_request`` rows (by the
    half hour of ``answered_at`` and the survey's team, channel and agent, as the
    figures always counted them); the days and the hours the aggregate of the slots.
    Returns the number of answers."""
    from collections import Counter, defaultdict

    from hub.reports import histogram
    from hub.reports.rollup import IN_TARGET_COLUMN, SAMPLE_COLUMNS, SURVEY_COLUMNS, answer_columns, slot_of

    async with app.hub.db.session() as s:
        samples = (await s.exec(select(ReportSample))).all()
        slots = (await s.exec(select(ReportSlot))).all()
        hists = (await s.exec(select(ReportHistogram))).all()
        days = (await s.exec(select(ReportDay))).all()
        hours = (await s.exec(select(ReportHour))).all()
        surveys = (await s.exec(select(SurveyRequest))).all()
    answers: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    answered = 0
    for q in surveys:
        if q.score is None or q.answered_at is None:
            continue
        answered += 1
        key = (slot_of(q.answered_at), q.team_id or 0, q.channel or "", q.agent_id or 0)
        answers[key].update(answer_columns(q.kind, q.score))
    folded = {
        (r.slot, r.team_id, r.channel, r.agent_id): Counter(
            {c: getattr(r, c) for c in SURVEY_COLUMNS if getattr(r, c)}
        )
        for r in slots
    }
    assert {k: v for k, v in folded.items() if v} == {k: +v for k, v in answers.items() if +v}
    want: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    buckets: Counter[tuple[Any, ...]] = Counter()
    for x in samples:
        assert (x.bucket, x.bh_bucket) == (histogram.bucket(x.seconds), histogram.bucket(x.business_seconds))
        row = want[(x.slot, x.team_id, x.channel, x.agent_id)]
        row[f"{x.metric}_count"] += 1
        row[f"{x.metric}_sum"] += x.seconds
        row[f"{x.metric}_bh_sum"] += x.business_seconds
        if x.in_target and x.metric in IN_TARGET_COLUMN:
            row[IN_TARGET_COLUMN[x.metric]] += 1
        for team_id in (x.team_id, -1):
            for channel in (x.channel, "*"):
                buckets[(x.metric, x.slot // 48, team_id, channel, x.bucket, "n")] += 1
                buckets[(x.metric, x.slot // 48, team_id, channel, x.bh_bucket, "n_bh")] += 1
    got = {
        (r.slot, r.team_id, r.channel, r.agent_id): Counter(
            {c: getattr(r, c) for c in SAMPLE_COLUMNS if getattr(r, c)}
        )
        for r in slots
    }
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}
    kept: Counter[tuple[Any, ...]] = Counter()
    for h in hists:
        kept[(h.metric, h.day, h.team_id, h.channel, h.bucket, "n")] += h.n
        kept[(h.metric, h.day, h.team_id, h.channel, h.bucket, "n_bh")] += h.n_bh
    assert +kept == +buckets
    columns = [c for c in ReportDay.model_fields if c not in ("id", "day", "team_id", "channel")]
    per_day: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for r in slots:
        per_day[(r.slot // 48, r.team_id, r.channel)].update({c: getattr(r, c) for c in columns})
    kept_days = {(d.day, d.team_id, d.channel): Counter({c: getattr(d, c) for c in columns}) for d in days}
    assert {k: +v for k, v in kept_days.items() if +v} == {k: +v for k, v in per_day.items() if +v}
    per_hour: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for r in slots:
        per_hour[(r.slot // 2, r.team_id, r.channel)].update({c: getattr(r, c) for c in columns})
    kept_hours = {(h.hour, h.team_id, h.channel): Counter({c: getattr(h, c) for c in columns}) for h in hours}
    assert {k: +v for k, v in kept_hours.items() if +v} == {k: +v for k, v in per_hour.items() if +v}
    # A row exists in report_hour exactly where one exists in report_slot (empty buckets
    # of a time series are the same whichever table is read).
    assert {k for k in kept_hours} == {k for k in per_hour}
    return answered


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
    *("in", "in", "assign", "reply", "resolve", "transfer", "answer", "answer", "project"),
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
    # Each seed asks another kind of survey (the answers "1".."5" are valid for each).
    kind = ("csat", "nps", "ces")[seed % 3]
    policy = {"enabled": True, "delay_seconds": 0, "survey_key": kind, "min_days_between": 0}
    await save_policy(hub, SYSTEM, None, None, {**policy, "quiet_start": "", "quiet_end": ""})
    convs: list[int] = []
    customer: dict[int, str] = {}  # conversation -> sender
    for step in range(60):
        clock.advance(rng.choice([5, 60, 900, 1799, 1800, 3600, 86400]))
        op = rng.choice(OPS)
        try:
            if op == "in" or not convs:
                sender = f"cust-{rng.randint(0, 5)}"
                r = await inbound(app.client, sender, f"m{step}", team="Care")
                convs.append(r["conversation_id"])
                customer[r["conversation_id"]] = sender
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
            elif op == "answer":  # a customer asked answers (a later message may be a comment)
                await settle(app)
                async with hub.db.session() as s:
                    asked = (
                        await s.exec(
                            select(SurveyRequest.conversation_id).where(SurveyRequest.status == "sent")
                        )
                    ).all()
                senders = sorted({customer[c] for c in asked if c in customer})
                sender = rng.choice(senders) if senders else f"cust-{rng.randint(0, 5)}"
                await inbound(app.client, sender, str(rng.randint(1, 5)))
                if rng.random() < 0.5:  # a comment after the score: no second answer
                    clock.advance(30)
                    await inbound(app.client, sender, "the agent was kind")
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
    answered = await _check_kept_with_samples(app)
    assert answered, "some surveys were answered"
    await hub.projections.rebuild("reports")
    rebuilt = await _rollups(app)
    assert await _check_kept_with_samples(app) == answered
    for n in (0, 1, 2, 3, 4):
        a, b = set(incremental[n]), set(rebuilt[n])
        assert a == b, {"only incremental": sorted(a - b, key=repr), "only rebuilt": sorted(b - a, key=repr)}


def test_histogram_buckets_and_percentiles() -> None:
    """Log-spaced buckets: a percentile read from them is within 2 % of the exact
    nearest-rank value (under one second: 0)."""
    import math
    import random

    from hub.reports import histogram

    assert (histogram.bucket(0.0), histogram.bucket(0.99), histogram.bucket(1.0)) == (0, 0, 1)
    assert histogram.bucket(60.0) == 1 + math.floor(math.log(60) / math.log(1.04)) == 105
    assert histogram.value(105) == pytest.approx(1.04**104 * math.sqrt(1.04))
    assert round(histogram.RELATIVE_ERROR, 4) == 0.0198
    rng = random.Random(7)
    values = [rng.lognormvariate(5, 2) for _ in range(5000)]
    counts: dict[int, int] = {}
    for v in values:
        counts[histogram.bucket(v)] = counts.get(histogram.bucket(v), 0) + 1
    got = histogram.percentiles(counts, (0.5, 0.9))
    ordered = sorted(values)
    for name, p in (("p50", 0.5), ("p90", 0.9)):
        exact = ordered[math.ceil(p * len(values)) - 1]
        assert abs(got[name] - exact) / exact <= histogram.RELATIVE_ERROR  # type: ignore[operator]
    assert histogram.percentiles({}, (0.5,)) == {"p50": None}


async def test_percentiles_from_histograms(app: Any, clock: Any, monkeypatch: Any) -> None:
    """Above the sample threshold the percentiles come from the histograms (whole UTC days)
    and the samples' buckets (the part-days at the ends): each the bucket of the exact
    value; averages stay exact."""
    from hub.reports import histogram

    ids = await traffic(app, clock)
    h = await login(app.client, "root@example.com")
    exact = (await app.client.get("/api/v1/reports/summary", params=WEEK, headers=h)).json()
    assert exact["first_response_seconds"]["exact"] is True
    monkeypatch.setattr(histogram, "EXACT_MAX_SAMPLES", 0)
    approx = (await app.client.get("/api/v1/reports/summary", params=WEEK, headers=h)).json()
    b = histogram.value
    bk = histogram.bucket
    frt = approx["first_response_seconds"]
    assert frt["exact"] is False
    assert (frt["p50"], frt["p90"]) == (round(b(bk(2400)), 3), round(b(bk(231600)), 3))
    assert (frt["p50_business"], frt["p90_business"]) == (round(b(bk(1200)), 3), round(b(bk(2400)), 3))
    assert frt["avg"] == exact["first_response_seconds"]["avg"]  # sums: exact either way
    fat = approx["first_assignment_seconds"]
    assert (fat["p50"], fat["p90"]) == (round(b(bk(60)), 3), round(b(bk(1200)), 3))
    for name in ("first_response_seconds", "first_assignment_seconds", "resolution_seconds"):
        for k in ("p50", "p90", "p50_business", "p90_business"):
            want, got = exact[name][k], approx[name][k]
            assert abs(got - want) <= want * histogram.RELATIVE_ERROR, (name, k)
    # A team (its own histogram rows), a channel, an agent (the samples' buckets).
    for params in ({"team_id": ids["billing"]}, {"channel": "loopback"}, {"agent_id": ids["sara"]}):
        monkeypatch.setattr(histogram, "EXACT_MAX_SAMPLES", 10_000)
        want = (await app.client.get("/api/v1/reports/summary", params={**WEEK, **params}, headers=h)).json()
        monkeypatch.setattr(histogram, "EXACT_MAX_SAMPLES", 0)
        got = (await app.client.get("/api/v1/reports/summary", params={**WEEK, **params}, headers=h)).json()
        for name in ("first_response_seconds", "resolution_seconds"):
            for k in ("p50", "p90"):
                w = want[name][k]
                assert (got[name][k] is None) == (w is None)
                if w is not None:
                    assert got[name][k] == round(b(bk(w)), 3), (params, name, k)
    # A range of whole UTC days reads the histograms alone: the same values.
    utc = {"since": "2026-01-05T00:00:00+00:00", "until": "2026-01-12T00:00:00+00:00"}
    whole = (await app.client.get("/api/v1/reports/summary", params=utc, headers=h)).json()
    assert whole["first_response_seconds"]["p90"] == round(b(bk(231600)), 3)


async def test_timeseries_of_several_metrics(app: Any, clock: Any) -> None:
    await traffic(app, clock)
    h = await login(app.client, "root@example.com")
    base = {**WEEK, "group_by": "day", "timezone": "Asia/Riyadh"}
    r = await app.client.get(
        "/api/v1/reports/timeseries",
        params=[*base.items(), ("metric", "conversations,resolved"), ("metric", "first_response_avg")],
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "start": "2026-01-05T00:00:00+03:00",
            "conversations": 2,
            "resolved": 2,
            "first_response_avg": 1290.0,
        },
        {"start": "2026-01-08T00:00:00+03:00", "conversations": 1, "resolved": 0, "first_response_avg": None},
        {
            "start": "2026-01-11T00:00:00+03:00",
            "conversations": 0,
            "resolved": 0,
            "first_response_avg": 231600.0,
        },
    ]
    csv = await app.client.get(
        "/api/v1/reports/timeseries",
        params={**base, "metric": "conversations,service_level", "format": "csv"},
        headers=h,
    )
    assert csv.text.splitlines()[:2] == [
        "start,conversations,service_level",
        "2026-01-05T00:00:00+03:00,2,0.5",
    ]
    for bad in ("conversations,nope", ",", ",".join(["conversations"] * 3 + ["x"] * 8)):
        r = await app.client.get("/api/v1/reports/timeseries", params={**base, "metric": bad}, headers=h)
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_metric", bad


async def test_verbatims_by_the_report_filters(app: Any, clock: Any) -> None:
    """Survey comments in the range by team, channel, agent, dates and kind; paged,
    newest answer first; a supervisor sees their teams' only."""
    hub = app.hub
    at(clock, 5, 8, 0)
    care = await team(hub, "Care")
    billing = await team(hub, "Billing")
    sara = await user(hub, "sara@example.com", Role.agent, (care, billing))
    omar = await user(hub, "omar@example.com", Role.agent, (care,))
    await user(hub, "boss@example.com", Role.supervisor, (care,))
    await user(hub, "root@example.com", Role.admin)
    await save_policy(hub, SYSTEM, None, None, {"enabled": True, "delay_seconds": 0, "ask_comment": False})

    async def life(day: int, hh: int, cust: str, team_name: str, agent: int, answer: str) -> int:
        at(clock, day, hh, 0)
        c = await inbound(app.client, cust, "hello", team=team_name)
        await assign(hub, SYSTEM, c["conversation_id"], agent)
        at(clock, day, hh, 5)
        await resolve(hub, SYSTEM, c["conversation_id"])
        await settle(app)
        at(clock, day, hh, 6)
        await inbound(app.client, cust, answer)
        return int(c["conversation_id"])

    a = await life(5, 9, "cust-a", "Care", sara, "5 great help")
    b = await life(6, 9, "cust-b", "Billing", sara, "2 too slow")
    c = await life(8, 9, "cust-c", "Care", omar, "4 ok")
    await life(9, 9, "cust-d", "Care", omar, "3")  # no comment: not a verbatim
    await settle(app)
    h = await login(app.client, "root@example.com")

    async def get(**params: Any) -> Any:
        r = await app.client.get("/api/v1/reports/verbatims", params={**WEEK, **params}, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    def texts(page: Any) -> list[tuple[str, int, int]]:
        return [(i["comment"], i["score"], i["conversation_id"]) for i in page["items"]]

    every = await get()
    assert texts(every) == [("ok", 4, c), ("too slow", 2, b), ("great help", 5, a)]
    first = every["items"][0]
    assert (first["kind"], first["team_id"], first["agent_id"], first["channel"]) == (
        "csat",
        care,
        omar,
        "loopback",
    )
    assert "contact_name" in first and first["answered_at"].startswith("2026-01-08T09:06:00")
    assert texts(await get(team_id=care)) == [("ok", 4, c), ("great help", 5, a)]
    assert texts(await get(agent_id=sara)) == [("too slow", 2, b), ("great help", 5, a)]
    assert texts(await get(channel="sms")) == []
    assert texts(await get(until="2026-01-07T00:00:00+03:00")) == [("too slow", 2, b), ("great help", 5, a)]
    assert texts(await get(kind="nps")) == []
    low = (await get(team_id=billing))["items"]
    assert [i["low_score"] for i in low] == [True]
    # Pages of one.
    seen, cursor = [], None
    while True:
        page = await get(limit=1, **({"cursor": cursor} if cursor else {}))
        seen += texts(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == texts(every)
    r = await app.client.get("/api/v1/reports/verbatims", params={**WEEK, "cursor": "x_y"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_cursor"
    csv = await app.client.get("/api/v1/reports/verbatims", params={**WEEK, "format": "csv"}, headers=h)
    assert csv.text.splitlines()[0].startswith("id,kind,score,comment,answered_at")
    boss = app.new_client()
    await login(boss, "boss@example.com")
    mine = (await boss.get("/api/v1/reports/verbatims", params=WEEK)).json()
    assert [i["comment"] for i in mine["items"]] == ["ok", "great help"]
    assert (
        await boss.get("/api/v1/reports/verbatims", params={**WEEK, "team_id": billing})
    ).status_code == 403


async def test_queues_today_is_the_teams_local_day(app: Any, clock: Any) -> None:
    """/queues (supervisor view, wallboard): answered and abandoned today since midnight
    in the team's time zone — Riyadh's day starts at 21:00 UTC."""
    hub = app.hub
    at(clock, 5, 12, 0)
    riyadh = await team(hub, "Care", business_hours=HOURS)
    utc = await team(hub, "Night")
    sara = await user(hub, "sara@example.com", Role.agent, (riyadh, utc))
    await user(hub, "root@example.com", Role.admin)
    for name, when in (("before", (20, 30)), ("after", (21, 10))):
        for team_name in ("Care", "Night"):
            at(clock, 5, *when)
            gone = await inbound(app.client, f"gone-{name}-{team_name}", "hello?", team=team_name)
            clock.advance(60)
            assert await abandon.caller_hung_up(hub, gone["conversation_id"])
            served = await inbound(app.client, f"served-{name}-{team_name}", "hi", team=team_name)
            clock.advance(30)
            await assign(hub, SYSTEM, served["conversation_id"], sara)
    at(clock, 5, 22, 30)  # 01:30 on the 6th in Riyadh; still the 5th in UTC
    h = await login(app.client, "root@example.com")
    rows = {q["team_id"]: q for q in (await app.client.get("/api/v1/queues", headers=h)).json()["items"]}
    assert (rows[riyadh]["abandoned_today"], rows[riyadh]["answered_today"]) == (1, 1)
    assert (rows[utc]["abandoned_today"], rows[utc]["answered_today"]) == (2, 2)
    at(clock, 6, 0, 30)  # a new UTC day: the Night team starts again
    rows = {q["team_id"]: q for q in (await app.client.get("/api/v1/queues", headers=h)).json()["items"]}
    assert (rows[riyadh]["abandoned_today"], rows[utc]["abandoned_today"]) == (1, 0)


async def test_rollup_rows_add_only_their_figures_and_zero_rows_still_exist(db_url: str) -> None:
    """The fold's upserts (ReportsProjection._upsert_rows): one statement per set of
    figures rows add to; a conflict adds those alone, a new row has every other figure
    0, and a row of zeros is made to exist without touching one that does."""
    import sqlalchemy as sa

    from hub.config import to_async_url
    from hub.db import Database
    from hub.projections import core
    from hub.reports.rollup import SLOT_COLUMNS, ReportsProjection, _slots

    db = Database(to_async_url(db_url))
    fold = ReportsProjection(db.is_sqlite)
    key = ("slot", "team_id", "channel", "agent_id")

    def figures(**kw: float) -> dict[str, float]:
        return {**dict.fromkeys(SLOT_COLUMNS, 0), **kw}

    batches = [
        {(1, 0, "web", 7): figures(inbound=1), (1, 0, "web", 8): figures(inbound=2, handle_s=1.5)},
        {
            (1, 0, "web", 7): figures(inbound=3, first_contact=-1),
            (1, 0, "web", 8): figures(),
            (1, 0, "sms", 7): figures(),
            (2, 0, "web", 7): figures(outbound=1, handle_s=0.25),
        },
    ]
    try:
        for batch in batches:
            async with db.transaction() as s:
                await fold._upsert_rows(s, _slots, key, batch)
        async with db.session() as s:
            rows = (await core(s, sa.select(_slots))).all()
    finally:
        await db.dispose()
    got = {tuple(r._mapping[k] for k in key): {c: r._mapping[c] for c in SLOT_COLUMNS} for r in rows}
    expected = {
        (1, 0, "web", 7): figures(inbound=4, first_contact=-1),
        (1, 0, "web", 8): figures(inbound=2, handle_s=1.5),
        (1, 0, "sms", 7): figures(),
        (2, 0, "web", 7): figures(outbound=1, handle_s=0.25),
    }
    assert got == expected


def test_a_batchs_rollup_row_holds_only_the_figures_it_added_to() -> None:
    """hub.reports.rollup.Figures: any figure reads 0 until added to, only those added
    to are held (what the upserts' shapes are made of), and a name that is no figure is
    refused as a row of every figure refused it."""
    import pytest

    from hub.reports.rollup import SLOT_COLUMNS, Figures

    row = Figures()
    row["inbound"] += 1
    row["handle_s"] += 0.5
    row["first_contact"] -= 1
    assert row["outbound"] == 0 and "outbound" not in row
    assert dict(row) == {"inbound": 1, "handle_s": 0.5, "first_contact": -1}
    assert set(row) < set(SLOT_COLUMNS)
    with pytest.raises(KeyError):
        row["inbund"] += 1
