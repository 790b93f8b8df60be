"""List parameters ("the column is one of these values") per database (hub.precompiled).

On PostgreSQL a list is one array parameter — ``column = ANY(:ids::type[])`` — so a
statement's text is the same whatever the list's length: the driver converts it and the
server prepares and plans it once. An expanded ``IN (…)`` has a new text for every
length (asyncpg keeps 100 prepared texts per connection, fewer than the lengths the
consumers' batches take). On SQLite it is one JSON array parameter — ``column IN (SELECT
value FROM json_each(?))`` — for the same reason: an expanded ``IN`` was rendered by
SQLAlchemy (one bound name per value) and prepared by SQLite again at every execution.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hub import outbox, projections
from hub.campaigns import reactor
from hub.crm import figures
from hub.db import migrate
from hub.domain import InboundMessage
from hub.precompiled import PerDialect
from hub.projections import core
from hub.services import search_index
from hub.services.ingest import ingest

_MODULES = (figures, search_index, outbox, projections, reactor)


def _per_dialect_statements() -> list[tuple[str, PerDialect[Any]]]:
    found = [
        (f"{m.__name__}.{name}", value)
        for m in _MODULES
        for name, value in vars(m).items()
        if isinstance(value, PerDialect)
    ]
    assert len(found) >= 15  # the consumers' and the outbox's list reads and writes
    return found


@pytest.mark.parametrize("name_stmt", _per_dialect_statements(), ids=lambda x: x[0])
def test_a_list_is_one_parameter_on_either_database(name_stmt: Any) -> None:
    _, stmt = name_stmt
    pg = stmt(postgresql.psycopg.dialect()).compile(dialect=postgresql.psycopg.dialect())
    lite = stmt(sqlite.dialect()).compile(dialect=sqlite.dialect())
    assert "= ANY (" in pg.string
    assert "IN (SELECT value \nFROM json_each(?))" in lite.string
    # The only expanded lists left are constants written into the statement (a status
    # IN a fixed list): the same length, so the same text, every time.
    for compiled in (pg, lite):
        assert all(b.value is not None for b in compiled.binds.values() if b.expanding)


def test_sqlite_plans_every_list_statement_without_a_table_scan(tmp_path: Path) -> None:
    """The list is a subquery now, not a list of values: SQLite still probes an index
    with each value (or, where it estimates that cheaper, searches another index, as it
    did with the expanded list), and never scans a table."""
    url = f"sqlite:///{tmp_path}/plans.db"
    migrate(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for name, stmt in _per_dialect_statements():
                compiled = stmt(engine.dialect).compile(dialect=engine.dialect)
                sql = re.sub(r"\(__\[POSTCOMPILE_\w+\]\)", "('x')", compiled.string)  # the constant lists
                plan = [
                    r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (None,) * sql.count("?"))
                ]
                assert any(line.startswith("SEARCH ") for line in plan), (name, plan)
                scans = [line for line in plan if line.startswith("SCAN ") and "json_each" not in line]
                assert not scans, (name, plan)
    finally:
        engine.dispose()


async def test_the_same_text_and_the_right_rows_for_lists_of_any_length(app: Any) -> None:
    hub = app.hub
    ids = []
    for i in range(4):
        stored = await ingest(
            hub,
            InboundMessage(
                channel="loopback",
                provider_message_id=f"pd-{i}",
                address_kind="loopback",
                sender=f"pd-{i}",
                body=f"hello {i}",
            ),
        )
        ids.append(stored.message_id)
    texts = set()

    def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "FROM message " in statement and "message.subject" in statement:
            texts.add(" ".join(statement.split()))

    engine = hub.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        for wanted in ([], ids[:1], ids[1:4], [*ids, 10**9]):
            async with hub.db.session() as s:
                rows = (await core(s, search_index._MESSAGES, {"ids": wanted})).all()
            assert sorted(r.id for r in rows) == sorted(i for i in wanted if i in ids)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(texts) == 1, texts
