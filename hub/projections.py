"""Projections: named consumers of the event log that keep derived tables.

A projection reads the event log after its checkpoint, works out which of its keys
(contact ids) the events touch, recomputes those keys from the rows, and stores the new
checkpoint *in the same transaction*. So it is exactly-once by construction, restartable
and rebuildable from zero; the hot path (``ingest``, ``reply``) only writes its rows and
events and never waits for it.

Several hub processes run the same runner. On PostgreSQL the checkpoint row is locked
(``FOR UPDATE SKIP LOCKED``): one process applies a batch at a time, the others skip it,
and the one holding it loops until the log is drained, so nothing waits on a
notification it skipped. On SQLite there is one process and one writer.

Event ids are assigned when a transaction inserts its row and become visible when it
commits, which on PostgreSQL is not in id order: a projection that passed id 101 may
see id 100 commit later. Ids skipped over are kept as *gaps* on the checkpoint and
looked for again on every pass until ``gap_horizon`` has passed (a rolled-back
transaction's id never appears). That bound is the longest a write transaction may run
and still be seen; the hub's are milliseconds.

Recomputing a key is idempotent, so replaying an event is harmless; a rebuild walks
every key from rows in batches (``rebuild_cursor``) while new events keep being applied.
Projections take turns, one batch each, and the timers run at least every
``slice_seconds``: a projection rebuilding millions of rows holds up neither the others
nor the timers.

Time-driven changes (a conversation leaving the 30-day window) are *due* rows: the
projection keeps a ``due_at`` per key and :meth:`ProjectionRunner.run_due` recomputes
the keys whose time has come, claimed the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import EventLog, ProjectionCheckpoint
from hub.precompiled import PerDialect, Precompiled
from hub.sqlite_driver import inline
from hub.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)

_checkpoint = ProjectionCheckpoint.__table__  # type: ignore[attr-defined]
_events = EventLog.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = [
    _events.c.id,
    _events.c.type,
    _events.c.ts,
    _events.c.conversation_id,
    _events.c.payload,
    _events.c.team_id,
    _events.c.user_id,
]
_CHECKPOINT_COLUMNS = [
    _checkpoint.c.name,
    _checkpoint.c.position,
    _checkpoint.c.gaps,
    _checkpoint.c.rebuild_cursor,
]
_MOVE_CHECKPOINT = (
    sa.update(_checkpoint)
    .where(_checkpoint.c.name == sa.bindparam("cp_name"))
    .values(
        position=sa.bindparam("position"),
        gaps=sa.bindparam("gaps"),
        rebuild_cursor=sa.bindparam("rebuild_cursor"),
        updated_at=sa.bindparam("updated_at"),
    )
)

# A round's fixed statements, built once (built per round, constructing them and
# walking them for their cache key cost more CPU than SQLite running them).
_LOCK_WAIT = (
    sa.select(*_CHECKPOINT_COLUMNS)
    .where(_checkpoint.c.name.in_(sa.bindparam("names", expanding=True)))
    .order_by(_checkpoint.c.name)
    .with_for_update()
)
_LOCK_SKIP = _LOCK_WAIT.with_for_update(skip_locked=True)
_DRAINED = sa.select(*_CHECKPOINT_COLUMNS, sa.select(sa.func.max(_events.c.id)).scalar_subquery())
_IDS_AFTER = (
    sa.select(_events.c.id)
    .where(_events.c.id > sa.bindparam("position"))
    .order_by(_events.c.id)
    .limit(sa.bindparam("limit"))
)
_EVENTS_BY_ID = PerDialect(lambda one_of: sa.select(*_EVENT_COLUMNS).where(one_of(_events.c.id, "ids")))

ALL = -1  # returned by Projection.affected: every key must be recomputed (a rebuild)
MAX_GAPS = 5_000


async def core(s: AsyncSession, stmt: Any, params: Any = None) -> Any:
    """Run a Core statement in the session's transaction (SQLModel's ``execute`` is for
    ORM); a :class:`PerDialect` statement in its form for the session's database."""
    conn = await s.connection()
    if isinstance(stmt, PerDialect):
        stmt = stmt(conn.dialect)
    return await conn.execute(stmt, params)


