"""The hot path of every inbound message, as SQLAlchemy Core on a lane's connection.

Runs on a :class:`hub.group_commit.GroupCommitter` thread: a batch of prepared
messages in one transaction, statements built once at import and compiled once per
connection (SQLAlchemy's compiled cache), no ORM objects. Per message, in the usual
case of a known customer writing into an open conversation, that is five statements
on one connection with no thread or network hop between them: the provider-id check,
identity → contact, open conversation, message insert, conversation touch, plus one
event-log insert per event.

Concurrency is settled as before by the database's unique indexes, which matters on
PostgreSQL where several lanes and processes write at once: the identity, the open
conversation per thread and the inbound provider id are each inserted with
``ON CONFLICT DO NOTHING``; losing that race re-reads the winner (on PostgreSQL the
losing statement waits for the winner's commit, so the winner is visible).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Dialect, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.domain import InboundMessage
from hub.events import Event, MessagePayload, message_payload_json, validate_payload
from hub.models import (
    INBOUND_SQL,
    MESSAGE_INBOUND,
    AuthorType,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    EventLog,
    Identity,
    Message,
    MessageKind,
    Team,
)
from hub.precompiled import OneOf, Precompiled
from hub.services.batch_rows import (
    EventWriter,
    InsertReturning,
    JsonRows,
    JsonUpdate,
    ListRead,
    column_defaults,
    conversation_payload,
    next_ids,
    pipelined,
    write_pipelined,
)
from routing.model import DEFAULT_SLA_SECONDS, FALLBACK_SLA_SECONDS

log = logging.getLogger(__name__)
_msg = Message.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_events = EventLog.__table__  # type: ignore[attr-defined]
_team = Team.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A validated inbound message with everything decided outside the transaction."""

    msg: InboundMessage
    address: str
    now: datetime
    team_name: str | None
    # "status C-2026-000123": answered by the hub (hub.care.consumer). A conversation it
    # has to open is born resolved, so it never waits in a queue for an agent.
    self_service: bool = False


@dataclass(frozen=True, slots=True)
class Stored:
    message_id: int
    conversation_id: int
    contact_id: int
    duplicate: bool = False
    new_conversation: bool = False
    events: list[Event] = field(default_factory=list)


_CONTACT_DEFAULTS = column_defaults(Contact)
_CONV_DEFAULTS = column_defaults(Conversation)
_MSG_DEFAULTS = column_defaults(Message)

_OPEN = sa.text("status NOT IN ('resolved', 'abandoned')")  # the open-thread index's own WHERE
_FIND_DUPLICATE = (
    sa.select(_msg.c.id, _msg.c.conversation_id, _conv.c.contact_id)
    .join_from(_msg, _conv, _conv.c.id == _msg.c.conversation_id)
    .where(_msg.c.channel == bindparam("channel"), MESSAGE_INBOUND)
    .where(_msg.c.provider_message_id == bindparam("pid"))
)
_FIND_CONTACT = (
    sa.select(_identity.c.contact_id, _contact.c.name, _contact.c.language)
    .join_from(_identity, _contact, _contact.c.id == _identity.c.contact_id)
    .where(_identity.c.kind == bindparam("kind"), _identity.c.address == bindparam("address"))
)
_NAME_CONTACT = (
    sa.update(_contact)
    .where(_contact.c.id == bindparam("cid"), _contact.c.name == sa.literal_column("''"))
    .values(name=bindparam("new_name"))
)
_DELETE_CONTACT = sa.delete(_contact).where(_contact.c.id == bindparam("cid"))
_CONV_COLUMNS = (
    _conv.c.id,
    _conv.c.contact_id,
    _conv.c.channel,
    _conv.c.status,
    _conv.c.team_id,
    _conv.c.assignee_id,
    _conv.c.priority,
    _conv.c.category,
)
_FIND_OPEN = sa.select(*_CONV_COLUMNS).where(
    _conv.c.contact_id == bindparam("cid"),
    _conv.c.channel == bindparam("channel"),
    _conv.c.thread_key == bindparam("thread_key"),
    _OPEN,
)
_FIND_TEAM = sa.select(_team.c.id, _team.c.routing).where(_team.c.name == bindparam("name"))


