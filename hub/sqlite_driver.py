"""SQLAlchemy's aiosqlite dialect with one thread round trip per statement.

aiosqlite runs each sqlite3 call on the connection's own thread and hands the result
back to the event loop. SQLAlchemy's adapter makes four such calls per statement — open
a cursor, execute, fetch every row, close the cursor — each a queue put, a thread
wake-up and a loop wake-up through its self-pipe. Measured on the 2-core machine, a
one-row ``SELECT`` cost ~216 µs of CPU that way, of which SQLite itself is a few
microseconds (``docs/architecture.md``, "SQLite statements").

Here the cursor sends one function to the connection's thread that does all four and
returns the description, row count, last row id and rows together. Everything else is
SQLAlchemy's own aiosqlite dialect, unchanged: the connection, its thread, commit and
rollback, errors (the same sqlite3 exceptions, translated by the same code), the
server-side cursor used for streaming.

Two things need no round trip at all: a commit or rollback outside a transaction (sqlite3
does nothing then), and, inside :func:`inline`, a statement that cannot wait for a lock.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import sqlite3
from collections.abc import Iterator
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, int, int | None, list[Any]]

# See inline().
INLINE: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_inline", default=False)


@contextlib.contextmanager
def inline() -> Iterator[None]:
    """Statements in this block that cannot wait for a lock run on the calling thread.

    For callers whose statements are short and bounded (the projection runner's shared
    round): a thread round trip costs more than such a statement (measured ~290-410
    µs against ~140 µs for a one-row read on the 2-core machine), and a round is a few
    dozen of them. What can wait stays on the connection's thread, so that the event
    loop never sleeps in SQLite's busy handler: a write that would take the write lock
    (the transaction's first), every commit and rollback of a transaction. Reads never
    wait in WAL mode, nor does a write once the transaction holds the lock.
    """
    token = INLINE.set(True)
    try:
        yield
    finally:
        INLINE.reset(token)


def _may_run_inline(conn: aiosqlite.Connection, operation: str) -> bool:
    """A read, or a write in a transaction that already holds the write lock (sqlite3
    begins a transaction just before the first write, which takes the lock or fails)."""
    return operation[:6].upper() == "SELECT" or conn._conn.in_transaction


def _run(conn: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the connection's thread: the whole statement, start to end."""
    cursor = conn._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement, fetch and close are one thread round trip."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No sqlite3 cursor is opened here (the base class opens one: a round trip).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return  # the sqlite3 cursor is already closed; the rows are kept

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._one_trip(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._one_trip(operation, seq_of_parameters, True)

    async def _one_trip(self, operation: Any, parameters: Any, many: bool) -> None:
        mutex = self._adapt_connection._execute_mutex
        conn: Any = self._connection
        if INLINE.get() and not mutex.locked() and _may_run_inline(conn, operation):
            outcome = _run(conn, operation, parameters, many)
        else:
            async with mutex:
                outcome = await self._connection._execute(_run, self._connection, operation, parameters, many)
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def nextset(self) -> None:
        raise NotImplementedError("sqlite3 has no next result set")


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass of its own

    # sqlite3 commits and rolls back only inside a transaction (it begins one just
    # before a write); otherwise both do nothing, and so need no round trip: every read
    # session ends with a rollback when its connection goes back to the pool.
    def rollback(self) -> None:
        if self._idle():
            return
        super().rollback()

    def commit(self) -> None:
        if self._idle():
            return
        super().commit()

    def _idle(self) -> bool:
        raw = self._connection._connection
        return raw is not None and not raw.in_transaction


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """What ``create_async_engine(..., module=...)`` takes in place of the dialect's own
    aiosqlite adapter module: the same, handing out :class:`OneTripConnection`."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        creator_fn = kw.pop("async_creator_fn", None)
        # The sqlite3 connection is used by its own thread and, for what needs no wait
        # (inline(), OneTripConnection.rollback), by the event loop's: one at a time,
        # as SQLAlchemy serialises each connection's calls.
        kw.setdefault("check_same_thread", False)
        connection = creator_fn(*arg, **kw) if creator_fn else self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's own adapter does
        return OneTripConnection(self, await_(connection))


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
