"""Scheduled report mails with two hub processes on one PostgreSQL database: both fire
their timers and run their outbox workers at the same moments, and every recipient
gets each period once — also when the process firing a schedule dies inside its
transaction while the other one is trying."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.app import build_projections
from hub.context import Hub
from hub.db import Database
from hub.models import Role
from hub.outbox import OutboxWorker
from hub.reports import schedules
from tests.channels.email_servers import SmtpSink, running_sink
from tests.core.test_report_schedules import BERLIN, Killed, create, email_channel, mails_in_db, staff, utc
from tests.helpers import login, user


@pytest.fixture
def db_url(pg_database: str) -> str:
    """PostgreSQL: two processes need a real server."""
    from tests.conftest import reset_pg

    reset_pg(pg_database)
    return pg_database


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    async with running_sink() as sink:
        yield sink


@pytest.fixture
def extra_channels(smtp_sink: SmtpSink) -> list[Any]:
    return [email_channel(smtp_sink)]


class Process:
    def __init__(self, hub: Any, worker: Any) -> None:
        self.hub = hub
        self.runner = build_projections(hub)
        self.worker = worker


@pytest.fixture
async def two(app: Any, settings: Any, clock: Any) -> AsyncIterator[list[Process]]:
    other_db = Database(settings.async_database_url)
    other = Hub(
        settings=settings,
        db=other_db,
        bus=app.hub.bus,
        channels=app.hub.channels,
        metrics=app.hub.metrics,
        clock=clock,
    )
    # The app's own runner loop would fire timers whenever the bus wakes it: stopped,
    # so that each process's passes happen where the test says.
    await app.hub.projections.stop()
    procs = [Process(app.hub, app.worker), Process(other, OutboxWorker(other))]
    for p in procs:
        await p.runner.prepare()
    try:
        yield procs
    finally:
        await other_db.dispose()


async def deliver(procs: list[Process]) -> None:
    while sum(await asyncio.gather(*(p.worker.run_once() for p in procs))):
        pass


async def test_two_processes_mail_each_period_once(
    app: Any, clock: Any, smtp_sink: SmtpSink, two: list[Process]
) -> None:
    ids = await staff(app)
    extra = [await user(app.hub, f"sup{n}@example.com", Role.supervisor, (ids["care"],)) for n in range(3)]
    h = await login(app.client, "root@example.com")
    clock.now = utc(2026, 1, 5, 12)
    everyone = [ids["boss"], ids["root"], *extra]
    await create(app, h, name="Daily", hour=8, timezone=BERLIN, recipients=everyone)
    await create(app, h, name="Care daily", hour=8, timezone=BERLIN, team_id=ids["care"], recipients=everyone)
    for day in (6, 7):
        clock.now = utc(2026, 1, day, 7)
        for _ in range(3):
            await asyncio.gather(*(p.runner.run_due() for p in two), *(p.worker.run_once() for p in two))
        await deliver(two)
    mails = await smtp_sink.wait_for(20)
    await deliver(two)
    sent = sorted((m.rcpt_tos[0], m.message["Subject"]) for m in mails)
    assert len(sent) == 20 and len(set(sent)) == 20
    assert {s.rsplit(", ", 1)[1] for _, s in sent} == {"2026-01-05", "2026-01-06"}
    assert all(m.attempts == 1 for m in await mails_in_db(app))


async def test_a_process_dying_while_it_fires_leaves_the_period_to_the_other(
    app: Any, clock: Any, smtp_sink: SmtpSink, two: list[Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await staff(app)
    h = await login(app.client, "root@example.com")
    clock.now = utc(2026, 1, 5, 12)
    await create(app, h, name="Daily", hour=8, timezone=BERLIN, recipients=[ids["boss"], ids["root"]])
    clock.now = utc(2026, 1, 6, 7)
    inside, die = asyncio.Event(), asyncio.Event()
    real = schedules.queue_mails
    calls = 0

    async def dying(*args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        outcome = await real(*args, **kw)  # the mails are queued in the transaction...
        if calls == 1:
            inside.set()
            await die.wait()
            raise Killed("killed")  # ...which never commits
        return outcome

    monkeypatch.setattr(schedules, "queue_mails", dying)
    first = asyncio.create_task(two[0].runner.run_due())
    await inside.wait()
    # The other process finds the timer's lock taken and skips it.
    assert await two[1].runner.run_due() == 0
    die.set()
    with pytest.raises(Killed):
        await first
    assert await mails_in_db(app) == []
    # Its next pass fires the schedule, once.
    assert await two[1].runner.run_due() == 1
    assert await two[0].runner.run_due() == 0
    await deliver(two)
    mails = await smtp_sink.wait_for(2)
    await deliver(two)
    assert sorted(m.rcpt_tos[0] for m in mails) == ["boss@example.com", "root@example.com"]
