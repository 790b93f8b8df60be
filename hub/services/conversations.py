"""Agent and supervisor actions on conversations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.domain import Attachment
from hub.models import (
    OPEN_STATUSES,
    AuthorType,
    Category,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    Team,
    TeamMember,
    User,
)
from hub.services.access import Actor, require_handler, require_manages, require_role, require_view
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound
from hub.services.ingest import conversation_payload, emit_message
from hub.services.reply_batch import PreparedReply, StoredReply
from hub.services.uow import UnitOfWork, unit_of_work

SNOOZE_MAX = timedelta(days=366)  # "until…" in the console: at most a year ahead
MENTION = re.compile(r"@([\w.\-]+@[\w.\-]+|[\w.\-]+)", re.UNICODE)


async def load_conversation(
    s: AsyncSession, conversation_id: int, *, for_update: bool = False
) -> Conversation:
    stmt = select(Conversation).where(Conversation.id == conversation_id)
    if for_update:
        stmt = stmt.with_for_update()
    conv = (await s.exec(stmt)).first()
    if conv is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conv


def _check_body(hub: Hub, body: str, attachments: Sequence[Attachment] = ()) -> str:
    text = body.strip()
    if not text and not attachments:
        raise Invalid("the message is empty", code="empty_body")
    if len(text) > hub.settings.max_body_chars:
        raise Invalid(f"the message exceeds {hub.settings.max_body_chars} characters", code="too_long")
    return text


def emit_conversation(uow: UnitOfWork, event_type: str, conv: Conversation, **extra: object) -> None:
    uow.emit(
        event_type,
        conversation_payload(conv, **extra),  # type: ignore[arg-type]
        conversation_id=conv.id,
        team_id=conv.team_id,
        user_id=conv.assignee_id,
    )


async def reply(
    hub: Hub,
    actor: Actor,
    conversation_id: int,
    body: str,
    *,
    subject: str = "",
    attachments: Sequence[Attachment] = (),
    template: dict[str, Any] | None = None,
) -> Message:
    """Write an outbound message and its outbox row in one transaction.

    ``template`` ({"name", "variables"}) asks the channel to send an approved template
    (WhatsApp outside its 24-hour window); the body is then the agent's preview text.
    """
    text = body.strip() if template else _check_body(hub, body, attachments)
    prepared = PreparedReply(
        actor=actor,
        conversation_id=conversation_id,
        text=text,
        subject=subject,
        attachments=[a.model_dump(exclude_none=True) for a in attachments],
        meta={"template": template["name"], "variables": template.get("variables", {})} if template else {},
        now=hub.now(),
    )
    # Group commit (hub.services.reply_batch): returns once the message, its outbox row
    # and events are committed and published; refusals raise their ServiceError.
    stored: StoredReply = await hub.reply_writer.submit(prepared, key=str(conversation_id))
    return stored.message


async def add_note(
    hub: Hub, actor: Actor, conversation_id: int, body: str, *, whisper: bool = False
) -> Message:
    """A private note, visible to staff only; ``@name`` or ``@email`` mentions users.
    ``whisper``: a supervisor's note from the watch view, marked as such."""
    text = _check_body(hub, body)
    async with unit_of_work(hub, actor.user_id) as uow:
        conv = await load_conversation(uow.session, conversation_id)
        require_view(actor, conv)
        mentioned = await mentioned_users(uow.session, text)
        now = hub.now()
        message = Message(
            conversation_id=conv.id,  # type: ignore[arg-type]
            channel=conv.channel,
            direction=Direction.internal,
            author_type=AuthorType.agent if not actor.is_system else AuthorType.system,
            author_id=actor.user_id,
            kind=MessageKind.note,
            body=text,
            delivery_status=DeliveryStatus.sent,
            meta=({"mentions": mentioned} if mentioned else {}) | ({"whisper": True} if whisper else {}),
            created_at=now,
        )
        uow.session.add(message)
        await uow.session.flush()
        emit_message(uow, "message.created", conv, message)
    return message


async def mentioned_users(s: AsyncSession, text: str) -> list[int]:
    handles = {m.group(1).lower() for m in MENTION.finditer(text)}
    if not handles:
        return []
    users = (await s.exec(select(User).where(User.active == True))).all()  # noqa: E712
    found = []
    for u in users:
        first = u.name.split()[0].lower() if u.name else ""
        if u.email.lower() in handles or first in handles or u.email.split("@")[0].lower() in handles:
            found.append(u.id)
    return sorted(i for i in found if i is not None)


async def _active_user(s: AsyncSession, user_id: int) -> User:
    user = await s.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"user {user_id} not found or inactive", code="user_not_found")
    return user


