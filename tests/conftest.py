"""Shared fixtures: real SQLite and PostgreSQL, real Redis, the real app.

Service tests run twice, once per database backend (``db_url`` is parametrized).
PostgreSQL: one database per test session, migrated once, emptied between tests.
SQLite: a copy of a migrated template file per test.
With pytest-xdist each worker is a session of its own: its own database, template,
temp dir and dovecot; Redis keys carry a per-test prefix.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from argon2 import PasswordHasher

import hub.auth
from channels.loopback import LoopbackChannel
from channels.registry import ChannelRegistry
from hub.app import create_app
from hub.config import Settings, load_settings
from hub.db import migrate

# Argon2 at test strength (still real argon2id hashes and verification): the
# production parameters cost ~0.15 s of CPU and 64 MiB per hash, and nearly every test
# creates users and signs in — minutes of the suite for nothing it tests.
# tests/core/test_api_auth.py checks the production parameters themselves.
hub.auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
hub.auth._DUMMY_HASH = hub.auth._hasher.hash(uuid.uuid4().hex)

PG_ADMIN_URL = os.environ.get("SWITCHBOARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _require(host: str, port: int, what: str) -> None:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError:
        pytest.exit(
            f"{what} is required at {host}:{port} and is not reachable; run scripts/ensure-services.sh "
            "(make test does) — tests never skip it",
            returncode=3,
        )


@pytest.fixture(scope="session")
def pg_server() -> str:
    _require("127.0.0.1", 5432, "PostgreSQL")
    return PG_ADMIN_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    _require("127.0.0.1", 6379, "Redis")
    return REDIS_URL


class FakeClock:
    """Deterministic time for services (``hub.clock``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


# Rows migrations seed (default tiers, complaint options, surveys): restored after each reset.
SEEDED = ("tier", "complaint_option", "survey_definition", "survey_policy", "label")


def pg_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """The schema's tables, from the catalogue: all but Alembic's and the seed copies."""
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version' AND tablename NOT LIKE '\\_seed\\_%'"
    )
    return [r[0] for r in rows]


def reset_pg(url: str) -> None:
    """Empty every table of the test database and restore the seeded rows, as after the
    migration: every table the schema has (read from the catalogue, so a new table can
    never leak rows from one test into the next), every sequence back to its start.

    ``DELETE`` with foreign-key triggers off (``session_replication_role = replica``),
    not ``TRUNCATE``: on these nearly empty tables it takes ~20 ms instead of ~450 ms
    (TRUNCATE makes new files for ~60 tables), which is minutes of ``make test``.
    """
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for table in pg_tables(conn):
            conn.execute(f'DELETE FROM "{table}"')
        conn.execute(
            "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
            "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
        )
        for table in SEEDED:
            conn.execute(f"INSERT INTO {table} SELECT * FROM _seed_{table}")
        # A seeded table with a serial id: the next id follows the seeded rows.
        for (table,) in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'id' AND table_name = ANY(%s)",
            (list(SEEDED),),
        ).fetchall():
            conn.execute(
                f"SELECT setval(seq, (SELECT max(id) FROM {table})) "
                f"FROM pg_get_serial_sequence('{table}', 'id') AS seq "
                f"WHERE seq IS NOT NULL AND EXISTS (SELECT 1 FROM {table})"
            )


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Iterator[str]:
    name = f"sb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    migrate(url.replace("postgresql://", "postgresql+psycopg://"))
    with psycopg.connect(url, autocommit=True) as conn:
        for table in SEEDED:
            conn.execute(f"CREATE TABLE _seed_{table} AS SELECT * FROM {table}")
    yield url
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "hub.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    reset_pg(url)
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"sbtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter(f"{prefix}*"))
    if keys:
        r.delete(*keys)
    r.close()


def make_settings(db_url: str, tmp_path: Path, **extra: Any) -> Settings:
    base: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": str(tmp_path / "var"),
        "channels": {"loopback": {}},
    }
    base.update(extra)
    return load_settings(None, **base)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


@pytest.fixture
def loopback() -> LoopbackChannel:
    return LoopbackChannel()


