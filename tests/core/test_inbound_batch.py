"""The ingest lane's batch writer (hub.services.inbound_batch): the set-wise path.

A batch's usual-case messages — a known customer writing into an open conversation —
are written together: three reads for the whole batch, one insert of the messages, one
touch per conversation, one insert of their events. Everything else goes one by one.
These tests mix both kinds in one batch and check that the outcome is what the
one-by-one path gives: order per conversation, duplicates, reopened conversations,
names, new customers, and the retry when another writer takes a provider id between
the plan and the insert.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection

from hub.config import to_sync_url
from hub.db import sync_engine
from hub.domain import InboundMessage
from hub.group_commit import GroupCommitter
from hub.models import Contact, Conversation, EventLog, Message
from hub.services.inbound_batch import InboundWriter, Prepared, Stored
from tests.helpers import driver_calls

_conv = Conversation.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_events = EventLog.__table__  # type: ignore[attr-defined]
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _in(pid: str, sender: str, *, name: str = "", at: int = 0) -> Prepared:
    now = T0 + timedelta(seconds=at)
    msg = InboundMessage(
        channel="loopback",
        provider_message_id=pid,
        address_kind="loopback",
        sender=sender,
        sender_name=name,
        body=f"body {pid}",
        received_at=now,
    )
    return Prepared(msg, sender, now, None)


class _Spy(InboundWriter):
    """Records which messages went one by one."""

    def __init__(self, dialect: Any) -> None:
        super().__init__(dialect)
        self.one_by_one: list[str] = []

    def _one(self, conn: Connection, p: Prepared, teams: Any) -> Stored:
        self.one_by_one.append(p.msg.provider_message_id)
        return super()._one(conn, p, teams)


@pytest.fixture
async def engine(app: Any, db_url: str) -> AsyncIterator[Any]:  # app: the schema is migrated
    # These tests write on connections of their own, outside the hub's write lock, and
    # the sync ones block the loop: the app's consumers must not be writing meanwhile
    # (on SQLite a round left open by a blocked loop held the write lock, and a test's
    # insert failed with "database is locked").
    await app.hub.projections.stop()
    eng = sync_engine(to_sync_url(db_url), pool_size=2)
    yield eng
    eng.dispose()


def _write(engine: Any, writer: InboundWriter, batch: Sequence[Prepared]) -> list[Stored]:
    with engine.connect() as conn, conn.begin():
        return writer(conn, batch)


def _setup(engine: Any, writer: InboundWriter) -> dict[str, Stored]:
    """Customers with open conversations, written one message per transaction."""
    first = {
        s: _write(engine, writer, [_in(f"{s}0", s, name=s.upper())])[0] for s in ("f1", "f2", "c", "g", "h")
    }
    first["d"] = _write(engine, writer, [_in("d0", "d")])[0]  # no name yet
    with engine.connect() as conn, conn.begin():
        conn.execute(
            sa.update(_conv)
            .where(_conv.c.id == first["c"].conversation_id)
            .values(status="snoozed", snoozed_until=T0 + timedelta(days=1))
        )
    return first


def test_a_mixed_batch_writes_the_usual_case_together_and_keeps_every_outcome(engine: Any) -> None:
    writer = _Spy(engine.dialect)
    first = _setup(engine, writer)
    writer.one_by_one.clear()
    batch = [
        _in("f1a", "f1", at=1),
        _in("c1", "c", at=2),  # snoozed: comes back
        _in("f2a", "f2", at=3),
        _in("d1", "d", name="Dana", at=4),  # names the customer
        _in("e1", "e", name="Eve", at=5),  # a new customer
        _in("f1b", "f1", at=6),
        _in("g0", "g", at=7),  # a provider retry of a stored message
        _in("h1", "h", at=8),
        _in("h1", "h", at=9),  # the same provider id twice in one batch
        _in("f2b", "f2", at=10),
        _in("f1c", "f1", at=11),
    ]
    stored = _write(engine, writer, batch)

    # Only the unusual senders went one by one, each of their messages in order.
    assert writer.one_by_one == ["c1", "d1", "e1", "g0", "h1", "h1"]
    by_pid = {p.msg.provider_message_id: s for p, s in zip(batch, stored, strict=True) if not s.duplicate}
    f1 = [by_pid[p] for p in ("f1a", "f1b", "f1c")]
    f2 = [by_pid[p] for p in ("f2a", "f2b")]
    assert {s.conversation_id for s in f1} == {first["f1"].conversation_id}
    assert {s.conversation_id for s in f2} == {first["f2"].conversation_id}
    assert [s.message_id for s in f1] == sorted(s.message_id for s in f1)
    assert stored[6].duplicate and stored[6].message_id == first["g"].message_id
    assert not stored[7].duplicate and stored[8].duplicate and stored[8].message_id == stored[7].message_id
    assert stored[4].new_conversation and [e.type for e in stored[4].events] == [
        "conversation.created",
        "message.received",
    ]

    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_msg.c.id, _msg.c.provider_message_id, _msg.c.conversation_id, _msg.c.author_id).where(
                _msg.c.provider_message_id.in_([p.msg.provider_message_id for p in batch])
            )
        ).all()
        assert sorted(r.provider_message_id for r in rows) == sorted(
            ["f1a", "c1", "f2a", "d1", "e1", "f1b", "g0", "h1", "f2b", "f1c"]
        )  # g0 once (from before), h1 once
        for r in rows:
            if r.provider_message_id == "g0":
                assert r.id == first["g"].message_id
                continue
            assert by_pid[r.provider_message_id].message_id == r.id
            assert by_pid[r.provider_message_id].contact_id == r.author_id
        convs = {
            r.id: r
            for r in conn.execute(
                sa.select(_conv.c.id, _conv.c.status, _conv.c.last_message_at, _conv.c.snoozed_until)
            )
        }
        names = dict(conn.execute(sa.select(_contact.c.id, _contact.c.name)).all())
        events = conn.execute(
            sa.select(_events.c.id, _events.c.type, _events.c.conversation_id, _events.c.payload)
            .where(_events.c.type == "message.received")
            .order_by(_events.c.id)
        ).all()

    # The touch: the conversation's latest message is the batch's last one of it.
    def at(c: Any) -> datetime:
        return (
            c.last_message_at.replace(tzinfo=UTC) if c.last_message_at.tzinfo is None else c.last_message_at
        )

    assert at(convs[first["f1"].conversation_id]) == T0 + timedelta(seconds=11)
    assert at(convs[first["f2"].conversation_id]) == T0 + timedelta(seconds=10)
    assert convs[first["c"].conversation_id].status == "queued"
    assert convs[first["c"].conversation_id].snoozed_until is None
    assert names[first["d"].contact_id] == "Dana"
    assert names[stored[4].contact_id] == "Eve"

    # Each stored message has its one event, with its id and in its order per conversation.
    logged = {e.payload["message_id"]: e for e in events}
    for s in stored:
        if s.duplicate:
            assert s.events == []
            continue
        received = [e for e in s.events if e.type == "message.received"]
        assert len(received) == 1 and received[0].id == logged[s.message_id].id
        assert received[0].payload["message_id"] == s.message_id
        assert received[0].conversation_id == s.conversation_id
    for conv_id in {s.conversation_id for s in stored}:
        mine = [e for e in events if e.conversation_id == conv_id]
        assert [e.payload["message_id"] for e in mine] == sorted(e.payload["message_id"] for e in mine)


def test_the_usual_case_makes_the_same_calls_whatever_the_batch_size(engine: Any) -> None:
    """A batch of three and one of seven known customers' messages hand the driver the
    same number of calls; on PostgreSQL the very same texts too (lists as array
    parameters; the messages, the touches and the events each one statement whose rows
    are one JSON parameter, hub.services.batch_rows.JsonRows), so psycopg converts each
    text once, where a text per batch size cost most of the lane's CPU."""
    writer = _Spy(engine.dialect)
    senders = [f"k{i}" for i in range(7)]
    for s in senders:
        _write(engine, writer, [_in(f"{s}-0", s, name=s)])
    writer.one_by_one.clear()
    calls = []
    for size in (3, 7):
        with engine.connect() as conn, driver_calls(conn) as seen, conn.begin():
            stored = writer(conn, [_in(f"{s}-{size}", s, at=size) for s in senders[:size]])
        assert len(stored) == size and not any(s.duplicate or s.new_conversation for s in stored)
        calls.append(seen)
    assert writer.one_by_one == []  # all of them the usual case
    small, large = calls
    assert len(small) == len(large) and len([q for q in small if q.startswith("INSERT INTO message ")]) == 1
    if engine.dialect.name == "postgresql":
        assert small == large
        # the message ids drawn, three reads, the messages, the touches, the events
        assert len(small) == 7
        assert [q.split(" (")[0] for q in small if q.startswith("INSERT")] == [
            "INSERT INTO message",
            "INSERT INTO event_log",
        ]
        assert all("json_populate_recordset" in q for q in small if q.startswith(("INSERT", "UPDATE")))