async def _is_member(s: AsyncSession, user_id: int, team_id: int) -> bool:
    row = await s.exec(select(TeamMember).where(TeamMember.user_id == user_id, TeamMember.team_id == team_id))
    return row.first() is not None


async def assign(
    hub: Hub, actor: Actor, conversation_id: int, user_id: int, *, reason: str = "manual"
) -> Conversation:
    """Give the conversation to ``user_id``. Agents may only take work for themselves."""
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        conv = await load_conversation(s, conversation_id, for_update=True)
        require_view(actor, conv)
        if not actor.is_supervisor:
            if user_id != actor.user_id:
                raise Invalid("agents may only assign conversations to themselves", code="not_self")
            if conv.assignee_id not in (None, actor.user_id):
                raise Conflict("the conversation is already assigned", code="already_assigned")
            team = await s.get(Team, conv.team_id) if conv.team_id is not None else None
            if team is not None and team.routing.get("allow_pick") is False:
                raise Forbidden("this team does not let agents pick from the queue", code="pick_not_allowed")
        if conv.status in (ConversationStatus.resolved, ConversationStatus.abandoned):
            raise Conflict("the conversation is closed; reopen it first", code="conversation_closed")
        await _active_user(s, user_id)
        await require_manages(s, actor, user_id)  # supervisors: agents of their own teams
        if (
            conv.team_id is not None
            and not actor.is_supervisor
            and not await _is_member(s, user_id, conv.team_id)
        ):
            raise Invalid("the agent is not a member of the conversation's team", code="not_team_member")
        previous = conv.assignee_id
        conv.assignee_id = user_id
        conv.status = ConversationStatus.assigned
        conv.updated_at = hub.now()
        conv.first_assigned_at = conv.first_assigned_at or conv.updated_at
        emit_conversation(uow, "conversation.assigned", conv, previous_assignee_id=previous, reason=reason)
    return conv


async def transfer(
    hub: Hub,
    actor: Actor,
    conversation_id: int,
    *,
    to_team_id: int | None = None,
    to_user_id: int | None = None,
    note: str = "",
) -> Conversation:
    """Hand off to a team (back to its queue) or to a colleague, with an optional note.

    A colleague must belong to the conversation's team, or to the team given with them
    (the transfer then moves the conversation to that team too): an agent outside the
    team would get work their team's queue, reports and supervisors never see.
    """
    if to_team_id is None and to_user_id is None:
        raise Invalid("transfer needs a team, a colleague, or both", code="transfer_target")
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        conv = await load_conversation(s, conversation_id, for_update=True)
        require_handler(actor, conv)
        if conv.status not in OPEN_STATUSES:
            raise Conflict("the conversation is closed", code="conversation_closed")
        previous_team, previous_user = conv.team_id, conv.assignee_id
        now = hub.now()
        if to_team_id is not None and await s.get(Team, to_team_id) is None:
            raise NotFound(f"team {to_team_id} not found", code="team_not_found")
        if to_user_id is None:
            assert to_team_id is not None
            conv.team_id = to_team_id
            conv.assignee_id = None
            conv.status = ConversationStatus.queued
            conv.queued_at = now
        else:
            target = await _active_user(s, to_user_id)
            team_id = to_team_id if to_team_id is not None else conv.team_id
            if team_id is not None and not await _is_member(s, to_user_id, team_id):
                team = await s.get(Team, team_id)
                raise Invalid(
                    f"{target.name} is not in the team {team.name if team else team_id};"
                    " transfer to the team, or give a team they are in",
                    code="agent_not_in_team",
                )
            conv.team_id = team_id
            conv.assignee_id = to_user_id
            conv.status = ConversationStatus.assigned
            conv.first_assigned_at = conv.first_assigned_at or now
        conv.updated_at = now
        if note.strip():
            m = Message(
                conversation_id=conv.id,  # type: ignore[arg-type]
                channel=conv.channel,
                direction=Direction.internal,
                author_type=AuthorType.agent,
                author_id=actor.user_id,
                kind=MessageKind.note,
                body=_check_body(hub, note),
                delivery_status=DeliveryStatus.sent,
                meta={"handoff": True},
                created_at=now,
            )
            s.add(m)
            await s.flush()
            emit_message(uow, "message.created", conv, m)
        emit_conversation(
            uow,
            "conversation.transferred",
            conv,
            previous_assignee_id=previous_user,
            previous_team_id=previous_team,
        )
    return conv


def _category(value: str) -> Category:
    try:
        return Category(value)
    except ValueError:
        allowed = ", ".join(c.value for c in Category)
        raise Invalid(f"unknown category {value!r}; expected one of {allowed}", code="bad_category") from None


