"""Session-cookie checks coalesced: concurrent credential reads share one query.

Every REST request and every console socket command re-reads its session and the
user's teams, so a right taken away is never used again, even before the change's
event reaches this process. Under load that is two reads per request or command,
each its own trip to the database (on SQLite, to its connection's thread).

:class:`SessionReads` keeps the guarantee and shares the cost: a check waits for the
next read that *starts after it was asked for* — a batch already running never
answers a later caller — and one batch reads every pending session and the teams of
their users in two statements on one connection. With no concurrency a batch holds
one check and costs what the two reads cost before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.db import Database
from hub.models import AuthSession, TeamMember, User
from hub.sqlite_driver import inline

# Bounds one statement's IN list; more pending checks wait for the next batch.
MAX_BATCH = 200


@dataclass(frozen=True, slots=True)
class SessionRead:
    user: User  # read-only: built from the row (model_construct), in no ORM session
    csrf_token: str
    team_ids: frozenset[int]


class SessionReads:
    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now
        self._statement = _SESSIONS_SQLITE if db.is_sqlite else _SESSIONS_PG
        self._pending: dict[str, list[asyncio.Future[SessionRead | None]]] = {}
        self._worker: asyncio.Task[None] | None = None

    async def read(self, hashed_token: str) -> SessionRead | None:
        """The active user of the unexpired session with this token hash, and their teams."""
        fut: asyncio.Future[SessionRead | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(hashed_token, []).append(fut)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="session-reads")
        return await fut

    async def _drain(self) -> None:
        while self._pending:
            hashes = list(self._pending)[:MAX_BATCH]
            batch = {h: self._pending.pop(h) for h in hashes}
            try:
                found = await self._read(hashes)
            except BaseException as exc:
                for futs in batch.values():
                    for fut in futs:
                        if not fut.done():
                            fut.set_exception(
                                exc if isinstance(exc, Exception) else RuntimeError("cancelled")
                            )
                if not isinstance(exc, Exception):
                    self._fail_pending()
                    raise
                continue
            for h, futs in batch.items():
                for fut in futs:
                    if not fut.done():
                        fut.set_result(found.get(h))

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for futs in pending.values():
            for fut in futs:
                if not fut.done():
                    fut.set_exception(RuntimeError("session check cancelled"))

    async def _read(self, hashes: list[str]) -> dict[str, SessionRead]:
        # One Core statement built once and plain rows: as ORM entities (two objects and
        # their identity map per session read) the check cost about twice as much CPU,
        # and every socket command pays it. Inline on SQLite (hub.sqlite_driver): reads.
        now = self._now()
        with inline():
            async with self._db.engine.connect() as c:
                rows = (await c.execute(self._statement, {"hashes": hashes})).all()
        live = [r for r in rows if r.session_expires_at > now and r.active]
        out: dict[str, SessionRead] = {}
        for r in live:
            values = r._mapping
            user = User.model_construct(**{k: values[k] for k in _USER_FIELDS})
            team_ids = frozenset(int(t) for t in r.team_ids.split(",")) if r.team_ids else frozenset()
            out[r.session_token_hash] = SessionRead(user, r.session_csrf_token, team_ids)
        return out


_user = User.__table__  # type: ignore[attr-defined]
_auth = AuthSession.__table__  # type: ignore[attr-defined]
_member = TeamMember.__table__  # type: ignore[attr-defined]
_USER_FIELDS = tuple(c.name for c in _user.columns)


def _sessions(team_ids: Any) -> Any:
    """The sessions with these token hashes, their users and the users' teams (as
    comma-separated ids: one statement, where a second read of the teams was a
    quarter of a check's CPU)."""
    teams = sa.select(team_ids).where(_member.c.user_id == _user.c.id).scalar_subquery()
    return (
        sa.select(
            *_user.columns,
            _auth.c.token_hash.label("session_token_hash"),
            _auth.c.csrf_token.label("session_csrf_token"),
            _auth.c.expires_at.label("session_expires_at"),
            teams.label("team_ids"),
        )
        .join_from(_user, _auth, _auth.c.user_id == _user.c.id)
        .where(_auth.c.token_hash.in_(sa.bindparam("hashes", expanding=True)))
    )


_SESSIONS_SQLITE = _sessions(sa.func.group_concat(_member.c.team_id, ","))
_SESSIONS_PG = _sessions(sa.func.string_agg(sa.cast(_member.c.team_id, sa.String), ","))
