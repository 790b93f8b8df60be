"""The projection runner: an event committed late behind a higher id is still applied
(gap tracking); two runners on one PostgreSQL database (two hub processes) apply
every event exactly once between them; the CLI shows and rebuilds projections."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlmodel import select

from hub.app import build_projections
from hub.cli import main
from hub.context import Hub
from hub.db import Database
from hub.domain import InboundMessage
from hub.models import ContactFigures, ProjectionCheckpoint
from hub.services.ingest import ingest
from tests.core.test_customer_figures import check_all


def sms(n: int, pid: str) -> InboundMessage:
    return InboundMessage(
        channel="sms", provider_message_id=pid, address_kind="phone", sender=f"+1555020{n:04d}", body="x"
    )


@pytest.fixture
def db_url(pg_database: str) -> str:
    """PostgreSQL: ids committed out of order and two processes need a real server."""
    from tests.conftest import reset_pg

    reset_pg(pg_database)
    return pg_database


async def test_an_event_committed_late_is_not_skipped(hub: Any, db_url: str) -> None:
    runner = hub.projections
    first = await ingest(hub, sms(1, "a"))
    await runner.catch_up()
    # A transaction takes an event id and stays open...
    slow = await psycopg.AsyncConnection.connect(db_url)
    async with slow.cursor() as cur:
        await cur.execute(
            "INSERT INTO event_log (type, ts, payload) VALUES ('conversation.updated', now(), %s::json) RETURNING id",
            (
                f'{{"conversation_id": {first.conversation_id}, "contact_id": {first.contact_id}, "channel": "sms", "status": "queued"}}',
            ),
        )
        (late_id,) = await cur.fetchone()  # type: ignore[misc]
    # ...while a later one commits and is applied past it.
    second = await ingest(hub, sms(2, "b"))
    await runner.catch_up()
    async with hub.db.session() as s:
        cp = await s.get(ProjectionCheckpoint, "contact_figures")
    assert cp is not None and cp.position > late_id and str(late_id) in cp.gaps
    # The slow transaction changes the first contact's history, then commits.
    async with slow.cursor() as cur:
        await cur.execute(
            "UPDATE conversation SET csat_score = 1, csat_at = now() WHERE id = %s", (first.conversation_id,)
        )
    await slow.commit()
    await slow.close()
    await runner.catch_up()
    async with hub.db.session() as s:
        fig = await s.get(ContactFigures, first.contact_id)
        cp = await s.get(ProjectionCheckpoint, "contact_figures")
    assert fig is not None and fig.csat_count == 1 and fig.tiers == ["at_risk"]  # applied after all
    assert cp is not None and str(late_id) not in cp.gaps
    assert second.contact_id != first.contact_id


async def test_two_processes_share_the_work(hub: Any, settings: Any, clock: Any) -> None:
    other_db = Database(settings.async_database_url)
    other = Hub(
        settings=settings, db=other_db, bus=hub.bus, channels=hub.channels, metrics=hub.metrics, clock=clock
    )
    runners = [hub.projections, build_projections(other)]
    try:
        for round_ in range(5):
            writes = [ingest(hub, sms(n % 7, f"r{round_}-{n}")) for n in range(20)]
            passes = [r.catch_up(wait=False) for r in runners]
            await asyncio.gather(*writes, *passes)
        await asyncio.gather(*(r.catch_up() for r in runners))
        await check_all(hub)
        async with hub.db.session() as s:
            marks = (await s.exec(select(ProjectionCheckpoint))).all()
        assert {m.name for m in marks} == {
            "contact_figures",
            "contact_search",
            "message_search",
            "organization_join",
            "care",
            "reports",
            "report_mail",
            "notifications",
            "campaigns",
            "tasks",
            "consent_keywords",
            "rules",
        }
        assert all(not m.gaps and m.rebuild_cursor is None for m in marks)
    finally:
        await other_db.dispose()


def test_cli_status_and_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "var"))
    assert main(["projections", "rebuild", "contact_figures"]) == 0
    out = capsys.readouterr().out
    assert "rebuilt contact_figures" in out and "contact_search" in out
    assert main(["projections", "rebuild", "nope"]) == 1


class _Counting:
    """A projection of ``size`` keys (all rebuilt from rows) that logs its batches."""

    def __init__(self, name: str, size: int, log: list[str]) -> None:
        self.name, self.size, self.log = name, size, log

    async def affected(self, s: Any, events: Any) -> set[int]:
        return set()

    async def keys_after(self, s: Any, after: int, limit: int) -> list[int]:
        return list(range(after + 1, min(after + limit, self.size) + 1))

    async def recompute(self, s: Any, keys: Any, now: Any) -> None:
        self.log.append(self.name)

    async def due(self, s: Any, now: Any, limit: int) -> list[int]:
        return []

    async def next_due(self, s: Any) -> None:
        return None


async def test_a_long_rebuild_takes_turns_with_the_other_projections(hub: Any) -> None:
    """A new projection rebuilding many rows (a search index after an upgrade) does not
    hold up the others until it is done: each gets one batch per round."""
    from hub.projections import ProjectionRunner

    log: list[str] = []
    runner = ProjectionRunner(hub, [_Counting("big", 7, log), _Counting("small", 1, log)], batch_size=2)
    await runner.catch_up()
    assert log == ["big", "small", "big", "big", "big"]
    # The loop's slices: a zero-second slice does one round and says it is not done.
    await runner.rebuild("big")
    log.clear()
    async with hub.db.transaction() as s:
        cp = await s.get(ProjectionCheckpoint, "big")
        assert cp is not None
        cp.rebuild_cursor = 0
        s.add(cp)
    assert await runner._catch_up_for(0) is False and log == ["big"]
    assert await runner._catch_up_for(60) is True and log == ["big"] * 4
