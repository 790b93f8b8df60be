"""Email threading: which conversation an inbound mail belongs to, and the headers that
make our replies thread in the customer's mail client.

The thread key of a conversation is the root of its References chain (the customer's
first Message-ID). An inbound mail finds its conversation, in order, by:
1. any id in In-Reply-To / References that is a message we stored (ours or theirs);
2. the conversation token ``[#SB-123]`` in the subject (clients that drop headers);
3. otherwise its own root: References[0], else In-Reply-To, else its Message-ID.
"""

from __future__ import annotations

import re

from sqlmodel import col, select

from channels.email.ids import sender_scoped_id
from channels.email.parse import ParsedEmail
from hub.context import Hub
from hub.models import Conversation, Direction, Message

CHANNEL = "email"
_TOKEN = re.compile(r"\[#SB-(\d{1,18})\]")
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|vs|antw|رد)\s*(?:\[\d+\])?\s*:", re.I)
MAX_REFERENCES = 20


def token_for(conversation_id: int) -> str:
    return f"[#SB-{conversation_id}]"


def token_in(subject: str) -> int | None:
    found = _TOKEN.search(subject)
    return int(found.group(1)) if found else None


def reply_subject(subject: str, conversation_id: int, *, reply: bool = True) -> str:
    """``Re: <subject> [#SB-n]``: one Re:, one token, whatever the subject had.
    ``reply`` False (we write first: nothing to answer): no ``Re:`` added."""
    base = " ".join(_TOKEN.sub("", subject).split()) or "Your request"
    if reply and not _REPLY_PREFIX.match(base):
        base = f"Re: {base}"
    return f"{base} {token_for(conversation_id)}"


def thread_root(mail: ParsedEmail, provider_id: str) -> str:
    if mail.references:
        return mail.references[0]
    if mail.in_reply_to:
        return mail.in_reply_to[0]
    return mail.message_id or provider_id


def chain(parent_references: list[str], parent_id: str) -> list[str]:
    """RFC 5322 References of a reply: the parent's References, then the parent.

    Long threads keep the root and the most recent ids (what clients need to thread)
    so the header stays a sane length.
    """
    refs = list(dict.fromkeys([*parent_references, parent_id]))
    if len(refs) > MAX_REFERENCES:
        refs = [refs[0], *refs[-(MAX_REFERENCES - 1) :]]
    return refs


async def find_thread_key(hub: Hub, mail: ParsedEmail, provider_id: str, sender: str = "") -> str:
    referenced = [*mail.in_reply_to, *reversed(mail.references)]
    if sender:
        # This sender's own earlier mail may be stored under a sender-scoped id.
        referenced += [sender_scoped_id(sender, r) for r in referenced]
    async with hub.db.session() as s:
        if referenced:
            key = (
                await s.exec(
                    select(Conversation.thread_key)
                    .join(Message, col(Message.conversation_id) == Conversation.id)
                    .where(Message.channel == CHANNEL, col(Message.provider_message_id).in_(referenced))
                    .order_by(col(Message.id).desc())
                    .limit(1)
                )
            ).first()
            if key:
                return key
        token = token_in(mail.subject)
        if token is not None:
            key = (
                await s.exec(
                    select(Conversation.thread_key).where(
                        Conversation.id == token, Conversation.channel == CHANNEL
                    )
                )
            ).first()
            if key:
                return key
    return thread_root(mail, provider_id)


async def reply_chain(hub: Hub, conversation_id: int, thread_key: str) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References) for our next reply in a conversation.

    The parent is the customer's latest mail: replying to it is what their client
    expects, and its References already carry our earlier replies.
    """
    async with hub.db.session() as s:
        rows = (
            await s.exec(
                select(Message.meta)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.channel == CHANNEL,
                    Message.direction == Direction.inbound,
                )
                .order_by(col(Message.id).desc())
                .limit(20)
            )
        ).all()
    for meta in rows:
        parent = (meta or {}).get("message_id")
        if isinstance(parent, str) and parent:
            refs = [r for r in (meta.get("references") or []) if isinstance(r, str)]
            return parent, chain(refs, parent)
    if thread_key and "@" in thread_key:
        return thread_key, [thread_key]
    return None, []
