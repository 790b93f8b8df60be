"""The schema is created from empty, and upgrades are idempotent, on both engines."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import command

from hub.db import alembic_config, current_revision, migrate

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
    assert EXPECTED <= _tables(url) and current_revision(url) == "0003"
    migrate(url)  # a second run is a no-op
    assert current_revision(url) == "0003"


def test_postgresql_from_empty(pg_server: str) -> None:
    name = f"sb_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = pg_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        assert current_revision(url) is None
        migrate(url)
        assert EXPECTED <= _tables(url) and current_revision(url) == "0003"
        command.downgrade(alembic_config(url), "base")  # the downgrade path works too
        assert not (EXPECTED & _tables(url))
        migrate(url)
        assert current_revision(url) == "0003"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
