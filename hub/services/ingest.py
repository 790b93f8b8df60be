"""``ingest``: the one door for every inbound message, and ``delivery_update``.

Idempotent on (channel, provider message id): a provider retrying a webhook gets the
first result back. Concurrent first messages from one new customer are settled by
unique constraints (identity, open conversation per thread, provider id) and
savepoints, so no duplicate rows appear on PostgreSQL under real concurrency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.addresses import normalize_address
from hub.context import Hub
from hub.domain import DeliveryUpdate, InboundMessage
from hub.events import ConversationPayload, MessagePayload, MessageStatusPayload
from hub.models import (
    INBOUND_SQL,
    OPEN_STATUSES,
    AuthorType,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Identity,
    Message,
    MessageKind,
    Team,
)
from hub.services.errors import Invalid
from hub.services.uow import UnitOfWork, unit_of_work
from routing.model import DEFAULT_SLA_SECONDS, FALLBACK_SLA_SECONDS

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IngestResult:
    message_id: int
    conversation_id: int
    contact_id: int
    duplicate: bool = False
    new_conversation: bool = False


async def ingest(hub: Hub, msg: InboundMessage) -> IngestResult:
    """Store ``msg`` durably and thread it; returns once committed."""
    if len(msg.body) > hub.settings.max_body_chars:
        raise Invalid(f"message body exceeds {hub.settings.max_body_chars} characters", code="too_long")
    address = normalize_address(msg.address_kind, msg.sender, hub.settings.default_phone_region)

    if msg.received_at is None:
        msg = msg.model_copy(update={"received_at": hub.now()})
    existing = await _find_duplicate(hub, msg)
    if existing is not None:
        hub.metrics.duplicates.labels(msg.channel).inc()
        return existing

    async with unit_of_work(hub) as uow:
        s = uow.session
        contact = await _contact_for(s, msg, address)
        conv, created = await _open_conversation(hub, s, msg, contact, address)
        message = Message(
            conversation_id=conv.id,  # type: ignore[arg-type]
            channel=msg.channel,
            direction=Direction.inbound,
            author_type=AuthorType.contact,
            author_id=contact.id,
            kind=MessageKind(msg.kind),
            subject=msg.subject,
            body=msg.body,
            attachments=[a.model_dump(exclude_none=True) for a in msg.attachments],
            provider_message_id=msg.provider_message_id,
            delivery_status=DeliveryStatus.received,
            meta=msg.meta,
            raw=msg.raw,
            created_at=msg.received_at or hub.now(),
        )
        if not await _insert_message(s, message, sqlite=hub.db.is_sqlite):
            # Lost a race with a concurrent delivery of the same provider id.
            result = None
        else:
            _touch_conversation(conv, msg, hub)
            _emit_received(uow, conv, message, created)
            result = IngestResult(message.id, conv.id, contact.id, new_conversation=created)  # type: ignore[arg-type]
    if result is None:
        dup = await _find_duplicate(hub, msg)
        assert dup is not None, "unique violation without a visible duplicate"
        hub.metrics.duplicates.labels(msg.channel).inc()
        return dup
    hub.metrics.ingested.labels(msg.channel).inc()
    log.info(
        "ingested message",
        extra={
            "channel": msg.channel,
            "conversation_id": result.conversation_id,
            "message_id": result.message_id,
        },
    )
    return result


async def _find_duplicate(hub: Hub, msg: InboundMessage) -> IngestResult | None:
    async with hub.db.session() as s:
        row = (
            await s.exec(
                select(Message.id, Message.conversation_id, Conversation.contact_id)
                .join(Conversation, col(Conversation.id) == Message.conversation_id)
                .where(
                    Message.channel == msg.channel,
                    Message.direction == Direction.inbound,
                    Message.provider_message_id == msg.provider_message_id,
                )
            )
        ).first()
    if row is None:
        return None
    return IngestResult(row[0], row[1], row[2], duplicate=True)  # type: ignore[arg-type]


async def _insert_message(s: AsyncSession, message: Message, *, sqlite: bool) -> bool:
    """One statement, no savepoint: the hot path of every inbound message.

    ``ON CONFLICT DO NOTHING`` on the provider-id constraint turns a concurrent duplicate
    into "no row returned" instead of an error that would need a savepoint to survive.
    """
    insert = sqlite_insert if sqlite else pg_insert
    values = {c.name: getattr(message, c.name) for c in Message.__table__.columns if c.name != "id"}  # type: ignore[attr-defined]
    stmt = (
        insert(Message)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["channel", "provider_message_id"], index_where=sa.text(INBOUND_SQL)
        )
        .returning(col(Message.id))
    )
    new_id = (await s.exec(stmt)).first()  # type: ignore[call-overload]
    if new_id is None:
        return False
    message.id = new_id[0] if isinstance(new_id, sa.Row | tuple) else new_id
    return True


async def _insert(s: AsyncSession, obj: Any) -> bool:
    """Insert in a savepoint; False if a unique constraint says someone was first."""
    try:
        async with s.begin_nested():
            s.add(obj)
            await s.flush()
    except IntegrityError:
        return False
    return True


async def _contact_for(s: AsyncSession, msg: InboundMessage, address: str) -> Contact:
    for _ in range(3):
        found = (
            await s.exec(
                select(Contact)
                .join(Identity, col(Identity.contact_id) == Contact.id)
                .where(Identity.kind == msg.address_kind, Identity.address == address)
            )
        ).first()
        if found is not None:
            if msg.sender_name and not found.name:
                found.name = msg.sender_name
            return found
        contact = Contact(name=msg.sender_name, language=msg.language)
        s.add(contact)
        await s.flush()
        if await _insert(s, Identity(contact_id=contact.id, kind=msg.address_kind, address=address)):  # type: ignore[arg-type]
            return contact
        await s.delete(contact)  # someone else created this identity first
        await s.flush()
    raise RuntimeError(f"could not settle identity {msg.address_kind}:{address}")


async def _team(hub: Hub, s: AsyncSession, msg: InboundMessage) -> Team | None:
    name = msg.team or _channel_default_team(hub, msg.channel)
    if not name:
        return None
    team = (await s.exec(select(Team).where(Team.name == name))).first()
    if team is None:
        log.warning("unknown team %r for channel %s; leaving unrouted", name, msg.channel)
    return team


def sla_seconds(team: Team | None, channel: str) -> float:
    """The team's answer-time target for the channel (routing.sla_seconds), else the default."""
    configured = (team.routing or {}).get("sla_seconds", {}) if team is not None else {}
    value = configured.get(channel) if isinstance(configured, dict) else None
    if isinstance(value, int | float) and value > 0:
        return float(value)
    return DEFAULT_SLA_SECONDS.get(channel, FALLBACK_SLA_SECONDS)


