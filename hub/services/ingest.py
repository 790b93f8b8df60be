"""``ingest``: the one door for every inbound message, and ``delivery_update``.

Idempotent on (channel, provider message id): a provider retrying a webhook gets the
first result back. The write is a group commit (hub.services.inbound_batch); concurrent
first messages from one new customer are settled by unique constraints (identity, open
conversation per thread, provider id), so no duplicate rows appear under concurrency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from hub.addresses import normalize_address
from hub.care.parse import parse_status_request
from hub.context import Hub
from hub.domain import DeliveryUpdate, InboundMessage
from hub.events import MessagePayload, MessageStatusPayload
from hub.models import (
    MESSAGE_OUTBOUND,
    Conversation,
    DeliveryStatus,
    Message,
    Team,
)
from hub.services.batch_rows import conversation_payload
from hub.services.errors import Invalid
from hub.services.inbound_batch import Prepared
from hub.services.inbound_batch import sla_seconds as team_sla_seconds
from hub.services.uow import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestResult:
    message_id: int
    conversation_id: int
    contact_id: int
    duplicate: bool = False
    new_conversation: bool = False


async def ingest(hub: Hub, msg: InboundMessage) -> IngestResult:
    """Store ``msg`` durably and thread it; returns once committed.

    The write itself is a group commit (:mod:`hub.group_commit`): concurrent ingests
    share one transaction and one commit, and this returns after the commit holding
    this message. Events are published in commit order before it returns.
    """
    if len(msg.body) > hub.settings.max_body_chars:
        raise Invalid(f"message body exceeds {hub.settings.max_body_chars} characters", code="too_long")
    address = normalize_address(msg.address_kind, msg.sender, hub.settings.default_phone_region)
    now = hub.now()
    if msg.received_at is None:
        msg = msg.model_copy(update={"received_at": now})
    # A survey answer (or its comment) is stored in the survey's conversation and opens
    # nothing; only a message that reads as one costs a lookup (hub.services.surveys).
    from hub.services.surveys import intercept

    taken = await intercept(hub, msg, address)
    if taken is not None:
        hub.metrics.ingested.labels(msg.channel).inc()
        return IngestResult(*taken)
    self_service = parse_status_request(msg.body, hub.settings.care.status_keywords) is not None
    prepared = Prepared(msg, address, now, msg.team or _channel_default_team(hub, msg.channel), self_service)
    stored = await hub.ingest_writer.submit(prepared, key=f"{msg.address_kind}:{address}")
    result = IngestResult(
        stored.message_id,
        stored.conversation_id,
        stored.contact_id,
        duplicate=stored.duplicate,
        new_conversation=stored.new_conversation,
    )
    if result.duplicate:
        hub.metrics.duplicates.labels(msg.channel).inc()
        return result
    hub.metrics.ingested.labels(msg.channel).inc()
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "ingested message",
            extra={
                "channel": msg.channel,
                "conversation_id": result.conversation_id,
                "message_id": result.message_id,
            },
        )
    return result


def sla_seconds(team: Team | None, channel: str) -> float:
    """The team's answer-time target for the channel (routing.sla_seconds), else the default."""
    return team_sla_seconds(team.routing if team is not None else None, channel)


def _channel_default_team(hub: Hub, channel: str) -> str | None:
    section = hub.settings.channels.get(channel) or {}
    value = section.get("team")
    return value if isinstance(value, str) else None


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
        whisper=bool((m.meta or {}).get("whisper")),
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
                    MESSAGE_OUTBOUND,
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


def emit_message_status(uow: UnitOfWork, m: Any, team_id: int | None, assignee_id: int | None) -> None:
    """``m``: a Message, or a row with its id, conversation_id, delivery_status, error
    and provider_message_id (the outbox records sends as plain rows)."""
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