# The set-wise path's reads: each column one of the batch's values (so the unique
# indexes serve them as they serve the one-row lookups), the exact pairs kept in Python.
def _seen_pids(one_of: OneOf) -> Any:
    return sa.select(_msg.c.channel, _msg.c.provider_message_id).where(
        one_of(_msg.c.channel, "channels"), one_of(_msg.c.provider_message_id, "pids"), MESSAGE_INBOUND
    )


def _known_senders(one_of: OneOf) -> Any:
    return (
        sa.select(_identity.c.kind, _identity.c.address, _identity.c.contact_id, _contact.c.name)
        .join_from(_identity, _contact, _contact.c.id == _identity.c.contact_id)
        .where(one_of(_identity.c.kind, "kinds"), one_of(_identity.c.address, "addresses"))
    )


def _open_threads(one_of: OneOf) -> Any:
    return sa.select(*_CONV_COLUMNS, _conv.c.thread_key).where(
        one_of(_conv.c.contact_id, "cids"),
        one_of(_conv.c.channel, "channels"),
        one_of(_conv.c.thread_key, "thread_keys"),
        _OPEN,
    )


# PostgreSQL: the same three reads as exact tuples, the batch's values as parallel
# arrays joined to the table (``unnest(…) JOIN … ON`` every column of the unique index).
# The planner then probes the index with every column of each tuple whatever the
# table's statistics; with ``column = ANY(…)`` per column and no statistics yet (a new
# database, or autovacuum off) it kept only the first column in the index condition
# and filtered the rest: the provider-id check read every inbound message of the
# channel (auto_explain: "Rows Removed by Filter: 20,700", 5–8 ms a batch, against
# 0.03 ms for the join; docs/architecture.md, "PostgreSQL plans").
_SEEN_PAIRS_PG = sa.text(
    "SELECT m.channel, m.provider_message_id "
    "FROM unnest(CAST(:channels AS VARCHAR[]), CAST(:pids AS VARCHAR[])) AS x(channel, pid) "
    f"JOIN message AS m ON m.channel = x.channel AND m.provider_message_id = x.pid WHERE m.{INBOUND_SQL}"
).columns(_msg.c.channel, _msg.c.provider_message_id)
_KNOWN_PAIRS_PG = sa.text(
    "SELECT i.kind, i.address, i.contact_id, c.name "
    "FROM unnest(CAST(:kinds AS VARCHAR[]), CAST(:addresses AS VARCHAR[])) AS x(kind, address) "
    "JOIN identity AS i ON i.kind = x.kind AND i.address = x.address JOIN contact AS c ON c.id = i.contact_id"
).columns(_identity.c.kind, _identity.c.address, _identity.c.contact_id, _contact.c.name)
_OPEN_TRIPLES_PG = sa.text(
    "SELECT "
    + ", ".join(f"c.{col.name}" for col in _CONV_COLUMNS)
    + ", c.thread_key FROM unnest(CAST(:cids AS INTEGER[]), CAST(:channels AS VARCHAR[]), "
    "CAST(:thread_keys AS VARCHAR[])) AS x(contact_id, channel, thread_key) "
    "JOIN conversation AS c ON c.contact_id = x.contact_id AND c.channel = x.channel "
    "AND c.thread_key = x.thread_key WHERE c.status NOT IN ('resolved', 'abandoned')"
).columns(*_CONV_COLUMNS, _conv.c.thread_key)


def _read(dialect: Dialect, build: Any, pg: Any) -> ListRead:
    """The set-wise read: ``pg`` (the tuples joined) on PostgreSQL, else ``build``."""
    return ListRead(lambda _: pg, dialect) if dialect.name == "postgresql" else ListRead(build, dialect)


def _columns(pairs: Sequence[tuple[Any, ...]], names: Sequence[str], exact: bool) -> dict[str, list[Any]]:
    """The reads' parameters from the batch's distinct tuples: parallel arrays of the
    tuples themselves (``exact``, PostgreSQL's join), else each column's distinct values
    (SQLite's ``IN`` per column; the exact tuples are kept in Python)."""
    if exact:
        ordered = sorted(set(pairs))
        return {n: [t[k] for t in ordered] for k, n in enumerate(names)}
    return {n: sorted({t[k] for t in pairs}) for k, n in enumerate(names)}


_REOPENS = frozenset({ConversationStatus.waiting_on_customer.value, ConversationStatus.snoozed.value})
_TOUCH_KEYS = ("last_message_at", "last_inbound_at", "updated_at")

