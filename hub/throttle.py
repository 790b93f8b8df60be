"""Sign-in throttling that cannot be used to lock anyone out.

Two counters of failed sign-ins in a sliding window (``[auth] login_window_seconds``):

- **per client address** (an IPv6 client counts per /64, which one host usually
  owns): after ``login_max_attempts`` failures that address gets ``429`` with
  ``Retry-After`` until the oldest failure leaves the window;
- **per account**: past the same count every further attempt on that account, from
  any address and right or wrong, is answered only after a delay that doubles from
  1 s up to ``login_max_delay_seconds``. Never a refusal: the owner's right password
  from their own address still signs them in, just slowly, however hard someone else
  is guessing.

A success clears the account's counter, not the address's: signing into one's own
account must not reset the budget for guessing at others.

Where the counters live: in Redis when ``redis_url`` is set — every hub process then
shares them, which is how several processes are deployed — otherwise in this
process's memory (the embedded, one-process set-up). Keys are SHA-256 digests, so
Redis holds no email addresses. If Redis fails, sign-in keeps working unthrottled
and the error is logged: refusing every sign-in would be the bigger outage.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hub.middleware import parse_ip

log = logging.getLogger(__name__)

MAX_MEMORY_KEYS = 100_000  # bound memory under a spray of made-up addresses


class FailureStore(Protocol):
    async def add(self, key: str, now: float, window: float) -> None: ...

    async def recent(self, key: str, now: float, window: float) -> tuple[int, float | None]:
        """Failures within the window and the time of the oldest one."""
        ...

    async def clear(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryFailures:
    """One process's counters (the embedded default)."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}

    def _pruned(self, key: str, now: float, window: float) -> deque[float]:
        times = self._times.get(key, deque())
        while times and times[0] <= now - window:
            times.popleft()
        return times

    async def add(self, key: str, now: float, window: float) -> None:
        if len(self._times) > MAX_MEMORY_KEYS:
            self._times.clear()
        times = self._pruned(key, now, window)
        times.append(now)
        self._times[key] = times

    async def recent(self, key: str, now: float, window: float) -> tuple[int, float | None]:
        times = self._pruned(key, now, window)
        return len(times), (times[0] if times else None)

    async def clear(self, key: str) -> None:
        self._times.pop(key, None)

    async def close(self) -> None:
        self._times.clear()


class RedisFailures:
    """Counters shared by every hub process: one sorted set of failure times per key."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(
            url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5
        )
        self._prefix = f"{prefix}signin:"

    async def add(self, key: str, now: float, window: float) -> None:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(name, {f"{now:.6f}:{secrets.token_hex(4)}": now})
            pipe.zremrangebyscore(name, "-inf", now - window)
            pipe.expire(name, int(window) + 1)
            await pipe.execute()

    async def recent(self, key: str, now: float, window: float) -> tuple[int, float | None]:
        name = self._prefix + key
        since = f"({now - window}"  # exclusive: a failure exactly window ago has left
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(name, since, "+inf")
            pipe.zrangebyscore(name, since, "+inf", start=0, num=1, withscores=True)
            count, oldest = await pipe.execute()
        return int(count), (float(oldest[0][1]) if oldest else None)

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()


def address_key(address: str) -> str:
    """IPv6 clients count per /64; anything unparseable counts as itself."""
    ip = parse_ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip) if ip is not None else address


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    retry_after: float  # > 0: refuse this address now (429)
    delay: float  # seconds to hold the attempt before answering


class SignInThrottle:
    def __init__(
        self,
        store: FailureStore,
        *,
        max_attempts: int,
        window_seconds: float,
        max_delay_seconds: float,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.window = float(window_seconds)
        self.max_delay = max_delay_seconds
        # Tests swap this for a recorder: the delay is asserted, not waited for.
        self.sleep = sleep

    def _keys(self, address: str, account: str) -> tuple[str, str]:
        return _digest("addr", address_key(address)), _digest("acct", account.strip().lower())

    async def check(self, address: str, account: str, now: datetime) -> Verdict:
        addr_key, acct_key = self._keys(address, account)
        ts = now.timestamp()
        try:
            addr_failures, oldest = await self.store.recent(addr_key, ts, self.window)
            acct_failures, _ = await self.store.recent(acct_key, ts, self.window)
        except Exception:
            log.exception("sign-in throttle unavailable; not limiting this attempt")
            return Verdict(0.0, 0.0)
        if addr_failures >= self.max_attempts and oldest is not None:
            return Verdict(max(oldest + self.window - ts, 1.0), 0.0)
        return Verdict(0.0, self.delay_for(acct_failures))

    def delay_for(self, account_failures: int) -> float:
        over = account_failures - self.max_attempts
        if over < 0:
            return 0.0
        return float(min(2.0 ** min(over, 16), self.max_delay))

    async def hold(self, verdict: Verdict) -> None:
        if verdict.delay > 0:
            await self.sleep(verdict.delay)

    async def failed(self, address: str, account: str, now: datetime) -> None:
        ts = now.timestamp()
        try:
            for key in self._keys(address, account):
                await self.store.add(key, ts, self.window)
        except Exception:
            log.exception("sign-in throttle unavailable; failure not counted")

    async def succeeded(self, account: str) -> None:
        try:
            await self.store.clear(self._keys("", account)[1])
        except Exception:
            log.exception("sign-in throttle unavailable; counter not cleared")

    async def take(self, kind: str, value: str, limit: int, window: float, now: datetime) -> float:
        """A plain rate limit on the same store (password-reset requests): records one
        hit and returns 0, or returns the seconds until the next hit is allowed."""
        key, ts = _digest(kind, value), now.timestamp()
        try:
            count, oldest = await self.store.recent(key, ts, window)
            if count >= limit and oldest is not None:
                return max(oldest + window - ts, 1.0)
            await self.store.add(key, ts, window)
        except Exception:
            log.exception("rate limit store unavailable; not limiting")
        return 0.0

    async def close(self) -> None:
        await self.store.close()


def build_throttle(
    redis_url: str | None,
    redis_prefix: str,
    *,
    max_attempts: int,
    window_seconds: float,
    max_delay_seconds: float,
) -> SignInThrottle:
    store: FailureStore = RedisFailures(redis_url, redis_prefix) if redis_url else MemoryFailures()
    return SignInThrottle(
        store, max_attempts=max_attempts, window_seconds=window_seconds, max_delay_seconds=max_delay_seconds
    )