# core_many's statements, compiled once per dialect and set of row keys (the statement
# is kept with its entry, so its id is not reused by another).
_MANY: dict[tuple[int, str, tuple[str, ...]], tuple[Any, Precompiled]] = {}


async def core_many(s: AsyncSession, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """One ``executemany`` of a Core write over ``rows`` in the session's transaction,
    each row's parameters processed by :class:`hub.precompiled.Precompiled` (the
    columns' own bind processors) and the statement compiled once.

    Through SQLAlchemy's ``execute`` a list of rows was rewritten per call into one
    multi-row statement (insertmanyvalues) with every row's parameters built by the
    compiler: the reports' per-agent upserts cost ~35 µs a row that way
    (``bench/projection_bench.py --catch-up 20000 --agents 1000``). Every row must have
    the first row's keys, and the statement must leave no Python-side default to
    SQLAlchemy (:class:`Precompiled` refuses one)."""
    if not rows:
        return
    first = rows[0].keys()
    if any(r.keys() != first for r in rows):
        # Precompiled would give a missing key None (its compiled constant, if any),
        # where SQLAlchemy's executemany refuses the row: refused here too.
        raise ValueError("core_many: every row must have the first row's keys")
    conn = await s.connection()
    dialect = conn.dialect
    keys = tuple(first)
    key = (id(stmt), dialect.name, keys)
    hit = _MANY.get(key)
    if hit is None or hit[0] is not stmt:
        hit = _MANY[key] = (stmt, Precompiled(stmt, dialect, keys))
    compiled = hit[1]
    await conn.run_sync(lambda sync: compiled.many(sync, rows))


@dataclass(slots=True)
class Checkpoint:
    """A checkpoint row as the shared round reads and moves it (``_read``, ``_fold``
    change ``position``, ``gaps`` and ``rebuild_cursor`` as they do on the ORM row)."""

    name: str
    position: int
    gaps: dict[str, Any]
    rebuild_cursor: int | None


@dataclass(slots=True)
class RoundCache:
    """What one round has read, shared by its consumers (see ``ProjectionRunner._read``)."""

    ids: dict[int, list[int]] = field(default_factory=dict)  # position -> the ids after it
    events: dict[int, LoggedEvent] = field(default_factory=dict)
    # position -> what _read gave a checkpoint there without gaps: its events, and its
    # new position and gaps (the same for every consumer at that position this round)
    batches: dict[int, tuple[list[LoggedEvent], int, dict[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    id: int
    type: str
    ts: datetime
    conversation_id: int | None
    payload: dict[str, Any]
    team_id: int | None = None  # the envelope, as committed
    user_id: int | None = None


class Projection(Protocol):
    name: str

    async def affected(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> set[int]:
        """The keys these events change; ``{ALL}`` to recompute everything."""
        ...

    async def recompute(self, s: AsyncSession, keys: Collection[int], now: datetime) -> None:
        """Make the derived rows of ``keys`` equal to a computation from the source rows."""
        ...

    async def keys_after(self, s: AsyncSession, after: int, limit: int) -> list[int]:
        """Every key in order, for rebuilds."""
        ...

    async def due(self, s: AsyncSession, now: datetime, limit: int) -> list[int]:
        """Keys whose figures change by time alone at or before ``now``."""
        ...

    def next_due_columns(self, now: datetime) -> Sequence[Any]:
        """When the next time-driven change is due: scalar SQL expressions (typically
        ``select(func.min(T.due_at)).scalar_subquery()``) whose earliest non-null value
        is it; none for a consumer without timers. The runner reads every consumer's in
        one statement. (A consumer may define ``async next_due(s)`` instead.)"""
        ...


class Reactor(Protocol):
    """A consumer that *acts* on events (sends a status answer, schedules a survey)
    instead of keeping a table: ``apply`` runs in the checkpoint's transaction through
    a unit of work, so its writes, its events and the new checkpoint commit together —
    each event acted on exactly once. It starts from the log's end when first seen (no
    replay of history) and has no rebuild. Its timers (``fire_due``) run under the same
    checkpoint lock, once cluster-wide. A reactor with ``timers_only = True`` acts on
    time alone: the runner never reads events for it (no transaction per pass), only
    fires its timers."""

    name: str

    async def apply(self, uow: Any, events: Sequence[LoggedEvent], now: datetime) -> None: ...

    async def fire_due(self, uow: Any, now: datetime, limit: int) -> int:
        """Act on the timers due at ``now`` (at most ``limit``); returns how many."""
        ...

    def next_due_columns(self, now: datetime) -> Sequence[Any]:
        """As :meth:`Projection.next_due_columns`."""
        ...


def is_reactor(p: Any) -> bool:
    return hasattr(p, "apply")


class ProjectionRunner:
    def __init__(
        self,
        hub: Hub,
        projections: Sequence[Any],  # Projection or Reactor
        *,
        batch_size: int = 500,
        gap_horizon: timedelta = timedelta(seconds=60),
        max_idle: float = 30.0,
        coalesce: float = 0.05,
        busy_coalesce: float | None = None,
        busy_events: int = 100,
        slice_seconds: float = 1.0,
    ) -> None:
        self.hub = hub
        self.projections: dict[str, Any] = {p.name: p for p in projections}
        if len(self.projections) != len(projections):
            raise ValueError("two projections share a name")
        self.batch_size = batch_size
        self.gap_horizon = gap_horizon
        self.max_idle = max_idle
        # The pause after a wake-up: ``coalesce`` normally, ``busy_coalesce`` after a pass
        # that applied ``busy_events`` or more events (see _loop).
        self.coalesce = coalesce
        self.busy_coalesce = coalesce if busy_coalesce is None else busy_coalesce
        self.busy_events = busy_events
        self._last_applied = 0
        self.slice_seconds = slice_seconds  # the longest catch-up before the timers' turn
        self._locks = {name: asyncio.Lock() for name in self.projections}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._known: set[str] = set()  # checkpoints known to exist

    # -- lifecycle -----------------------------------------------------------------------
    async def prepare(self) -> None:
        """Make sure every checkpoint exists before the hub serves: a reactor seen for the
        first time starts from the log's end *now*, not from whenever its loop first runs."""
        await self._ensure_checkpoints(list(self.projections))

    def start(self) -> None:
        # Only a wake-up: what happened is read from the log (one queued event at most).
        sub = self.hub.bus.subscribe(maxsize=1_000, wake_only=True)

        async def notifications() -> None:
            # Any committed event may concern a projection; the content is read from the
            # log, the bus only wakes us. A lagged subscription is just another wake-up.
            try:
                while not self._stopping:
                    event = await sub.get()
                    if event is None:
                        if sub.closed:
                            return
                        sub.reset()
                    self._wake.set()
            finally:
                sub.close()

        self._tasks = [
            asyncio.create_task(notifications(), name="projections-bus"),
            asyncio.create_task(self._loop(), name="projections"),
        ]
        self._wake.set()  # catch up with what happened while stopped

    def wake(self) -> None:
        """Look at the log now (after writes that published nothing on the bus)."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for p in self.projections.values():
            close = getattr(p, "close", None)  # a reactor with work of its own (rules)
            if close is not None:
                await close()

    async def _loop(self) -> None:
        clock = asyncio.get_running_loop().time
        swept = clock()
        while not self._stopping:
            timeout = self.max_idle
            try:
                drained = await self._catch_up_for(self.slice_seconds)
                if clock() - swept >= self.max_idle:
                    # Now and then every consumer's timers, whatever its next timer says: a
                    # safety net that costs one transaction each every max_idle seconds.
                    swept = clock()
                    await self.run_due()
                    dues = await self._next_dues()
                else:
                    dues = await self._run_due_now()
                if not drained:
                    continue  # a long catch-up or rebuild: the timers ran, go on
                timeout = self._seconds_until(dues)
            except Exception:
                log.exception("projection pass failed; retrying")
                timeout = 1.0
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            # Coalesce: under a stream of events one pass takes many of them, instead
            # of three transactions per message competing with ingest for the writer.
            # A pass that had many events waits longer, so that each round's fixed cost
            # (its transaction, the timers' read) is shared by more of them; a quiet
            # hub keeps the short pause, and its derived rows stay as fresh as they were.
            # (Rate limiting, not synchronisation: tests call catch_up() themselves.)
            busy = self._last_applied >= self.busy_events
            await asyncio.sleep(self.busy_coalesce if busy else self.coalesce)
            self._wake.clear()

    async def _next_dues(self, names: Collection[str] | None = None) -> dict[str, datetime | None]:
        """Each consumer's next timer: one statement for every consumer's
        ``next_due_columns`` (a consumer with only ``next_due(s)`` reads in the same
        session). Twelve reads here were a fixed cost of every wake-up."""
        now = self.hub.now()
        wanted = [(n, p) for n, p in self.projections.items() if names is None or n in names]
        columns: list[Any] = []
        owners: list[str] = []
        out: dict[str, datetime | None] = {}
        for name, p in wanted:
            out[name] = None
            if hasattr(p, "next_due_columns"):
                for column in p.next_due_columns(now):
                    columns.append(column)
                    owners.append(name)
        with inline():
            async with self.hub.db.session() as s:
                if columns:
                    row = (await core(s, sa.select(*columns))).one()
                    for name, value in zip(owners, row, strict=True):
                        if value is not None:
                            value = ensure_utc(value)
                            due = out[name]
                            out[name] = value if due is None else min(due, value)
                for name, p in wanted:
                    if not hasattr(p, "next_due_columns"):
                        out[name] = await p.next_due(s)
        return out

    async def _run_due_now(self) -> dict[str, datetime | None]:
        """The loop's :meth:`run_due`: one read of every consumer's next timer, then a
        write transaction only for those whose time has come — not one per consumer on
        every wake-up (twelve consumers, most of them idle, were the fixed cost of each
        batch of messages). Returns the next timers, read again for those that fired."""
        dues = await self._next_dues()
        now = self.hub.now()
        fired = [name for name, due in dues.items() if due is not None and due <= now]
        if fired:
            await self.run_due(fired)
            dues.update(await self._next_dues(fired))
        return dues

    def _seconds_until(self, dues: dict[str, datetime | None]) -> float:
        soonest = self.max_idle
        now = self.hub.now()
        for due in dues.values():
            if due is not None:
                soonest = min(soonest, max(0.0, (due - now).total_seconds()))
        return soonest

    # -- applying the log ----------------------------------------------------------------
    async def catch_up(self, *, wait: bool = True) -> int:
        """Apply every committed event (and finish any rebuild); returns events applied.

        ``wait=True`` waits for another process holding a checkpoint instead of skipping
        it, so that on return everything committed before the call has been applied.
        """
        total = 0
        pending = list(self.projections)
        while pending:
            total += await self._round(pending, wait=wait)
        return total

    async def _round(self, pending: list[str], *, wait: bool, shared: RoundCache | None = None) -> int:
        """One batch of each projection in ``pending`` (those with nothing left leave
        it): in turns, so one projection's rebuild of millions of rows (a new index
        after an upgrade) does not hold up the others' events for its whole length."""
        total = 0
        # The projections of a round are mostly at the same position: each batch of the
        # log is read and decoded once for all of them (see _read), not once each. The
        # cache belongs to this round alone (the loop and a caller's catch_up() may run
        # rounds at once), so an erasure's scrubbed payloads are what the next round reads.
        shared = RoundCache() if shared is None else shared
        drained = await self._drained()
        for name in [n for n in pending if n in drained]:
            pending.remove(name)  # nothing to read: no write transaction for it
        together = [n for n in pending if not getattr(self.projections[n], "timers_only", False)]
        if len(together) > 1:
            try:
                applied_by = await self._together(together, wait=wait, shared=shared)
            except Exception:
                # One consumer failed and the shared transaction rolled back: this round
                # goes one transaction per consumer, so the others still move on and the
                # failing one alone raises (and is retried).
                log.warning("a projection failed in the shared round; one at a time", exc_info=True)
            else:
                for name in together:
                    applied = applied_by.get(name)
                    if applied is None:
                        pending.remove(name)
                    else:
                        total += applied
                return total
        failed: Exception | None = None
        for name in list(pending):
            try:
                applied = await self._pass(name, wait=wait, shared=shared)
            except Exception as exc:
                # The others still move on; this one is tried again by the next round
                # (the loop's, after its pause) and the first failure is raised below.
                log.exception("projection %s failed", name)
                failed = failed or exc
                pending.remove(name)
                continue
            if applied is None:
                pending.remove(name)
            else:
                total += applied
        if failed is not None:
            raise failed
        return total

    async def _together(self, names: list[str], *, wait: bool, shared: RoundCache) -> dict[str, int | None]:
        """One batch of each of ``names`` in one write transaction: a round of twelve
        consumers was twelve transactions (a checkpoint read and write and a commit
        each) for a handful of events. Each consumer still gets exactly the events after
        its own checkpoint and moves it in the same transaction as its work. What needs
        a rebuild goes through :meth:`_pass` afterwards, on its own. Returns what
        :meth:`_pass` would for each (None: nothing left, or held elsewhere)."""
        # Inline (hub.sqlite_driver): reads and the writes after the first run on this
        # thread, ~15 % of a round's CPU (bench/projection_bench.py).
        with inline():
            out: dict[str, int | None] = {}
            published: list[Any] = []
            async with contextlib.AsyncExitStack() as held:
                for name in names:  # always in the runner's order: no two rounds deadlock
                    await self._ensure_checkpoint(name)
                    await held.enter_async_context(self._locks[name])
                async with self.hub.db.transaction() as s:
                    # The checkpoints as plain records and written back in one executemany
                    # at the end: as ORM objects each was two UPDATEs (its position flushed
                    # by the next consumer's read, its updated_at at the commit).
                    locked = await core(s, _LOCK_WAIT if wait else _LOCK_SKIP, {"names": names})
                    found = {
                        r.name: Checkpoint(r.name, r.position, dict(r.gaps or {}), r.rebuild_cursor)
                        for r in locked
                    }
                    now = self.hub.now()
                    rebuilding: list[str] = []
                    moved: list[Checkpoint] = []
                    for name in names:
                        cp = found.get(name)
                        if cp is None:
                            out[name] = None  # another process holds it
                            continue
                        p = self.projections[name]
                        if cp.rebuild_cursor is not None:
                            if not is_reactor(p) or getattr(p, "rebuildable", False):
                                rebuilding.append(name)
                                continue
                            cp.rebuild_cursor = None  # a plain reactor starts from now (as in _react)
                        events = await self._read(s, cp, shared)
                        if is_reactor(p):
                            published.extend(await self._act(s, p, events, now))  # type: ignore[arg-type]
                        elif events:
                            await self._fold(s, p, cp, events, now)
                        moved.append(cp)
                        out[name] = len(events) if events else None
                    if moved:
                        await core_many(
                            s,
                            _MOVE_CHECKPOINT,
                            [
                                {
                                    "cp_name": cp.name,
                                    "position": cp.position,
                                    "gaps": cp.gaps,
                                    "rebuild_cursor": cp.rebuild_cursor,
                                    "updated_at": now,
                                }
                                for cp in moved
                            ],
                        )
        await self._publish(published)
        for name in rebuilding:  # a rebuild's batches are large: not inline
            out[name] = await self._pass(name, wait=wait, shared=shared)
        return out

    async def _drained(self) -> set[str]:
        """Consumers with nothing to do, read without a lock: at the log's last id, no
        gaps to look for, no rebuild (or acting on time alone). Idle wake-ups and the
        last round of every catch-up then cost one read instead of a write transaction
        per consumer. A process holding a checkpoint mid-batch has not committed its new
        position, so a caller that must wait for it still does."""
        with inline():
            async with self.hub.db.session() as s:
                rows = (await core(s, _DRAINED)).all()
        top = (rows[0][4] or 0) if rows else 0
        out = {
            name
            for name, position, gaps, cursor, _ in rows
            if name in self._known and position >= top and not gaps and cursor is None
        }
        return out | {n for n, p in self.projections.items() if getattr(p, "timers_only", False)}

    async def _catch_up_for(self, seconds: float) -> bool:
        """Rounds of :meth:`catch_up` (without waiting for other processes) for about
        ``seconds``; True when everything was applied. The loop serves the timers
        between slices, so they stay on time during a long rebuild."""
        pending = list(self.projections)
        deadline = asyncio.get_running_loop().time() + seconds
        self._last_applied = 0  # events read from the log (not per consumer)
        while pending:
            cache = RoundCache()
            await self._round(pending, wait=False, shared=cache)
            self._last_applied += len(cache.events)
            if pending and asyncio.get_running_loop().time() >= deadline:
                return False
        return True

    async def _pass(self, name: str, *, wait: bool, shared: RoundCache) -> int | None:
        """One batch: a rebuild step or events after the checkpoint. None: nothing left
        (or another process holds the checkpoint and ``wait`` is false)."""
        p = self.projections[name]
        await self._ensure_checkpoint(name)
        if getattr(p, "timers_only", False):
            return None  # acts on time alone: no transaction per pass to move its checkpoint
        if is_reactor(p):
            return await self._react(p, name, wait=wait, shared=shared)  # type: ignore[arg-type]
        async with self._locks[name], self.hub.db.transaction() as s:
            cp = await self._lock_checkpoint(s, name, wait=wait)
            if cp is None:
                return None
            now = self.hub.now()
            if cp.rebuild_cursor is not None:
                batch = await p.keys_after(s, cp.rebuild_cursor, self.batch_size)
                await p.recompute(s, batch, now)
                cp.rebuild_cursor = batch[-1] if len(batch) == self.batch_size else None
                cp.updated_at = now
                s.add(cp)
                return len(batch)
            events = await self._read(s, cp, shared)
            if not events:
                s.add(cp)  # gaps may have expired
                return None
            await self._fold(s, p, cp, events, now)
            cp.updated_at = now
            s.add(cp)
            return len(events)

    @staticmethod
    async def _fold(
        s: AsyncSession, p: Any, cp: ProjectionCheckpoint | Checkpoint, events: Any, now: datetime
    ) -> None:
        """A projection's batch: recompute the keys the events touch (or start a rebuild).
        A projection with a ``fold(s, events, now)`` of its own does the batch itself
        (it returns True for a rebuild): one that can apply some events cheaper than a
        recompute of their keys (hub.crm.figures)."""
        fold = getattr(p, "fold", None)
        if fold is not None:
            if await fold(s, events, now):
                cp.rebuild_cursor = 0
            return
        keys = await p.affected(s, events)
        if ALL in keys:
            cp.rebuild_cursor = 0
        elif keys:
            await p.recompute(s, keys, now)

    async def _act(self, s: AsyncSession, p: Reactor, events: list[LoggedEvent], now: datetime) -> list[Any]:
        """A reactor's batch, through a unit of work on the checkpoint's transaction;
        returns the events it wrote (published after the commit)."""
        from hub.services.uow import UnitOfWork

        uow = UnitOfWork(self.hub, s, None)
        if events:
            await p.apply(uow, events, now)
        await uow.flush_events()  # visible to the next consumer of this round, as before
        await s.flush()
        return uow.events()

    async def _react(self, p: Reactor, name: str, *, wait: bool, shared: RoundCache) -> int | None:
        async with self._locks[name]:
            async with self.hub.db.transaction() as s:
                cp = await self._lock_checkpoint(s, name, wait=wait)
                if cp is None:
                    return None
                if cp.rebuild_cursor is not None and getattr(p, "rebuildable", False):
                    # A folding projection (reports): refold the log up to the checkpoint.
                    await p.rebuild_from_log(s, cp.position)  # type: ignore[attr-defined]
                    # Gaps that committed meanwhile were folded with the rest: not twice.
                    if cp.gaps:
                        present = set(
                            (
                                await s.exec(
                                    select(EventLog.id).where(col(EventLog.id).in_([int(k) for k in cp.gaps]))
                                )
                            ).all()
                        )
                        cp.gaps = {k: v for k, v in cp.gaps.items() if int(k) not in present}
                cp.rebuild_cursor = None  # a plain reactor starts from now
                now = self.hub.now()
                events = await self._read(s, cp, shared)
                cp.updated_at = now
                s.add(cp)
                published = await self._act(s, p, events, now)
            await self._publish(published)
        return len(events) if events else None

    async def _publish(self, events: list[Any]) -> None:
        if not events:
            return
        try:
            await self.hub.bus.publish(events)
        except Exception:
            log.exception("bus publish failed for event ids %s", [e.id for e in events])

    async def _ensure_checkpoint(self, name: str) -> None:
        if name not in self._known:
            await self._ensure_checkpoints([name])

    async def _ensure_checkpoints(self, names: list[str]) -> None:
        """A projection seen for the first time starts from now and rebuilds from rows
        (one transaction for all of them: the hub's start)."""
        names = [n for n in names if n not in self._known]
        if not names:
            return
        async with self.hub.db.transaction() as s:
            top = (await s.exec(select(sa.func.max(EventLog.id)))).one()
            insert = sqlite_insert if self.hub.db.is_sqlite else pg_insert
            rows: list[dict[str, Any]] = [
                {
                    "name": name,
                    "position": top or 0,
                    "gaps": {},
                    "rebuild_cursor": None if getattr(self.projections[name], "timers_only", False) else 0,
                    "updated_at": self.hub.now(),
                }
                for name in names
            ]
            # Another process may create one first: then theirs stands.
            await core(s, insert(_checkpoint).on_conflict_do_nothing(index_elements=["name"]), rows)
        self._known.update(names)

    async def _lock_checkpoint(
        self, s: AsyncSession, name: str, *, wait: bool
    ) -> ProjectionCheckpoint | None:
        stmt = select(ProjectionCheckpoint).where(ProjectionCheckpoint.name == name)
        stmt = stmt.with_for_update(skip_locked=not wait)
        return (await s.exec(stmt)).first()

    async def _read(
        self, s: AsyncSession, cp: ProjectionCheckpoint | Checkpoint, shared: RoundCache
    ) -> list[LoggedEvent]:
        """The events after the checkpoint (and gaps now committed); moves the checkpoint.
        ``shared``: what this round already read (event ids after a position, decoded
        events by id): the consumers of a round are mostly at one position."""
        # Gaps age in real time, not the hub's clock: the horizon bounds how long a real
        # transaction may stay open, and a test's (or a demo's) clock jumping ahead
        # must not expire a gap whose transaction is milliseconds old.
        if not cp.gaps:
            done = shared.batches.get(cp.position)
            if done is not None:  # another consumer of this round read from here
                events, cp.position, gaps_after = done
                cp.gaps = dict(gaps_after)
                return list(events)
        start, without_gaps = cp.position, not cp.gaps
        now = utcnow()
        gaps = {int(k): v for k, v in (cp.gaps or {}).items()}
        # Ids first (an index-only read), then only the rows this round has not decoded.
        # A list read earlier in the round may miss ids committed since: those are
        # after its last id (or become gaps) and are read by the next round.
        ids = shared.ids.get(cp.position)
        if ids is None:
            ids = list(
                (await core(s, _IDS_AFTER, {"position": cp.position, "limit": self.batch_size})).scalars()
            )
            shared.ids[cp.position] = ids
        decoded = shared.events
        wanted = [i for i in [*ids, *gaps] if i not in decoded]
        if wanted:
            rows = await core(s, _EVENTS_BY_ID, {"ids": wanted})
            for r in rows:
                decoded[r.id] = LoggedEvent(
                    id=r.id,
                    type=r.type,
                    ts=r.ts,  # aware UTC already: the column's UTCDateTime reads it so
                    conversation_id=r.conversation_id,
                    payload=r.payload,
                    team_id=r.team_id,
                    user_id=r.user_id,
                )
        late = [decoded[i] for i in list(gaps) if i in decoded]
        for row in late:
            gaps.pop(row.id, None)
        seen_at = now.isoformat()
        expected = cp.position + 1
        for i in ids:
            for missing in range(expected, min(i, expected + MAX_GAPS)):
                gaps[missing] = seen_at
            expected = i + 1
        if ids:
            cp.position = ids[-1]
        horizon = (now - self.gap_horizon).isoformat()
        kept = sorted((k, v) for k, v in gaps.items() if v >= horizon)[-MAX_GAPS:]
        cp.gaps = {str(k): v for k, v in kept}
        events = [*late, *(decoded[i] for i in ids)]
        if without_gaps:
            shared.batches[start] = (events, cp.position, dict(cp.gaps))
        return list(events)

    # -- time-driven changes --------------------------------------------------------------
    async def run_due(self, names: Collection[str] | None = None) -> int:
        """Recompute the keys whose time has come (of every consumer, or of ``names``);
        returns how many."""
        total = 0
        for name, p in self.projections.items():
            if names is not None and name not in names:
                continue
            if is_reactor(p):
                total += await self._react_due(p, name)  # type: ignore[arg-type]
                continue
            while True:
                async with self._locks[name], self.hub.db.transaction() as s:
                    # The checkpoint lock also serialises timers across processes.
                    if await self._lock_checkpoint(s, name, wait=False) is None:
                        break
                    now = self.hub.now()
                    keys = await p.due(s, now, self.batch_size)
                    if keys:
                        await p.recompute(s, keys, now)
                total += len(keys)
                if len(keys) < self.batch_size:
                    break
        return total

    async def _react_due(self, p: Reactor, name: str) -> int:
        from hub.services.uow import UnitOfWork

        total = 0
        await self._ensure_checkpoint(name)
        while True:
            async with self._locks[name]:
                async with self.hub.db.transaction() as s:
                    if await self._lock_checkpoint(s, name, wait=False) is None:
                        return total
                    uow = UnitOfWork(self.hub, s, None)
                    fired = await p.fire_due(uow, self.hub.now(), self.batch_size)
                    await uow.flush_events()
                    await s.flush()
                    published = uow.events()
                await self._publish(published)
            total += fired
            if fired < self.batch_size:
                return total

    async def rebuild(self, name: str) -> None:
        """Recompute every key from rows (``switchboard projections rebuild``)."""
        await self._ensure_checkpoint(name)
        async with self._locks[name], self.hub.db.transaction() as s:
            cp = await self._lock_checkpoint(s, name, wait=True)
            assert cp is not None
            cp.rebuild_cursor = 0
            s.add(cp)
        await self.catch_up()

    async def status(self) -> list[dict[str, Any]]:
        async with self.hub.db.session() as s:
            top = (await s.exec(select(sa.func.max(EventLog.id)))).one() or 0
            rows = {r.name: r for r in (await s.exec(select(ProjectionCheckpoint))).all()}
        out = []
        for name in self.projections:
            cp = rows.get(name)
            out.append(
                {
                    "name": name,
                    "position": cp.position if cp else 0,
                    "behind": 0
                    if getattr(self.projections[name], "timers_only", False)
                    else top - cp.position
                    if cp
                    else top,
                    "gaps": len(cp.gaps or {}) if cp else 0,
                    "rebuilding": cp is None or cp.rebuild_cursor is not None,
                }
            )
        return out