class _Blind(InboundWriter):
    """Plans as if a provider id were new: what a writer sees when another process
    commits that id between this batch's read and its insert."""

    def __init__(self, dialect: Any, blind_to: str) -> None:
        super().__init__(dialect)
        self.blind_to = blind_to
        self.plans = 0

    def _plan(self, conn: Connection, batch: Sequence[Prepared]) -> dict[int, Any]:
        plan = super()._plan(conn, batch)
        self.plans += 1
        for i, p in enumerate(batch):
            if p.msg.provider_message_id == self.blind_to and i not in plan:
                sender = self._contact(conn, p.msg, p.address, p.now)[0]
                conv, _ = self._open_conversation(conn, p, sender, None, {})
                plan[i] = (sender, conv)
        return plan


async def test_a_provider_id_taken_after_the_plan_fails_the_insert_and_the_batch_goes_one_by_one(
    app: Any, engine: Any
) -> None:
    setup = _Spy(engine.dialect)
    first = _setup(engine, setup)
    writer = _Blind(engine.dialect, blind_to="f2b")
    _write(engine, writer, [_in("f2b", "f2", at=1)])  # already stored when the batch comes
    committer: GroupCommitter[Prepared, Stored] = GroupCommitter(
        engine, writer, lanes=1, lock=app.hub.db.write_lock
    )
    committer.start()
    batch = [_in("f1x", "f1", at=2), _in("f2b", "f2", at=3), _in("f1y", "f1", at=4)]
    futures = [committer.submit(p, key="k") for p in batch]
    stored = await asyncio.gather(*futures)
    await committer.stop()
    assert writer.plans == 1  # one batch planned; its retry went one by one
    assert [s.duplicate for s in stored] == [False, True, False]
    assert stored[1].events == []
    assert {stored[0].conversation_id, stored[2].conversation_id} == {first["f1"].conversation_id}
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(_msg)
            .where(_msg.c.provider_message_id.in_(["f1x", "f1y", "f2b"]))
        ).scalar_one()
    assert count == 3  # f1x, f1y once each, f2b once (from before)


def test_message_ids_are_drawn_only_for_messages_that_may_take_them(engine: Any) -> None:
    """On PostgreSQL the set-wise path draws its messages' ids ahead, with the open
    conversations' read, for the messages that may still take that path (known sender,
    new provider id): a batch of new customers draws none and a batch of known ones
    draws exactly its own, so the ids of consecutive batches leave no gaps (each gap is
    an id of the table's sequence spent for nothing). SQLite takes its ids from the
    inserts: no gaps either."""
    writer = InboundWriter(engine.dialect)
    new = _write(engine, writer, [_in(f"n{i}-0", f"n{i}") for i in range(5)])  # one by one
    known = _write(engine, writer, [_in(f"n{i}-1", f"n{i}", at=1) for i in range(5)])  # set-wise
    mixed = _write(
        engine, writer, [_in(f"n{i}-2", f"n{i}", at=2) for i in range(3)] + [_in("m-0", "m"), _in("m-1", "m")]
    )
    ids = [s.message_id for s in new + known + mixed]
    assert not any(s.duplicate for s in new + known + mixed)
    assert sorted(ids) == list(range(min(ids), min(ids) + len(ids)))
