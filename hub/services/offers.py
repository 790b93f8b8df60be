"""Offers (reservations): routing proposes a conversation to one agent, who accepts
or rejects; unanswered offers expire. The database row is the arbiter when an accept
and an expiry race: whichever commits first wins, the other gets a Conflict."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import OfferPayload
from hub.models import ConversationStatus, Offer, OfferStatus, User
from hub.services.access import SYSTEM, Actor, require_view
from hub.services.conversations import emit_conversation, load_conversation
from hub.services.errors import Conflict, Forbidden, NotFound
from hub.services.uow import UnitOfWork, unit_of_work


def _emit_offer(uow: UnitOfWork, offer: Offer, event_type: str, team_id: int | None) -> None:
    uow.emit(
        event_type,
        OfferPayload(
            offer_id=offer.id,  # type: ignore[arg-type]
            conversation_id=offer.conversation_id,
            user_id=offer.user_id,
            expires_at=offer.expires_at,
            status=str(offer.status),
        ),
        conversation_id=offer.conversation_id,
        team_id=team_id,
        user_id=offer.user_id,
    )


async def _pending(s: AsyncSession, conversation_id: int) -> Offer | None:
    return (
        await s.exec(
            select(Offer)
            .where(Offer.conversation_id == conversation_id, Offer.status == OfferStatus.pending)
            .order_by(col(Offer.id).desc())
            .with_for_update()
        )
    ).first()


async def create_offer(hub: Hub, conversation_id: int, user_id: int, expires_at: datetime | None) -> Offer:
    """Routing (system) offers a queued conversation to ``user_id``."""
    async with unit_of_work(hub) as uow:
        s = uow.session
        conv = await load_conversation(s, conversation_id, for_update=True)
        if conv.status != ConversationStatus.queued:
            raise Conflict(f"conversation {conversation_id} is {conv.status}, not queued", code="not_queued")
        if await s.get(User, user_id) is None:
            raise NotFound(f"user {user_id} not found", code="user_not_found")
        offer = Offer(
            conversation_id=conversation_id, user_id=user_id, created_at=hub.now(), expires_at=expires_at
        )
        s.add(offer)
        conv.status = ConversationStatus.offered
        conv.updated_at = hub.now()
        await s.flush()
        _emit_offer(uow, offer, "offer.created", conv.team_id)
    return offer


async def accept_offer(hub: Hub, actor: Actor, conversation_id: int) -> Offer:
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        conv = await load_conversation(s, conversation_id, for_update=True)
        require_view(actor, conv)  # others learn nothing about its offers
        offer = await _pending(s, conversation_id)
        if offer is None:
            raise Conflict(
                "there is no open offer for this conversation (expired or withdrawn)", code="no_offer"
            )
        if offer.user_id != actor.user_id:
            raise Forbidden("this conversation was offered to someone else", code="not_your_offer")
        now = hub.now()
        offer.status = OfferStatus.accepted
        offer.responded_at = now
        previous = conv.assignee_id
        conv.assignee_id = offer.user_id
        conv.status = ConversationStatus.assigned
        conv.updated_at = now
        conv.first_assigned_at = conv.first_assigned_at or now
        _emit_offer(uow, offer, "offer.updated", conv.team_id)
        emit_conversation(
            uow, "conversation.assigned", conv, previous_assignee_id=previous, reason="offer_accepted"
        )
    return offer


async def close_offer(
    hub: Hub, conversation_id: int, status: OfferStatus, *, actor: Actor = SYSTEM, reason: str | None = None
) -> Offer:
    """Reject (by the agent), expire or cancel (by routing): back to the queue."""
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        conv = await load_conversation(s, conversation_id, for_update=True)
        if not actor.is_system:
            require_view(actor, conv)
        offer = await _pending(s, conversation_id)
        if offer is None:
            raise Conflict("there is no open offer for this conversation", code="no_offer")
        if not actor.is_system and offer.user_id != actor.user_id:
            raise Forbidden("this conversation was offered to someone else", code="not_your_offer")
        offer.status = status
        offer.responded_at = hub.now()
        if conv.status == ConversationStatus.offered:
            conv.status = ConversationStatus.queued
            conv.updated_at = hub.now()
        _emit_offer(uow, offer, "offer.updated", conv.team_id)
        emit_conversation(uow, "conversation.queued", conv, reason=reason or str(status))
    return offer


async def requeue(hub: Hub, conversation_id: int, reason: str) -> bool:
    """Routing takes assigned work back from an agent (e.g. offline too long) and puts
    it back in its queue. Returns False when the conversation moved on meanwhile."""
    async with unit_of_work(hub) as uow:
        s = uow.session
        conv = await load_conversation(s, conversation_id, for_update=True)
        if conv.status not in (ConversationStatus.assigned, ConversationStatus.offered):
            return False
        pending = await _pending(s, conversation_id)
        if pending is not None:
            pending.status = OfferStatus.cancelled
            pending.responded_at = hub.now()
            _emit_offer(uow, pending, "offer.updated", conv.team_id)
        previous = conv.assignee_id
        conv.assignee_id = None
        conv.status = ConversationStatus.queued
        conv.updated_at = hub.now()
        emit_conversation(uow, "conversation.queued", conv, previous_assignee_id=previous, reason=reason)
    return True
