"""The reply lane's batch writer (hub.services.reply_batch), set-wise.

A batch mixing accepted and refused replies, several to one conversation, from an
agent and from the system: each refused one fails alone with its own error and writes
nothing; the accepted ones get their message, outbox row and two events in the order
they were made; each conversation is touched once, its first answer's time set once,
by the first agent reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import to_sync_url
from hub.db import sync_engine
from hub.domain import InboundMessage
from hub.models import Conversation, EventLog, Message, OutboxItem, Role
from hub.services import SYSTEM
from hub.services.access import Actor
from hub.services.errors import Conflict, Invalid, NotFound
from hub.services.inbound_batch import InboundWriter, Prepared
from hub.services.reply_batch import PreparedReply, ReplyWriter, StoredReply
from tests.helpers import driver_calls, user

_conv = Conversation.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_outbox = OutboxItem.__table__  # type: ignore[attr-defined]
_events = EventLog.__table__  # type: ignore[attr-defined]
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(app: Any, db_url: str) -> Iterator[Any]:  # app: the schema is migrated
    eng = sync_engine(to_sync_url(db_url), pool_size=1)
    yield eng
    eng.dispose()


def _conversations(engine: Any, n: int) -> list[int]:
    writer = InboundWriter(engine.dialect)
    out = []
    for i in range(n):
        msg = InboundMessage(
            channel="loopback",
            provider_message_id=f"rb-{i}",
            address_kind="loopback",
            sender=f"rb-{i}",
            body="hello",
            received_at=T0,
        )
        with engine.connect() as conn, conn.begin():
            out.append(writer(conn, [Prepared(msg, f"rb-{i}", T0, None)])[0].conversation_id)
    return out


def _reply(
    actor: Actor, conv: int, text: str, at: int, attachments: list[Any] | None = None
) -> PreparedReply:
    return PreparedReply(actor, conv, text, "", attachments or [], {}, T0 + timedelta(seconds=at))


async def test_a_mixed_batch_of_replies(app: Any, engine: Any) -> None:
    agent = Actor(user_id=await user(app.hub, "agent@example.com", role=Role.admin), role="admin")
    a, b, closed = _conversations(engine, 3)
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.update(_conv).where(_conv.c.id == closed).values(status="resolved"))
    batch = [
        _reply(SYSTEM, a, "system first", 1),  # does not count as the first answer
        _reply(agent, b, "b one", 2),
        _reply(agent, closed, "too late", 3),
        _reply(agent, a, "a one", 4),
        _reply(agent, 999_999, "nowhere", 5),
        _reply(agent, a, "a two", 6, attachments=[{"url": "https://x/y.png"}]),
        _reply(agent, a, "a three", 7),
        _reply(agent, b, "b two", 8),
    ]
    writer = ReplyWriter(engine.dialect, {"loopback": False})
    with engine.connect() as conn, driver_calls(conn) as seen, conn.begin():
        out = writer(conn, batch)

    assert isinstance(out[2], Conflict) and out[2].code == "conversation_closed"
    assert isinstance(out[4], NotFound)
    assert isinstance(out[5], Invalid) and out[5].code == "no_attachments"
    stored = [(r, s) for r, s in zip(batch, out, strict=True) if isinstance(s, StoredReply)]
    assert [r.text for r, _ in stored] == ["system first", "b one", "a one", "a three", "b two"]
    # Set-wise: the calls the batch made do not grow with its replies (on PostgreSQL
    # each insert is one pipelined executemany, as are the two touch shapes).
    assert len([q for q in seen if q.startswith("INSERT INTO message ")]) == 1
    assert len([q for q in seen if q.startswith("INSERT INTO outbox ")]) == 1
    assert len([q for q in seen if q.startswith("INSERT INTO event_log ")]) == 1

    ids = [s.message.id for _, s in stored]
    assert ids == sorted(ids)
    events = [e for _, s in stored for e in s.events]
    assert [e.type for e in events] == ["message.created", "outbox.enqueued"] * 5
    assert [e.id for e in events] == sorted(e.id for e in events)
    for r, s in stored:
        created, enqueued = s.events
        assert created.payload["message_id"] == s.message.id == enqueued.payload["message_id"]
        assert created.payload["body"] == r.text and created.conversation_id == r.conversation_id
        assert s.message.body == r.text and s.message.author_type == (
            "system" if r.actor.is_system else "agent"
        )

    with engine.connect() as conn:
        messages = conn.execute(
            sa.select(_msg.c.id, _msg.c.body, _msg.c.conversation_id).where(_msg.c.direction == "outbound")
        ).all()
        outbox = dict(conn.execute(sa.select(_outbox.c.message_id, _outbox.c.id)).all())
        convs = {
            r.id: r
            for r in conn.execute(sa.select(_conv.c.id, _conv.c.first_response_at, _conv.c.last_message_at))
        }
        logged = conn.execute(
            sa.select(_events.c.id, _events.c.payload).where(_events.c.type == "outbox.enqueued")
        ).all()
    assert sorted(m.body for m in messages) == sorted(r.text for r, _ in stored)  # nothing of the refused
    assert set(outbox) == set(ids)
    assert {p["outbox_id"] for _, p in logged} == set(outbox.values())
    for p in (e.payload for e in events if e.type == "outbox.enqueued"):
        assert outbox[p["message_id"]] == p["outbox_id"]

    def at(v: datetime) -> datetime:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v

    assert at(convs[a].first_response_at) == T0 + timedelta(seconds=4)  # the first agent reply
    assert at(convs[a].last_message_at) == T0 + timedelta(seconds=7)
    assert at(convs[b].first_response_at) == T0 + timedelta(seconds=2)
    assert at(convs[b].last_message_at) == T0 + timedelta(seconds=8)
    assert convs[closed].first_response_at is None
