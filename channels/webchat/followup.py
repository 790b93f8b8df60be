"""Continue by email: an agent reply to a visitor who has left goes to their inbox.

Hook point: ``WebchatChannel.send`` (called by the outbox worker for every agent
reply). The reply already reached any open widget live from the bus; if no widget of
the visitor has been connected for ``away_after_seconds`` and the visitor typed an
email address (pre-chat or offline form), the reply is mailed through the email
channel with the conversation's transcript below it. A failed mail raises
``SendError``, so the outbox retries it like any send.

Presence is what *this* process sees: in a multi-process deployment a visitor
connected to another process may also get the mail (documented limit).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlmodel import select

from channels.webchat.visitors import history
from hub.domain import OutboundMessage
from hub.models import Contact, Conversation

if TYPE_CHECKING:
    from channels.webchat.actions import Runtime

log = logging.getLogger(__name__)
TRANSCRIPT_MESSAGES = 50


async def _recipient(rt: Runtime, conversation_id: int) -> tuple[str, str] | None:
    async with rt.hub.db.session() as s:
        row = (
            await s.exec(
                select(Contact.attributes)
                .join(Conversation, Conversation.contact_id == Contact.id)  # type: ignore[arg-type]
                .where(Conversation.id == conversation_id)
            )
        ).first()
    if row is None:
        return None
    attributes = row
    email = (attributes or {}).get("email")
    if not isinstance(email, str) or "@" not in email:
        return None
    site = rt.config.site(str((attributes or {}).get("webchat_site", "")))
    return email, site.name if site is not None else "us"


def _transcript(messages: list[dict[str, object]], site_name: str) -> str:
    lines = []
    for m in messages:
        who = "You" if m["author"] == "you" else (m["author_name"] or site_name)
        lines.append(f"{who}: {m['body']}")
    return "\n".join(lines)


def available(rt: Runtime) -> bool:
    """Can a visitor who left be answered by email (the option is on and the email
    channel is configured)? The offline form asks for an address and promises an
    answer by email only then."""
    return rt.config.email_followup and "email" in rt.hub.channels


async def email_if_away(rt: Runtime, message: OutboundMessage) -> bool:
    """True when the reply was mailed (the visitor had left and gave an address)."""
    hub = rt.hub
    if not available(rt):
        return False
    if rt.gateway.present(message.conversation_id, rt.config.away_after_seconds):
        return False
    found = await _recipient(rt, message.conversation_id)
    if found is None:
        return False
    email, site_name = found
    messages = await history(hub, [message.conversation_id], limit=TRANSCRIPT_MESSAGES)
    body = (
        f"{message.body}\n\n"
        f"— You have a new reply to your chat with {site_name}. Answer this email to continue, "
        "or open the chat on the website again.\n\n"
        f"Conversation so far:\n{_transcript(messages, site_name)}\n"
    )
    mail = OutboundMessage(
        message_id=message.message_id,
        conversation_id=message.conversation_id,
        channel="email",
        to=email,
        subject=f"Your chat with {site_name}",
        body=body,
        author_name=message.author_name,
        attempt=message.attempt,
    )
    await hub.channels.get("email").send(mail)
    log.info("mailed a chat reply to a visitor who left", extra={"conversation_id": message.conversation_id})
    return True
