"""SQLAlchemy Core statements compiled once, executed on the raw DB-API cursor.

On the message hot path SQLAlchemy's per-execution machinery (cache-key generation,
parameter coercion, result set-up) cost more than SQLite itself: ~60 µs a statement
against ~10 µs. A :class:`Precompiled` statement is written as ordinary Core (so the
SQL, the dialect's quoting and the column types stay SQLAlchemy's), compiled once for
the dialect, and then executed straight on the driver's cursor with the column types'
own bind processors (so a datetime or a JSON value is stored exactly as the ORM stores
it and the ORM reads it back unchanged).

Only plain named parameters are supported — no expanding ``IN`` lists; a list parameter
is one array on PostgreSQL and one JSON array on SQLite (:func:`one_of_for`).

:class:`PerDialect` is the same idea for statements run through SQLAlchemy (the log
consumers, the outbox): "the column is one of these values" written once, as
``= ANY(array)`` on PostgreSQL and ``IN (SELECT value FROM json_each(array))`` on SQLite.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection, Dialect, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import ClauseElement

from hub import jsoncodec

Processor = Callable[[Any], Any] | None
S = TypeVar("S")
# "column is one of these values": given a column and a parameter's name, the clause.
OneOf = Callable[[Any, str], ColumnElement[bool]]


def _any_array(col: Any, name: str) -> ColumnElement[bool]:
    return col == sa.any_(bindparam(name, type_=ARRAY(col.type)))  # type: ignore[no-any-return]


class JsonList(sa.types.TypeDecorator[Any]):
    """A list parameter as one JSON array (SQLite's ``json_each``): any iterable — a
    set, a tuple, a generator — is written as a list (the JSON type would refuse a set)."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else jsoncodec.dumps(list(value))


def json_each_in(col: Any, name: str) -> ColumnElement[bool]:
    """SQLite: ``column IN (SELECT value FROM json_each(:name))``, the list one JSON array
    parameter. Like PostgreSQL's array, the same text whatever the list's length, so a
    :class:`Precompiled` statement can take it and SQLAlchemy's compiled form of a
    :class:`PerDialect` statement is complete (sqlite3 prepares it once and keeps it in
    its statement cache), where an expanded ``IN`` has a new text for every length,
    rendered by SQLAlchemy at each execution (one bound name per value) and prepared by
    SQLite again. SQLite runs the subquery once into a list and probes the column's
    index with each value, as it does for an ``IN`` list (tests/core/test_per_dialect.py
    holds every statement's plan to its index). JSON keeps a value's type: integers meet
    integer columns and text text columns."""
    values: Any = sa.select(sa.column("value")).select_from(
        sa.func.json_each(bindparam(name, type_=JsonList()))
    )
    return col.in_(values)  # type: ignore[no-any-return]


def one_of_for(dialect_name: str) -> OneOf:
    """The clause for a column being one of a list's values, the list one parameter, so
    that a statement has the same text whatever the list's length. PostgreSQL: ``column =
    ANY(:name::type[])``. SQLite: :func:`json_each_in`. An expanded list has a new text
    for every length, and each new text costs the driver a conversion (psycopg), a
    server-side PREPARE (asyncpg's statement cache holds 100 texts per connection, fewer
    than the lengths the consumers' batches take) or SQLite's prepare, and SQLAlchemy a
    rendering of one bound name per value at every execution. The indexes serve both."""
    return _any_array if dialect_name == "postgresql" else json_each_in


class PerDialect(Generic[S]):
    """A statement with list parameters, built on first use for each dialect with
    :func:`one_of_for`'s clause, then kept. ``hub.projections.core`` resolves it."""

    def __init__(self, build: Callable[[OneOf], S]) -> None:
        self._build = build
        self._built: dict[str, S] = {}

    def __call__(self, dialect: Dialect) -> S:
        stmt = self._built.get(dialect.name)
        if stmt is None:
            stmt = self._built[dialect.name] = self._build(one_of_for(dialect.name))
        return stmt


def processed(processors: Sequence[Processor]) -> list[tuple[int, Callable[[Any], Any]]]:
    """The positions that have a processor, with it (a type without one passes its
    values as they are: integers and text on SQLite)."""
    return [(i, proc) for i, proc in enumerate(processors) if proc is not None]


def apply_processors(values: list[Any], positions: Sequence[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    """``values`` with each non-None value at ``positions`` through its processor (in
    place; returned for convenience)."""
    for i, proc in positions:
        v = values[i]
        if v is not None:
            values[i] = proc(v)
    return values


class _Compiled:
    """A statement's compiled form for one dialect: its SQL, its parameters' order and
    processors, and the literal values compiled into it. Never changed once made."""

    __slots__ = ("constants", "get", "names", "positional", "processed", "sql")

    def __init__(self, stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None) -> None:
        compiled: Any = stmt.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        self.sql: str = compiled.string
        # A column left to a Python-side default (or onupdate) is filled in by
        # SQLAlchemy's execution context, which these statements bypass: refused, so
        # that no row is written with NULL in its place. Callers pass every value.
        prefetch = [*compiled.insert_prefetch, *compiled.update_prefetch]
        if prefetch:
            raise ValueError(f"{prefetch[0].name}: a Python-side default; pass its value")
        binds = compiled.binds
        self.positional = bool(dialect.positional)
        names: list[str] = list(compiled.positiontup or []) if self.positional else list(binds)
        for name in names:
            if binds[name].expanding:
                raise ValueError(f"{name}: expanding parameters are not supported here")
        self.names = names
        # Only the parameters whose type has a bind processor go through one (on SQLite
        # the timestamps and JSON): a reports row has ~50 parameters, nearly all integers.
        self.processed = processed([binds[n].type._cached_bind_processor(dialect) for n in names])
        self.get = operator.itemgetter(*names) if len(names) > 1 else None
        # Literal values compiled into binds (e.g. where(col == "x")) keep their value.
        self.constants = {
            n: binds[n].value for n in names if binds[n].callable is None and binds[n].value is not None
        }


# Compiled forms by statement and dialect, for the process: every hub (a test makes one
# per test) builds the same ~100 statements, and compiling them was half of a hub's
# start (~65 of ~140 ms on SQLite). Bounded by the statements the code writes.
_COMPILED: dict[Any, _Compiled] = {}


def _dialect_key(dialect: Dialect) -> Any:
    """What a compiled form and its bind processors depend on in a dialect: its class
    (driver), parameter style, the server version it learnt on connecting and its JSON
    serializer (an engine option)."""
    return (
        type(dialect),
        dialect.paramstyle,
        dialect.positional,
        dialect.server_version_info,
        id(getattr(dialect, "_json_serializer", None)),
    )


def _statement_key(stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None) -> Any:
    """SQLAlchemy's own cache key for ``stmt`` (the one its compiled cache uses: the same
    key compiles to the same SQL) with the literal values it leaves out, or None when the
    statement has no key or a literal cannot be a dict key: then it is compiled anew."""
    cache_key = stmt._generate_cache_key()  # type: ignore[attr-defined]
    if cache_key is None:
        return None
    # In the key's order (an anonymous parameter's name holds an object's id).
    literals = tuple((b.value, b.callable) for b in cache_key.bindparams)
    key = (cache_key.key, literals, _dialect_key(dialect), tuple(column_keys) if column_keys else None)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def compiled_for(
    stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
) -> _Compiled:
    key = _statement_key(stmt, dialect, column_keys)
    if key is None:
        return _Compiled(stmt, dialect, column_keys)
    done = _COMPILED.get(key)
    if done is None:
        done = _COMPILED[key] = _Compiled(stmt, dialect, column_keys)
    return done


class Precompiled:
    def __init__(
        self, stmt: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        done = compiled_for(stmt, dialect, column_keys)
        self.sql = done.sql
        self._positional = done.positional
        self._names = done.names
        self._processed = done.processed
        self._get = done.get
        self._constants = done.constants

    def _params(self, values: Mapping[str, Any]) -> Any:
        try:
            out = list(self._get(values)) if self._get is not None else [values[n] for n in self._names]
        except KeyError:  # a name the values leave out: its compiled constant, else None
            out = [values[n] if n in values else self._constants.get(n) for n in self._names]
        apply_processors(out, self._processed)
        return tuple(out) if self._positional else dict(zip(self._names, out, strict=True))

    def params_many(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Each row's driver parameters, for an ``executemany``."""
        return [self._params(r) for r in rows]

    @staticmethod
    def cursor(conn: Connection) -> Any:
        """A cursor on ``conn``'s DB-API connection, inside its transaction (the one
        place the statements here get theirs, so a test can see what they run)."""
        return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Run on ``conn``'s DB-API connection (inside its transaction); returns the cursor."""
        cursor = self.cursor(conn)
        cursor.execute(self.sql, self._params(values))
        return cursor

    def first(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        cursor = self.execute(conn, values)
        try:
            row = cursor.fetchone()
            return tuple(row) if row is not None else None
        finally:
            cursor.close()

    def run(self, conn: Connection, values: Mapping[str, Any]) -> None:
        self.execute(conn, values).close()

    def returning_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """PostgreSQL (psycopg): the one-row ``INSERT … RETURNING id`` over ``rows`` in one
        pipelined ``executemany``; each row's id, in the rows' order.

        The statement's text is the same for every batch, so psycopg converts it once and
        the server prepares it once; a multi-row ``VALUES`` list (SQLAlchemy's
        insertmanyvalues) has a new text for every batch size, and converting that long
        text was most of the lane's client CPU on PostgreSQL."""
        if not rows:
            return []
        cursor = self.cursor(conn)
        try:
            cursor.executemany(self.sql, self.params_many(rows), returning=True)
            ids: list[int] = []
            while True:
                row = cursor.fetchone()
                if row is None:
                    raise RuntimeError("an INSERT … RETURNING returned no row")
                ids.append(int(row[0]))
                if not cursor.nextset():
                    break
        finally:
            cursor.close()
        if len(ids) != len(rows):
            raise RuntimeError(f"{len(rows)} rows inserted, {len(ids)} ids returned")
        return ids

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """One ``executemany`` of the statement over ``rows`` (no results)."""
        if not rows:
            return
        cursor = self.cursor(conn)
        try:
            cursor.executemany(self.sql, self.params_many(rows))
        finally:
            cursor.close()

    def inserted_ids(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """SQLite: a plain ``INSERT`` (no ``RETURNING``) over ``rows`` in one
        ``executemany``; each row's new id, in the rows' order (:func:`sqlite_ids`)."""
        if not rows:
            return []
        cursor = self.cursor(conn)
        try:
            cursor.executemany(self.sql, self.params_many(rows))
            inserted = cursor.rowcount
            cursor.execute("SELECT last_insert_rowid()")
            last = int(cursor.fetchone()[0])
        finally:
            cursor.close()
        return sqlite_ids(last, inserted, len(rows))


def sqlite_ids(last: int, inserted: int, expected: int) -> list[int]:
    """The ids of ``expected`` rows one ``executemany`` inserted into a table whose
    ``INTEGER PRIMARY KEY`` the rows leave to SQLite, given ``last_insert_rowid()``.

    Without ``AUTOINCREMENT`` SQLite gives a new row the largest rowid in the table plus
    one (https://sqlite.org/autoinc.html), and a transaction holds the one write lock
    from its first write, so no other connection inserts in between: the rows' ids are
    consecutive, in the rows' order, the last one ``last_insert_rowid()``. Only a table
    whose largest rowid has reached 2**63-1 takes random ones: refused, not mismatched."""
    if inserted != expected:
        raise RuntimeError(f"{expected} rows to insert, {inserted} inserted")
    first = last - expected + 1
    if first < 1 or last >= 2**63 - 1:
        raise RuntimeError(f"row ids outside SQLite's sequential range: {first}..{last}")
    return list(range(first, last + 1))
