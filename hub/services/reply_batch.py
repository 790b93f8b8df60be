"""Agent replies by group commit: the message, its outbox row and events, batched.

The same design as the inbound path (:mod:`hub.services.inbound_batch`): a lane of
:class:`hub.group_commit.GroupCommitter` runs a batch of replies in one transaction,
set-wise: one read of the batch's conversations, one multi-row insert each of the
messages, their outbox rows and their events, one touch per conversation — five
statements for the batch, where one statement per row each was a network round trip
apiece on PostgreSQL. Replies are keyed by conversation, so one conversation's
replies are written in the order they were made. A reply that is refused (rights, a
closed conversation, a disabled channel) is refused before anything of it is written,
and fails alone with its own error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Dialect, bindparam

from hub.events import Event, MessagePayload, OutboxPayload
from hub.models import (
    AuthorType,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    EventLog,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
)
from hub.precompiled import OneOf, Precompiled
from hub.services.access import Actor, require_handler
from hub.services.batch_rows import (
    EventWriter,
    InsertReturning,
    JsonRows,
    JsonUpdate,
    ListRead,
    column_defaults,
    next_ids,
    pipelined,
    write_pipelined,
)
from hub.services.errors import Conflict, Invalid, NotFound, ServiceError

_msg = Message.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]
_outbox = OutboxItem.__table__  # type: ignore[attr-defined]
_events = EventLog.__table__  # type: ignore[attr-defined]


_MSG_DEFAULTS = column_defaults(Message)
_MESSAGE_FIELDS = tuple(k for k in _MSG_DEFAULTS if k in Message.model_fields)
_OUTBOX_DEFAULTS = column_defaults(OutboxItem)
_CONV_COLUMNS = (
    _conv.c.id,
    _conv.c.contact_id,
    _conv.c.channel,
    _conv.c.status,
    _conv.c.team_id,
    _conv.c.assignee_id,
    _conv.c.subject,
    _conv.c.first_response_at,
)


@dataclass(frozen=True, slots=True)
class PreparedReply:
    actor: Actor
    conversation_id: int
    text: str
    subject: str
    attachments: list[dict[str, Any]]
    meta: dict[str, Any]
    now: datetime


@dataclass(frozen=True, slots=True)
class StoredReply:
    message: Message
    events: list[Event] = field(default_factory=list)


@dataclass(slots=True)
class _Conv:
    """The columns a reply reads; duck-types as a Conversation for the access rules."""

    id: int
    contact_id: int
    channel: str
    status: str
    team_id: int | None
    assignee_id: int | None
    subject: str
    first_response_at: Any


class ReplyWriter:
    def __init__(self, dialect: Dialect, channels: Mapping[str, bool]) -> None:
        """``channels``: enabled channel kind -> whether it takes attachments."""
        self._channels = channels
        locks = dialect.name != "sqlite"

        def find(one_of: OneOf) -> Any:
            stmt = sa.select(*_CONV_COLUMNS).where(one_of(_conv.c.id, "cids"))
            if locks:
                # In id order, so two writers locking overlapping sets cannot deadlock.
                stmt = stmt.order_by(
                    _conv.c.id
                ).with_for_update()  # SQLite: the lane holds the one write lock
            return stmt

        self._find_many = ListRead(find, dialect)
        self._insert_messages = InsertReturning(_msg, dialect, list(_MSG_DEFAULTS))
        self._insert_outbox = InsertReturning(_outbox, dialect, list(_OUTBOX_DEFAULTS))

        def pre(stmt: Any, keys: Sequence[str] | None = None) -> Precompiled:
            return Precompiled(stmt, dialect, keys)

        touch = sa.update(_conv).where(_conv.c.id == bindparam("cid"))
        self._touch = pre(touch, ["last_message_at", "updated_at"])
        self._touch_first = pre(touch, ["last_message_at", "updated_at", "first_response_at"])
        self._events = EventWriter(dialect)
        # PostgreSQL: the messages' and outbox rows' ids drawn with the conversations'
        # read, so that every write of the batch goes out in one pipeline (pipelined()).
        self._draw = next_ids(dialect, _msg, _outbox) if locks else None
        if locks:
            self._insert_messages_with_ids = JsonRows(_msg, dialect, ["id", *_MSG_DEFAULTS])
            self._insert_outbox_with_ids = JsonRows(_outbox, dialect, ["id", *_OUTBOX_DEFAULTS])
            # The touches as one statement; the first answer's time kept once set (the
            # rows are locked since the batch's read, so this is the read's decision).
            self._touch_json = JsonUpdate(
                _conv,
                dialect,
                ["id", "last_message_at", "updated_at", "first_response_at"],
                {"first_response_at": "COALESCE(t.first_response_at, x.first_response_at)"},
            )

    def __call__(self, conn: Connection, batch: Sequence[PreparedReply]) -> list[StoredReply | Exception]:
        """The batch set-wise: one read of its conversations (locked on PostgreSQL), one
        insert of the messages, one of their outbox rows, one touch per conversation,
        one insert of the events. Each reply is checked against its conversation first;
        a refused one writes nothing and fails alone."""
        ids = sorted({r.conversation_id for r in batch})
        drawn: list[tuple[int, int]] | None = None
        with pipelined(conn):  # PostgreSQL: one wait for both
            if self._draw is not None:
                draw = self._draw.execute(conn, {"n": len(batch)})
            rows = self._find_many.rows(conn, {"cids": ids})
        if self._draw is not None:
            try:
                got = draw.fetchall()
            finally:
                draw.close()
            # Each table's ids in increasing order: the batch's rows take them in order.
            drawn = list(zip(sorted(int(r[0]) for r in got), sorted(int(r[1]) for r in got), strict=True))
        convs = {int(row[0]): _Conv(*row) for row in rows}
        out: list[StoredReply | Exception | None] = []
        accepted: list[tuple[int, PreparedReply, _Conv]] = []
        for r in batch:
            try:
                conv = self._check(convs.get(r.conversation_id), r)
            except ServiceError as exc:
                out.append(exc)  # refused before anything of it was written
                continue
            accepted.append((len(out), r, conv))
            out.append(None)
        if accepted:
            for (i, _, _), stored in zip(accepted, self._write_all(conn, accepted, drawn), strict=True):
                out[i] = stored
        return out  # type: ignore[return-value]

    def _check(self, conv: _Conv | None, r: PreparedReply) -> _Conv:
        if conv is None:
            raise NotFound(f"conversation {r.conversation_id} not found")
        require_handler(r.actor, conv)  # type: ignore[arg-type]
        if conv.status in (ConversationStatus.resolved, ConversationStatus.abandoned):
            raise Conflict("the conversation is closed; reopen it to reply", code="conversation_closed")
        if conv.channel not in self._channels:
            raise Conflict(f"the {conv.channel} channel is not enabled on this hub", code="channel_disabled")
        if r.attachments and not self._channels[conv.channel]:
            raise Invalid(f"the {conv.channel} channel does not take attachments", code="no_attachments")
        return conv

    def _write_all(
        self,
        conn: Connection,
        accepted: list[tuple[int, PreparedReply, _Conv]],
        drawn: list[tuple[int, int]] | None,
    ) -> list[StoredReply]:
        """SQLite: each insert in turn, the next rows taking the ids the last one made.
        PostgreSQL (``drawn``: the ids drawn with the read): every row built first, then
        every write in one pipeline — one wait for the batch's writes."""
        messages = [self._message_row(r, conv) for _, r, conv in accepted]
        if drawn is None:
            message_ids = self._insert_messages(conn, messages)
        else:
            message_ids = [m for m, _ in drawn[: len(messages)]]
        outbox = [
            {
                **_OUTBOX_DEFAULTS,
                "message_id": message_id,
                "channel": conv.channel,
                "status": OutboxStatus.pending.value,
                "attempts": 0,
                "next_attempt_at": r.now,
                "locked_until": None,
                "last_error": None,
                "created_at": r.now,
                "updated_at": r.now,
            }
            for message_id, (_, r, conv) in zip(message_ids, accepted, strict=True)
        ]
        if drawn is None:
            outbox_ids = self._insert_outbox(conn, outbox)
        else:
            outbox_ids = [o for _, o in drawn[: len(outbox)]]
        # One touch per conversation: its last reply's time, and the first answer's
        # time once (an agent's, not the system's).
        touches: dict[int, dict[str, Any]] = {}
        for _, r, conv in accepted:
            touch = touches.setdefault(conv.id, {"cid": conv.id})
            touch.update(last_message_at=r.now, updated_at=r.now)
            if conv.first_response_at is None and not r.actor.is_system and "first_response_at" not in touch:
                touch["first_response_at"] = r.now
        events = []
        for values, message_id, outbox_id, (_, r, conv) in zip(
            messages, message_ids, outbox_ids, accepted, strict=True
        ):
            actor = r.actor
            events.append(
                self._events.row(
                    "message.created",
                    MessagePayload(
                        conversation_id=conv.id,
                        message_id=message_id,
                        channel=conv.channel,
                        direction=Direction.outbound.value,
                        author_type=values["author_type"],
                        author_id=actor.user_id,
                        kind=MessageKind.text.value,
                        body=r.text,
                        subject=values["subject"],
                        delivery_status=DeliveryStatus.pending.value,
                        attachments=r.attachments,
                        created_at=r.now,
                    ),
                    r.now,
                    actor_id=actor.user_id,
                    conversation_id=conv.id,
                    team_id=conv.team_id,
                    user_id=conv.assignee_id,
                )
            )
            events.append(
                self._events.row(
                    "outbox.enqueued",
                    OutboxPayload(outbox_id=outbox_id, message_id=message_id, channel=conv.channel),
                    r.now,
                    actor_id=actor.user_id,
                    conversation_id=conv.id,
                    team_id=conv.team_id,
                )
            )
        if drawn is None:
            self._touch_first.many(conn, [t for t in touches.values() if "first_response_at" in t])
            self._touch.many(conn, [t for t in touches.values() if "first_response_at" not in t])
            written = self._events.write_many(conn, events)
        else:
            touch_rows = [
                {"id": t["cid"], "first_response_at": None, **{k: v for k, v in t.items() if k != "cid"}}
                for t in touches.values()
            ]
            written = write_pipelined(  # four statements, one wait
                conn,
                [
                    lambda: self._insert_messages_with_ids.run(
                        conn, [{"id": i, **m} for i, m in zip(message_ids, messages, strict=True)]
                    ),
                    lambda: self._insert_outbox_with_ids.run(
                        conn, [{"id": i, **o} for i, o in zip(outbox_ids, outbox, strict=True)]
                    ),
                    lambda: self._touch_json.run(conn, touch_rows),
                ],
                self._events,
                events,
            )
        # The message as callers read it back (REST's MessageOut, the socket's ack), from
        # the values just written: model_construct, not Message(...) — validating them
        # again cost ~45 µs a reply, on the lane's thread and under SQLite's write lock.
        return [
            StoredReply(
                Message.model_construct(id=message_id, **{k: values[k] for k in _MESSAGE_FIELDS}),
                written[2 * n : 2 * n + 2],
            )
            for n, (values, message_id) in enumerate(zip(messages, message_ids, strict=True))
        ]

    @staticmethod
    def _message_row(r: PreparedReply, conv: _Conv) -> dict[str, Any]:
        return {
            **_MSG_DEFAULTS,
            "conversation_id": conv.id,
            "channel": conv.channel,
            "direction": Direction.outbound.value,
            "author_type": (AuthorType.system if r.actor.is_system else AuthorType.agent).value,
            "author_id": r.actor.user_id,
            "kind": MessageKind.text.value,
            "subject": r.subject or conv.subject,
            "body": r.text,
            "attachments": r.attachments,
            "provider_message_id": None,
            "delivery_status": DeliveryStatus.pending.value,
            "error": None,
            "meta": r.meta,
            "raw": {},
            "created_at": r.now,
        }
