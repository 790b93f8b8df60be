"""PostgreSQL's batch writes as one JSON parameter (hub.services.batch_rows.JsonRows).

The rows a lane writes as one ``json_populate_recordset`` statement must read back
exactly as the same rows written one statement each with the columns' own bind
processors (``Precompiled``, the ORM's values): text in any script, JSON columns with
nesting, integers past 64 bits, non-finite floats, timestamps to the microsecond in any
zone, nulls. A value JSON has no form for is refused as ``json`` refuses it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import to_sync_url
from hub.db import sync_engine
from hub.domain import InboundMessage
from hub.models import Message
from hub.precompiled import Precompiled
from hub.services.batch_rows import JsonRows, column_defaults, ids_in_order, pipelined
from hub.services.inbound_batch import InboundWriter, Prepared
from tests.conftest import reset_pg

pytestmark = pytest.mark.postgres

_msg = Message.__table__  # type: ignore[attr-defined]
_DEFAULTS = column_defaults(Message)
T0 = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def db_url(pg_database: str) -> str:
    """PostgreSQL only (the app fixture migrates it)."""
    reset_pg(pg_database)
    return pg_database


@pytest.fixture
def engine(app: Any, db_url: str) -> Iterator[Any]:
    eng = sync_engine(to_sync_url(db_url), pool_size=1)
    yield eng
    eng.dispose()


def _conversation(engine: Any) -> int:
    msg = InboundMessage(
        channel="loopback", provider_message_id="jr-0", address_kind="loopback", sender="jr", body="hi"
    )
    with engine.connect() as conn, conn.begin():
        return InboundWriter(engine.dialect)(conn, [Prepared(msg, "jr", T0, None)])[0].conversation_id


def _rows(conversation_id: int) -> list[dict[str, Any]]:
    hard = 'quote " backslash \\ newline\n tab\t مرحبا، أين طلبي؟ 👋 \u200f'
    base = {
        **_DEFAULTS,
        "conversation_id": conversation_id,
        "channel": "loopback",
        "direction": "outbound",
        "author_type": "agent",
        "author_id": None,
        "kind": "text",
        "delivery_status": "pending",
        "provider_message_id": None,
        "error": None,
    }
    return [
        {
            **base,
            "subject": "",
            "body": hard,
            "attachments": [{"url": "https://x/y.png", "name": hard, "size": 12}],
            "meta": {"nested": {"list": [1, 2.5, None, True, "ü"], "big": 2**70}, "nan": math.nan},
            "raw": {"inf": -math.inf, "empty": {}, "text": hard},
            "created_at": T0,
        },
        {
            **base,
            "subject": "Re: ✓",
            "body": "plain",
            "attachments": [],
            "meta": {},
            "raw": {},
            # Another zone: stored as the same instant.
            "created_at": T0.astimezone(timezone(timedelta(hours=3))) + timedelta(microseconds=1),
        },
    ]


def _read(engine: Any, ids: list[int]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        got = conn.execute(sa.select(_msg).where(_msg.c.id.in_(ids)).order_by(_msg.c.id)).mappings().all()
    return [{k: v for k, v in row.items() if k != "id"} for row in got]


def test_json_rows_store_what_one_statement_a_row_stores(engine: Any) -> None:
    conv = _conversation(engine)
    rows = _rows(conv)
    keys = list(_DEFAULTS)
    one_by_one = Precompiled(sa.insert(_msg).returning(_msg.c.id), engine.dialect, keys)
    as_json = JsonRows(_msg, engine.dialect, keys, returning=True)
    with engine.connect() as conn, conn.begin():
        plain_ids = [int(one_by_one.first(conn, r)[0]) for r in rows]  # type: ignore[index]
        with pipelined(conn):
            json_ids = JsonRows.ids(as_json.run(conn, rows), len(rows))
    assert json_ids == sorted(json_ids) and len(set(json_ids)) == 2
    plain, stored = _read(engine, plain_ids), _read(engine, json_ids)
    assert stored == plain
    assert stored[0]["meta"]["nested"]["big"] == 2**70 and stored[0]["meta"]["nan"] is None
    assert stored[0]["body"] == rows[0]["body"] and stored[0]["created_at"] == T0
    assert stored[1]["created_at"] == T0 + timedelta(microseconds=1)


def test_a_value_json_refuses_fails_the_statement(engine: Any) -> None:
    conv = _conversation(engine)
    bad = {**_rows(conv)[1], "meta": {"when": T0}}
    as_json = JsonRows(_msg, engine.dialect, list(_DEFAULTS))
    with engine.connect() as conn, conn.begin(), pytest.raises(TypeError, match="not JSON serializable"):
        as_json.run(conn, [bad])


def test_ids_in_order_come_back_in_the_rows_order(engine: Any) -> None:
    conv = _conversation(engine)
    rows = [{**_rows(conv)[1], "body": f"n{n}"} for n in range(50)]
    as_json = JsonRows(_msg, engine.dialect, list(_DEFAULTS), returning=True)
    with engine.connect() as conn, conn.begin():
        ids = JsonRows.ids(as_json.run(conn, rows), len(rows))
    bodies = [r["body"] for r in _read(engine, ids)]
    assert bodies == [f"n{n}" for n in range(50)]
    assert ids_in_order([(i,) for i in reversed(ids)], 50) == ids
