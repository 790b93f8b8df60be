"""The schema is created from empty, and upgrades are idempotent, on both engines."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import hub.models  # noqa: F401  (registers the tables on SQLModel.metadata)
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


def _head(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _drift(url: str) -> list[object]:
    """What autogenerate would still add or drop: the models and migrations agree."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))
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
