"""``record_csat``: the visitor's rating form, answered through the shared survey
service (:func:`hub.services.surveys.rate_in_widget`): the answer is a survey request
like any channel's — linked to conversation, agent, team and contact, low scores told
to supervisors — and the conversation's ``csat_score`` is set with a
``conversation.updated`` (reason ``csat``) event. This module only checks the visitor's
right to rate and speaks the widget's errors.
"""

from __future__ import annotations

from channels.webchat.errors import WebchatError, invalid
from hub.context import Hub
from hub.models import Conversation, ConversationStatus
from hub.services.errors import NotFound
from hub.services.surveys import rate_in_widget

MAX_COMMENT_CHARS = 2000


async def record_csat(
    hub: Hub, conversation_id: int, visitor_id: str, score: int, comment: str = ""
) -> Conversation:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise invalid([{"field": "score", "message": "choose a score from 1 to 5"}])
    text = comment.strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise invalid([{"field": "comment", "message": f"at most {MAX_COMMENT_CHARS} characters"}])

    def check(conv: Conversation) -> None:
        if conv.channel != "webchat" or conv.thread_key != visitor_id:
            raise WebchatError(
                404, "not_your_conversation", f"conversation {conversation_id} is not one of yours"
            )
        if conv.status != ConversationStatus.resolved:
            raise WebchatError(409, "not_resolved", "you can rate the conversation once it is resolved")
        if conv.csat_score is not None:
            raise WebchatError(409, "already_rated", "thank you — this conversation is already rated")

    try:
        return await rate_in_widget(hub, conversation_id, check, score, text)
    except NotFound:
        raise WebchatError(
            404, "not_your_conversation", f"conversation {conversation_id} is not one of yours"
        ) from None
