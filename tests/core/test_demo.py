"""Demo mode seeds once and produces real traffic through the loopback webhook."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import func, select

from hub.demo import DemoTraffic, seed
from hub.models import CannedResponse, Team, User


@pytest.fixture
def routing_enabled() -> bool:
    return True


async def test_seed_is_idempotent(app: Any) -> None:
    first = await seed(app.hub, password="demo-password-1")
    await seed(app.hub, password="demo-password-2")
    async with app.hub.db.session() as s:
        assert (await s.exec(select(func.count()).select_from(Team))).one() == 3
        assert (await s.exec(select(func.count()).select_from(User))).one() == len(first.emails)
        langs = set((await s.exec(select(CannedResponse.language))).all())
    assert langs == {"en", "ar"}


async def test_customers_write_and_bots_answer(live: Any) -> None:
    hub = live.app.hub
    await seed(hub, password="demo-password-1")
    watcher = hub.bus.subscribe()
    traffic = DemoTraffic(hub, live.base, interval=0.05, pace=0.001, seed=7)
    await traffic.start()
    try:
        seen: set[str] = set()
        async with asyncio.timeout(30):
            while "conversation.resolved" not in seen:
                event = await watcher.get()
                assert event is not None
                seen.add(event.type)
                if event.type == "outbox.enqueued":
                    await live.app.worker.run_once()
        assert {"message.received", "offer.created", "conversation.assigned", "message.created"} <= seen
    finally:
        await traffic.stop()
        watcher.close()


async def test_a_second_start_prints_only_passwords_that_work(app: Any) -> None:
    """Restarting the demo on the same database must not print a new, useless password."""
    first = await seed(app.hub, password="demo-password-1")
    assert first.created == first.emails and first.existing == []
    assert "demo-password-1" in first.banner("http://hub.test")
    second = await seed(app.hub, password="demo-password-2")
    assert second.created == [] and second.existing == first.emails
    banner = second.banner("http://hub.test")
    assert "demo-password-2" not in banner and "password unchanged" in banner
    assert all(email in banner for email in first.emails)
    who = first.emails[0]
    ok = await app.client.post("/api/v1/auth/login", json={"email": who, "password": "demo-password-1"})
    assert ok.status_code == 200
    bad = await app.client.post("/api/v1/auth/login", json={"email": who, "password": "demo-password-2"})
    assert bad.status_code == 401
