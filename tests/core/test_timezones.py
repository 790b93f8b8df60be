"""A time zone is checked the same everywhere: a folder of the zone database such as
"Europe" (ZoneInfo raises IsADirectoryError for it) is refused like any unknown name,
with the endpoint's 4xx code, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.care.texts import local_date
from hub.models import Role
from hub.timeutil import zone
from tests.helpers import inbound, login, user


@pytest.mark.parametrize("name", ["Europe", "America", "Mars/Olympus", "", "../../etc/passwd"])
def test_zone_refuses_what_is_not_a_zone(name: str) -> None:
    with pytest.raises(ValueError):
        zone(name)


def test_zone_accepts_a_zone() -> None:
    assert zone("Asia/Riyadh").key == "Asia/Riyadh"
    # A customer's stored zone that is not one falls back to UTC for a due date.
    assert local_date(datetime(2026, 1, 1, 23, 0, tzinfo=UTC), "Europe") == "2026-01-01"


async def test_endpoints_refuse_a_folder_as_a_time_zone(app: Any) -> None:
    await user(app.hub, "root@example.com", Role.admin)
    h = await login(app.client, "root@example.com")
    week = {"since": "2026-01-04T00:00:00+03:00", "until": "2026-01-12T00:00:00+03:00"}
    for path, extra in (("timeseries", {"group_by": "day"}), ("heatmap", {})):
        r = await app.client.get(
            f"/api/v1/reports/{path}", params={**week, **extra, "timezone": "Europe"}, headers=h
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "bad_timezone"), r.text
    contact = (await inbound(app.client, "cust-1", "hello"))["contact_id"]
    r = await app.client.patch(f"/api/v1/contacts/{contact}", json={"timezone": "Europe"}, headers=h)
    assert r.status_code == 422, r.text
    assert "invalid_timezone" in r.text
