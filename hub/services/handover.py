"""Shift hand-over (issue 18; docs/workflow.md, "Shift hand-over").

An agent going offline with open conversations leaves a note and sends them back to
their team's queue or to a colleague, then goes offline. Each conversation moves
through the existing :func:`hub.services.conversations.transfer` (the note becomes a
hand-off note in its thread, routing sees ``conversation.transferred``), and presence
through :func:`hub.services.users.set_presence`. Everything is checked before anything
moves, so a refused hand-over changes nothing; an agent who just closes the tab is
still requeued by routing after the grace period, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select

from hub.context import Hub
from hub.models import OPEN_STATUSES, Conversation, Presence, TeamMember, User
from hub.services.access import Actor, require_handler
from hub.services.contact_fields import invalid_fields
from hub.services.conversations import transfer
from hub.services.errors import ServiceError
from hub.services.users import set_presence

MAX_CONVERSATIONS = 100
MAX_NOTE = 2000


async def hand_over(
    hub: Hub, actor: Actor, *, note: str, to: str | int, conversation_ids: Sequence[int]
) -> dict[str, Any]:
    """``to``: ``"queue"`` (each conversation's team queue) or a colleague's user id.
    A conversation the caller may not hand over (not theirs, not their team's) is a 403
    before anything moves; other refusals are one 422 naming each problem.
    Returns ``{"moved": [ids], "failed": [{"conversation_id", "code"}], "presence"}``:
    a conversation that changed hands meanwhile (another transfer won the race) is
    reported, not fatal; the rest still move and the agent still goes offline."""
    assert actor.user_id is not None
    ids = list(dict.fromkeys(conversation_ids))
    text = note.strip()
    problems: list[tuple[str, str, str]] = []
    if not ids:
        problems.append(("conversation_ids", "required", "choose the conversations to hand over"))
    if len(ids) > MAX_CONVERSATIONS:
        problems.append(("conversation_ids", "too_many", f"at most {MAX_CONVERSATIONS}"))
    if len(text) > MAX_NOTE:
        problems.append(("note", "text_too_long", f"at most {MAX_NOTE} characters"))
    if to == actor.user_id:
        problems.append(("to", "not_self", "choose a colleague, or the queue"))
    if problems:
        raise invalid_fields(problems)
    async with hub.db.session() as s:
        convs = {
            c.id: c for c in (await s.exec(select(Conversation).where(col(Conversation.id).in_(ids)))).all()
        }
        target_teams: set[int] = set()
        if isinstance(to, int):
            target = await s.get(User, to)
            if target is None or not target.active:
                problems.append(("to", "not_found", f"user {to} not found or inactive"))
            else:
                rows = await s.exec(select(TeamMember.team_id).where(TeamMember.user_id == to))
                target_teams = set(rows.all())
    for cid in ids:
        conv = convs.get(cid)
        if conv is None:
            problems.append(("conversation_ids", "not_found", f"conversation {cid} not found"))
            continue
        require_handler(actor, conv)  # 403 not_your_team / not_assignee: nothing moves
        if conv.status not in OPEN_STATUSES:
            problems.append(("conversation_ids", "conversation_closed", f"conversation {cid} is closed"))
        elif to == "queue" and conv.team_id is None:
            problems.append(("conversation_ids", "no_team", f"conversation {cid} has no team queue"))
        elif isinstance(to, int) and conv.team_id is not None and conv.team_id not in target_teams:
            problems.append(("to", "agent_not_in_team", f"not in the team of conversation {cid}"))
    if problems:
        raise invalid_fields(problems)
    moved: list[int] = []
    failed: list[dict[str, Any]] = []
    for cid in ids:
        conv = convs[cid]
        try:
            if to == "queue":
                await transfer(hub, actor, cid, to_team_id=conv.team_id, note=text)
            else:
                assert isinstance(to, int)
                await transfer(hub, actor, cid, to_user_id=to, note=text)
            moved.append(cid)
        except ServiceError as exc:
            failed.append({"conversation_id": cid, "code": exc.code})
    user = await set_presence(hub, actor, actor.user_id, Presence.offline.value, reason="handover")
    return {"moved": moved, "failed": failed, "presence": str(user.presence)}
