"""How the projection runner spends its transactions (docs/architecture.md, "Projections
and reactors"): the consumers of a round share one write transaction, a failing one
neither loses nor blocks the others' events, and the loop opens a transaction for a
consumer's timers only when its next timer has come."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from hub.domain import InboundMessage
from hub.models import ProjectionCheckpoint
from hub.projections import ProjectionRunner
from hub.services.ingest import ingest
from tests.helpers import statements


class _Reactor:
    """Records the event ids it is given; can be told to fail; has one timer."""

    def __init__(self, name: str, *, fail: bool = False, due: datetime | None = None) -> None:
        self.name, self.fail, self.due = name, fail, due
        self.seen: list[int] = []
        self.fired = 0

    async def apply(self, uow: Any, events: Any, now: datetime) -> None:
        if self.fail:
            raise RuntimeError(f"{self.name} is broken")
        # Like a real reactor's rows: what it saw counts only if its transaction commits.
        ids = [e.id for e in events]
        sa.event.listen(uow.session.sync_session, "after_commit", lambda _s: self.seen.extend(ids), once=True)

    async def fire_due(self, uow: Any, now: datetime, limit: int) -> int:
        self.fired += 1
        if self.due is not None and self.due <= now:
            self.due = None
            return 1
        return 0

    async def next_due(self, s: Any) -> datetime | None:
        return self.due


async def _messages(hub: Any, n: int, tag: str) -> None:
    for i in range(n):
        await ingest(
            hub,
            InboundMessage(
                channel="loopback",
                provider_message_id=f"{tag}-{i}",
                address_kind="loopback",
                sender=f"{tag}-{i}",
            ),
        )


async def _log_ids(hub: Any, after: int) -> list[int]:
    from sqlmodel import select

    from hub.models import EventLog

    async with hub.db.session() as s:
        return list(
            (await s.exec(select(EventLog.id).where(EventLog.id > after).order_by(EventLog.id))).all()
        )


async def _position(hub: Any, name: str) -> int:
    async with hub.db.session() as s:
        cp = await s.get(ProjectionCheckpoint, name)
        assert cp is not None
        return cp.position


async def _three_reactors(
    hub: Any, **options: Any
) -> tuple[ProjectionRunner, _Reactor, _Reactor, _Reactor, int]:
    """A runner of three recording reactors, the hub's own stopped (its statements and
    rounds are not this one's), and the log position the three start from."""
    await hub.projections.stop()
    a, b, c = _Reactor("a"), _Reactor("b"), _Reactor("c")
    runner = ProjectionRunner(hub, [a, b, c], **options)
    await runner.prepare()
    return runner, a, b, c, await _position(hub, "a")


class _CountingDb:
    """The hub's database, counting the write transactions a runner opens."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        self.transactions += 1
        async with self._db.transaction() as s:
            yield s


class _HubView:
    """The hub as one runner sees it: the same in all but a counting database (the
    hub's other tasks — its own runner, the outbox, routing — are not counted)."""

    def __init__(self, hub: Any) -> None:
        self._hub = hub
        self.db = _CountingDb(hub.db)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hub, name)


async def test_the_consumers_of_a_round_share_one_transaction(hub: Any) -> None:
    a, b, c = _Reactor("a"), _Reactor("b"), _Reactor("c")
    view = _HubView(hub)
    runner = ProjectionRunner(view, [a, b, c])  # type: ignore[arg-type]
    await runner.prepare()
    start = await _position(hub, "a")
    await _messages(hub, 3, "share")
    expected = await _log_ids(hub, start)
    assert expected
    view.db.transactions = 0
    await runner.catch_up()
    assert a.seen == b.seen == c.seen == expected
    assert view.db.transactions == 1  # one write transaction for the three, not one each
    assert {await _position(hub, n) for n in "abc"} == {expected[-1]}
    # Nothing new: no write transaction at all.
    await runner.catch_up()
    assert view.db.transactions == 1


async def test_a_failing_consumer_holds_up_no_other_and_catches_up_once_mended(hub: Any) -> None:
    ok1, bad, ok2 = _Reactor("ok1"), _Reactor("bad", fail=True), _Reactor("ok2")
    runner = ProjectionRunner(hub, [ok1, bad, ok2])
    await runner.prepare()
    start = await _position(hub, "bad")
    await _messages(hub, 2, "fail")
    expected = await _log_ids(hub, start)
    with pytest.raises(RuntimeError, match="bad is broken"):
        await runner.catch_up()
    # The shared round rolled back and went one consumer at a time: the two sound ones
    # have every event, once; the broken one has none and its checkpoint stayed put.
    assert ok1.seen == ok2.seen == expected
    assert bad.seen == [] and await _position(hub, "bad") == start
    bad.fail = False
    await runner.catch_up()
    assert bad.seen == expected and ok1.seen == ok2.seen == expected


