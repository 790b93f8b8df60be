"""``record_csat``: the visitor's satisfaction answer, stored on the conversation.

The one write this adapter makes besides ingest; like every hub service it writes in
a unit of work and emits ``conversation.updated`` (reason ``csat``) after the commit,
so consoles and reports see it through the usual event path.
"""

from __future__ import annotations

from sqlmodel import select

from channels.webchat.errors import WebchatError, invalid
from hub.context import Hub
from hub.models import Conversation, ConversationStatus
from hub.services.ingest import conversation_payload
from hub.services.uow import unit_of_work

MAX_COMMENT_CHARS = 2000


async def record_csat(
    hub: Hub, conversation_id: int, visitor_id: str, score: int, comment: str = ""
) -> Conversation:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise invalid([{"field": "score", "message": "choose a score from 1 to 5"}])
    text = comment.strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise invalid([{"field": "comment", "message": f"at most {MAX_COMMENT_CHARS} characters"}])
    async with unit_of_work(hub) as uow:
        conv = (
            await uow.session.exec(
                select(Conversation).where(Conversation.id == conversation_id).with_for_update()
            )
        ).first()
        if conv is None or conv.channel != "webchat" or conv.thread_key != visitor_id:
            raise WebchatError(
                404, "not_your_conversation", f"conversation {conversation_id} is not one of yours"
            )
        if conv.status != ConversationStatus.resolved:
            raise WebchatError(409, "not_resolved", "you can rate the conversation once it is resolved")
        if conv.csat_score is not None:
            raise WebchatError(409, "already_rated", "thank you — this conversation is already rated")
        conv.csat_score = score
        conv.csat_comment = text or None
        conv.csat_at = conv.updated_at = hub.now()
        uow.emit(
            "conversation.updated",
            conversation_payload(conv, reason="csat"),
            conversation_id=conv.id,
            team_id=conv.team_id,
            user_id=conv.assignee_id,
        )
    return conv
