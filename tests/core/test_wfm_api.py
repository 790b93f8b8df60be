"""GET /api/v1/reports/forecast: rights (as for reports), CSV, refused input with stable
codes, and the staffing inputs read from the rollups — measured handle time, patience
and signed-in agents seeded through the real tables — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from hub.models import ReportSample, ReportSlot, Role
from hub.projections import core
from hub.reports import forecast as fc
from tests.helpers import login, team, user

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # 13:00 in Riyadh
ORIGIN = fc.slot_of(datetime(2026, 12, 2, 21, 0, tzinfo=UTC))  # midnight in Riyadh
URL = "/api/v1/reports/forecast"
RIYADH = {"timezone": "Asia/Riyadh"}


async def insert(hub: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    async with hub.db.session() as s:
        await core(s, sa.insert(table.__table__), rows)
        await s.commit()


@pytest.fixture
async def org(app: Any, clock: Any) -> dict[str, int]:
    clock.now = NOW
    hub = app.hub
    await hub.projections.catch_up()  # the first run empties the rollups: before seeding
    care = await team(
        hub,
        "Care",
        routing={"sla_seconds": {"voice": 20}, "service_level_target": {"voice": 0.8}},
    )
    billing = await team(hub, "Billing", routing={"handle_seconds": {"voice": 240}})
    ids = {
        "care": care,
        "billing": billing,
        "sara": await user(hub, "sara@example.com", Role.agent, (care,)),
        "boss": await user(hub, "boss@example.com", Role.supervisor, (care,)),
        "other": await user(hub, "other@example.com", Role.supervisor, (billing,)),
        "root": await user(hub, "root@example.com", Role.admin),
    }
    now_slot = fc.slot_of(NOW)
    # Three days of 100 voice calls a half hour: the forecast (mean of a short history) is 100.
    await insert(
        hub,
        ReportSlot,
        [
            {"slot": k, "team_id": care, "channel": "voice", "agent_id": 0, "conversations": 100}
            for k in range(ORIGIN - 3 * 48, now_slot + 1)
        ],
    )
    # Measured: handle 180 s (two conversations of 150 and 210 s), abandoned after 60 s.
    samples = [("handle", 150.0), ("handle", 210.0), ("aban", 60.0)]
    await insert(
        hub,
        ReportSample,
        [
            {
                "metric": m,
                "slot": now_slot - 10,
                "team_id": care,
                "channel": "voice",
                "agent_id": ids["sara"],
                "conversation_id": i + 1,
                "seconds": v,
                "business_seconds": v,
            }
            for i, (m, v) in enumerate(samples)
        ],
    )
    # Signed in: Sara the whole half hour before now, her supervisor (a member too) half of it.
    await insert(
        hub,
        ReportSlot,
        [
            {
                "slot": now_slot - 1,
                "team_id": 0,
                "channel": "",
                "agent_id": ids["sara"],
                "signed_in_s": 1800.0,
            },
            {
                "slot": now_slot - 1,
                "team_id": 0,
                "channel": "",
                "agent_id": ids["boss"],
                "signed_in_s": 900.0,
            },
        ],
    )
    return ids


async def test_plan_with_measured_handle_time_patience_and_signed_in_agents(
    app: Any, org: dict[str, int]
) -> None:
    await login(app.client, "boss@example.com")
    r = await app.client.get(URL, params={"team_id": org["care"], "channel": "voice", "days": 2, **RIYADH})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["team_id"] == org["care"] and plan["channel"] == "voice"
    assert plan["generated_at"] == NOW.isoformat()
    assert plan["method"] == "mean" and plan["backtest"]["mape"] is None  # three days: no backtest
    assert len(plan["intervals"]) == 2 * 48
    assert plan["intervals"][0]["start"] == "2026-12-03T00:00:00+03:00"
    assert plan["settings"] == {
        "model": "erlang_c",
        "service_level_target": 0.8,
        "threshold_seconds": 20.0,
        "handle_seconds": 180.0,
        "handle_source": "measured",
        "patience_seconds": 60.0,
        "shrinkage": 0.3,
    }
    # 100 a half hour at 180 s within 20 s for 80 %: the routing tests' 14 agents; 20 scheduled.
    assert {
        (i["forecast_arrivals"], i["required_agents"], i["required_scheduled"]) for i in plan["intervals"]
    } == {(100.0, 14, 20)}
    history = {h["start"]: h for h in plan["history"]}
    before = history["2026-12-03T12:30:00+03:00"]
    assert before == {
        "start": before["start"],
        "arrivals": 100,
        "required_agents": 14,
        "signed_in_agents": 1.5,
    }
    assert history["2026-12-03T12:00:00+03:00"]["signed_in_agents"] == 0.0
    assert history["2026-11-26T00:00:00+03:00"]["arrivals"] == 0

    # Erlang A with the measured patience: impatient callers leave, fewer agents reach 80 %.
    r = await app.client.get(
        URL,
        params={
            "team_id": org["care"],
            "channel": "voice",
            "days": 1,
            "model": "erlang_a",
            "shrinkage": 0,
            **RIYADH,
        },
    )
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["settings"]["model"] == "erlang_a" and a["settings"]["shrinkage"] == 0
    need = a["intervals"][0]["required_agents"]
    assert need <= 14 and a["intervals"][0]["required_scheduled"] == need


async def test_default_and_team_handle_time(app: Any, org: dict[str, int]) -> None:
    await login(app.client, "root@example.com")
    r = await app.client.get(URL, params={"team_id": org["billing"], "channel": "voice", "days": 1})
    assert r.status_code == 200, r.text
    s = r.json()["settings"]
    assert (s["handle_seconds"], s["handle_source"], s["patience_seconds"]) == (240.0, "team_setting", None)
    assert (s["service_level_target"], s["threshold_seconds"]) == (0.8, 20.0)  # the defaults
    r = await app.client.get(URL, params={"team_id": org["billing"], "channel": "webchat", "days": 1})
    s = r.json()["settings"]
    assert (s["handle_seconds"], s["handle_source"], s["threshold_seconds"]) == (300.0, "default", 60.0)
    assert all(i["forecast_arrivals"] == 0 and i["required_agents"] == 0 for i in r.json()["intervals"])
    # No abandonment measured: Erlang A cannot run.
    r = await app.client.get(URL, params={"team_id": org["billing"], "channel": "voice", "model": "erlang_a"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "no_patience")


async def test_rights_follow_the_reports(app: Any, org: dict[str, int]) -> None:
    params = {"team_id": org["care"], "channel": "voice", "days": 1}
    assert (await app.client.get(URL, params=params)).status_code == 401
    await login(app.client, "sara@example.com")
    r = await app.client.get(URL, params=params)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "role_required")
    await login(app.client, "other@example.com")
    r = await app.client.get(URL, params=params)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_team")
    assert (await app.client.get(URL, params={**params, "team_id": org["billing"]})).status_code == 200
    await login(app.client, "root@example.com")
    assert (await app.client.get(URL, params=params)).status_code == 200
    r = await app.client.get(URL, params={**params, "team_id": 999})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "team_not_found")


BAD = [
    ({"channel": "pigeon"}, 422, "bad_channel"),
    ({"timezone": "Mars/Olympus"}, 422, "bad_timezone"),
    ({"timezone": "Europe"}, 422, "bad_timezone"),  # a folder of zones, not a zone
    ({"shrinkage": 1}, 422, "validation_error"),
    ({"shrinkage": -0.1}, 422, "validation_error"),
    ({"days": 0}, 422, "validation_error"),
    ({"days": 29}, 422, "validation_error"),
    ({"model": "erlang_b"}, 422, "validation_error"),
    ({"team_id": "x"}, 422, "validation_error"),
    ({"channel": None}, 422, "validation_error"),
]


async def test_bad_input_is_refused_with_a_stable_code(app: Any, org: dict[str, int]) -> None:
    await login(app.client, "root@example.com")
    for params, status, code in BAD:
        query_params = {
            k: v for k, v in {"team_id": org["care"], "channel": "voice", **params}.items() if v is not None
        }
        r = await app.client.get(URL, params=query_params)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (params, r.text)


async def test_a_folder_of_zones_is_not_a_team_time_zone(app: Any) -> None:
    from hub.services.errors import Invalid

    with pytest.raises(Invalid) as refused:
        await team(app.hub, "Europeans", business_hours={"timezone": "Europe", "days": {}})
    assert refused.value.code == "bad_team_settings"


async def test_csv(app: Any, org: dict[str, int]) -> None:
    await login(app.client, "boss@example.com")
    params = {"team_id": org["care"], "channel": "voice", "days": 1, **RIYADH}
    r = await app.client.get(URL, params={**params, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="forecast-team-{org["care"]}-voice.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    forecast_rows = [row for row in rows if row["kind"] == "forecast"]
    history_rows = [row for row in rows if row["kind"] == "history"]
    assert len(forecast_rows) == 48 and len(history_rows) == 7 * 48 + 27
    assert forecast_rows[0] == {
        "kind": "forecast",
        "start": "2026-12-03T00:00:00+03:00",
        "forecast_arrivals": "100.0",
        "required_agents": "14",
        "required_scheduled": "20",
        "mape": "",
        "arrivals": "",
        "signed_in_agents": "",
    }
    assert history_rows[-2]["signed_in_agents"] == "1.5"
    by_accept = await app.client.get(URL, params=params, headers={"accept": "text/csv"})
    assert by_accept.text == r.text
