"""The schema is created from empty, and upgrades are idempotent, on both engines."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import hub.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from hub.db import alembic_config, current_revision, include_name, migrate

EXPECTED = {
    "contact",
    "identity",
    "conversation",
    "message",
    "user",
    "team",
    "teammember",
    "offer",
    "event_log",
    "outbox",
    "authsession",
    "apitoken",
}


def _head(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _drift(url: str) -> list[object]:
    """What autogenerate would still add or drop: the models and migrations agree."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                compare_metadata(
                    MigrationContext.configure(conn, opts={"include_name": include_name}), SQLModel.metadata
                )
            )
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_from_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    assert current_revision(url) is None
    migrate(url)
    assert EXPECTED <= _tables(url) and current_revision(url) == _head(url)
    migrate(url)  # a second run is a no-op
    assert current_revision(url) == _head(url)
    assert _drift(url) == []


def test_postgresql_from_empty(pg_server: str) -> None:
    name = f"sb_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = pg_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        assert current_revision(url) is None
        migrate(url)
        assert EXPECTED <= _tables(url) and current_revision(url) == _head(url)
        assert _drift(url) == []
        command.downgrade(alembic_config(url), "base")  # the downgrade path works too
        assert not (EXPECTED & _tables(url))
        migrate(url)
        assert current_revision(url) == _head(url)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _upgrade_with_data(url: str) -> None:
    """Upgrade a database holding real rows from 0003 (before this stage's migrations)."""
    from datetime import UTC, datetime

    from hub.models import ApiToken, Contact, Conversation, Message, User
    from hub.services.batch_rows import column_defaults

    migrate(url, "0003")
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:

            def insert(model: type, **values: object) -> int:
                table = sa.Table(model.__tablename__, sa.MetaData(), autoload_with=conn)  # type: ignore[attr-defined]
                row = {k: v for k, v in column_defaults(model).items() if k in table.c}
                row.update(
                    {c.name: now for c in table.c if c.name in row and isinstance(row[c.name], datetime)}
                )
                row.update(values)
                return int(conn.execute(sa.insert(table).values(row).returning(table.c.id)).scalar_one())

            uid = insert(User, email="a@example.com", name="A", role="admin")
            insert(ApiToken, user_id=uid, name="ci", token_hash="h" * 64)
            cid = insert(Contact, name="C")
            conv = insert(Conversation, contact_id=cid, channel="sms", status="queued")
            for direction, pid in (("inbound", "SM-in"), ("outbound", "SM-out")):
                insert(
                    Message,
                    conversation_id=conv,
                    channel="sms",
                    direction=direction,
                    author_type="contact",
                    delivery_status="received",
                    provider_message_id=pid,
                )
        # A rollup row written by 0008, before 0009 added its columns.
        migrate(url, "0008")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO report_slot (slot, team_id, channel, agent_id, conversations, inbound,"
                    " outbound, agent_replies, resolved, reopened, transfers, surveys_sent)"
                    " VALUES (1000, 0, 'sms', 0, 1, 2, 1, 0, 0, 0, 0, 0)"
                )
            )
        migrate(url)
        assert current_revision(url) == _head(url) and _drift(url) == []
        with engine.begin() as conn:
            # 0009: old rollup rows get zeros, old conversations no abandonment; 0011 seeds a label.
            row = conn.execute(
                sa.text("SELECT inbound, abandoned, handle_s, signed_in_s FROM report_slot")
            ).one()
            assert tuple(row) == (2, 0, 0.0, 0.0)
            # 0016: the old row's duration counts and sums read zero (a rebuild refills them).
            sums = conn.execute(sa.text("SELECT frt_count, frt_sum, answered_in_sl FROM report_slot")).one()
            assert tuple(sums) == (0, 0.0, 0)
            # 0022: the old row's answer counts read zero; report_hour starts empty (the
            # reports projection refolds the log on the next start).
            answers = conn.execute(sa.text("SELECT csat_count, nps_count, ces_sum FROM report_slot")).one()
            assert tuple(answers) == (0, 0, 0)
            assert conn.execute(sa.text("SELECT count(*) FROM report_hour")).scalar_one() == 0
            assert conn.execute(sa.text("SELECT abandoned_at FROM conversation")).scalar_one() is None
            assert conn.execute(sa.text("SELECT key FROM label")).scalars().all() == ["callback"]
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT expires_at FROM apitoken")).scalar_one() is None
            pids = conn.execute(
                sa.text("SELECT direction, provider_message_id FROM message ORDER BY id")
            ).all()
            assert [tuple(r) for r in pids] == [("inbound", "SM-in"), ("outbound", "SM-out")]
            # 0007 and 0008 on a database with rows: defaults seeded, old rows untouched.
            assert conn.execute(sa.text("SELECT count(*) FROM complaint_option")).scalar_one() == 18
            assert conn.execute(sa.text("SELECT enabled FROM survey_policy")).scalar_one() in (False, 0)
            assert conn.execute(sa.text("SELECT count(*) FROM survey_definition")).scalar_one() == 3
            assert conn.execute(sa.text("SELECT status FROM conversation")).scalar_one() == "queued"
            # After the upgrade an outbound id may repeat; an inbound id still may not.
            conn.execute(
                sa.text(
                    "INSERT INTO message (conversation_id, channel, direction, author_type, kind, subject,"
                    " body, attachments, provider_message_id, delivery_status, meta, raw, created_at)"
                    " SELECT conversation_id, channel, direction, author_type, kind, subject, body,"
                    " attachments, provider_message_id, delivery_status, meta, raw, created_at"
                    " FROM message WHERE direction = 'outbound'"
                )
            )
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO message (conversation_id, channel, direction, author_type, kind, subject,"
                    " body, attachments, provider_message_id, delivery_status, meta, raw, created_at)"
                    " SELECT conversation_id, channel, direction, author_type, kind, subject, body,"
                    " attachments, provider_message_id, delivery_status, meta, raw, created_at"
                    " FROM message WHERE direction = 'inbound'"
                )
            )
    finally:
        engine.dispose()