Teams = dict[str, tuple[int, dict[str, Any]] | None]


@dataclass(slots=True)
class _Conv:
    id: int
    contact_id: int
    channel: str
    status: str
    team_id: int | None
    assignee_id: int | None
    priority: int
    category: str | None


class InboundWriter:
    """Writes batches of :class:`Prepared` messages with statements compiled for ``dialect``."""

    def __init__(self, dialect: Dialect) -> None:
        insert = sqlite_insert if dialect.name == "sqlite" else pg_insert

        def pre(stmt: Any, keys: Sequence[str] | None = None) -> Precompiled:
            return Precompiled(stmt, dialect, keys)

        self._find_duplicate = pre(_FIND_DUPLICATE)
        self._find_contact = pre(_FIND_CONTACT)
        self._name_contact = pre(_NAME_CONTACT)
        self._delete_contact = pre(_DELETE_CONTACT)
        self._find_open = pre(_FIND_OPEN)
        self._find_team = pre(_FIND_TEAM)
        self._insert_contact = pre(sa.insert(_contact).returning(_contact.c.id), list(_CONTACT_DEFAULTS))
        self._insert_identity = pre(
            insert(_identity)
            .on_conflict_do_nothing(index_elements=["kind", "address"])
            .returning(_identity.c.id),
            ["contact_id", "kind", "address", "created_at", "verified_at"],
        )
        self._insert_conv = pre(
            insert(_conv)
            .on_conflict_do_nothing(index_elements=["contact_id", "channel", "thread_key"], index_where=_OPEN)
            .returning(*_CONV_COLUMNS),
            list(_CONV_DEFAULTS),
        )
        self._insert_message = pre(
            insert(_msg)
            .on_conflict_do_nothing(
                index_elements=["channel", "provider_message_id"], index_where=sa.text(INBOUND_SQL)
            )
            .returning(_msg.c.id),
            list(_MSG_DEFAULTS),
        )
        self._events = EventWriter(dialect)
        self._seen_pids = _read(dialect, _seen_pids, _SEEN_PAIRS_PG)
        self._known_senders = _read(dialect, _known_senders, _KNOWN_PAIRS_PG)
        self._open_threads = _read(dialect, _open_threads, _OPEN_TRIPLES_PG)
        self._insert_messages = InsertReturning(_msg, dialect, list(_MSG_DEFAULTS))
        touch = sa.update(_conv).where(_conv.c.id == bindparam("cid"))
        self._touch_plain = pre(touch, _TOUCH_KEYS)
        self._touch_reopen = pre(touch, (*_TOUCH_KEYS, "status", "snoozed_until"))
        self._touch_requeue = pre(touch, (*_TOUCH_KEYS, "status", "snoozed_until", "queued_at"))
        # PostgreSQL: the set-wise path's message ids drawn with its first reads, so its
        # writes (messages, touches, events) go out as three statements in one pipeline
        # (hub.services.batch_rows.pipelined, JsonRows).
        self._pg = dialect.name == "postgresql"
        if self._pg:
            self._draw = next_ids(dialect, _msg)
            self._messages_json = JsonRows(_msg, dialect, ["id", *_MSG_DEFAULTS])
            self._touch_json = JsonUpdate(_conv, dialect, ["id", *_TOUCH_KEYS], {})

    # The lane calls this with its connection inside a transaction.
    def __call__(self, conn: Connection, batch: Sequence[Prepared]) -> list[Stored]:
        teams: Teams = {}
        if len(batch) < 2:
            return [self._one(conn, p, teams) for p in batch]
        out: list[Stored | None] = [None] * len(batch)
        fast, drawn = self._plan(conn, batch)
        if fast:
            for i, stored in zip(fast, self._write_known(conn, batch, fast, drawn), strict=True):
                out[i] = stored
        # The rest, one by one in arrival order: duplicates, new customers or
        # conversations, a conversation coming back from waiting or snoozed.
        for i, p in enumerate(batch):
            if out[i] is None:
                out[i] = self._one(conn, p, teams)
        return out  # type: ignore[return-value]

    # -- the set-wise path ---------------------------------------------------------
    def _plan(
        self, conn: Connection, batch: Sequence[Prepared]
    ) -> tuple[dict[int, tuple[int, _Conv]], list[int] | None]:
        """Which messages are the usual case, with their contact and open conversation.

        Three reads for the whole batch (provider ids, identities, open conversations).
        A message qualifies when its provider id is new (and once in the batch), its
        sender is a known customer who needs no name, and its conversation is open and
        not waiting on the customer or snoozed (those change status). A sender with any
        message that does not qualify has all of theirs written one by one, so one
        customer's messages keep their arrival order.

        PostgreSQL: the first two reads go out in one pipeline, and the third with the
        drawing of ids for the messages that may still qualify (a known sender, a new
        provider id once in the batch); an id the plan then leaves is a gap.
        """
        pids: dict[tuple[str, str], int] = {}
        for p in batch:
            key = (p.msg.channel, p.msg.provider_message_id)
            pids[key] = pids.get(key, 0) + 1
        senders = {(p.msg.address_kind, p.address) for p in batch}
        with pipelined(conn):
            seen_rows = self._seen_pids.send(conn, _columns(list(pids), ("channels", "pids"), self._pg))
            sender_rows = self._known_senders.send(
                conn, _columns(list(senders), ("kinds", "addresses"), self._pg)
            )
            seen = {(ch, pid) for ch, pid in self._seen_pids.fetch(seen_rows)}
            contacts = {
                (kind, address): (int(cid), name)
                for kind, address, cid, name in self._known_senders.fetch(sender_rows)
                if (kind, address) in senders
            }
        candidates = [
            p
            for p in batch
            if (p.msg.address_kind, p.address) in contacts
            and pids[(p.msg.channel, p.msg.provider_message_id)] == 1
            and (p.msg.channel, p.msg.provider_message_id) not in seen
        ]
        threads = {
            (contacts[(p.msg.address_kind, p.address)][0], p.msg.channel, p.msg.thread_key)
            for p in candidates
        }
        convs: dict[tuple[int, str, str], _Conv] = {}
        drawn: list[int] | None = None
        if threads:
            with pipelined(conn):
                draw = self._draw.execute(conn, {"n": len(candidates)}) if self._pg else None
                rows = self._open_threads.rows(
                    conn, _columns(list(threads), ("cids", "channels", "thread_keys"), self._pg)
                )
                if draw is not None:
                    try:
                        drawn = sorted(int(r[0]) for r in draw.fetchall())
                    finally:
                        draw.close()
            for row in rows:
                thread = (int(row[1]), row[2], row[-1])
                if thread in threads:
                    convs[thread] = _Conv(*row[:-1])
        plan: dict[int, tuple[int, _Conv]] = {}
        slow: set[tuple[str, str]] = set()
        for i, p in enumerate(batch):
            msg = p.msg
            sender = (msg.address_kind, p.address)
            known = contacts.get(sender)
            conv = convs.get((known[0], msg.channel, msg.thread_key)) if known else None
            pid = (msg.channel, msg.provider_message_id)
            if (
                known is None
                or conv is None
                or (msg.sender_name and not known[1])
                or pids[pid] > 1
                or pid in seen
                or conv.status in _REOPENS
            ):
                slow.add(sender)
            else:
                plan[i] = (known[0], conv)
        fast = {i: v for i, v in plan.items() if (batch[i].msg.address_kind, batch[i].address) not in slow}
        return fast, drawn

    def _write_known(
        self,
        conn: Connection,
        batch: Sequence[Prepared],
        plan: dict[int, tuple[int, _Conv]],
        drawn: list[int] | None,
    ) -> list[Stored]:
        """The planned messages: one insert of all of them, one touch per conversation,
        one insert of their events (PostgreSQL: the three in one pipeline, the messages
        taking the ids drawn by the plan). A provider id another writer committed since
        the plan's read fails the insert, and the lane retries the batch one by one."""
        rows = []
        for i, (contact_id, conv) in plan.items():
            rows.append(self._message_row(batch[i], conv.id, contact_id))
        ids = self._insert_messages(conn, rows) if drawn is None else drawn[: len(rows)]
        touches: dict[int, dict[str, Any]] = {}
        events = []
        stored = []
        for message_id, values, (i, (contact_id, conv)) in zip(ids, rows, plan.items(), strict=True):
            p = batch[i]
            touches[conv.id] = {
                "cid": conv.id,
                "last_message_at": values["created_at"],
                "last_inbound_at": values["created_at"],
                "updated_at": p.now,
            }
            events.append(
                self._events.row(
                    "message.received",
                    self._payload(p, values, message_id, conv.id, contact_id),
                    p.now,
                    conversation_id=conv.id,
                    team_id=conv.team_id,
                    user_id=conv.assignee_id,
                    dumped=True,
                )
            )
            stored.append(Stored(message_id, conv.id, contact_id))
        if drawn is None:
            self._touch_plain.many(conn, list(touches.values()))
            written = self._events.write_many(conn, events)
        else:
            touch_rows = [
                {"id": t["cid"], **{k: v for k, v in t.items() if k != "cid"}} for t in touches.values()
            ]
            written = write_pipelined(  # three statements, one wait
                conn,
                [
                    lambda: self._messages_json.run(
                        conn, [{"id": i, **r} for i, r in zip(ids, rows, strict=True)]
                    ),
                    lambda: self._touch_json.run(conn, touch_rows),
                ],
                self._events,
                events,
            )
        for s, event in zip(stored, written, strict=True):
            s.events.append(event)
        return stored

    def _message_row(self, p: Prepared, conversation_id: int, contact_id: int) -> dict[str, Any]:
        msg = p.msg
        return {
            **_MSG_DEFAULTS,
            "conversation_id": conversation_id,
            "channel": msg.channel,
            "direction": Direction.inbound.value,
            "author_type": AuthorType.contact.value,
            "author_id": contact_id,
            "kind": MessageKind(msg.kind).value,
            "subject": msg.subject,
            "body": msg.body,
            "attachments": [a.model_dump(exclude_none=True) for a in msg.attachments],
            "provider_message_id": msg.provider_message_id,
            "delivery_status": DeliveryStatus.received.value,
            "meta": msg.meta,
            "raw": msg.raw,
            "created_at": msg.received_at or p.now,
        }

    @staticmethod
    def _payload(
        p: Prepared, values: dict[str, Any], message_id: int, conversation_id: int, contact_id: int
    ) -> dict[str, Any]:
        """``message.received``'s payload, validated and JSON-ready."""
        fields: dict[str, Any] = {
            "conversation_id": conversation_id,
            "message_id": message_id,
            "channel": p.msg.channel,
            "direction": Direction.inbound.value,
            "author_type": AuthorType.contact.value,
            "author_id": contact_id,
            "kind": values["kind"],
            "body": p.msg.body,
            "subject": p.msg.subject,
            "delivery_status": DeliveryStatus.received.value,
            "created_at": values["created_at"],
        }
        if not values["attachments"] and (fast := message_payload_json(**fields)) is not None:
            return fast
        model = MessagePayload(**fields, attachments=values["attachments"])
        return validate_payload("message.received", model)

    # -- one message at a time -----------------------------------------------------

    def _one(self, conn: Connection, p: Prepared, teams: Teams) -> Stored:
        msg = p.msg
        dup = self._duplicate(conn, msg)
        if dup is not None:
            return dup
        contact_id, contact_language = self._contact(conn, msg, p.address, p.now)
        conv, created = self._open_conversation(conn, p, contact_id, contact_language, teams)
        values = self._message_row(p, conv.id, contact_id)
        received_at = values["created_at"]
        row = self._insert_message.first(conn, values)
        if row is None:
            # The same provider id committed by another lane or process meanwhile.
            dup = self._duplicate(conn, msg)
            assert dup is not None, "unique violation without a visible duplicate"
            return dup
        message_id = int(row[0])
        self._touch(conn, conv, received_at, p.now)
        events = []
        if created:
            events.append(
                self._events.write(
                    conn,
                    "conversation.created",
                    conversation_payload(conv),
                    p.now,
                    conversation_id=conv.id,
                    team_id=conv.team_id,
                )
            )
        events.append(
            self._events.write(
                conn,
                "message.received",
                self._payload(p, values, message_id, conv.id, contact_id),
                p.now,
                conversation_id=conv.id,
                team_id=conv.team_id,
                user_id=conv.assignee_id,
                dumped=True,  # _payload's is validated already
            )
        )
        return Stored(message_id, conv.id, contact_id, new_conversation=created, events=events)

    def _duplicate(self, conn: Connection, msg: InboundMessage) -> Stored | None:
        row = self._find_duplicate.first(conn, {"channel": msg.channel, "pid": msg.provider_message_id})
        if row is None:
            return None
        return Stored(int(row[0]), int(row[1]), int(row[2]), duplicate=True)

    def _contact(
        self, conn: Connection, msg: InboundMessage, address: str, now: datetime
    ) -> tuple[int, str | None]:
        """(contact id, their language) for the sender, created on their first message."""
        key = {"kind": msg.address_kind, "address": address}
        for _ in range(3):
            found = self._find_contact.first(conn, key)
            if found is not None:
                contact_id, name, language = found
                if msg.sender_name and not name:
                    self._name_contact.run(conn, {"cid": contact_id, "new_name": msg.sender_name})
                return int(contact_id), language
            new = {
                **_CONTACT_DEFAULTS,
                "name": msg.sender_name,
                "language": msg.language,
                "created_at": now,
                "updated_at": now,
            }
            contact_id = self._insert_contact.first(conn, new)[0]  # type: ignore[index]
            # Verified: the customer wrote from this address.
            identity = {"contact_id": contact_id, **key, "created_at": now, "verified_at": now}
            if self._insert_identity.first(conn, identity) is not None:
                return int(contact_id), msg.language
            self._delete_contact.run(conn, {"cid": contact_id})  # another writer was first
        raise RuntimeError(f"could not settle identity {msg.address_kind}:{address}")

    def _open_conversation(
        self, conn: Connection, p: Prepared, contact_id: int, contact_language: str | None, teams: Teams
    ) -> tuple[_Conv, bool]:
        msg = p.msg
        key = {"cid": contact_id, "channel": msg.channel, "thread_key": msg.thread_key}
        for _ in range(3):
            found = self._find_open.first(conn, key)
            if found is not None:
                return _Conv(*found), False
            team = self._team(conn, p.team_name, teams)
            values = {
                **_CONV_DEFAULTS,
                "contact_id": contact_id,
                "channel": msg.channel,
                "channel_account": msg.channel_account,
                "contact_address": p.address,
                "thread_key": msg.thread_key,
                "subject": msg.subject,
                "status": ConversationStatus.queued.value,
                "team_id": team[0] if team else None,
                "sla_due_at": p.now + timedelta(seconds=sla_seconds(team[1] if team else None, msg.channel)),
                "language": msg.language or contact_language,
                "priority": msg.priority,
                "created_at": p.now,
                "updated_at": p.now,
                "queued_at": p.now,
            }
            if p.self_service:
                values.update(
                    status=ConversationStatus.resolved.value,
                    queued_at=None,
                    resolved_at=p.now,
                    tags=["self-service"],
                )
            row = self._insert_conv.first(conn, values)
            if row is not None:
                return _Conv(*row), True
        raise RuntimeError("could not settle the open conversation")

    def _team(self, conn: Connection, name: str | None, teams: Teams) -> tuple[int, dict[str, Any]] | None:
        if not name:
            return None
        if name not in teams:
            row = self._find_team.first(conn, {"name": name})
            if row is None:
                log.warning("unknown team %r; leaving the conversation unrouted", name)
                teams[name] = None
            else:
                routing = json.loads(row[1]) if isinstance(row[1], str) else row[1]
                teams[name] = (int(row[0]), routing if isinstance(routing, dict) else {})
        return teams[name]

    def _touch(self, conn: Connection, conv: _Conv, received_at: datetime, now: datetime) -> None:
        values: dict[str, Any] = {
            "cid": conv.id,
            "last_message_at": received_at,
            "last_inbound_at": received_at,
            "updated_at": now,
        }
        stmt = self._touch_plain
        if conv.status in (ConversationStatus.waiting_on_customer, ConversationStatus.snoozed):
            # The customer wrote back: the conversation needs attention again.
            status = ConversationStatus.assigned if conv.assignee_id else ConversationStatus.queued
            conv.status = status.value
            values.update(status=status.value, snoozed_until=None)
            stmt = self._touch_reopen
            if status == ConversationStatus.queued:
                values["queued_at"] = now
                stmt = self._touch_requeue
        stmt.run(conn, values)


def sla_seconds(routing: dict[str, Any] | None, channel: str) -> float:
    """The team's answer-time target for the channel (routing.sla_seconds), else the default."""
    configured = (routing or {}).get("sla_seconds", {})
    value = configured.get(channel) if isinstance(configured, dict) else None
    if isinstance(value, int | float) and value > 0:
        return float(value)
    return DEFAULT_SLA_SECONDS.get(channel, FALLBACK_SLA_SECONDS)
