"""What a visitor may read: their own web-chat conversations, never staff notes.

A visitor's conversations are found through their web-chat identity (kind
``webchat``, address = visitor id; unique and indexed) and must also carry the
visitor id as thread key. The thread key is set only by this adapter, so even if
staff merge contacts or a future linking rule attaches this identity to a known
customer, a visitor still sees only the chats held in *this* browser — never the
customer's email or phone history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from channels.webchat.errors import WebchatError
from hub.context import Hub
from hub.models import Conversation, Direction, Identity, Message, User

KIND = "webchat"
HISTORY_LIMIT = 200
VISIBLE_DIRECTIONS = (Direction.inbound, Direction.outbound)


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: int
    contact_id: int
    status: str
    team_id: int | None
    assignee_id: int | None
    csat_score: int | None
    gone_pending: bool = False  # an abandonment timer runs (the visitor had left)

    def as_frame(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "rated": self.csat_score is not None}


def view(conv: Conversation) -> ConversationView:
    assert conv.id is not None
    return ConversationView(
        conv.id,
        conv.contact_id,
        str(conv.status),
        conv.team_id,
        conv.assignee_id,
        conv.csat_score,
        conv.abandon_due_at is not None,
    )


async def conversations_of(hub: Hub, visitor_id: str) -> list[ConversationView]:
    async with hub.db.session() as s:
        rows = (
            await s.exec(
                select(Conversation)
                .join(Identity, col(Identity.contact_id) == Conversation.contact_id)
                .where(
                    Identity.kind == KIND,
                    Identity.address == visitor_id,
                    Conversation.channel == KIND,
                    Conversation.thread_key == visitor_id,
                )
                .order_by(col(Conversation.id))
            )
        ).all()
    return [view(c) for c in rows]


async def owned(hub: Hub, visitor_id: str, conversation_id: int) -> ConversationView:
    """The conversation if it is this visitor's; else 404 (a guessed id learns nothing)."""
    async with hub.db.session() as s:
        conv = await s.get(Conversation, conversation_id)
    if conv is None or conv.channel != KIND or conv.thread_key != visitor_id:
        raise WebchatError(
            404, "not_your_conversation", f"conversation {conversation_id} is not one of yours"
        )
    return view(conv)


async def history(
    hub: Hub, conversation_ids: Sequence[int], *, limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    if not conversation_ids:
        return []
    async with hub.db.session() as s:
        rows = (
            await s.exec(
                select(Message)
                .where(
                    col(Message.conversation_id).in_(list(conversation_ids)),
                    col(Message.direction).in_(VISIBLE_DIRECTIONS),
                )
                .order_by(col(Message.id).desc())
                .limit(limit)
            )
        ).all()
        names = await agent_names(s, {m.author_id for m in rows if m.author_type == "agent"})
    return [
        visitor_message(
            message_id=m.id,  # type: ignore[arg-type]
            conversation_id=m.conversation_id,
            direction=str(m.direction),
            author_type=str(m.author_type),
            author_name=names.get(m.author_id or 0, ""),
            body=m.body,
            attachments=m.attachments,
            created_at=m.created_at,
            status=str(m.delivery_status),
        )
        for m in reversed(rows)
    ]


async def agent_names(s: Any, user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = sorted(i for i in user_ids if i is not None)
    if not ids:
        return {}
    rows = (await s.exec(select(User.id, User.name).where(col(User.id).in_(ids)))).all()
    # First name only: customers need a person to talk to, not the staff directory.
    return {uid: (name.split()[0] if name else "") for uid, name in rows}


def visitor_message(
    *,
    message_id: int,
    conversation_id: int,
    direction: str,
    author_type: str,
    author_name: str,
    body: str,
    attachments: Sequence[Mapping[str, Any]],
    created_at: datetime | str,
    status: str,
) -> dict[str, Any]:
    """A message as the visitor sees it: no paths, no staff ids, no provider data."""
    author = "you" if direction == "inbound" else ("agent" if author_type == "agent" else "system")
    return {
        "id": message_id,
        "conversation_id": conversation_id,
        "author": author,
        "author_name": author_name if author == "agent" else "",
        "body": body,
        "attachments": [
            {
                "index": i,
                "filename": str(a.get("filename") or f"attachment-{i + 1}"),
                "content_type": str(a.get("content_type") or "application/octet-stream"),
                "size": a.get("size"),
            }
            for i, a in enumerate(attachments)
        ],
        "created_at": created_at.isoformat() if isinstance(created_at, datetime) else created_at,
        "status": status,
    }
