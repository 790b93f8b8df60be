"""Sign-in limits that cannot lock an account out: failures from one address refuse
that address; an account under attack is slowed, never refused, so its owner's right
password from another address still works. X-Forwarded-For counts only from the
proxies in ``forwarded_allow_ips``. Shared by every hub process through Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.config import Settings
from hub.middleware import client_from_forwarded
from hub.throttle import MemoryFailures, RedisFailures, SignInThrottle, address_key
from tests.conftest import make_settings
from tests.helpers import PASSWORD, user

ATTACKER = ("203.0.113.9", 50000)  # the app fixture's client
OWNER = ("198.51.100.20", 40000)


class Delays(list[float]):
    """Stands in for asyncio.sleep: records the delays instead of waiting them out."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def delays(app: Any) -> Delays:
    recorder = Delays()
    app.app.state.signin_throttle.sleep = recorder
    return recorder


def client_at(app: Any, peer: tuple[str, int]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app.app, client=peer)
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    app._extra.append(client)
    return client


async def sign_in(client: httpx.AsyncClient, password: str, **headers: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"email": "ana@example.com", "password": password}, headers=headers
    )


async def fail(client: httpx.AsyncClient, times: int, **headers: str) -> None:
    for _ in range(times):
        assert (await sign_in(client, "wrong-wrong", **headers)).status_code == 401


