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

from sqlmodel import col, select

from hub.db import Database
from hub.models import AuthSession, TeamMember, User

# Bounds one statement's IN list; more pending checks wait for the next batch.
MAX_BATCH = 200


@dataclass(frozen=True, slots=True)
class SessionRead:
    user: User
    session: AuthSession
    team_ids: frozenset[int]


class SessionReads:
    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now
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
        now = self._now()
        async with self._db.session() as s:
            rows = (
                await s.exec(
                    select(User, AuthSession)
                    .join(AuthSession, col(AuthSession.user_id) == User.id)
                    .where(col(AuthSession.token_hash).in_(hashes))
                )
            ).all()
            live = [(u, a) for u, a in rows if a.expires_at > now and u.active]
            teams: dict[int, set[int]] = {}
            user_ids = sorted({u.id for u, _ in live if u.id is not None})
            if user_ids:
                for team_id, user_id in (
                    await s.exec(
                        select(TeamMember.team_id, TeamMember.user_id).where(
                            col(TeamMember.user_id).in_(user_ids)
                        )
                    )
                ).all():
                    teams.setdefault(user_id, set()).add(team_id)
        return {a.token_hash: SessionRead(u, a, frozenset(teams.get(u.id or 0, ()))) for u, a in live}
