"""Coalesced session checks (hub.session_reads): concurrent checks share a read, a
check is never answered by a read that started before it was asked, and a failed
read fails only the checks it carried."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, event
from sqlmodel import col, select

from hub.auth import SESSION_COOKIE, token_hash
from hub.models import AuthSession, Role, User
from tests.helpers import login, team, user


async def _signed_in(app: Any, email: str) -> str:
    client = app.new_client()
    await login(client, email)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return token_hash(cookie)


async def test_concurrent_checks_share_one_read_and_each_gets_its_own_answer(app: Any) -> None:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    await user(app.hub, "ana@example.com", team_ids=(billing,))
    await user(app.hub, "sue@example.com", role=Role.supervisor, team_ids=(billing, tech))
    ana, sue = await _signed_in(app, "ana@example.com"), await _signed_in(app, "sue@example.com")

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "authsession" in statement or "teammember" in statement:  # not the projections'
            statements.append(statement)

    engine = app.hub.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        reads = app.hub.session_reads
        found = await asyncio.gather(*(reads.read(h) for h in [ana, sue, "unknown"] * 20))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    for i in range(0, 60, 3):
        a, s, nobody = found[i : i + 3]
        assert a is not None and a.user.email == "ana@example.com" and a.team_ids == {billing}
        assert s is not None and s.user.role == Role.supervisor and s.team_ids == {billing, tech}
        assert nobody is None
    # 60 checks: one statement (sessions with their users' teams) for the first batch,
    # at most one more for all that queued behind it — not a read per check.
    assert 1 <= len(statements) <= 2, statements


async def test_a_check_asked_during_a_read_waits_for_the_next_read(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    ana = await _signed_in(app, "ana@example.com")
    reads = app.hub.session_reads
    real_read = reads._read
    started, release = asyncio.Event(), asyncio.Event()

    async def held(hashes: list[str]) -> Any:
        out = await real_read(hashes)
        started.set()
        await release.wait()
        return out

    reads._read = held  # type: ignore[method-assign]
    first = asyncio.create_task(reads.read(ana))
    await started.wait()  # the first read has run and holds its answer
    async with app.hub.db.transaction() as s:  # the session is revoked meanwhile
        await s.exec(delete(AuthSession).where(col(AuthSession.token_hash) == ana))  # type: ignore[call-overload]
    second = asyncio.create_task(reads.read(ana))
    release.set()
    assert (await first) is not None  # asked before the revocation
    assert (await second) is None  # asked after it: never answered by the older read


async def test_expired_sessions_and_inactive_users_are_refused(app: Any, clock: Any) -> None:
    await user(app.hub, "ana@example.com")
    ana = await _signed_in(app, "ana@example.com")
    assert await app.hub.session_reads.read(ana) is not None
    await user(app.hub, "ben@example.com")
    ben = await _signed_in(app, "ben@example.com")
    async with app.hub.db.transaction() as s:
        (row,) = (await s.exec(select(User).where(User.email == "ben@example.com"))).all()
        row.active = False
        s.add(row)
    assert await app.hub.session_reads.read(ben) is None
    clock.advance(app.hub.settings.auth.session_ttl_seconds + 1)
    assert await app.hub.session_reads.read(ana) is None


async def test_a_failed_read_fails_its_checks_and_the_next_read_works(app: Any) -> None:
    await user(app.hub, "ana@example.com")
    ana = await _signed_in(app, "ana@example.com")
    reads = app.hub.session_reads
    real_read = reads._read
    calls = 0

    async def flaky(hashes: list[str]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return await real_read(hashes)

    reads._read = flaky  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="went away"):
        await reads.read(ana)
    found = await reads.read(ana)
    assert found is not None and found.user.email == "ana@example.com"
