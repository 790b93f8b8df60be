"""Setup for the end-to-end bench: the database, its seed, the hub's config file.

Agents, their sessions and their assigned conversations are written straight into the
database (hashing 1,000 passwords and signing in 1,000 times would measure argon2, not
the message path); everything measured goes through the hub's public HTTP and websocket
paths. Each conversation is assigned to its agent, so every customer message is pushed
to exactly one agent socket.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Seeded:
    tokens: list[str]  # session cookie per agent
    conversations: list[list[int]]  # conversation ids per agent (two each)


async def seed(database_url: str, agents: int) -> Seeded:
    """Migrate ``database_url`` (sqlite:/// or postgresql://) and write the bench's data."""
    from hub.config import to_async_url, to_sync_url
    from hub.db import Database, migrate
    from hub.models import (
        AuthSession,
        Contact,
        Conversation,
        ConversationStatus,
        Identity,
        Presence,
        Role,
        Team,
        TeamMember,
        User,
    )
    from hub.timeutil import utcnow

    migrate(to_sync_url(database_url))
    db = Database(to_async_url(database_url))
    now = utcnow()
    tokens = [secrets.token_urlsafe(24) for _ in range(agents)]
    try:
        async with db.transaction() as s:
            teams = [Team(name=f"bench-team-{i}") for i in range(max(1, agents // 10))]
            s.add_all(teams)
            await s.flush()
            users = [
                User(
                    email=f"agent{i}@bench.test",
                    name=f"Agent {i}",
                    role=Role.agent,
                    presence=Presence.busy,  # routing offers them nothing new
                )
                for i in range(agents)
            ]
            s.add_all(users)
            await s.flush()
            contacts = [Contact(name=f"bench-cust-{i}-{k}") for i in range(agents) for k in range(2)]
            s.add_all(contacts)
            await s.flush()
            for i, u in enumerate(users):
                team = teams[i % len(teams)]
                s.add(TeamMember(team_id=team.id, user_id=u.id))  # type: ignore[arg-type]
                s.add(
                    AuthSession(
                        token_hash=hashlib.sha256(tokens[i].encode()).hexdigest(),
                        user_id=u.id,  # type: ignore[arg-type]
                        csrf_token="bench",
                        expires_at=now.replace(year=now.year + 1),
                    )
                )
            convs = []
            for n, contact in enumerate(contacts):
                i = n // 2
                s.add(Identity(contact_id=contact.id, kind="loopback", address=contact.name))  # type: ignore[arg-type]
                conv = Conversation(
                    contact_id=contact.id,  # type: ignore[arg-type]
                    channel="loopback",
                    contact_address=contact.name,
                    status=ConversationStatus.assigned,
                    team_id=teams[i % len(teams)].id,
                    assignee_id=users[i].id,
                    queued_at=now,
                )
                convs.append(conv)
            s.add_all(convs)
            await s.flush()
            by_agent: list[list[int]] = [[] for _ in range(agents)]
            for n, conv in enumerate(convs):
                by_agent[n // 2].append(conv.id)  # type: ignore[arg-type]
    finally:
        await db.dispose()
    return Seeded(tokens, by_agent)


def hub_config(
    path: Path, *, database_url: str, data_dir: Path, port: int, token: str, journal: Path
) -> Path:
    """The hub's TOML: log warnings only, the outbox at its defaults, loopback with a journal."""
    path.write_text(
        f"""
database_url = {json.dumps(database_url)}
data_dir = {json.dumps(str(data_dir))}
host = "127.0.0.1"
port = {port}
log_level = "WARNING"

[outbox]
# the shipped defaults, spelled out
max_attempts = 6
batch_size = 200
poll_interval_seconds = 5.0
lease_seconds = 60.0

[channels.loopback]
token = {json.dumps(token)}
# every accepted send: one JSON line, fsynced; the bench counts replies from it
journal = {json.dumps(str(journal))}
""",
        encoding="utf-8",
    )
    return path


def create_pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def pg_backend_pids(name: str) -> list[int]:
    """PostgreSQL server processes serving database ``name`` (their CPU is the DB's share)."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
    return [int(r[0]) for r in rows]
