"""PostgreSQL plans every execution of the hub's statements anew (hub/db.py).

Both drivers prepare a statement that runs often, and PostgreSQL's default then caches
a generic plan for the connection's life once it is no dearer than the custom ones: on
a table of a few pages, a sequential scan. Where nothing analyzes the table, that plan
is kept while the table grows, and the log's consumers' lookups by id scanned whole
tables (30–120 ms a read in the end-to-end bench). These tests read PostgreSQL's own
record of each prepared statement's plans (``pg_prepared_statements``): the hub's
connections make custom plans only; the control, a plain connection told to use generic
plans, shows that the check sees them (whether PostgreSQL's own default switches
depends on the table's size and statistics at the moment, so it is no fixed control).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine

from hub.config import to_async_url, to_sync_url
from hub.db import JSON_CODEC, Database, autovacuum_off, sync_engine
from hub.models import EventLog
from tests.conftest import reset_pg

pytestmark = pytest.mark.postgres

_events = EventLog.__table__  # type: ignore[attr-defined]
# The projections' read of a round's events by id, as hub/projections.py runs it.
_BY_ID = sa.select(_events.c.id, _events.c.type).where(_events.c.id == sa.func.any(sa.bindparam("ids")))
_PLANS = sa.text(
    "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) FROM pg_prepared_statements "
    "WHERE statement LIKE 'SELECT event_log.id, event_log.type%'"
)
RUNS = 12  # past both drivers' preparing (psycopg: 5th run) and PostgreSQL's switch (after 5 custom plans)


@pytest.fixture
def pg_url(pg_database: str) -> str:
    reset_pg(pg_database)
    return pg_database


def _plans_sync(engine: Any, mode: str | None = None) -> tuple[int, int, str]:
    with engine.connect() as conn:
        if mode is not None:
            conn.execute(sa.text(f"SET plan_cache_mode = {mode}"))
        for n in range(RUNS):
            conn.execute(_BY_ID, {"ids": [n, n + 1, n + 2]}).all()
        generic, custom = conn.execute(_PLANS).one()
        mode = conn.execute(sa.text("SHOW plan_cache_mode")).scalar_one()
        conn.rollback()
    return int(generic), int(custom), str(mode)


def test_the_lanes_connections_never_cache_a_generic_plan(pg_url: str) -> None:
    lanes = sync_engine(to_sync_url(pg_url), pool_size=1)
    plain = create_engine(to_sync_url(pg_url), **JSON_CODEC)
    try:
        generic, custom, mode = _plans_sync(lanes)
        assert mode == "force_custom_plan"
        assert generic == 0 and custom >= RUNS - 5, (generic, custom)
        # The same connection, back from the pool after a rollback: still set.
        assert _plans_sync(lanes)[2] == "force_custom_plan"
        # The control: generic plans are seen when they are made.
        generic, _, mode = _plans_sync(plain, "force_generic_plan")
        assert mode == "force_generic_plan" and generic > 0
    finally:
        lanes.dispose()
        plain.dispose()


async def test_the_async_engines_connections_never_cache_a_generic_plan(pg_url: str) -> None:
    db = Database(to_async_url(pg_url))
    try:
        for _ in range(2):  # the second time on the connection back from the pool
            async with db.engine.connect() as conn:
                for n in range(RUNS):
                    (await conn.execute(_BY_ID, {"ids": [n, n + 1, n + 2]})).all()
                generic, custom = (await conn.execute(_PLANS)).one()
                mode = (await conn.execute(sa.text("SHOW plan_cache_mode"))).scalar_one()
                await conn.rollback()
            assert mode == "force_custom_plan"
            assert generic == 0 and custom >= RUNS - 5, (generic, custom)
    finally:
        await db.dispose()


def test_the_provider_id_check_probes_the_whole_unique_index(pg_url: str) -> None:
    """The ingest lane's provider-id check joins the batch's (channel, provider id)
    pairs to the table, so each probe uses both columns of the unique index on a table
    the planner has no statistics for (never analyzed, as on a new database or with
    autovacuum off); with ``channel = ANY(…) AND provider_message_id = ANY(…)`` it
    filtered the second column and read every inbound message of the channel. The
    identities' and open conversations' reads are built the same way."""
    from hub.domain import InboundMessage
    from hub.models import Message
    from hub.services.batch_rows import JsonRows, column_defaults
    from hub.services.inbound_batch import _SEEN_PAIRS_PG, InboundWriter, Prepared

    engine = sync_engine(to_sync_url(pg_url), pool_size=1)
    table = Message.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    try:
        msg = InboundMessage(
            channel="loopback", provider_message_id="p-0", address_kind="loopback", sender="c0", body="hi"
        )
        with engine.connect() as conn, conn.begin():
            stored = InboundWriter(engine.dialect)(conn, [Prepared(msg, "c0", now, None)])[0]
            row = {
                **column_defaults(Message),
                "conversation_id": stored.conversation_id,
                "channel": "loopback",
                "direction": "inbound",
                "author_type": "contact",
                "kind": "text",
                "body": "hello",
                "delivery_status": "received",
                "created_at": now,
            }
            bulk = JsonRows(table, engine.dialect, list(row))
            for b in range(10):  # 30,000 inbound messages
                bulk.run(conn, [{**row, "provider_message_id": f"p-{b}-{i}"} for i in range(3000)]).close()
        sql = str(_SEEN_PAIRS_PG.compile(dialect=engine.dialect))
        params = {"channels": ["loopback"] * 2, "pids": ["p-3-7", "nope"]}
        with engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            assert raw.execute("SELECT reltuples FROM pg_class WHERE relname = 'message'").fetchone()[0] == -1
            plan = raw.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()[0][0]["Plan"]
            assert sorted(r[1] for r in raw.execute(sql, params).fetchall()) == ["p-3-7"]
        nodes = list(_nodes(plan))
        probes = [n for n in nodes if n.get("Relation Name") == "message"]
        assert probes and all(
            "channel" in n.get("Index Cond", "") and "provider_message_id" in n.get("Index Cond", "")
            for n in probes
        ), json.dumps(plan)
        assert not any("provider_message_id" in n.get("Filter", "") + n.get("Join Filter", "") for n in nodes)
    finally:
        engine.dispose()


def _nodes(plan: dict[str, Any]) -> Any:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def test_the_hub_warns_at_start_when_autovacuum_is_off(
    app: Any, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On either database: the warning is given exactly when the server's autovacuum is
    off (SQLite has none: never). The bench machines' PostgreSQL runs with it off."""
    expected = False
    if db_url.startswith("postgresql"):
        with psycopg.connect(db_url) as conn:
            expected = conn.execute("SHOW autovacuum").fetchone()[0] == "off"  # type: ignore[index]
    assert await autovacuum_off(app.hub.db) is expected
    warned = [r for r in caplog.get_records("setup") if "autovacuum is off" in r.getMessage()]
    assert len(warned) == int(expected)
