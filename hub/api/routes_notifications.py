"""In-app notifications: the caller's own, newest first; unread count; mark read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import BodyId, Id, In, Out, Page, Position
from hub.context import Hub
from hub.services import notifications
from hub.services.access import Actor

router = APIRouter(tags=["notifications"])


class NotificationOut(Out):
    id: int
    kind: str
    conversation_id: int | None
    complaint_id: int | None
    actor_id: int | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class UnreadOut(BaseModel):
    unread: int


class MarkReadIn(In):
    ids: list[BodyId] = Field(min_length=1, max_length=notifications.MAX_MARK)


@router.get("/notifications", response_model=Page[NotificationOut])
async def list_notifications(
    unread: bool = Query(default=False, description="only unread ones"),
    limit: int = Query(default=30, ge=1, le=notifications.MAX_PAGE),
    cursor: Position | None = None,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[NotificationOut]:
    """Your notifications, newest first; nobody else's (admins included)."""
    rows, next_cursor = await notifications.list_mine(hub, actor, unread=unread, cursor=cursor, limit=limit)
    return Page[NotificationOut](
        items=[NotificationOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/notifications/unread-count", response_model=UnreadOut)
async def unread_count(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> UnreadOut:
    return UnreadOut(unread=await notifications.unread_count(hub, actor))


@router.post("/notifications/{notification_id}/read", response_model=UnreadOut)
async def mark_one_read(
    notification_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> UnreadOut:
    """Mark one of yours read (someone else's is 404 ``notification_not_found``)."""
    return UnreadOut(unread=await notifications.mark_read(hub, actor, [notification_id]))


@router.post("/notifications/read", response_model=UnreadOut)
async def mark_some_read(
    body: MarkReadIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> UnreadOut:
    """Mark several of yours read at once (all or nothing)."""
    return UnreadOut(unread=await notifications.mark_read(hub, actor, body.ids))


@router.post("/notifications/read-all", response_model=UnreadOut)
async def mark_all_read(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> UnreadOut:
    return UnreadOut(unread=await notifications.mark_read(hub, actor, None))
