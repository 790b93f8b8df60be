"""Small helpers for tests that go through public interfaces."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import sqlalchemy as sa

from hub.models import Role
from hub.services import SYSTEM
from hub.services.users import create_team, create_user

PASSWORD = "correct horse battery"


async def team(hub: Any, name: str, **kw: Any) -> int:
    t = await create_team(hub, SYSTEM, name=name, **kw)
    assert t.id is not None
    return t.id


async def user(
    hub: Any, email: str, role: Role = Role.agent, team_ids: tuple[int, ...] = (), **kw: Any
) -> int:
    u, _ = await create_user(
        hub,
        SYSTEM,
        email=email,
        name=kw.pop("name", email.split("@")[0].title()),
        role=role,
        password=PASSWORD,
        team_ids=team_ids,
        **kw,
    )
    assert u.id is not None
    return u.id


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in; returns headers (CSRF) to send with state-changing requests."""
    res = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert res.status_code == 200, res.text
    return {"x-csrf-token": res.json()["csrf_token"]}


async def inbound(client: httpx.AsyncClient, sender: str, body: str, **kw: Any) -> dict[str, Any]:
    res = await client.post("/channels/loopback/messages", json={"sender": sender, "body": body, **kw})
    assert res.status_code in (200, 201), res.text
    data: dict[str, Any] = res.json()
    return data


@contextlib.contextmanager
def statements(hub: Any, prefix: str = "") -> Iterator[list[str]]:
    """The SQL statements (whitespace collapsed) the hub's async engine runs inside the
    block, those starting with ``prefix`` only. Other tasks of the hub (its projection
    loop, the outbox, routing) run statements too: stop them, or look for your own."""
    with statements_sync(hub.db.engine.sync_engine, prefix) as seen:
        yield seen


@contextlib.contextmanager
def statements_sync(engine: Any, prefix: str = "") -> Iterator[list[str]]:
    """The same for a synchronous engine (a group-commit lane's), including what runs
    on that engine's connections straight on the driver's cursor (hub.precompiled)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        text = " ".join(statement.split())
        if text.startswith(prefix):
            seen.append(text)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with _precompiled_calls(seen, engine, prefix):
            yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@contextlib.contextmanager
def driver_calls(conn: sa.Connection) -> Iterator[list[str]]:
    """The statements a lane's connection hands its driver inside the block, one entry
    per ``execute`` or ``executemany`` call (whitespace collapsed), including those run
    straight on the cursor (hub.precompiled). PostgreSQL: a recording psycopg cursor.
    SQLite: SQLAlchemy's events, and a recording cursor for the precompiled ones."""
    seen: list[str] = []
    if conn.dialect.name != "postgresql":
        with statements_sync(conn.engine) as seen:
            yield seen
        return
    import psycopg

    def record(query: Any) -> None:
        seen.append(" ".join(str(query).split()))

    class Recording(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kw: Any) -> Any:
            record(query)
            return super().execute(query, *args, **kw)

        def executemany(self, query: Any, *args: Any, **kw: Any) -> Any:
            record(query)
            return super().executemany(query, *args, **kw)

    raw: Any = conn.connection.dbapi_connection
    before = raw.cursor_factory
    raw.cursor_factory = Recording
    try:
        yield seen
    finally:
        raw.cursor_factory = before


@contextlib.contextmanager
def _precompiled_calls(seen: list[str], engine: Any, prefix: str = "") -> Iterator[None]:
    """Record what hub.precompiled runs straight on a cursor of ``engine``'s
    connections, into ``seen``."""
    from hub.precompiled import Precompiled

    def record(query: str) -> None:
        text = " ".join(query.split())
        if text.startswith(prefix):
            seen.append(text)

    class Recording:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def execute(self, query: str, *args: Any) -> Any:
            record(query)
            return self._cursor.execute(query, *args)

        def executemany(self, query: str, *args: Any) -> Any:
            record(query)
            return self._cursor.executemany(query, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

    original = Precompiled.__dict__["cursor"]

    def cursor(conn: Any) -> Any:
        raw = original.__func__(conn)
        return Recording(raw) if conn.engine is engine else raw

    Precompiled.cursor = staticmethod(cursor)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Precompiled.cursor = original  # type: ignore[method-assign]


def load_bench(name: str) -> Any:
    """A benchmark script of bench/ as a module (they are scripts, not a package)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
