"""Arrival forecasts per half hour for a team and channel (docs/workforce.md).

Pure functions over a series of arrivals per half-hour slot (seconds since the epoch ÷
1800, as in ``report_slot``), plus one query that builds that series from the rollups:

- :func:`history` reads new conversations per slot for a team and channel;
- :func:`clean` replaces the team's closed dates (holidays) in the history by the same
  half hour one week earlier (or later), so a holiday does not teach the model a dip;
- :func:`fit_forecast` forecasts daily totals with Holt-Winters (additive trend and
  weekly seasonality; statsmodels) and spreads each day over its half hours by the
  weekday's intraday profile, clipped at 0;
- :func:`forecast` also zeroes the half hours when the team is closed;
- :func:`backtest` measures the error of the same procedure over the last 4 weeks.

A fit depends only on the series and the calendar, so results are cached per process
by a digest of exactly those inputs: every hub process computes the same numbers, and a
new day (a new origin) or a changed history (a rebuild) gives a new key.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import SLOT_SECONDS, ReportSlot
from hub.projections import core
from routing import hours

SLOTS_PER_DAY = 86_400 // SLOT_SECONDS  # 48
WEEK = 7 * SLOTS_PER_DAY  # 336: the seasonal period
TRAIN_WEEKS = 8  # the fit sees at most this much history
MIN_HOLT_WINTERS = 2 * WEEK  # fewer slots than two weeks: seasonal naive or mean
BACKTEST_WEEKS = 4
HORIZON_DAYS = 14

_slots = ReportSlot.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Backtest:
    """Error of the forecasting procedure over the last ``weeks`` weeks."""

    mape: float | None  # percent, over open half hours with arrivals > 0
    wape: float | None  # percent: Σ|actual − forecast| ÷ Σ actual over every open half hour
    weeks: int
    intervals: int  # half hours in the MAPE (actual > 0, team open)
    zero_intervals: int  # open half hours with no arrival: outside the MAPE, inside the WAPE


# -- the series -------------------------------------------------------------------------


async def history(s: AsyncSession, team_id: int, channel: str, lo: int, hi: int) -> np.ndarray:
    """New conversations per slot in ``[lo, hi)`` for a team and channel (0 where none):
    the sum of ``conversations`` over the team's rows of every agent (the arrival is
    counted on the row of agent 0, docs/reports.md)."""
    stmt = (
        sa.select(_slots.c.slot, sa.func.sum(_slots.c.conversations).label("n"))
        .where(
            _slots.c.slot >= lo,
            _slots.c.slot < hi,
            _slots.c.team_id == team_id,
            _slots.c.channel == channel,
        )
        .group_by(_slots.c.slot)
    )
    out = np.zeros(max(0, hi - lo))
    for r in (await core(s, stmt)).all():
        out[int(r.slot) - lo] = float(r.n or 0)
    return out


def slot_time(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)


def closed_mask(calendar: dict[str, Any], lo: int, hi: int) -> np.ndarray:
    """True for each slot in ``[lo, hi)`` when the team is closed all of that half hour
    (its weekly hours and its closed dates; an empty calendar is always open)."""
    if not calendar:
        return np.zeros(max(0, hi - lo), dtype=bool)
    return np.array(
        [hours.open_seconds_between(calendar, slot_time(k), slot_time(k + 1)) == 0 for k in range(lo, hi)],
        dtype=bool,
    )


def holiday_mask(calendar: dict[str, Any], lo: int, hi: int) -> np.ndarray:
    """True for each slot whose local date (calendar's zone) is one of its closed dates."""
    dates = set((calendar or {}).get("closed_dates", ()))
    if not dates:
        return np.zeros(max(0, hi - lo), dtype=bool)
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(calendar.get("timezone", "UTC"))
    return np.array(
        [slot_time(k).astimezone(zone).date().isoformat() in dates for k in range(lo, hi)], dtype=bool
    )


def clean(y: np.ndarray, holidays: np.ndarray) -> np.ndarray:
    """The history with each holiday slot replaced by the same slot a week earlier (or,
    at the start of the history, a week later) that was not a holiday."""
    out = y.astype(float).copy()
    n = len(out)
    for i in np.flatnonzero(holidays):
        for step in (-WEEK, WEEK, -2 * WEEK, 2 * WEEK):
            j = i + step
            if 0 <= j < n and not holidays[j]:
                out[i] = y[j]
                break
    return out


# -- the model --------------------------------------------------------------------------


def started(y: np.ndarray) -> np.ndarray:
    """Whole days of ``y`` (counted back from its end), from the first day with an
    arrival: before it the channel was not in use, which is not a season of zeros."""
    y = y[len(y) % SLOTS_PER_DAY :]
    nonzero = np.flatnonzero(y)
    if len(nonzero) == 0:
        return y[:0]
    return y[nonzero[0] // SLOTS_PER_DAY * SLOTS_PER_DAY :]


def method_for(n: int) -> str:
    if n >= MIN_HOLT_WINTERS:
        return "holt_winters"
    if n >= WEEK:
        return "seasonal_naive"
    return "mean" if n > 0 else "none"


def fit_forecast(y: np.ndarray, horizon: int) -> tuple[np.ndarray, str]:
    """Forecast ``horizon`` slots after the series ``y``, which ends just before the
    first of them at a day boundary (the origin is a local midnight).

    ``holt_winters`` (two weeks of history or more, at most :data:`TRAIN_WEEKS`): the
    daily totals are forecast by Holt-Winters — additive trend, additive weekly
    seasonality (period 7; closed days are zeros, which a multiplicative model cannot
    take), initial states estimated — and each day is spread over its half hours by the
    intraday profile of the same weekday: the share of that weekday's arrivals in each
    half hour over the last (up to 8) such days. ``seasonal_naive`` (one to two weeks):
    the last week again. ``mean`` (less): the mean half hour. Negatives clip to 0.
    """
    y = started(np.asarray(y, dtype=float))[-TRAIN_WEEKS * WEEK :]
    method = method_for(len(y))
    if method == "holt_winters":
        days = y.reshape(-1, SLOTS_PER_DAY)
        totals = days.sum(axis=1)
        ahead = math.ceil(horizon / SLOTS_PER_DAY)
        daily = _holt_winters_daily(totals, ahead)
        if daily is not None:
            out = np.zeros(ahead * SLOTS_PER_DAY)
            for d in range(ahead):
                same = days[len(days) - 7 + (d % 7) :: -7][:8]  # the same weekday, latest first
                volume = same.sum()
                profile = (
                    same.sum(axis=0) / volume if volume > 0 else np.full(SLOTS_PER_DAY, 1 / SLOTS_PER_DAY)
                )
                out[d * SLOTS_PER_DAY : (d + 1) * SLOTS_PER_DAY] = daily[d] * profile
            return np.clip(out[:horizon], 0.0, None), method
        method = "seasonal_naive"
    if method == "seasonal_naive":
        last = y[-WEEK:]
        return np.array([last[i % WEEK] for i in range(horizon)], dtype=float), method
    if method == "mean":
        return np.full(horizon, float(y.mean())), method
    return np.zeros(horizon), method


def _holt_winters_daily(totals: np.ndarray, ahead: int) -> np.ndarray | None:
    if not totals.any():
        return np.zeros(ahead)
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on flat or sparse series
        model = ExponentialSmoothing(
            totals, trend="add", seasonal="add", seasonal_periods=7, initialization_method="estimated"
        ).fit()
        out = np.asarray(model.forecast(ahead), dtype=float)
    return np.clip(out, 0.0, None) if np.all(np.isfinite(out)) else None


_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 256


def _cached(key: str, compute: Any) -> Any:
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = compute()
    _CACHE[key] = value
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(np.ascontiguousarray(p, dtype=float).tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()


def forecast(y: np.ndarray, origin: int, horizon: int, calendar: dict[str, Any]) -> tuple[np.ndarray, str]:
    """Arrivals for the slots ``[origin, origin + horizon)``, from the history ``y`` of
    the slots just before ``origin``: holidays cleaned out of the history, closed half
    hours forecast 0. Deterministic; cached per process by its inputs."""

    def compute() -> tuple[np.ndarray, str]:
        lo = origin - len(y)
        cleaned = clean(y, holiday_mask(calendar, lo, origin))
        values, method = fit_forecast(cleaned, horizon)
        values[closed_mask(calendar, origin, origin + horizon)] = 0.0
        return values, method

    values, method = _cached(_digest("forecast", y, origin, horizon, calendar), compute)
    return values.copy(), method


def backtest(
    y: np.ndarray,
    end: int,
    calendar: dict[str, Any],
    *,
    weeks: int = BACKTEST_WEEKS,
    horizon_days: int = HORIZON_DAYS,
) -> tuple[Backtest, np.ndarray]:
    """Forecast the last ``weeks`` weeks of ``y`` (the slots just before ``end``) the
    way :func:`forecast` would have: from origins ``horizon_days`` apart, each seeing
    only the history before it. Returns the error and the backtest forecasts.

    MAPE = 100 / n · Σ |actual − forecast| / actual over the half hours in the window
    when the team is open and at least one conversation arrived (n of them); half hours
    with no arrival have no percentage error and are left out (counted in
    ``zero_intervals``). WAPE = 100 · Σ |actual − forecast| / Σ actual over every open
    half hour, zeros included. Both None when there is not enough history (a window
    and at least one week before it) or no arrival in the window.
    """
    span = weeks * WEEK
    step = horizon_days * SLOTS_PER_DAY
    window_lo = end - span
    if len(started(np.asarray(y, dtype=float))) < span + WEEK:
        return Backtest(None, None, weeks, 0, 0), np.zeros(0)
    predicted = np.zeros(span)
    origin = window_lo
    while origin < end:
        take = min(step, end - origin)
        past = y[: len(y) - (end - origin)]
        values, _ = forecast(past, origin, take, calendar)
        predicted[origin - window_lo : origin - window_lo + take] = values
        origin += take
    actual = np.asarray(y[-span:], dtype=float)
    return errors(actual, predicted, ~closed_mask(calendar, window_lo, end), weeks), predicted


def errors(actual: np.ndarray, predicted: np.ndarray, open_: np.ndarray, weeks: int) -> Backtest:
    """MAPE over open half hours with arrivals; WAPE over every open half hour."""
    positive = open_ & (actual > 0)
    diff = np.abs(actual - predicted)
    n = int(positive.sum())
    mape = float(np.mean(diff[positive] / actual[positive]) * 100) if n else None
    total = float(actual[open_].sum())
    wape = float(diff[open_].sum() / total * 100) if total > 0 else None
    zeros = int((open_ & (actual == 0)).sum())
    return Backtest(_round(mape), _round(wape), weeks, n, zeros)


def _round(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else round(v, 2)


def local_midnight(at: datetime, zone: Any) -> datetime:
    """Start of ``at``'s day in ``zone`` (aware, UTC)."""
    local = at.astimezone(zone)
    day = datetime(local.year, local.month, local.day)
    return day.replace(tzinfo=zone).astimezone(UTC)


def day_slots(day_start_local: datetime, days: int, zone: Any) -> tuple[int, int]:
    """Slots from a local midnight for ``days`` local days (DST days have 46 or 50)."""
    start = day_start_local.astimezone(UTC)
    local = day_start_local.astimezone(zone)
    end_local = datetime(local.year, local.month, local.day) + timedelta(days=days)
    end = end_local.replace(tzinfo=zone).astimezone(UTC)
    return slot_of(start), slot_of(end)


def slot_of(at: datetime) -> int:
    return int(at.timestamp()) // SLOT_SECONDS
