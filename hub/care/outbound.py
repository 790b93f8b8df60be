"""Messages the hub itself sends to a customer (acknowledgements, status answers,
survey questions), written with their outbox row in the caller's transaction: they
leave through the one outbox, exactly once, like an agent's reply.

A system message may go into a resolved conversation without reopening it (a survey
after resolution). When the customer has no conversation on the channel yet (a
complaint opened by API, a survey sent to a segment), a *notice* conversation is made,
already resolved, addressed to their identity on that channel: it carries the message
and shows in their history, and never enters a queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import OutboxPayload
from hub.models import (
    OPEN_STATUSES,
    AuthorType,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Identity,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
)
from hub.services.errors import Conflict
from hub.services.ingest import emit_message
from hub.services.uow import UnitOfWork


def address_kind(hub: Hub, channel: str) -> str | None:
    if channel not in hub.channels:
        return None
    return str(getattr(hub.channels.get(channel), "address_kind", "")) or None


async def conversation_for(
    hub: Hub, uow: UnitOfWork, contact_id: int, channel: str, now: datetime, *, team_id: int | None = None
) -> Conversation:
    """The conversation a system message to this contact on ``channel`` goes into: an
    open one, else the latest, else a new resolved notice conversation."""
    s = uow.session
    if channel not in hub.channels:
        raise Conflict(f"the {channel} channel is not enabled on this hub", code="channel_disabled")
    latest = (
        await s.exec(
            select(Conversation)
            .where(Conversation.contact_id == contact_id, Conversation.channel == channel)
            .order_by(
                col(Conversation.status).in_([str(x) for x in OPEN_STATUSES]).desc(),
                col(Conversation.id).desc(),
            )
            .limit(1)
        )
    ).first()
    if latest is not None:
        return latest
    kind = address_kind(hub, channel)
    identity = (
        await s.exec(
            select(Identity)
            .where(Identity.contact_id == contact_id, Identity.kind == kind)
            .order_by(col(Identity.verified_at).is_(None), col(Identity.id))
            .limit(1)
        )
    ).first()
    if identity is None:
        raise Conflict(f"the customer has no {channel} address", code="no_address")
    conv = Conversation(
        contact_id=contact_id,
        channel=channel,
        contact_address=identity.address,
        status=ConversationStatus.resolved,
        team_id=team_id,
        created_at=now,
        updated_at=now,
        resolved_at=now,
        tags=["notice"],
    )
    s.add(conv)
    await s.flush()
    return conv


async def system_message(
    uow: UnitOfWork, conv: Conversation, body: str, now: datetime, *, meta: dict[str, Any] | None = None
) -> Message:
    """An outbound message from the hub with its outbox row, in ``uow``'s transaction."""
    s: AsyncSession = uow.session
    message = Message(
        conversation_id=conv.id,  # type: ignore[arg-type]
        channel=conv.channel,
        direction=Direction.outbound,
        author_type=AuthorType.system,
        kind=MessageKind.text,
        subject=conv.subject,
        body=body,
        delivery_status=DeliveryStatus.pending,
        meta=meta or {},
        created_at=now,
    )
    s.add(message)
    await s.flush()
    item = OutboxItem(
        message_id=message.id,  # type: ignore[arg-type]
        channel=conv.channel,
        status=OutboxStatus.pending,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    s.add(item)
    conv.last_message_at = now
    s.add(conv)
    await s.flush()
    emit_message(uow, "message.created", conv, message)
    uow.emit(
        "outbox.enqueued",
        OutboxPayload(outbox_id=item.id, message_id=message.id, channel=conv.channel),  # type: ignore[arg-type]
        conversation_id=conv.id,
        team_id=conv.team_id,
    )
    return message