async def resolve(
    hub: Hub, actor: Actor, conversation_id: int, *, category: str | None = None
) -> Conversation:
    cat = _category(category) if category else None
    async with unit_of_work(hub, actor.user_id) as uow:
        conv = await load_conversation(uow.session, conversation_id, for_update=True)
        require_handler(actor, conv)
        if conv.status == ConversationStatus.resolved:
            raise Conflict("the conversation is already resolved", code="already_resolved")
        now = hub.now()
        conv.status = ConversationStatus.resolved
        conv.resolved_at = now
        conv.updated_at = now
        if cat is not None:
            conv.category = cat
        emit_conversation(uow, "conversation.resolved", conv)
    return conv


async def reopen(hub: Hub, actor: Actor, conversation_id: int) -> Conversation:
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        conv = await load_conversation(s, conversation_id, for_update=True)
        require_handler(actor, conv)
        if conv.status not in (ConversationStatus.resolved, ConversationStatus.abandoned):
            raise Conflict("the conversation is not closed", code="not_closed")
        other = (
            await s.exec(
                select(Conversation.id).where(
                    Conversation.contact_id == conv.contact_id,
                    Conversation.channel == conv.channel,
                    Conversation.thread_key == conv.thread_key,
                    col(Conversation.status).in_(OPEN_STATUSES),
                )
            )
        ).first()
        if other is not None:
            raise Conflict(
                f"conversation {other} is already open for this customer and thread", code="thread_open"
            )
        now = hub.now()
        conv.status = ConversationStatus.assigned if conv.assignee_id else ConversationStatus.queued
        if conv.status == ConversationStatus.queued:
            conv.queued_at = now
        conv.resolved_at = None
        # The category described how it ended; a reopened conversation has not ended.
        conv.category = None
        conv.updated_at = now
        emit_conversation(uow, "conversation.reopened", conv)
    return conv


async def set_category(hub: Hub, actor: Actor, conversation_id: int, category: str) -> Conversation:
    """What the conversation is about, before it ends (a rule, a macro): kept when it is
    resolved without another category; reopening clears it as it clears one set then."""
    cat = _category(category)
    async with unit_of_work(hub, actor.user_id) as uow:
        conv = await load_conversation(uow.session, conversation_id, for_update=True)
        require_handler(actor, conv)
        if conv.status == ConversationStatus.resolved:
            raise Conflict("the conversation is already resolved", code="already_resolved")
        conv.category = cat
        conv.updated_at = hub.now()
        emit_conversation(uow, "conversation.updated", conv, reason="category")
    return conv


async def set_priority(hub: Hub, actor: Actor, conversation_id: int, priority: int) -> Conversation:
    from hub.models import Role

    require_role(actor, Role.supervisor)
    if not -100 <= priority <= 100:
        raise Invalid("priority must be between -100 and 100", code="bad_priority")
    async with unit_of_work(hub, actor.user_id) as uow:
        conv = await load_conversation(uow.session, conversation_id, for_update=True)
        require_view(actor, conv)
        conv.priority = priority
        conv.updated_at = hub.now()
        emit_conversation(uow, "conversation.updated", conv, reason="priority")
    return conv


async def snooze(hub: Hub, actor: Actor, conversation_id: int, until: datetime) -> Conversation:
    """Park a conversation until ``until`` or until the customer writes, whichever first."""
    async with unit_of_work(hub, actor.user_id) as uow:
        conv = await load_conversation(uow.session, conversation_id, for_update=True)
        require_handler(actor, conv)
        if conv.status not in (ConversationStatus.assigned, ConversationStatus.waiting_on_customer):
            raise Conflict("only an assigned conversation can be snoozed", code="not_assigned")
        if until <= hub.now():
            raise Invalid("snooze time must be in the future", code="bad_snooze")
        if until > hub.now() + SNOOZE_MAX:
            raise Invalid("snooze time is at most a year ahead", code="snooze_too_far")
        conv.status = ConversationStatus.snoozed
        conv.snoozed_until = until
        conv.updated_at = hub.now()
        emit_conversation(uow, "conversation.updated", conv, reason="snoozed")
    return conv


async def wake_snoozed(hub: Hub) -> list[int]:
    """Return snoozed conversations whose time has come to their assignee (system)."""
    now = hub.now()
    woken: list[int] = []
    async with unit_of_work(hub) as uow:
        rows = (
            await uow.session.exec(
                select(Conversation)
                .where(
                    Conversation.status == ConversationStatus.snoozed, col(Conversation.snoozed_until) <= now
                )
                .with_for_update()
            )
        ).all()
        for conv in rows:
            conv.status = ConversationStatus.assigned if conv.assignee_id else ConversationStatus.queued
            conv.snoozed_until = None
            conv.updated_at = now
            emit_conversation(uow, "conversation.updated", conv, reason="snooze_ended")
            woken.append(conv.id)  # type: ignore[arg-type]
    return woken