def _channel_default_team(hub: Hub, channel: str) -> str | None:
    section = hub.settings.channels.get(channel) or {}
    value = section.get("team")
    return value if isinstance(value, str) else None


async def _open_conversation(
    hub: Hub, s: AsyncSession, msg: InboundMessage, contact: Contact, address: str
) -> tuple[Conversation, bool]:
    for _ in range(3):
        conv = (
            await s.exec(
                select(Conversation).where(
                    Conversation.contact_id == contact.id,
                    Conversation.channel == msg.channel,
                    Conversation.thread_key == msg.thread_key,
                    col(Conversation.status).in_(OPEN_STATUSES),
                )
            )
        ).first()
        if conv is not None:
            return conv, False
        now = hub.now()
        team = await _team(hub, s, msg)
        conv = Conversation(
            contact_id=contact.id,  # type: ignore[arg-type]
            channel=msg.channel,
            channel_account=msg.channel_account,
            contact_address=address,
            thread_key=msg.thread_key,
            subject=msg.subject,
            status=ConversationStatus.queued,
            team_id=team.id if team is not None else None,
            sla_due_at=now + timedelta(seconds=sla_seconds(team, msg.channel)),
            language=msg.language or contact.language,
            priority=msg.priority,
            created_at=now,
            updated_at=now,
            queued_at=now,
        )
        if await _insert(s, conv):
            return conv, True
    raise RuntimeError("could not settle the open conversation")