async def test_the_owner_signs_in_from_elsewhere_while_the_attacker_is_refused(
    app: Any, delays: Delays
) -> None:
    await user(app.hub, "ana@example.com")
    limit = app.hub.settings.auth.login_max_attempts
    await fail(app.client, limit)
    assert delays == []  # below the limit nobody waits
    refused = await sign_in(app.client, PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    owner = client_at(app, OWNER)
    assert (await sign_in(owner, PASSWORD)).status_code == 200
    assert delays == [1.0]  # slowed, not refused


async def test_an_account_under_attack_from_many_addresses_is_slowed_more_and_more(
    app: Any, delays: Delays
) -> None:
    await user(app.hub, "ana@example.com")
    limit = app.hub.settings.auth.login_max_attempts
    bots = [client_at(app, (f"192.0.2.{n}", 1000)) for n in range(limit + 6)]
    for bot in bots:  # one try each: no single address reaches its limit
        assert (await sign_in(bot, "wrong-wrong")).status_code == 401
    cap = app.hub.settings.auth.login_max_delay_seconds
    assert delays == [1.0, 2.0, 4.0, 8.0, cap, cap]
    owner = client_at(app, OWNER)
    assert (await sign_in(owner, PASSWORD)).status_code == 200
    # The right password cleared the account's count: the next attempt is not held.
    delays.clear()
    assert (await sign_in(owner, PASSWORD)).status_code == 200
    assert delays == []


async def test_a_refused_address_is_let_in_again_after_the_window(
    app: Any, clock: Any, delays: Delays
) -> None:
    await user(app.hub, "ana@example.com")
    settings = app.hub.settings.auth
    await fail(app.client, settings.login_max_attempts)
    assert (await sign_in(app.client, PASSWORD)).status_code == 429
    clock.advance(settings.login_window_seconds)
    assert (await sign_in(app.client, PASSWORD)).status_code == 200


async def test_signing_into_ones_own_account_does_not_reset_the_address_budget(
    app: Any, delays: Delays
) -> None:
    await user(app.hub, "ana@example.com")
    await user(app.hub, "mallory@example.com")
    limit = app.hub.settings.auth.login_max_attempts
    await fail(app.client, limit - 1)
    ok = await app.client.post(
        "/api/v1/auth/login", json={"email": "mallory@example.com", "password": PASSWORD}
    )
    assert ok.status_code == 200
    await fail(app.client, 1)
    assert (await sign_in(app.client, "another-guess")).status_code == 429


# -- client addresses behind proxies ---------------------------------------------------------
@pytest.fixture
def forwarded() -> list[str]:
    """``forwarded_allow_ips`` of the app under test; parametrize to list proxies."""
    return []


@pytest.fixture
def settings(db_url: str, tmp_path: Path, forwarded: list[str]) -> Settings:
    return make_settings(db_url, tmp_path, forwarded_allow_ips=forwarded)


async def test_x_forwarded_for_is_ignored_by_default(app: Any, delays: Delays) -> None:
    """Made-up X-Forwarded-For values do not give an attacker fresh addresses."""
    await user(app.hub, "ana@example.com")
    limit = app.hub.settings.auth.login_max_attempts
    for n in range(limit):
        assert (
            await sign_in(app.client, "wrong-wrong", **{"x-forwarded-for": f"10.0.0.{n}"})
        ).status_code == 401
    r = await sign_in(app.client, PASSWORD, **{"x-forwarded-for": "10.9.9.9"})
    assert r.status_code == 429


@pytest.mark.parametrize("forwarded", [["203.0.113.0/24"]])
async def test_x_forwarded_for_names_the_client_behind_a_listed_proxy(app: Any, delays: Delays) -> None:
    await user(app.hub, "ana@example.com")
    limit = app.hub.settings.auth.login_max_attempts
    # The client prepends a lie; the proxy appends what it saw: the rightmost counts.
    await fail(app.client, limit, **{"x-forwarded-for": "1.2.3.4, 198.51.100.1"})
    assert (await sign_in(app.client, PASSWORD, **{"x-forwarded-for": "198.51.100.1"})).status_code == 429
    other = await sign_in(app.client, PASSWORD, **{"x-forwarded-for": "1.2.3.4, 198.51.100.2"})
    assert other.status_code == 200


def test_the_forwarded_chain_is_walked_from_the_right_through_trusted_hops() -> None:
    import ipaddress

    proxies = [ipaddress.ip_network("10.0.0.0/8")]
    assert client_from_forwarded("10.0.0.1", "203.0.113.5", proxies) == "203.0.113.5"
    assert client_from_forwarded("10.0.0.1", "6.6.6.6, 203.0.113.5, 10.0.0.2", proxies) == "203.0.113.5"
    assert client_from_forwarded("198.51.100.1", "203.0.113.5", proxies) == "198.51.100.1"  # peer untrusted
    assert client_from_forwarded("10.0.0.1", "not-an-ip", proxies) == "10.0.0.1"
    assert client_from_forwarded("10.0.0.1", "::ffff:203.0.113.7", proxies) == "203.0.113.7"


def test_ipv6_clients_count_per_64() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("192.0.2.1") == "192.0.2.1"


async def test_metrics_refuse_requests_relayed_by_an_unlisted_proxy(app: Any) -> None:
    """A proxy on loopback that nobody listed must not make every client look local."""
    local = client_at(app, ("127.0.0.1", 5000))
    assert (await local.get("/metrics")).status_code == 200
    relayed = await local.get("/metrics", headers={"x-forwarded-for": "198.51.100.7"})
    assert relayed.status_code == 403


# -- several processes --------------------------------------------------------------------
def _throttle(store: Any) -> SignInThrottle:
    return SignInThrottle(store, max_attempts=3, window_seconds=300, max_delay_seconds=8)


async def test_hub_processes_share_the_counters_through_redis(redis_url: str, redis_prefix: str) -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    first, second = (
        _throttle(RedisFailures(redis_url, redis_prefix)),
        _throttle(RedisFailures(redis_url, redis_prefix)),
    )
    try:
        for _ in range(3):
            await first.failed("192.0.2.1", "ana@example.com", now)
        seen = await second.check("192.0.2.1", "ana@example.com", now)
        assert seen.retry_after == 300 and seen.delay == 0
        elsewhere = await second.check("192.0.2.2", "ana@example.com", now)
        assert elsewhere.retry_after == 0 and elsewhere.delay == 1.0
        await second.succeeded("ana@example.com")
        assert (await first.check("192.0.2.2", "ana@example.com", now)).delay == 0
    finally:
        await first.close()
        await second.close()


async def test_one_process_without_redis_counts_in_memory() -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    throttle = _throttle(MemoryFailures())
    for _ in range(3):
        await throttle.failed("192.0.2.1", f"{uuid.uuid4().hex}@example.com", now)
    assert (await throttle.check("192.0.2.1", "x@example.com", now)).retry_after == 300
