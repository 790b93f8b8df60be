"""Token buckets keyed by visitor or client address, in process memory.

With N hub processes a determined client gets at most N× the configured rate; that
is acceptable for abuse protection (the same trade-off as the sign-in limiter) and
keeps every message off Redis. Memory is bounded: buckets that have refilled are
the same as absent ones and are swept when the table grows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from channels.webchat.config import Rate


class RateLimiter:
    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.rate = rate
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.rate.burst), now))
        return min(float(self.rate.burst), tokens + (now - at) * self.rate.per_second)

    def take(self, key: str, cost: float = 1.0) -> float:
        """0.0 when allowed (and charged); else the seconds to wait before retrying."""
        now = self.clock()
        tokens = self._level(key, now)
        if tokens < cost:
            return (cost - tokens) / self.rate.per_second if self.rate.per_second > 0 else 60.0
        self._buckets[key] = (tokens - cost, now)
        if len(self._buckets) > self.max_keys:
            self._sweep(now)
        return 0.0

    def _sweep(self, now: float) -> None:
        full = [k for k in self._buckets if self._level(k, now) >= self.rate.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > self.max_keys:
            # Under a flood of distinct keys, forget the oldest half rather than grow.
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for k in oldest[: len(oldest) // 2]:
                del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)
