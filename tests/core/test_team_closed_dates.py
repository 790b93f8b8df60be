"""A team's closed dates are calendar dates written YYYY-MM-DD; anything else is
refused on save (422 bad_closed_date) instead of being stored and never matching."""

from __future__ import annotations

from typing import Any

import pytest

from hub.models import Role
from tests.helpers import login, user

HOURS = {"timezone": "Asia/Riyadh", "days": {"sun": [["09:00", "17:00"]]}}


@pytest.mark.parametrize(
    "closed",
    [
        ["notadate"],
        ["2026-12-25", "notadate"],
        ["2026-02-30"],  # no such day
        ["2026-13-01"],
        ["20261225"],  # ISO, but not the form routing compares with
        ["2026-12-25T00:00"],
        ["  2026-12-25"],
        [20261225],
        [None],
        "2026-12-25",  # a string, not a list
        {"2026-12-25": True},
    ],
)
async def test_invalid_closed_dates_are_refused(app: Any, closed: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    r = await app.client.post(
        "/api/v1/teams",
        json={"name": "Support", "business_hours": {**HOURS, "closed_dates": closed}},
        headers=csrf,
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_closed_date"
    assert error["message"].startswith("business_hours.closed_dates")
    assert (await app.client.get("/api/v1/teams")).json()["items"] == []


async def test_closed_dates_are_checked_on_update_and_valid_ones_are_kept(app: Any) -> None:
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    good = {**HOURS, "closed_dates": ["2026-12-25", "2027-02-28", "2028-02-29"]}
    created = await app.client.post(
        "/api/v1/teams", json={"name": "Support", "business_hours": good}, headers=csrf
    )
    assert created.status_code == 201, created.text
    team_id = created.json()["id"]

    r = await app.client.patch(
        f"/api/v1/teams/{team_id}",
        json={"business_hours": {**HOURS, "closed_dates": ["2026-12-25", "notadate"]}},
        headers=csrf,
    )
    assert r.status_code == 422
    assert r.json()["error"] == {
        "code": "bad_closed_date",
        "message": "business_hours.closed_dates[1]: 'notadate' is not a date; write YYYY-MM-DD, e.g. 2026-12-25",
    }
    stored = (await app.client.get(f"/api/v1/teams/{team_id}")).json()
    assert stored["business_hours"]["closed_dates"] == good["closed_dates"]

    # A very long value is cut in the message, not echoed whole.
    r = await app.client.patch(
        f"/api/v1/teams/{team_id}",
        json={"business_hours": {**HOURS, "closed_dates": ["x" * 500]}},
        headers=csrf,
    )
    assert r.status_code == 422 and len(r.json()["error"]["message"]) < 160

    # Always open (no business hours) has nothing to check.
    r = await app.client.patch(f"/api/v1/teams/{team_id}", json={"business_hours": {}}, headers=csrf)
    assert r.status_code == 200 and r.json()["business_hours"] == {}