class App:
    """The real app with its lifespan entered, plus an HTTP client."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self._extra: list[httpx.AsyncClient] = []

    def new_client(self) -> httpx.AsyncClient:
        """Another browser: its own cookie jar, same app."""
        c = httpx.AsyncClient(transport=self.client._transport, base_url="http://testserver")
        self._extra.append(c)
        return c

    @property
    def hub(self) -> Any:
        return self.app.state.hub

    @property
    def worker(self) -> Any:
        return self.app.state.outbox_worker


@pytest.fixture
def extra_channels() -> list[Any]:
    """Override in a test module to register more adapters on the app under test."""
    return []


@pytest.fixture
def routing_enabled() -> bool:
    """Override to True in a module to run the routing driver inside the app."""
    return False


@pytest.fixture
async def app(
    settings: Settings,
    clock: FakeClock,
    loopback: LoopbackChannel,
    extra_channels: list[Any],
    routing_enabled: bool,
) -> AsyncIterator[App]:
    registry = ChannelRegistry()
    registry.register(loopback)
    for channel in extra_channels:
        registry.register(channel)
    application = create_app(
        settings, clock=clock, channels=registry, run_outbox_worker=False, run_routing=routing_enabled
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("203.0.113.9", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            wrapped = App(application, client)
            yield wrapped
            for extra in wrapped._extra:
                await extra.aclose()


@pytest.fixture
def hub(app: App) -> Any:
    return app.hub


class Live:
    """The app served by a real uvicorn on an ephemeral port, in the test's loop."""

    def __init__(self, app: App, port: int) -> None:
        self.app = app
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.ws_base = f"ws://127.0.0.1:{port}"

    async def session(self, email: str, password: str) -> tuple[str, str]:
        """Sign in over HTTP; returns (cookie header value, csrf token)."""
        async with httpx.AsyncClient(base_url=self.base) as c:
            r = await c.post("/api/v1/auth/login", json={"email": email, "password": password})
            assert r.status_code == 200, r.text
            return f"sb_session={r.cookies['sb_session']}", r.json()["csrf_token"]


@pytest.fixture
async def live(app: App) -> AsyncIterator[Live]:
    import asyncio

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    from hub.http_protocol import HubHttpProtocol

    # As `switchboard serve` runs it: every browser test goes through the hub's protocol.
    config = uvicorn.Config(
        app.app, lifespan="off", log_level="warning", http=HubHttpProtocol, ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    # startup() returns once the socket is listening: no polling needed.
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    assert server.started, "uvicorn did not start"
    loop_task = asyncio.create_task(server.main_loop())
    yield Live(app, port)
    server.should_exit = True
    await asyncio.wait_for(loop_task, 10)
    await server.shutdown(sockets=[sock])
    sock.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run in two xdist groups (``--dist loadgroup``), balanced by test
    count per file, on SQLite only.

    Each drives its own headless Chromium (several processes) and Playwright driver
    against a live uvicorn, with 10-15 s UI timeouts. They were one group, one at a
    time; at 79 tests that group alone took longer than the rest of the suite, so each
    worker now takes one half (xdist hands out the largest groups first) and the rest
    of the suite fills in around them. A page reads the same API whatever database
    is under it, and every API test runs on both SQLite and PostgreSQL, so the browser
    tests' PostgreSQL variants are deselected (shown as such in the summary): they
    doubled the browser group, the suite's long pole.
    """
    deselected = []
    browser: dict[str, list[pytest.Item]] = {}
    for item in items:
        if item.get_closest_marker("browser"):
            callspec = getattr(item, "callspec", None)
            if callspec is not None and callspec.params.get("db_url") == "postgresql":
                deselected.append(item)
                continue
            browser.setdefault(str(item.path), []).append(item)
    sizes = [0, 0]
    for _, group in sorted(browser.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        half = 0 if sizes[0] <= sizes[1] else 1
        sizes[half] += len(group)
        for item in group:
            item.add_marker(pytest.mark.xdist_group(f"browser-{half}"))
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [i for i in items if i not in set(deselected)]
