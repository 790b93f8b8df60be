"""Business time (routing.hours): open time added across closed evenings, weekends,
holidays and a daylight-saving change, agreeing with a minute-by-minute count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from routing import hours

RIYADH = {
    "timezone": "Asia/Riyadh",
    "days": {d: [["09:00", "13:00"], ["14:00", "17:00"]] for d in ("sun", "mon", "tue", "wed", "thu")},
    "closed_dates": ["2026-01-11"],
}
BERLIN = {"timezone": "Europe/Berlin", "days": {d: [["08:00", "18:00"]] for d in hours.DAYS}}


def test_weekend_and_holiday_are_skipped() -> None:
    # Thursday 2026-01-08 16:00 Riyadh: one hour left; Fri/Sat closed; Sun 11th holiday.
    start = datetime(2026, 1, 8, 13, 0, tzinfo=UTC)
    due = hours.add_open_time(RIYADH, start, 3 * 3600)
    # 1 h Thursday, then Monday 09:00-11:00 → Monday 11:00 Riyadh = 08:00 UTC.
    assert due == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    assert hours.open_seconds_between(RIYADH, start, due) == 3 * 3600
    # The lunch break does not count.
    due = hours.add_open_time(RIYADH, datetime(2026, 1, 12, 9, 30, tzinfo=UTC), 3600)
    assert due == datetime(2026, 1, 12, 11, 30, tzinfo=UTC)  # 12:30 + 30 min, 14:00-14:30
    assert hours.next_open(RIYADH, datetime(2026, 1, 9, 12, 0, tzinfo=UTC)) == datetime(
        2026, 1, 12, 6, 0, tzinfo=UTC
    )


def test_daylight_saving_change_counts_wall_clock_hours() -> None:
    # Berlin springs forward on 2026-03-29: 08:00-18:00 local is still 10 open hours.
    start = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert hours.add_open_time(BERLIN, start, 10 * 3600) == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)
    before = datetime(2026, 3, 28, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert hours.add_open_time(BERLIN, before, 10 * 3600) == datetime(2026, 3, 28, 17, 0, tzinfo=UTC)


def test_always_open_and_never_open() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert hours.add_open_time({}, start, 90) == start + timedelta(seconds=90)
    assert hours.add_open_time({"timezone": "UTC", "days": {}}, start, 60) is None


def _count_open_minutes(cal: dict[str, object], start: datetime, end: datetime) -> int:
    n, t = 0, start
    while t < end:
        n += hours.is_open(cal, t)  # type: ignore[arg-type]
        t += timedelta(minutes=1)
    return n


@settings(max_examples=40, deadline=None)
@given(
    offset=st.integers(0, 14 * 24 * 60),
    minutes=st.integers(0, 3 * 8 * 60),
)
def test_agrees_with_a_minute_by_minute_count(offset: int, minutes: int) -> None:
    start = datetime(2026, 1, 4, 0, 0, tzinfo=UTC) + timedelta(minutes=offset)
    due = hours.add_open_time(RIYADH, start, minutes * 60)
    assert due is not None and due >= start
    assert _count_open_minutes(RIYADH, start, due) == minutes
    assert hours.open_seconds_between(RIYADH, start, due) == minutes * 60
