"""Agent replies by group commit: the message, its outbox row and events, batched.

The same design as the inbound path (:mod:`hub.services.inbound_batch`): a lane of
:class:`hub.group_commit.GroupCommitter` runs a batch of replies in one transaction
with precompiled statements. Replies are keyed by conversation, so one conversation's
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
from hub.precompiled import Precompiled
from hub.services.access import Actor, require_handler
from hub.services.batch_rows import EventWriter, column_defaults
from hub.services.errors import Conflict, Invalid, NotFound, ServiceError

_msg = Message.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]
_outbox = OutboxItem.__table__  # type: ignore[attr-defined]
_events = EventLog.__table__  # type: ignore[attr-defined]


_MSG_DEFAULTS = column_defaults(Message)
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
        find = sa.select(*_CONV_COLUMNS).where(_conv.c.id == bindparam("cid"))
        if dialect.name != "sqlite":
            find = find.with_for_update()  # SQLite: the lane holds the one write lock

        def pre(stmt: Any, keys: Sequence[str] | None = None) -> Precompiled:
            return Precompiled(stmt, dialect, keys)

        self._find = pre(find)
        self._insert_message = pre(sa.insert(_msg).returning(_msg.c.id), list(_MSG_DEFAULTS))
        self._insert_outbox = pre(sa.insert(_outbox).returning(_outbox.c.id), list(_OUTBOX_DEFAULTS))
        touch = sa.update(_conv).where(_conv.c.id == bindparam("cid"))
        self._touch = pre(touch, ["last_message_at", "updated_at"])
        self._touch_first = pre(touch, ["last_message_at", "updated_at", "first_response_at"])
        self._events = EventWriter(dialect)

    def __call__(self, conn: Connection, batch: Sequence[PreparedReply]) -> list[StoredReply | Exception]:
        out: list[StoredReply | Exception] = []
        for r in batch:
            try:
                conv = self._conversation(conn, r)
            except ServiceError as exc:
                out.append(exc)  # refused before anything of it was written
                continue
            out.append(self._write(conn, r, conv))
        return out

    def _conversation(self, conn: Connection, r: PreparedReply) -> _Conv:
        row = self._find.first(conn, {"cid": r.conversation_id})
        if row is None:
            raise NotFound(f"conversation {r.conversation_id} not found")
        conv = _Conv(*row)
        require_handler(r.actor, conv)  # type: ignore[arg-type]
        if conv.status in (ConversationStatus.resolved, ConversationStatus.abandoned):
            raise Conflict("the conversation is closed; reopen it to reply", code="conversation_closed")
        if conv.channel not in self._channels:
            raise Conflict(f"the {conv.channel} channel is not enabled on this hub", code="channel_disabled")
        if r.attachments and not self._channels[conv.channel]:
            raise Invalid(f"the {conv.channel} channel does not take attachments", code="no_attachments")
        return conv

    def _write(self, conn: Connection, r: PreparedReply, conv: _Conv) -> StoredReply:
        actor, now = r.actor, r.now
        values = {
            **_MSG_DEFAULTS,
            "conversation_id": conv.id,
            "channel": conv.channel,
            "direction": Direction.outbound.value,
            "author_type": (AuthorType.system if actor.is_system else AuthorType.agent).value,
            "author_id": actor.user_id,
            "kind": MessageKind.text.value,
            "subject": r.subject or conv.subject,
            "body": r.text,
            "attachments": r.attachments,
            "provider_message_id": None,
            "delivery_status": DeliveryStatus.pending.value,
            "error": None,
            "meta": r.meta,
            "raw": {},
            "created_at": now,
        }
        message_id = int(self._insert_message.first(conn, values)[0])  # type: ignore[index]
        outbox_id = int(
            self._insert_outbox.first(  # type: ignore[index]
                conn,
                {
                    **_OUTBOX_DEFAULTS,
                    "message_id": message_id,
                    "channel": conv.channel,
                    "status": OutboxStatus.pending.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "locked_until": None,
                    "last_error": None,
                    "created_at": now,
                    "updated_at": now,
                },
            )[0]
        )
        touch = {"cid": conv.id, "last_message_at": now, "updated_at": now}
        if conv.first_response_at is None and not actor.is_system:
            self._touch_first.run(conn, {**touch, "first_response_at": now})
        else:
            self._touch.run(conn, touch)
        created = self._events.write(
            conn,
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
                created_at=now,
            ),
            now,
            actor_id=actor.user_id,
            conversation_id=conv.id,
            team_id=conv.team_id,
            user_id=conv.assignee_id,
        )
        enqueued = self._events.write(
            conn,
            "outbox.enqueued",
            OutboxPayload(outbox_id=outbox_id, message_id=message_id, channel=conv.channel),
            now,
            actor_id=actor.user_id,
            conversation_id=conv.id,
            team_id=conv.team_id,
        )
        message = Message(id=message_id, **{k: v for k, v in values.items() if k in Message.model_fields})
        return StoredReply(message, [created, enqueued])
