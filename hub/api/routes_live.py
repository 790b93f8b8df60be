"""Live figures for the supervisor view and the console."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import BodyId, Id, In, MessageOut, NoteIn, Page
from hub.context import Hub
from hub.models import Offer, OfferStatus, Role
from hub.services import live, supervision
from hub.services import offers as offer_svc
from hub.services.access import Actor, require_manages, require_role, require_view
from hub.services.conversations import add_note, load_conversation

router = APIRouter(tags=["live"])


class QueueOut(In):
    team_id: int
    team_name: str
    waiting: int
    offered: int
    in_progress: int
    longest_wait_seconds: float
    service_level_today: float | None
    answered_today: int
    abandoned_today: int  # since the team's local midnight (its business hours' time zone)
    agents: dict[str, int]
    estimated_wait_seconds: float | None


@router.get("/queues", response_model=Page[QueueOut])
async def queues(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> Page[QueueOut]:
    """Per team: waiting, offered, in progress, longest wait, service level, answered and
    abandoned today (the team's local day), agents by presence."""
    return Page[QueueOut](items=[QueueOut(**asdict(q)) for q in await live.queue_figures(hub, actor)])


class AgentLive(In):
    user_id: int
    name: str
    role: str
    presence: str
    presence_changed_at: datetime
    team_ids: list[int]
    connected: bool
    load: dict[str, int]
    capacity: dict[str, int]
    conversations: list[dict[str, Any]]


@router.get("/agents/live", response_model=Page[AgentLive])
async def agents(
    request: Request, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    """Per agent: presence, load per channel and current conversations (supervisors)."""
    require_role(actor, Role.supervisor)
    gateway = getattr(request.app.state, "gateway", None)
    connected = set(gateway.by_user) if gateway is not None else set()
    return {"items": await live.agents_live(hub, actor, connected), "next_cursor": None}


class ReadIn(In):
    message_id: BodyId


@router.post("/conversations/{conversation_id}/read", status_code=204)
async def mark_read(
    conversation_id: Id, body: ReadIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    async with hub.db.session() as s:
        require_view(actor, await load_conversation(s, conversation_id))
    await live.mark_read(hub, actor, conversation_id, body.message_id)
    return Response(status_code=204)


class OfferOut(In):
    id: int
    conversation_id: int
    user_id: int
    status: str
    created_at: datetime
    expires_at: datetime | None


@router.get("/offers", response_model=Page[OfferOut])
async def offers(
    user_id: Id | None = None, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    """Pending offers: your own, or (supervisors) another agent's with ``user_id``."""
    target = user_id if user_id is not None else actor.user_id
    async with hub.db.session() as s:
        if target != actor.user_id:
            require_role(actor, Role.supervisor)
            await require_manages(s, actor, target)  # type: ignore[arg-type]
        rows = (
            await s.exec(
                select(Offer)
                .where(Offer.user_id == target, Offer.status == OfferStatus.pending)
                .order_by(col(Offer.id))
            )
        ).all()
    return {"items": [_offer_out(o) for o in rows], "next_cursor": None}


def _offer_out(o: Offer) -> dict[str, Any]:
    fields = ("id", "conversation_id", "user_id", "created_at", "expires_at")
    return {k: getattr(o, k) for k in fields} | {"status": str(o.status)}


@router.post("/conversations/{conversation_id}/accept", response_model=OfferOut)
async def accept(
    conversation_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Any:
    o = await offer_svc.accept_offer(hub, actor, conversation_id)
    return _offer_out(o)


@router.post("/conversations/{conversation_id}/reject", response_model=OfferOut)
async def reject(
    conversation_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Any:
    o = await offer_svc.close_offer(
        hub, conversation_id, OfferStatus.rejected, actor=actor, reason="rejected"
    )
    return _offer_out(o)


# --- supervision (issue 16) -------------------------------------------------------------
class AwaitingOut(In):
    conversation_id: int
    since: datetime


@router.get("/live/awaiting-reply", response_model=Page[AwaitingOut])
async def awaiting_reply(
    actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Page[AwaitingOut]:
    """In-progress conversations (that the caller may see) whose customer awaits a reply,
    with the time of their first unanswered message (at most 1000 conversations)."""
    rows = await supervision.awaiting_reply(hub, actor)
    return Page[AwaitingOut](items=[AwaitingOut(conversation_id=cid, since=since) for cid, since in rows])


@router.post("/conversations/{conversation_id}/whisper", response_model=MessageOut, status_code=201)
async def whisper(
    conversation_id: Id, body: NoteIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> MessageOut:
    """A supervisor's private note from the watch view: an internal note (never sent to
    the customer) marked ``meta.whisper``, streamed to the assignee like any note."""
    require_role(actor, Role.supervisor)
    return MessageOut.model_validate(await add_note(hub, actor, conversation_id, body.body, whisper=True))
