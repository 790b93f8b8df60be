"""Read-only questions the adapters ask the hub's database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from hub.context import Hub
from hub.domain import OutboundMessage
from hub.models import MESSAGE_INBOUND, Contact, Conversation, Direction, Message, MessageKind, User


@dataclass(frozen=True, slots=True)
class CallRef:
    """A call and the conversation it is."""

    call_sid: str
    conversation_id: int
    team_id: int | None
    status: str
    assignee_id: int | None
    caller: str
    our_number: str


async def contact_attributes(hub: Hub, conversation_id: int) -> dict[str, Any]:
    async with hub.db.session() as s:
        row = (
            await s.exec(
                select(Contact.attributes)
                .join(Conversation, col(Conversation.contact_id) == Contact.id)
                .where(Conversation.id == conversation_id)
            )
        ).first()
    return dict(row or {})


async def last_inbound_at(hub: Hub, conversation_id: int) -> datetime | None:
    async with hub.db.session() as s:
        return (
            await s.exec(select(Conversation.last_inbound_at).where(Conversation.id == conversation_id))
        ).first()


def _call_ref(message: Message, conv: Conversation) -> CallRef:
    return CallRef(
        call_sid=message.provider_message_id or "",
        conversation_id=conv.id,  # type: ignore[arg-type]
        team_id=conv.team_id,
        status=str(conv.status),
        assignee_id=conv.assignee_id,
        caller=conv.contact_address,
        our_number=conv.channel_account,
    )


async def call_by_sid(hub: Hub, channel: str, call_sid: str) -> CallRef | None:
    async with hub.db.session() as s:
        row = (
            await s.exec(
                select(Message, Conversation)
                .join(Conversation, col(Conversation.id) == Message.conversation_id)
                .where(
                    Message.channel == channel,
                    MESSAGE_INBOUND,
                    Message.provider_message_id == call_sid,
                )
            )
        ).first()
    return _call_ref(*row) if row is not None else None


async def call_of_conversation(hub: Hub, conversation_id: int) -> CallRef | None:
    """The most recent inbound call on the conversation."""
    async with hub.db.session() as s:
        row = (
            await s.exec(
                select(Message, Conversation)
                .join(Conversation, col(Conversation.id) == Message.conversation_id)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == Direction.inbound,
                    Message.kind == MessageKind.call,
                )
                .order_by(col(Message.id).desc())
                .limit(1)
            )
        ).first()
    return _call_ref(*row) if row is not None else None


async def event_keys(hub: Hub, conversation_id: int, keys: Iterable[str]) -> set[str]:
    """Which of these event keys (see :func:`store.record_event`) are recorded."""
    wanted = list(keys)
    async with hub.db.session() as s:
        rows = (
            await s.exec(
                select(Message.provider_message_id).where(
                    Message.conversation_id == conversation_id,
                    Message.direction == Direction.internal,
                    col(Message.provider_message_id).in_(wanted),
                )
            )
        ).all()
    return {r for r in rows if r is not None}


async def is_survey_question(hub: Hub, channel: str, provider_message_id: str) -> bool:
    """Whether our message with this provider id asked a survey question."""
    async with hub.db.session() as s:
        metas = (
            await s.exec(
                select(Message.meta)
                .where(
                    Message.channel == channel,
                    Message.direction == Direction.outbound,
                    Message.provider_message_id == provider_message_id,
                )
                .limit(5)  # outbound ids are not unique (see docs/architecture.md): a few at most
            )
        ).all()
    return any(isinstance(meta, dict) and "survey" in meta for meta in metas)


async def user_identity(hub: Hub, user_id: int) -> tuple[str, str] | None:
    """(e-mail, display name) of an active user."""
    async with hub.db.session() as s:
        user = await s.get(User, user_id)
    if user is None or not user.active:
        return None
    return user.email, user.name


async def consent_blocks(hub: Hub, message: OutboundMessage) -> bool:
    """Does consent (hub.services.consent) forbid sending this message now?"""
    from hub.services import consent

    async with hub.db.session() as s:
        contact_id = (
            await s.exec(select(Conversation.contact_id).where(Conversation.id == message.conversation_id))
        ).first()
        if contact_id is None:
            return False
        return await consent.send_blocked(s, contact_id, message.channel, dict(message.meta))
