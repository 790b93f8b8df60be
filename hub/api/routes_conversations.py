"""Conversations: list with filters and keyset paging, read, messages, actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Query
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import (
    MAX_ID,
    AssignIn,
    ConversationOut,
    Id,
    In,
    MessageOut,
    NoteIn,
    Page,
    Position,
    PriorityIn,
    ReplyIn,
    ResolveIn,
    TransferIn,
)
from hub.context import Hub
from hub.crm.contact_query import json_list_has
from hub.models import Conversation, ConversationStatus, Message
from hub.services import conversations as svc
from hub.services.access import Actor, require_view, visible_clause
from hub.services.errors import Invalid
from hub.services.live import enrich

router = APIRouter(prefix="/conversations", tags=["conversations"])


@router.get("", response_model=Page[ConversationOut])
async def list_conversations(
    status: list[ConversationStatus] | None = Query(default=None),
    team_id: Id | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    channel: str | None = None,
    contact_id: Id | None = None,
    label: str | None = Query(
        default=None, max_length=100, description="only conversations with this label (tag)"
    ),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: Position | None = Query(default=None, description="next_cursor of the previous page"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[ConversationOut]:
    stmt = select(Conversation).where(visible_clause(actor))
    if status:
        stmt = stmt.where(col(Conversation.status).in_([s.value for s in status]))
    if team_id is not None:
        stmt = stmt.where(Conversation.team_id == team_id)
    if assignee_id is not None:
        stmt = stmt.where(Conversation.assignee_id == assignee_id)
    if unassigned:
        stmt = stmt.where(col(Conversation.assignee_id).is_(None))
    if channel is not None:
        stmt = stmt.where(Conversation.channel == channel)
    if contact_id is not None:
        stmt = stmt.where(Conversation.contact_id == contact_id)
    if label:
        stmt = stmt.where(json_list_has(Conversation.tags, label, hub.db.is_sqlite))
    if cursor is not None:
        stmt = stmt.where(col(Conversation.id) < cursor)
    stmt = stmt.order_by(col(Conversation.id).desc()).limit(limit + 1)
    async with hub.db.session() as s:
        rows = list((await s.exec(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[ConversationOut](
        items=[ConversationOut.model_validate(r) for r in await enrich(hub, actor, rows)],
        next_cursor=rows[-1].id if more and rows else None,
    )


async def _visible(hub: Hub, actor: Actor, conversation_id: int) -> Conversation:
    async with hub.db.session() as s:
        conv = await svc.load_conversation(s, conversation_id)
    require_view(actor, conv)
    return conv


@router.get("/{conversation_id}", response_model=ConversationOut)
async def get_conversation(
    conversation_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ConversationOut:
    conv = await _visible(hub, actor, conversation_id)
    return ConversationOut.model_validate((await enrich(hub, actor, [conv]))[0])


@router.get("/{conversation_id}/messages", response_model=Page[MessageOut])
async def list_messages(
    conversation_id: Id,
    after: int | None = Query(default=None, ge=0, le=MAX_ID, description="only messages with a larger id"),
    cursor: int | None = Query(
        default=None, ge=0, le=MAX_ID, description="the next_cursor of the previous page (same as after)"
    ),
    limit: int = Query(default=100, ge=1, le=500),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[MessageOut]:
    await _visible(hub, actor, conversation_id)
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    after = cursor if cursor is not None else after
    if after is not None:
        stmt = stmt.where(col(Message.id) > after)
    stmt = stmt.order_by(col(Message.id)).limit(limit + 1)
    async with hub.db.session() as s:
        rows = list((await s.exec(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[MessageOut](
        items=[MessageOut.model_validate(m) for m in rows], next_cursor=rows[-1].id if more and rows else None
    )


@router.post("/{conversation_id}/reply", response_model=MessageOut, status_code=201)
async def reply(
    conversation_id: Id, body: ReplyIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> MessageOut:
    template = body.template.model_dump() if body.template else None
    m = await svc.reply(hub, actor, conversation_id, body.body, subject=body.subject, template=template)
    return MessageOut.model_validate(m)


@router.post("/{conversation_id}/notes", response_model=MessageOut, status_code=201)
async def note(
    conversation_id: Id, body: NoteIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> MessageOut:
    return MessageOut.model_validate(await svc.add_note(hub, actor, conversation_id, body.body))


@router.post("/{conversation_id}/assign", response_model=ConversationOut)
async def assign(
    conversation_id: Id, body: AssignIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ConversationOut:
    return ConversationOut.model_validate(await svc.assign(hub, actor, conversation_id, body.user_id))


@router.post("/{conversation_id}/transfer", response_model=ConversationOut)
async def transfer(
    conversation_id: Id, body: TransferIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ConversationOut:
    if body.team_id is None and body.user_id is None:
        raise Invalid("give team_id, user_id, or both (a colleague in that team)", code="transfer_target")
    conv = await svc.transfer(
        hub, actor, conversation_id, to_team_id=body.team_id, to_user_id=body.user_id, note=body.note
    )
    return ConversationOut.model_validate(conv)


@router.post("/{conversation_id}/resolve", response_model=ConversationOut)
async def resolve(
    conversation_id: Id,
    body: ResolveIn | None = None,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ConversationOut:
    category = body.category.value if body and body.category else None
    return ConversationOut.model_validate(await svc.resolve(hub, actor, conversation_id, category=category))


@router.post("/{conversation_id}/reopen", response_model=ConversationOut)
async def reopen(
    conversation_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ConversationOut:
    return ConversationOut.model_validate(await svc.reopen(hub, actor, conversation_id))


@router.post("/{conversation_id}/priority", response_model=ConversationOut)
async def priority(
    conversation_id: Id, body: PriorityIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ConversationOut:
    return ConversationOut.model_validate(await svc.set_priority(hub, actor, conversation_id, body.priority))


class SnoozeIn(In):
    until: datetime  # at most a year ahead: checked below


@router.post("/{conversation_id}/snooze", response_model=ConversationOut)
async def snooze(
    conversation_id: Id, body: SnoozeIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ConversationOut:
    until = body.until if body.until.tzinfo else body.until.replace(tzinfo=UTC)
    if until > hub.now() + timedelta(days=366):
        raise Invalid("until: at most a year ahead", code="snooze_too_far")
    return ConversationOut.model_validate(await svc.snooze(hub, actor, conversation_id, until))
