"""Reports read the coarsest rollup that fits (docs/reports.md, "Which table a report
reads"): survey answers folded into the rollups (no ``survey_request`` read for a
figure), and time series and heat maps from whole UTC hours (``report_hour``) and days
(``report_day``) wherever the zone's buckets allow, with the same numbers as half hour
by half hour. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hub.models import Role
from hub.reports import query
from hub.reports.query import SERIES, Scope
from hub.reports.rollup import slot_start
from hub.services import SYSTEM
from hub.services.conversations import assign, resolve
from hub.services.surveys import save_policy
from tests.core.test_reports import WEEK, _rollups, at, settle, traffic
from tests.helpers import inbound, login, team, user


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL the hub runs meanwhile."""
    seen: list[str] = []
    engine = app.hub.db.engine.sync_engine

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


async def answers(app: Any, clock: Any) -> dict[str, int]:
    """CSAT in Care (5, 4, 2), NPS in Billing (10, 9, 7, 3), CES in Sales (6, 3); some
    with a comment afterwards (a second ``survey.answered``, no second answer)."""
    hub = app.hub
    at(clock, 5, 8, 0)
    care, billing, sales = [await team(hub, n) for n in ("Care", "Billing", "Sales")]
    sara = await user(hub, "sara@example.com", Role.agent, (care, billing, sales))
    await user(hub, "root@example.com", Role.admin)
    base = {"enabled": True, "delay_seconds": 0, "min_days_between": 0, "quiet_start": "", "quiet_end": ""}
    for t, key in ((care, "csat"), (billing, "nps"), (sales, "ces")):
        await save_policy(hub, SYSTEM, t, None, {**base, "survey_key": key})
    n = 0

    async def life(day: int, hh: int, mm: int, team_name: str, answer: str, comment: str = "") -> None:
        nonlocal n
        n += 1
        at(clock, day, hh, mm)
        c = await inbound(app.client, f"cust-{n}", "hello", team=team_name)
        await assign(hub, SYSTEM, c["conversation_id"], sara)
        clock.advance(300)
        await resolve(hub, SYSTEM, c["conversation_id"])
        await settle(app)
        clock.advance(60)
        await inbound(app.client, f"cust-{n}", answer)
        if comment:
            clock.advance(30)
            await inbound(app.client, f"cust-{n}", comment)
        await settle(app)

    await life(5, 9, 0, "Care", "5", "very kind")
    await life(5, 21, 10, "Care", "4")  # answered 21:16 UTC: the 5th in UTC, the 6th in Riyadh
    await life(6, 10, 0, "Care", "2", "too slow")
    await life(5, 11, 0, "Billing", "10")
    await life(6, 11, 0, "Billing", "9", "great")
    await life(6, 12, 0, "Billing", "7")
    await life(7, 13, 0, "Billing", "3")
    await life(7, 9, 0, "Sales", "6")
    await life(7, 10, 0, "Sales", "3", "hard to find")
    return {"care": care, "billing": billing, "sales": sales, "sara": sara}


