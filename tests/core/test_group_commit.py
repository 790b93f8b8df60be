"""Group commit (hub.group_commit): shared transactions, per-item durability and failure.

Each caller is answered only after the commit holding its item; a failing item fails
alone; a key's items keep their order; the after-commit hook sees results in commit
order before any caller is answered. And two independent writers — as two hub
processes would be — settle one new customer's concurrent first messages through the
database's unique indexes: one contact, one conversation, one row per provider id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlmodel import func, select

from hub.config import to_sync_url
from hub.db import sync_engine
from hub.domain import InboundMessage
from hub.group_commit import GroupCommitter
from hub.models import Contact, Conversation, Identity, Message
from hub.services.inbound_batch import InboundWriter, Prepared, Stored

_meta = sa.MetaData()
_items = sa.Table(
    "gc_items",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(20), nullable=False),
    sa.Column("value", sa.Integer, nullable=False),
)


def _write(conn: Connection, batch: Sequence[tuple[str, int]]) -> list[int]:
    out = []
    for key, value in batch:
        if value < 0:
            raise ValueError(f"refused {value}")
        out.append(
            int(
                conn.execute(
                    sa.insert(_items).values(key=key, value=value).returning(_items.c.id)
                ).scalar_one()
            )
        )
    return out


@pytest.fixture
def engine(db_url: str) -> Any:
    eng = sync_engine(to_sync_url(db_url), pool_size=4)
    _meta.drop_all(eng)
    _meta.create_all(eng)
    yield eng
    _meta.drop_all(eng)
    eng.dispose()


def _rows(engine: Any) -> list[tuple[str, int]]:
    with engine.connect() as c:
        return [
            (r.key, r.value) for r in c.execute(sa.select(_items.c.key, _items.c.value).order_by(_items.c.id))
        ]


async def test_concurrent_items_share_commits_and_each_is_answered_after_its_own(engine: Any) -> None:
    seen_at_answer: list[bool] = []
    committer: GroupCommitter[tuple[str, int], int] = GroupCommitter(engine, _write, lanes=1, max_batch=64)
    committer.start()

    async def one(i: int) -> None:
        row_id = await committer.submit((f"k{i % 7}", i), key=f"k{i % 7}")
        with engine.connect() as c:  # another connection sees it: committed, not just written
            seen_at_answer.append(
                c.execute(sa.select(_items.c.id).where(_items.c.id == row_id)).first() is not None
            )

    await asyncio.gather(*(one(i) for i in range(300)))
    await committer.stop()
    assert seen_at_answer == [True] * 300
    assert committer.items == 300 and committer.batches < 300 / 4  # shared transactions
    assert sorted(v for _, v in _rows(engine)) == list(range(300))


async def test_a_failing_item_fails_alone(engine: Any) -> None:
    committer: GroupCommitter[tuple[str, int], int] = GroupCommitter(engine, _write, lanes=1)
    committer.start()
    results = await asyncio.gather(
        *(committer.submit(("k", v), key="k") for v in (1, 2, -3, 4, 5)), return_exceptions=True
    )
    await committer.stop()
    assert [type(r).__name__ for r in results] == ["int", "int", "ValueError", "int", "int"]
    assert str(results[2]) == "refused -3"
    assert [v for _, v in _rows(engine)] == [1, 2, 4, 5]


async def test_a_keys_items_keep_their_order_and_the_hook_runs_before_answers(engine: Any) -> None:
    hooked: list[int] = []
    answered_before_hook: list[int] = []

    async def hook(results: list[int]) -> None:
        hooked.extend(results)

    committer: GroupCommitter[tuple[str, int], int] = GroupCommitter(
        engine, _write, lanes=3, max_batch=5, after_commit=hook
    )
    committer.start()

    async def one(key: str, v: int) -> None:
        row_id = await committer.submit((key, v), key=key)
        if row_id not in hooked:
            answered_before_hook.append(row_id)

    await asyncio.gather(*(one(f"k{v % 4}", v) for v in range(80)))
    await committer.stop()
    assert answered_before_hook == []
    rows = _rows(engine)
    for key in {k for k, _ in rows}:
        values = [v for k, v in rows if k == key]
        assert values == sorted(values), key  # submission order per key


async def test_a_streaming_lane_waits_the_commit_delay_and_a_quiet_or_full_one_does_not(engine: Any) -> None:
    """The commit delay: a lane that wrote a batch within the last ten delays waits the
    delay before taking a short batch, so what arrives meanwhile shares its commit; a
    lone item on a quiet lane and a full enough queue are written at once."""
    now = [100.0]
    waits: list[float] = []
    asked = asyncio.Event()
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        asked.set()
        await gate.wait()

    committer: GroupCommitter[tuple[str, int], int] = GroupCommitter(
        engine, _write, commit_delay=0.003, clock=lambda: now[0], sleep=sleep
    )
    committer.start()
    # Quiet: the lane has written nothing yet, so the first item does not wait.
    await committer.submit(("k", 1), key="k")
    assert (waits, committer.batches) == ([], 1)

    # Streaming (the last batch was written "now"): the next item waits, and the items
    # submitted while it waits go into its batch, each answered after that one commit.
    second = asyncio.ensure_future(committer.submit(("k", 2), key="k"))
    await asked.wait()
    rest = [asyncio.ensure_future(committer.submit(("k", v), key="k")) for v in (3, 4)]
    assert not second.done()  # nothing is written during the delay
    gate.set()
    await asyncio.gather(second, *rest)
    assert (waits, committer.batches, committer.items, committer.delayed) == ([0.003], 2, 4, 1)

    # Eight or more waiting: written at once, however recent the last batch.
    await asyncio.gather(*(committer.submit(("k", v), key="k") for v in range(10, 18)))
    assert committer.delayed == 1 and committer.batches == 3

    # Quiet again (the last batch was ten delays ago): no wait.
    now[0] += 0.03
    await committer.submit(("k", 5), key="k")
    assert committer.delayed == 1 and committer.batches == 4
    await committer.stop()
    assert [v for _, v in _rows(engine)] == [1, 2, 3, 4, *range(10, 18), 5]


class _WatchedLock(asyncio.Lock):
    """The write lock, telling when someone starts waiting for it."""

    def __init__(self) -> None:
        super().__init__()
        self.waited = asyncio.Event()

    async def acquire(self) -> bool:
        if self.locked():
            self.waited.set()
        return await super().acquire()


async def test_a_batch_is_taken_once_the_write_lock_is_held(engine: Any) -> None:
    """What arrives while another writer holds the lock joins the waiting batch."""
    lock = _WatchedLock()
    committer: GroupCommitter[tuple[str, int], int] = GroupCommitter(engine, _write, lock=lock)
    committer.start()
    await lock.acquire()  # another writer (a consumers' round) holds it
    first = asyncio.ensure_future(committer.submit(("k", 1), key="k"))
    await lock.waited.wait()  # the lane has the first item and waits for the lock
    rest = [asyncio.ensure_future(committer.submit(("k", v), key="k")) for v in (2, 3, 4)]
    lock.release()
    await asyncio.gather(first, *rest)
    await committer.stop()
    assert (committer.batches, committer.items) == (1, 4)
    assert [v for _, v in _rows(engine)] == [1, 2, 3, 4]


def _inbound(pid: str, sender: str = "new-customer") -> Prepared:
    now = datetime.now(UTC)
    msg = InboundMessage(
        channel="loopback",
        provider_message_id=pid,
        address_kind="loopback",
        sender=sender,
        body=f"body {pid}",
        received_at=now,
    )
    return Prepared(msg, sender, now, None)


async def test_two_writers_settle_one_new_customer_like_two_processes(app: Any, db_url: str) -> None:
    """Two committers with their own connections race: unique indexes decide."""
    writers = []
    for _ in range(2):
        eng = sync_engine(to_sync_url(db_url), pool_size=1)
        committer: GroupCommitter[Prepared, Stored] = GroupCommitter(
            eng, InboundWriter(eng.dialect), lanes=1, lock=app.hub.db.write_lock
        )
        committer.start()
        writers.append(committer)
    # Each writer gets every message (a provider retrying to another process), so both
    # race on the identity, the open conversation and each provider id.
    stored = await asyncio.gather(*(w.submit(_inbound(f"m{i}"), key="x") for i in range(20) for w in writers))
    for w in writers:
        await w.stop()
    assert len({s.contact_id for s in stored}) == 1
    assert len({s.conversation_id for s in stored}) == 1
    by_pid: dict[int, set[bool]] = {}
    for s in stored:
        by_pid.setdefault(s.message_id, set()).add(s.duplicate)
    assert len(by_pid) == 20 and all(flags == {True, False} for flags in by_pid.values())
    async with app.hub.db.session() as s:
        counts = [
            (await s.exec(select(func.count()).select_from(model))).one()  # type: ignore[arg-type]
            for model in (Contact, Identity, Conversation, Message)
        ]
    assert counts == [1, 1, 1, 20]