def _touch_conversation(conv: Conversation, msg: InboundMessage, hub: Hub) -> None:
    now = hub.now()
    conv.last_message_at = msg.received_at or now
    conv.last_inbound_at = msg.received_at or now
    conv.updated_at = now
    if conv.status in (ConversationStatus.waiting_on_customer, ConversationStatus.snoozed):
        # The customer wrote back: the conversation needs attention again.
        conv.status = ConversationStatus.assigned if conv.assignee_id else ConversationStatus.queued
        conv.snoozed_until = None
        if conv.status == ConversationStatus.queued:
            conv.queued_at = now


def conversation_payload(conv: Conversation, **extra: Any) -> ConversationPayload:
    return ConversationPayload(
        conversation_id=conv.id,  # type: ignore[arg-type]
        contact_id=conv.contact_id,
        channel=conv.channel,
        status=str(conv.status),
        team_id=conv.team_id,
        assignee_id=conv.assignee_id,
        priority=conv.priority,
        category=str(conv.category) if conv.category else None,
        **extra,
    )


def message_payload(m: Message) -> MessagePayload:
    return MessagePayload(
        conversation_id=m.conversation_id,
        message_id=m.id,  # type: ignore[arg-type]
        channel=m.channel,
        direction=str(m.direction),
        author_type=str(m.author_type),
        author_id=m.author_id,
        kind=str(m.kind),
        body=m.body,
        subject=m.subject,
        delivery_status=str(m.delivery_status),
        attachments=m.attachments,
        created_at=m.created_at,
    )


def _emit_received(uow: UnitOfWork, conv: Conversation, message: Message, created: bool) -> None:
    if created:
        uow.emit(
            "conversation.created", conversation_payload(conv), conversation_id=conv.id, team_id=conv.team_id
        )
    emit_message(uow, "message.received", conv, message)


_STATUS_RANK = {
    DeliveryStatus.pending: 0,
    DeliveryStatus.sent: 1,
    DeliveryStatus.delivered: 2,
    DeliveryStatus.read: 3,
}


async def delivery_update(hub: Hub, update: DeliveryUpdate) -> bool:
    """Apply a provider status callback. Returns False when the message is unknown.

    Callbacks arrive out of order (``delivered`` before ``sent``); a status never moves
    backwards, and ``failed`` always wins with its reason.
    """
    async with unit_of_work(hub) as uow:
        m = (
            await uow.session.exec(
                select(Message)
                .where(
                    Message.channel == update.channel,
                    Message.direction == Direction.outbound,
                    Message.provider_message_id == update.provider_message_id,
                )
                # Outbound ids are not unique (a provider may reuse one): the latest wins.
                .order_by(col(Message.id).desc())
                .limit(1)
            )
        ).first()
        if m is None:
            log.warning("status callback for unknown message", extra={"channel": update.channel})
            return False
        new = DeliveryStatus(update.status)
        old = m.delivery_status
        if new == DeliveryStatus.failed:
            m.error = update.error or "failed"
        elif old == DeliveryStatus.failed or _STATUS_RANK.get(new, 0) <= _STATUS_RANK.get(old, 0):
            return True
        m.delivery_status = new
        conv_row = (
            await uow.session.exec(
                select(Conversation.team_id, Conversation.assignee_id).where(
                    Conversation.id == m.conversation_id
                )
            )
        ).first()
        conv_team, conv_assignee = conv_row if conv_row is not None else (None, None)
        emit_message_status(uow, m, conv_team, conv_assignee)
    return True


def emit_message_status(uow: UnitOfWork, m: Message, team_id: int | None, assignee_id: int | None) -> None:
    uow.emit(
        "message.status",
        MessageStatusPayload(
            conversation_id=m.conversation_id,
            message_id=m.id,  # type: ignore[arg-type]
            delivery_status=str(m.delivery_status),
            error=m.error,
            provider_message_id=m.provider_message_id,
        ),
        conversation_id=m.conversation_id,
        team_id=team_id,
        user_id=assignee_id,
    )


def emit_message(uow: UnitOfWork, event_type: str, conv: Conversation, message: Message) -> None:
    """message.received / message.created, routed to the conversation's assignee."""
    uow.emit(
        event_type,
        message_payload(message),
        conversation_id=conv.id,
        team_id=conv.team_id,
        user_id=conv.assignee_id,
    )