def test_sqlite_upgrade_keeps_existing_rows(tmp_path: Path) -> None:
    _upgrade_with_data(f"sqlite:///{tmp_path}/old.db")


def test_postgresql_upgrade_keeps_existing_rows(pg_server: str) -> None:
    name = f"sb_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        _upgrade_with_data(
            pg_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        )
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_the_reset_between_postgresql_tests_empties_every_table(app: Any, db_url: str) -> None:
    """conftest.reset_pg leaves the database as the migration did: rows of real traffic
    in many tables are gone, the seeded rows are back, and ids start again at 1."""
    from tests.conftest import SEEDED, reset_pg
    from tests.helpers import inbound

    await inbound(app.client, "cust-1", "hello")
    await inbound(app.client, "cust-2", "and again")
    await app.hub.projections.catch_up()
    filled = _counts(db_url)
    assert sum(1 for n in filled.values() if n) >= 8, filled  # traffic reached many tables

    # In a thread: the hub's own connections in this loop keep answering meanwhile.
    await asyncio.to_thread(reset_pg, db_url)
    after = _counts(db_url)
    with psycopg.connect(db_url) as conn:
        for table in SEEDED:
            seed = conn.execute(f"SELECT count(*) FROM _seed_{table}").fetchone()
            assert seed is not None and after[table] == seed[0] > 0, table
    assert {t: n for t, n in after.items() if n and t not in SEEDED} == {}
    again = await inbound(app.client, "cust-3", "first after the reset")
    assert again["conversation_id"] == 1


def _counts(url: str) -> dict[str, int]:
    from tests.conftest import pg_tables

    with psycopg.connect(url) as conn:
        tables = pg_tables(conn)
        assert set(SQLModel.metadata.tables) <= set(tables)
        out = {}
        for t in tables:
            row = conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()
            out[t] = row[0] if row else 0
        return out
