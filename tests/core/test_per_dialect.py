"""List parameters ("the column is one of these values") per database (hub.precompiled).

On PostgreSQL a list is one array parameter — ``column = ANY(:ids::type[])`` — so a
statement's text is the same whatever the list's length: the driver converts it and the
server prepares and plans it once. An expanded ``IN (…)`` has a new text for every
length (asyncpg keeps 100 prepared texts per connection, fewer than the lengths the
consumers' batches take). SQLite keeps the expanded ``IN``.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hub import outbox, projections
from hub.campaigns import reactor
from hub.crm import figures
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
def test_a_list_is_one_array_on_postgresql_and_an_expanded_in_on_sqlite(name_stmt: Any) -> None:
    _, stmt = name_stmt
    pg = stmt(postgresql.psycopg.dialect()).compile(dialect=postgresql.psycopg.dialect())
    assert "= ANY (" in pg.string
    # The only expanded lists left are constants written into the statement (a status
    # IN a fixed list): the same length, so the same text, every time.
    assert all(b.value is not None for b in pg.binds.values() if b.expanding)
    lite = stmt(sqlite.dialect()).compile(dialect=sqlite.dialect())
    assert any(b.expanding and b.value is None for b in lite.binds.values()) and "ANY" not in lite.string


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
    if hub.db.engine.dialect.name == "postgresql":
        assert len(texts) == 1, texts
    else:
        assert len(texts) >= 2  # an IN list per length (an empty list renders no IN)
