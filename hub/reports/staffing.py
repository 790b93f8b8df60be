"""Required agents per half hour from forecast arrivals (docs/workforce.md). Pure.

For each interval the arrival rate is λ = arrivals ÷ 1800 s. **Erlang C**
(:func:`routing.erlang.agents_for_service_level`): the fewest agents N with
1 − C(N, A)·e^{−(N − A)·T / AHT} ≥ target, A = λ·AHT. **Erlang A**
(:func:`routing.erlang.agents_for_service_level_a`): the same with customers who leave
after an exponential patience; abandoned ones count as not answered in time. An
interval without arrivals needs nobody.

Shrinkage is the share of paid time agents are not available for conversations
(breaks, training, meetings, absence): ``required_scheduled = ⌈required ÷ (1 −
shrinkage)⌉`` agents must be on the schedule for ``required`` to be signed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from routing import erlang

INTERVAL_SECONDS = 1800
MODELS = ("erlang_c", "erlang_a")


@dataclass(frozen=True, slots=True)
class StaffingSettings:
    service_level_target: float  # share answered within threshold_seconds, in (0, 1)
    threshold_seconds: float
    handle_seconds: float  # mean handle time (AHT)
    shrinkage: float = 0.0  # in [0, 1)
    patience_seconds: float | None = None  # mean patience; Erlang A needs it
    model: str = "erlang_c"

    def __post_init__(self) -> None:
        if not 0 < self.service_level_target < 1:
            raise ValueError("service_level_target must be between 0 and 1")
        if self.handle_seconds <= 0 or self.threshold_seconds < 0:
            raise ValueError("handle_seconds must be > 0 and threshold_seconds >= 0")
        if not 0 <= self.shrinkage < 1:
            raise ValueError("shrinkage must be in [0, 1)")
        if self.model not in MODELS:
            raise ValueError(f"model is one of {', '.join(MODELS)}")
        if self.model == "erlang_a" and not (self.patience_seconds and self.patience_seconds > 0):
            raise ValueError("Erlang A needs a patience > 0")


def required_agents(
    arrivals: float, settings: StaffingSettings, interval_seconds: int = INTERVAL_SECONDS
) -> int:
    """Agents signed in and available that the interval needs to meet the target."""
    if arrivals <= 0:
        return 0
    rate = arrivals / interval_seconds
    if settings.model == "erlang_a":
        assert settings.patience_seconds is not None
        return erlang.agents_for_service_level_a(
            rate,
            settings.handle_seconds,
            settings.patience_seconds,
            settings.threshold_seconds,
            settings.service_level_target,
        )
    return erlang.agents_for_service_level(
        rate, settings.handle_seconds, settings.threshold_seconds, settings.service_level_target
    )


def scheduled(required: int, shrinkage: float) -> int:
    """⌈required ÷ (1 − shrinkage)⌉ (rounded to 1e-9 first, so 7 ÷ 0.7 is 10, not 11)."""
    if required <= 0:
        return 0
    return math.ceil(round(required / (1.0 - shrinkage), 9))


def plan(arrivals: Iterable[float], settings: StaffingSettings) -> list[tuple[int, int]]:
    """``(required, required_scheduled)`` per interval; equal arrival figures are
    computed once."""
    memo: dict[float, tuple[int, int]] = {}
    out = []
    for a in arrivals:
        key = round(float(a), 6)
        if key not in memo:
            need = required_agents(key, settings)
            memo[key] = (need, scheduled(need, settings.shrinkage))
        out.append(memo[key])
    return out
