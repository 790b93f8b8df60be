"""Business hours: pure evaluation of a team's calendar at a given instant.

Format (the team's ``business_hours`` JSON)::

    {"timezone": "Asia/Riyadh",
     "days": {"sun": [["09:00", "17:00"]], "mon": [["09:00", "13:00"], ["14:00", "18:00"]]},
     "closed_dates": ["2026-12-25"]}

An empty mapping means always open. A day that is missing is closed.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate(hours: dict[str, Any]) -> None:
    """Raise ValueError naming the bad key."""
    if not hours:
        return
    tz = hours.get("timezone", "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"business_hours.timezone: unknown time zone {tz!r}") from None
    days = hours.get("days", {})
    if not isinstance(days, dict):
        raise ValueError("business_hours.days: expected a table of day -> [[open, close], ...]")
    for day, spans in days.items():
        if day not in DAYS:
            raise ValueError(f"business_hours.days.{day}: expected one of {', '.join(DAYS)}")
        for span in spans:
            if not (isinstance(span, list | tuple) and len(span) == 2):
                raise ValueError(
                    f"business_hours.days.{day}: expected [open, close] pairs like ['09:00', '17:00']"
                )
            start, end = (time.fromisoformat(x) for x in span)
            if end <= start:
                raise ValueError(f"business_hours.days.{day}: {span[0]}-{span[1]} closes before it opens")


def is_open(hours: dict[str, Any], at: datetime) -> bool:
    if not hours:
        return True
    local = at.astimezone(ZoneInfo(hours.get("timezone", "UTC")))
    if local.date().isoformat() in set(hours.get("closed_dates", ())):
        return False
    spans = hours.get("days", {}).get(DAYS[local.weekday()], ())
    now = local.time()
    return any(time.fromisoformat(a) <= now < time.fromisoformat(b) for a, b in spans)
