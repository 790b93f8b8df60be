"""The few writes the Twilio adapters make beyond ``ingest`` and ``delivery_update``.

Each is one unit of work that publishes its events after the commit, like every hub
service. They live here, not in ``hub/services``, until the core grows general
versions (system event messages, tags); see docs/channels/twilio.md. Opt-outs are the
hub's (hub.services.consent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from hub.context import Hub
from hub.models import AuthorType, Conversation, DeliveryStatus, Direction, Message, MessageKind
from hub.services.ingest import conversation_payload, message_payload
from hub.services.uow import unit_of_work


async def record_event(
    hub: Hub,
    conversation_id: int,
    body: str,
    *,
    key: str,
    unless: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
) -> bool:
    """Add a system event line (call ringing, answered, opted out, ...) to the thread.

    ``key`` is stored as the provider message id, so the unique constraint on
    (channel, direction, provider id) makes the same event recorded twice — a
    provider retry, or two hub processes reacting to one bus event — a no-op.
    ``unless`` names keys whose presence means the event no longer applies (e.g. no
    bridge once the caller hung up). Returns True when the event was recorded.
    """
    async with unit_of_work(hub) as uow:
        s = uow.session
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            return False
        taken = [key, *unless]
        existing = (
            await s.exec(
                select(Message.id).where(
                    Message.conversation_id == conversation_id,
                    Message.direction == Direction.internal,
                    col(Message.provider_message_id).in_(taken),
                )
            )
        ).first()
        if existing is not None:
            return False
        message = Message(
            conversation_id=conversation_id,
            channel=conv.channel,
            direction=Direction.internal,
            author_type=AuthorType.system,
            kind=MessageKind.event,
            body=body,
            provider_message_id=key,
            delivery_status=DeliveryStatus.sent,
            meta=meta or {},
            created_at=hub.now(),
        )
        try:
            async with s.begin_nested():
                s.add(message)
                await s.flush()
        except IntegrityError:
            return False  # a concurrent writer recorded it first
        uow.emit(
            "message.created",
            message_payload(message),
            conversation_id=conversation_id,
            team_id=conv.team_id,
            user_id=conv.assignee_id,
        )
    return True


async def add_tag(hub: Hub, conversation_id: int, tag: str) -> bool:
    """Tag a conversation (``callback`` marks a call to return). True when added."""
    async with unit_of_work(hub) as uow:
        conv = await uow.session.get(Conversation, conversation_id)
        if conv is None or tag in conv.tags:
            return False
        conv.tags = sorted({*conv.tags, tag})  # a new list, so the JSON column is written
        conv.updated_at = hub.now()
        uow.emit(
            "conversation.updated",
            conversation_payload(conv, reason=f"tag:{tag}"),
            conversation_id=conversation_id,
            team_id=conv.team_id,
            user_id=conv.assignee_id,
        )
    return True
