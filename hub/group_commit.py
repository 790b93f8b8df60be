"""Group commit: many concurrent writes share one transaction and one commit.

The message path's cost was never the database engine: it was a thread round trip per
statement (aiosqlite), ORM object construction, and one commit — one fsync — per
message. Here each *lane* owns one synchronous connection on one thread of its own.
Callers ``submit`` an item and await its future; the lane's task takes everything
queued (up to ``max_batch``), hands the whole batch to the thread in a single hop, and
the thread runs it as one transaction with one commit. Every caller is answered only
after the commit that holds its item, so durability per item is unchanged while the
commit cost is shared.

- Items are routed to lanes by a key (the customer's address for ingest), so one key's
  items are always written by one lane, in submission order: no two lanes fight over
  the same rows, and per-conversation order is arrival order.
- A batch that raises is rolled back and its items are retried one by one, each in its
  own transaction: a failing item fails alone, with its own exception.
- SQLite has one writer: there is one lane, and it holds the database's write lock
  (``Database.write_lock``) while it writes, so it queues behind — and ahead of — the
  ORM's write transactions instead of hitting "database is locked". It takes its batch
  once it holds the lock, so what arrived while a consumers' round held it is written
  in that batch, not in one more after it.
- A commit delay (``commit_delay``, PostgreSQL's ``commit_delay`` in spirit): a batch
  costs a fixed ~150–200 µs of CPU whatever its size (a transaction, the batch's
  set-wise reads, the thread hop) on top of ~55 µs an item, so at a steady few hundred
  to a few thousand messages a second, batches of one or two paid that fixed cost per
  message. When items are streaming in — the lane wrote a batch within the last ten
  delays — and fewer than ``_ENOUGH`` are waiting, the lane waits ``commit_delay``
  before taking its batch. A quiet hub's lone message never waits (its lane wrote
  nothing recently), and a saturated lane never waits (its queue is full enough).
- ``after_commit`` runs on the event loop with the batch's results, right after the
  callers' futures are resolved and before the lane's next batch (the ingest and reply
  paths publish their events there, so events go out in commit order; an agent's
  reply is acknowledged on the socket before its own ``message.created`` echo, as
  before).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import zlib
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Waiting items that make a batch worth writing without a commit delay: its fixed cost
# is then a small part of each item's.
_ENOUGH = 8

# The function a lane's thread runs: (connection, items) -> one result per item. It
# must not commit; the lane commits (or rolls back) around it. An item it refuses
# before writing anything of it may be answered with an exception instead of a result
# (the others still commit); raising instead rolls the batch back and retries its
# items one by one.
BatchFn = Callable[[Connection, Sequence[T]], Sequence[R | Exception]]


@dataclass(slots=True)
class _Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[R]


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        engine: Engine,
        write: BatchFn[T, R],
        *,
        lanes: int = 1,
        max_batch: int = 256,
        lock: asyncio.Lock | None = None,
        after_commit: Callable[[list[R]], Awaitable[None]] | None = None,
        name: str = "group-commit",
        commit_delay: float = 0.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self._write = write
        self._max_batch = max_batch
        self._lock = lock
        self._after_commit = after_commit
        self._name = name
        self._commit_delay = commit_delay
        self._clock = clock  # the event loop's clock unless given (tests)
        self._sleep = sleep
        self._queues: list[asyncio.Queue[_Pending[T, R]]] = [asyncio.Queue() for _ in range(lanes)]
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-{i}") for i in range(lanes)
        ]
        self._local = threading.local()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        # Figures for tests and the bench: batches written, items in them, and the
        # batches that waited for the commit delay.
        self.batches = 0
        self.items = 0
        self.delayed = 0

    @property
    def lanes(self) -> int:
        return len(self._queues)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(i), name=f"{self._name}-{i}") for i in range(len(self._queues))
        ]

    async def stop(self) -> None:
        """Finish what was submitted, then close the lanes' connections."""
        self._closed = True
        for q in self._queues:
            await q.join()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        loop = asyncio.get_running_loop()
        for ex in self._executors:
            await loop.run_in_executor(ex, self._close_connection)
            ex.shutdown(wait=True)
        self.engine.dispose()

    async def submit(self, item: T, key: str) -> R:
        """Write ``item`` in the next batch of its key's lane; returns after the commit."""
        if self._closed:
            raise RuntimeError(f"{self._name} is stopped")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        lane = zlib.crc32(key.encode()) % len(self._queues) if len(self._queues) > 1 else 0
        self._queues[lane].put_nowait(_Pending(item, future))
        return await future

    # -- the lane ----------------------------------------------------------------------
    async def _run(self, lane: int) -> None:
        queue = self._queues[lane]
        executor = self._executors[lane]
        loop = asyncio.get_running_loop()
        clock = self._clock or loop.time
        delay = self._commit_delay
        last_write = -math.inf
        while True:
            batch = [await queue.get()]
            if delay > 0 and queue.qsize() + 1 < _ENOUGH and clock() - last_write < 10 * delay:
                self.delayed += 1
                await self._sleep(delay)
            try:
                async with self._lock or contextlib.nullcontext():
                    # The batch is taken once the write lock is held: what arrived while
                    # another writer held it (a consumers' round, on SQLite) joins this
                    # batch instead of waiting for the next one.
                    while len(batch) < self._max_batch and not queue.empty():
                        batch.append(queue.get_nowait())
                    live = [p for p in batch if not p.future.cancelled()]
                    outcomes = await self._write_batch(loop, executor, [p.item for p in live]) if live else []
                if live:
                    await self._answer(live, outcomes)
            finally:
                last_write = clock()
                for _ in batch:
                    queue.task_done()

    async def _write_batch(
        self, loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor, items: list[T]
    ) -> list[R | BaseException]:
        """The batch in one transaction; if that raises, each item in its own."""
        try:
            outcomes: list[R | BaseException] = list(
                await loop.run_in_executor(executor, self._transaction, items)
            )
        except Exception:
            log.warning("%s: a batch of %d failed; writing its items one by one", self._name, len(items))
            outcomes = []
            for item in items:
                try:
                    outcomes.extend(await loop.run_in_executor(executor, self._transaction, [item]))
                except Exception as exc:
                    outcomes.append(exc)
        self.batches += 1
        self.items += len(items)
        return outcomes

    async def _answer(self, batch: list[_Pending[T, R]], outcomes: list[R | BaseException]) -> None:
        """Each caller its outcome, then the after-commit hook (outside the write lock)."""
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)
        # Resolving a future only schedules its caller, so a hook that does not await
        # (the in-process bus) has run before any caller resumes; one that does (Redis)
        # still finishes before this lane writes its next batch.
        results: list[R] = [o for o in outcomes if not isinstance(o, BaseException)]
        if self._after_commit is not None and results:
            try:
                await self._after_commit(results)
            except Exception:
                log.exception("%s: after-commit hook failed", self._name)

    # -- on the lane's thread ----------------------------------------------------------
    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self.engine.connect()
            self._local.conn = conn
        return conn

    def _transaction(self, items: list[T]) -> Sequence[R | Exception]:
        conn = self._connection()
        try:
            with conn.begin():
                return self._write(conn, items)
        except BaseException:
            # A broken connection is replaced on the next batch.
            if conn.invalidated:
                conn.close()
            raise

    def _close_connection(self) -> None:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