async def test_survey_answers_are_folded_once(app: Any, clock: Any) -> None:
    ids = await answers(app, clock)
    h = await login(app.client, "root@example.com")
    with statements(app) as seen:
        f = (await app.client.get("/api/v1/reports/summary", params=WEEK, headers=h)).json()
        series = (
            await app.client.get(
                "/api/v1/reports/timeseries",
                params={**WEEK, "metric": "csat_average", "group_by": "day", "timezone": "Asia/Riyadh"},
                headers=h,
            )
        ).json()
        teams = (await app.client.get("/api/v1/reports/teams", params=WEEK, headers=h)).json()
        agents = (await app.client.get("/api/v1/reports/agents", params=WEEK, headers=h)).json()
    # (the hub's survey timer may look at due_at meanwhile: not a report's reading)
    read = [q for q in seen if "survey_request" in q and ("score" in q or "answered_at" in q)]
    assert not read, "figures read the folded answers"
    assert f["csat"] == {"responses": 3, "average": round(11 / 3, 3), "satisfied_share": round(2 / 3, 4)}
    assert f["nps"] == {"responses": 4, "score": 25.0}  # promoters 2, detractors 1
    assert f["ces"] == {"responses": 2, "average": 4.5}
    # Riyadh days: the 5th (09:06 UTC: 5), the 6th (21:16 UTC on the 5th: 4; 10:06: 2).
    assert [(p["start"][:10], p["value"]) for p in series if p["value"] is not None] == [
        ("2026-01-05", 5.0),
        ("2026-01-06", 3.0),
    ]
    by_team = {t["team_id"]: t for t in teams}
    assert by_team[ids["care"]]["csat"]["responses"] == 3 and by_team[ids["care"]]["nps"]["responses"] == 0
    assert by_team[ids["billing"]]["nps"] == {"responses": 4, "score": 25.0}
    assert by_team[ids["sales"]]["ces"] == {"responses": 2, "average": 4.5}
    sara = next(a for a in agents if a["agent_id"] == ids["sara"])
    assert (sara["csat"]["responses"], sara["nps"]["responses"], sara["ces"]["responses"]) == (3, 4, 2)
    # Part of a day: an answer counts in the half hour of its answered_at.
    day = {"since": "2026-01-05T21:00:00+00:00", "until": "2026-01-05T21:30:00+00:00"}
    part = (await app.client.get("/api/v1/reports/summary", params=day, headers=h)).json()
    assert part["csat"] == {"responses": 1, "average": 4.0, "satisfied_share": 1.0}
    # Under a customer dimension the answers are read from the matching conversations'
    # rows, attributed alike: the low scores tagged their conversations.
    low = (
        await app.client.get("/api/v1/reports/summary", params={**WEEK, "tag": "low-score"}, headers=h)
    ).json()
    assert low["csat"] == {"responses": 1, "average": 2.0, "satisfied_share": 0.0}
    assert low["nps"] == {"responses": 1, "score": -100.0}
    assert low["ces"] == {"responses": 1, "average": 3.0}
    # The comments are still read (from the rows) when asked for.
    said = (await app.client.get("/api/v1/reports/verbatims", params=WEEK, headers=h)).json()
    assert [i["comment"] for i in said["items"]] == ["hard to find", "great", "too slow", "very kind"]
    # A rebuild folds the same answers.
    before = await _rollups(app)
    await app.hub.projections.rebuild("reports")
    assert await _rollups(app) == before
    assert (await app.client.get("/api/v1/reports/summary", params=WEEK, headers=h)).json() == f


