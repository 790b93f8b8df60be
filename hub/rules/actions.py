"""One action done through the services, as ``actor``: a rule (an ``Actor`` with role
``system`` named "Rule: <name>") or the agent applying a macro, who is then authorized
for each action exactly as if they had done it by hand.

Each call runs the service's own transaction; a refusal is a
:class:`hub.services.errors.ServiceError` the caller records (a rule's firing) or
returns (a macro). A canned reply is a *service* message: it is not sent when the
customer stopped service messages on the channel (hub.services.consent), a STOP on
SMS/WhatsApp, or outside WhatsApp's 24-hour window (hub.services.outbound).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub.context import Hub
from hub.models import Contact, Conversation, TeamMember, User
from hub.services import canned, complaints, consent, labels, tasks
from hub.services import conversations as convs
from hub.services.access import Actor
from hub.services.errors import Conflict, NotFound
from hub.services.outbound import WHATSAPP_WINDOW


def rule_actor(name: str) -> Actor:
    return Actor(user_id=None, role="system", name=f"Rule: {name}"[:140])


async def _conversation(hub: Hub, conversation_id: int | None) -> Conversation:
    if conversation_id is None:
        raise Conflict("this action needs a conversation", code="no_conversation")
    async with hub.db.session() as s:
        conv = await s.get(Conversation, conversation_id)
    if conv is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conv


async def reply_blocked(hub: Hub, conv: Conversation) -> str | None:
    """Why a service message may not go out in this conversation now (None: it may)."""
    async with hub.db.session() as s:
        contact = await s.get(Contact, conv.contact_id)
        if await consent.service_blocked(s, conv.contact_id, conv.channel):
            return "opted_out"
    if contact is not None and (contact.attributes or {}).get(f"{conv.channel}_opt_out"):
        return "opted_out"
    if conv.channel == "whatsapp":
        last = conv.last_inbound_at
        if last is None or hub.now() > last + WHATSAPP_WINDOW:
            return "whatsapp_window_closed"
    return None


async def canned_reply(hub: Hub, actor: Actor, conv: Conversation, canned_id: int) -> dict[str, Any]:
    assert conv.id is not None
    why = await reply_blocked(hub, conv)
    if why is not None:
        raise Conflict(f"the canned reply was not sent ({why})", code=why)
    # A rule sees every canned answer; an agent those of their teams (canned.preview).
    text = (await canned.preview(hub, actor, canned_id, conversation_id=conv.id))["text"]
    message = await convs.reply(hub, actor, conv.id, text)
    return {"message_id": message.id}


async def notify_targets(hub: Hub, action: dict[str, Any]) -> list[int]:
    """The active users a notify action reaches: the user, or the team's members."""
    from sqlmodel import col, select

    async with hub.db.session() as s:
        if action.get("user_id") is not None:
            u = await s.get(User, action["user_id"])
            return [u.id] if u is not None and u.active and u.id is not None else []
        rows = (
            await s.exec(
                select(User.id)
                .join(TeamMember, col(TeamMember.user_id) == User.id)
                .where(TeamMember.team_id == action.get("team_id"), col(User.active).is_(True))
            )
        ).all()
    return sorted(i for i in rows if i is not None)


async def perform(
    hub: Hub,
    actor: Actor,
    action: dict[str, Any],
    *,
    conversation_id: int | None,
    contact_id: int | None = None,
    rule_id: int | None = None,
) -> dict[str, Any]:
    """Do ``action``; returns what to record of it (ids made). Raises ServiceError."""
    kind = action["type"]
    if kind == "create_task":
        due = action.get("due_minutes")
        task = await tasks.create_task(
            hub,
            actor,
            title=action["title"],
            assignee_user_id=action.get("assignee_user_id"),
            assignee_team_id=action.get("assignee_team_id"),
            due_at=hub.now() + timedelta(minutes=due) if due else None,
            priority=action.get("priority") or "normal",
            contact_id=contact_id,
            conversation_id=conversation_id,
            source="rule" if rule_id is not None else "manual",
            rule_id=rule_id,
        )
        return {"task_id": task["id"]}
    if kind == "notify":
        return {"users": await notify_targets(hub, action)}  # told by the rule.fired event
    conv = await _conversation(hub, conversation_id)
    assert conv.id is not None
    if kind == "set_team":
        await convs.transfer(hub, actor, conv.id, to_team_id=action["team_id"])
    elif kind == "set_priority":
        await convs.set_priority(hub, actor, conv.id, int(action["priority"]))
    elif kind == "set_category":
        await convs.set_category(hub, actor, conv.id, str(action["category"]))
    elif kind == "add_labels":
        for key in action["labels"]:
            await labels.add_to_conversation(hub, actor, conv.id, key)
    elif kind == "remove_labels":
        for key in action["labels"]:
            await labels.remove_from_conversation(hub, actor, conv.id, key)
    elif kind == "assign":
        await convs.assign(hub, actor, conv.id, int(action["user_id"]), reason="rule")
    elif kind == "assign_self":
        assert actor.user_id is not None
        await convs.assign(hub, actor, conv.id, actor.user_id)
    elif kind == "canned_reply":
        return await canned_reply(hub, actor, conv, int(action["canned_id"]))
    elif kind == "open_complaint":
        c = await complaints.open_complaint(
            hub, actor, complaints.NewComplaint(conversation_id=conv.id), source="api"
        )
        return {"complaint_id": c.id, "reference": c.reference}
    elif kind == "add_note":
        m = await convs.add_note(hub, actor, conv.id, str(action["body"]))
        return {"message_id": m.id}
    elif kind == "resolve":
        await convs.resolve(hub, actor, conv.id, category=action.get("category"))
    else:  # pragma: no cover - the schema allows nothing else
        raise NotFound(f"unknown action {kind!r}", code="bad_action")
    return {}