async def test_the_loop_opens_a_transaction_only_for_timers_that_are_due(hub: Any, clock: Any) -> None:
    idle = _Reactor("idle")
    later = _Reactor("later", due=clock.now + timedelta(minutes=5))
    now = _Reactor("now", due=clock.now - timedelta(seconds=1))
    view = _HubView(hub)
    runner = ProjectionRunner(view, [idle, later, now], max_idle=600.0)  # type: ignore[arg-type]
    await runner.prepare()
    view.db.transactions = 0
    dues = await runner._run_due_now()
    assert (idle.fired, later.fired, now.fired) == (0, 0, 1)
    assert view.db.transactions == 1
    assert dues == {"idle": None, "later": later.due, "now": None}
    assert runner._seconds_until(dues) == pytest.approx(300.0)
    # The safety net (every max_idle seconds) still gives every consumer its turn.
    await runner.run_due()
    assert (idle.fired, later.fired, now.fired) == (1, 1, 2)


async def test_a_round_reads_the_log_once_and_moves_every_checkpoint_in_one_statement(hub: Any) -> None:
    runner, a, b, c, start = await _three_reactors(hub)
    await _messages(hub, 3, "once")
    expected = await _log_ids(hub, start)
    with statements(hub) as seen:
        await runner.catch_up()
    assert a.seen == b.seen == c.seen == expected
    # The three stand at one position: one read of the ids after it, one of the rows.
    assert sum(s.startswith("SELECT event_log.id FROM event_log") for s in seen) == 1
    assert sum(s.startswith("SELECT event_log.id, event_log.type") for s in seen) == 1
    moves = [s for s in seen if s.startswith("UPDATE projection_checkpoint")]
    assert len(moves) == 1  # one executemany for the three
    assert {await _position(hub, n) for n in "abc"} == {expected[-1]}


async def test_every_consumers_next_timer_is_one_statement(hub: Any, clock: Any) -> None:
    """The hub's own runner: twelve consumers' timers read together, each the earliest
    of its own (a new customer's figures change when the conversation ages out of the
    30-day window)."""
    runner = hub.projections
    await _messages(hub, 1, "timer")
    await runner.catch_up()
    await runner.stop()  # its loop reads the timers too; called by hand below
    tables = ["contact_figures", "survey_request", "complaint", "task", "campaign", "report_schedule"]
    tables += ["rule_timer", "rule_firing"]
    with statements(hub) as seen:
        dues = await runner._next_dues()
    timers = [s for s in seen if any(f"FROM {t}" in s for t in tables)]  # not routing's, the outbox's
    assert len(timers) == 1 and all(f"FROM {t}" in timers[0] for t in tables), timers
    assert set(dues) == set(runner.projections)
    async with hub.db.session() as s:
        figures_due = (await s.exec(sa.text("SELECT min(due_at) FROM contact_figures"))).one()[0]
    assert figures_due is not None
    assert dues["contact_figures"] is not None and dues["contact_figures"] > clock.now
    assert dues["contact_figures"].isoformat().startswith(str(figures_due)[:16].replace(" ", "T"))
    assert dues["contact_search"] is None and dues["reports"] is None


async def test_a_pass_counts_the_events_it_read_once_not_once_per_consumer(hub: Any) -> None:
    """What the loop's longer pause after a busy pass goes by (``busy_events``)."""
    runner, *_, start = await _three_reactors(hub, coalesce=0.05, busy_coalesce=0.2, busy_events=4)
    await _messages(hub, 2, "busy")
    expected = await _log_ids(hub, start)
    assert await runner._catch_up_for(10.0)
    assert runner._last_applied == len(expected)  # three consumers, each event once
    assert (runner._last_applied >= runner.busy_events) == (len(expected) >= 4)
    assert await runner._catch_up_for(10.0)
    assert runner._last_applied == 0  # nothing new: the short pause again


async def test_consumers_at_one_position_share_its_batch_and_one_with_gaps_reads_its_own(
    hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round works out a position's batch (its events, the new position and gaps) once
    for every consumer standing there without gaps (hub.projections.RoundCache.batches);
    a consumer with gaps goes its own way, and a gap now committed reaches it alone."""
    import hub.projections as projections

    runner, a, b, c, start = await _three_reactors(hub)
    await _messages(hub, 2, "first")
    first = await _log_ids(hub, start)
    await runner.catch_up()
    # c remembers a gap: an id it saw missing and that is committed now (as a slow
    # transaction's; here one it has had, which shows where a late event goes).
    gap = first[0]
    async with hub.db.transaction() as s:
        cp = await s.get(ProjectionCheckpoint, "c")
        assert cp is not None
        cp.gaps = {str(gap): datetime.now(tz=UTC).isoformat()}
        s.add(cp)
    await _messages(hub, 3, "second")
    second = await _log_ids(hub, first[-1])
    worked_out = []
    real_utcnow = projections.utcnow
    monkeypatch.setattr(projections, "utcnow", lambda: worked_out.append(1) or real_utcnow())
    before = {r.name: len(r.seen) for r in (a, b, c)}
    await runner.catch_up()
    assert a.seen[before["a"] :] == b.seen[before["b"] :] == second
    assert c.seen[before["c"] :] == [gap, *second]  # the late one first, then the batch
    assert len(worked_out) == 2  # a's batch (b's too) and c's, in the round that moved them
    async with hub.db.session() as s:
        rows = {n: await s.get(ProjectionCheckpoint, n) for n in "abc"}
    assert all(r is not None and r.position == second[-1] and not r.gaps for r in rows.values())