ZONES = ("UTC", "Asia/Riyadh", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York", "Australia/Lord_Howe")


async def _by_slots(s: Any, scope: Scope, metrics: list[str], group_by: str, zone: ZoneInfo) -> list[Any]:
    """The time series as it was computed before report_hour: every half hour's row."""
    buckets: dict[datetime, dict[str, float]] = {}
    for t in sorted(await query.totals(s, scope, ("slot",)), key=lambda r: int(r["slot"])):
        start = query._bucket(slot_start(int(t["slot"])).astimezone(zone), group_by)
        acc = buckets.setdefault(start, dict.fromkeys(query.ALL_SUMS, 0.0))
        for c in query.ALL_SUMS:
            acc[c] += float(t[c] or 0)
    return [{"start": start.isoformat(), **_values(metrics, buckets[start])} for start in sorted(buckets)]


def _values(metrics: list[str], t: dict[str, float]) -> dict[str, Any]:
    """Each series' value as its summary figure gives it."""
    f = query.figures(t)
    f["csat_average"] = f["csat"]["average"]
    f["first_response_avg"] = round(t["frt_sum"] / t["frt_count"], 3) if t["frt_count"] else None
    f["resolution_avg"] = round(t["res_sum"] / t["res_count"], 3) if t["res_count"] else None
    return {m: f[m] for m in metrics}


async def test_series_from_hours_and_days_equal_the_half_hours(app: Any, clock: Any) -> None:
    """Every series in every kind of zone (whole hour, half hour, 45 minutes, DST) and
    grouping, over aligned and ragged ranges, a team or all: the same values as the
    half-hour rows give; and the heat map likewise."""
    ids = await traffic(app, clock)
    metrics = list(SERIES)
    ranges = [
        (datetime(2026, 1, 4, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC)),
        (datetime(2026, 1, 3, 21, tzinfo=UTC), datetime(2026, 1, 11, 21, tzinfo=UTC)),  # Riyadh days
        (datetime(2026, 1, 4, 0, 30, tzinfo=UTC), datetime(2026, 1, 11, 17, 30, tzinfo=UTC)),  # ragged
    ]
    async with app.hub.db.session() as s:
        for since, until in ranges:
            for teams in (None, (ids["care"],)):
                scope = Scope(since, until, teams)
                for name in ZONES:
                    zone = ZoneInfo(name)
                    for group_by in query.GROUPS:
                        got = await query.timeseries(s, scope, metrics, group_by, name)
                        want = await _by_slots(s, scope, metrics, group_by, zone)
                        assert got == want, (since, teams, name, group_by)
                    grid = [[0] * 24 for _ in range(7)]
                    for t in await query.totals(s, scope, ("slot",)):
                        local = slot_start(int(t["slot"])).astimezone(zone)
                        grid[local.weekday()][local.hour] += int(t["conversations"])
                    assert await query.heatmap(s, scope, name) == grid, (since, name)


def _plan(since: datetime, until: datetime, name: str, group_by: str) -> tuple[Scope, Any, Any, Any]:
    scope = Scope(since, until)
    _, keys, runs = query._bucket_runs(scope, ZoneInfo(name), lambda local: query._bucket(local, group_by))
    return scope, keys, runs, query._plan(scope, ("slot",), runs)


def test_which_rollup_a_series_reads() -> None:
    """Riyadh's days are whole UTC hours; UTC weeks whole UTC days; Kolkata's days
    start at half past: a half hour each side of every local midnight."""
    riyadh = (datetime(2026, 9, 1, 21, tzinfo=UTC), datetime(2026, 11, 30, 21, tzinfo=UTC))
    scope, _, _, plan = _plan(*riyadh, "Asia/Riyadh", "day")
    lo, hi = scope.slots
    assert (plan["day"], plan["hour"], plan["slot"]) == ([], [(lo, hi)], [])
    scope, _, _, plan = _plan(*riyadh, "Asia/Riyadh", "hour")
    assert (plan["day"], plan["hour"], plan["slot"]) == ([], [(lo, hi)], [])
    scope, _, _, plan = _plan(*riyadh, "Asia/Riyadh", "week")  # whole UTC days inside each week
    assert plan["slot"] == [] and len(plan["day"]) == len(plan["hour"]) - 1 == 13
    utc = (datetime(2026, 9, 7, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    scope, _, _, plan = _plan(*utc, "UTC", "week")
    assert (plan["day"], plan["hour"], plan["slot"]) == ([scope.slots], [], [])
    kolkata = (datetime(2026, 9, 1, 18, 30, tzinfo=UTC), datetime(2026, 9, 11, 18, 30, tzinfo=UTC))
    scope, _, _, plan = _plan(*kolkata, "Asia/Kolkata", "day")
    # the first and last half hours, and one hour around each of the 9 midnights between
    assert len(plan["slot"]) == 11 and len(plan["hour"]) == 10 and plan["day"] == []
    # A half-hour zone over many days would need too many ranges: half hours alone.
    long = (datetime(2026, 1, 1, 18, 30, tzinfo=UTC), datetime(2026, 12, 1, 18, 30, tzinfo=UTC))
    scope, _, _, plan = _plan(*long, "Asia/Kolkata", "day")
    assert plan == {"slot": [scope.slots]}


@pytest.mark.parametrize("name", [*ZONES, "America/Santiago", "Europe/London", "Asia/Tehran"])
def test_every_coarse_row_lies_in_one_bucket(name: str) -> None:
    """Over random ranges (across DST changes too): the plan's ranges cover the range
    exactly once, and every UTC day or hour it reads falls in one bucket."""
    rng = random.Random(name)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(30):
        since = start + timedelta(minutes=30 * rng.randrange(24 * 2 * 250))
        until = since + timedelta(minutes=30 * rng.randrange(1, 24 * 2 * 60))
        group_by = rng.choice(query.GROUPS)
        scope, keys, _, plan = _plan(since, until, name, group_by)
        lo, hi = scope.slots
        covered = sorted(r for ranges in plan.values() for r in ranges)
        assert covered[0][0] == lo and covered[-1][1] == hi
        assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))
        for grain, per in (("day", 48), ("hour", 2)):
            for a, b in plan.get(grain, []):
                assert a % per == 0 and b % per == 0
                for u in range(a, b, per):
                    assert len({keys[x - lo] for x in range(u, u + per)}) == 1, (name, group_by, u)
