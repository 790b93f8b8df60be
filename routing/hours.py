"""Business hours: pure evaluation of a team's calendar at a given instant.

Format (the team's ``business_hours`` JSON)::

    {"timezone": "Asia/Riyadh",
     "days": {"sun": [["09:00", "17:00"]], "mon": [["09:00", "13:00"], ["14:00", "18:00"]]},
     "closed_dates": ["2026-12-25"]}

An empty mapping means always open. A day that is missing is closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
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
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, e.g. "Europe"
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


# -- business time ------------------------------------------------------------------
# Targets "in business hours" (complaint response and resolution, survey quiet hours,
# report variants) count only the time a calendar is open. One module for all of them.

_MAX_DAYS = 3 * 366  # a calendar with no open day at all never reaches a target


def _open_spans(hours: dict[str, Any], start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open intervals (aware UTC datetimes) from ``start`` onwards, in order."""
    tz = ZoneInfo(hours.get("timezone", "UTC"))
    closed = set(hours.get("closed_dates", ()))
    days = hours.get("days", {})
    local_day = start.astimezone(tz).date()
    for offset in range(_MAX_DAYS):
        day = local_day + timedelta(days=offset)
        if day.isoformat() in closed:
            continue
        for a, b in days.get(DAYS[day.weekday()], ()):
            # Wall-clock times in the calendar's zone, so a DST change moves them correctly.
            opens = datetime.combine(day, time.fromisoformat(a), tz).astimezone(UTC)
            closes = datetime.combine(day, time.fromisoformat(b), tz).astimezone(UTC)
            if closes > start:
                yield max(opens, start), closes


def add_open_time(hours: dict[str, Any], start: datetime, seconds: float) -> datetime | None:
    """The instant when ``seconds`` of open time have passed since ``start``.

    An empty calendar is always open. ``None`` when the calendar never opens again
    (no open day within three years).
    """
    if not hours:
        return start + timedelta(seconds=seconds)
    left = timedelta(seconds=max(0.0, seconds))
    for opens, closes in _open_spans(hours, start):
        if left <= closes - opens:
            return opens + left
        left -= closes - opens
    return None


def open_seconds_between(hours: dict[str, Any], start: datetime, end: datetime) -> float:
    """Open time between two instants, in seconds (0 when ``end`` is not after ``start``)."""
    if end <= start:
        return 0.0
    if not hours:
        return (end - start).total_seconds()
    total = 0.0
    for opens, closes in _open_spans(hours, start):
        if opens >= end:
            break
        total += (min(closes, end) - opens).total_seconds()
    return total


def next_open(hours: dict[str, Any], at: datetime) -> datetime | None:
    """``at`` if the calendar is open then, else when it next opens."""
    if not hours:
        return at
    for opens, _ in _open_spans(hours, at):
        return opens
    return None
