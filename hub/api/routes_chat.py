"""Internal messages between staff: direct messages and team rooms (issue 18).

The console also sends and marks read over its socket (``chat.send``, ``chat.read``:
agent_ui/commands.py, validated by the same bodies as here). docs/workflow.md,
"Internal messages"; docs/protocol.md, "Internal messages".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import BodyId, Id, In, Out, Page
from hub.context import Hub
from hub.services import chat
from hub.services.access import Actor

router = APIRouter(tags=["chat"])


class ChatSendIn(In):
    body: str = Field(min_length=1, max_length=chat.BODY_MAX)


class ChatReadIn(In):
    message_id: BodyId | None = None


class DmIn(In):
    user_id: BodyId


class LastOut(BaseModel):
    author_id: int | None
    body: str
    created_at: datetime


class RoomOut(Out):
    id: int
    kind: str
    team_id: int | None
    name: str
    user_id: int | None
    last_message_id: int | None
    unread: int
    last: LastOut | None = None


class RoomsOut(BaseModel):
    items: list[RoomOut]
    unread: int  # all rooms together (the console's badge)


class CardOut(BaseModel):
    conversation_id: int
    subject: str
    contact_name: str
    channel: str
    status: str


class ChatMessageOut(Out):
    id: int
    room_id: int
    author_id: int | None
    body: str
    mentions: list[int]
    conversation_ids: list[int]
    created_at: datetime
    cards: list[CardOut]


class ReadOut(BaseModel):
    room_id: int
    last_read_message_id: int
    unread: int


class CardsOut(BaseModel):
    items: list[CardOut]


def _room(v: chat.RoomView) -> RoomOut:
    return RoomOut.model_validate(v.__dict__)


def _msg(v: chat.MessageView) -> ChatMessageOut:
    data: dict[str, Any] = dict(v.__dict__)
    return ChatMessageOut.model_validate(data)


@router.get("/chat/rooms", response_model=RoomsOut)
async def list_rooms(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> RoomsOut:
    """Your team rooms (admins: every team's) and direct messages, with unread counts,
    the most recently active first."""
    rooms = await chat.list_rooms(hub, actor)
    return RoomsOut(items=[_room(r) for r in rooms], unread=sum(r.unread for r in rooms))


@router.post("/chat/dms", response_model=RoomOut)
async def start_dm(body: DmIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> RoomOut:
    """The direct-message room with a colleague (made on first use; yourself is
    ``422 chat_self``, an unknown or inactive user ``404 user_not_found``)."""
    return _room(await chat.start_dm(hub, actor, body.user_id))


@router.get("/chat/rooms/{room_id}/messages", response_model=Page[ChatMessageOut])
async def room_history(
    room_id: Id,
    before: Id | None = Query(default=None, description="the next_cursor of the previous page"),
    limit: int = Query(default=50, ge=1, le=chat.MAX_PAGE),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[ChatMessageOut]:
    """The newest messages first as a page, oldest first within it; ``next_cursor``
    (pass as ``before``) pages back. A room you may not read is ``404 room_not_found``."""
    rows, cursor = await chat.history(hub, actor, room_id, before=before, limit=limit)
    return Page[ChatMessageOut](items=[_msg(m) for m in rows], next_cursor=cursor)


@router.post("/chat/rooms/{room_id}/messages", response_model=ChatMessageOut, status_code=201)
async def send_message(
    room_id: Id, body: ChatSendIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ChatMessageOut:
    """Post to a room (at most 20 messages per 30 s per user: ``429 rate_limited``)."""
    view = await chat.send(hub, actor, room_id, body.body)
    found = {c["conversation_id"]: c for c in await chat.cards(hub, actor, view.conversation_ids)}
    view.cards = [found[i] for i in view.conversation_ids if i in found]
    return _msg(view)


@router.post("/chat/rooms/{room_id}/read", response_model=ReadOut)
async def mark_read(
    room_id: Id, body: ChatReadIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ReadOut:
    """Read the room up to ``message_id`` (default: all of it)."""
    marker, unread = await chat.mark_read(hub, actor, room_id, body.message_id)
    return ReadOut(room_id=room_id, last_read_message_id=marker, unread=unread)


@router.get("/chat/search", response_model=Page[ChatMessageOut])
async def search(
    q: str = Query(min_length=2, max_length=200),
    before: Id | None = None,
    limit: int = Query(default=30, ge=1, le=chat.MAX_PAGE),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[ChatMessageOut]:
    """Messages in your rooms containing ``q``, newest first (Arabic letter forms and
    marks, digit scripts and case do not matter)."""
    rows, cursor = await chat.search(hub, actor, q, before=before, limit=limit)
    return Page[ChatMessageOut](items=[_msg(m) for m in rows], next_cursor=cursor)


@router.get("/chat/cards", response_model=CardsOut)
async def cards(
    ids: list[Id] = Query(max_length=chat.MAX_REFS),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> CardsOut:
    """Cards (subject, customer, channel, status) for the conversations among ``ids``
    you may see; the others are left out."""
    return CardsOut(items=[CardOut.model_validate(c) for c in await chat.cards(hub, actor, ids)])
