"""Timezone-aware time helpers. Naive datetimes are a bug in this code base."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Interpret naive values (as SQLite returns them) as UTC."""
    if value.tzinfo is UTC:
        return value  # already so (most calls: values read through UTCDateTime)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or ValueError for anything that is not one — including a
    folder of the database such as "Europe" (ZoneInfo raises IsADirectoryError there)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}") from None
