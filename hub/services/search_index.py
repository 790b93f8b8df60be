"""The message search index: the ``message_search`` projection.

Each message with a subject or a body has one row of normalised text (hub.textnorm:
Arabic letter forms and marks folded, case folded), indexed for substring search like
the contacts' (an FTS5 trigram table on SQLite, a ``pg_trgm`` GIN index on PostgreSQL;
migration 0012). The projection fills it after commit from ``message.received`` and
``message.created`` events, so ingest and replies write nothing more than before; a
new message is searchable once the projection has passed it (normally within a
fraction of a second). An erased contact's messages lose their rows with their text.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Conversation, Message, MessageSearch
from hub.precompiled import PerDialect
from hub.projections import LoggedEvent, core
from hub.textnorm import normalize

#: Normalised characters kept per message (the column's size): the start of a long
#: email is what people search for, and the trigram index grows with every character.
MAX_TEXT = 8000
CHUNK = 1000
MESSAGE_EVENTS = frozenset({"message.received", "message.created"})
_table = MessageSearch.__table__  # type: ignore[attr-defined]


def message_text(subject: str, body: str) -> str:
    """Subject and body, each normalised on its own: the body's normal form is usually
    remembered already (ingest and two consumers normalise it before this one does;
    hub.textnorm), where the two joined were a new text to normalise for every message."""
    subject_text, body_text = normalize(subject or ""), normalize(body or "")
    return (f"{subject_text} {body_text}" if subject_text and body_text else subject_text or body_text)[
        :MAX_TEXT
    ]


class MessageSearchProjection:
    name = "message_search"

    async def affected(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> set[int]:
        keys: set[int] = set()
        erased: set[int] = set()
        for e in events:
            if e.type in MESSAGE_EVENTS and isinstance(e.payload.get("message_id"), int):
                keys.add(e.payload["message_id"])
            elif e.type == "contact.erased":
                erased.add(e.payload["contact_id"])
        if erased:  # their messages lost subject and body: so do their rows
            rows = await s.exec(
                select(Message.id)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(col(Conversation.contact_id).in_(sorted(erased)))
            )
            keys |= {r for r in rows.all() if r is not None}
        return keys

    async def keys_after(self, s: AsyncSession, after: int, limit: int) -> list[int]:
        rows = await s.exec(
            select(Message.id).where(col(Message.id) > after).order_by(col(Message.id)).limit(limit)
        )
        return [r for r in rows.all() if r is not None]

    async def due(self, s: AsyncSession, now: datetime, limit: int) -> list[int]:
        return []

    def next_due_columns(self, now: datetime) -> list[Any]:
        return []  # no timers

    async def recompute(self, s: AsyncSession, keys: Collection[int], now: datetime) -> None:
        ordered = sorted(set(keys))
        for at in range(0, len(ordered), CHUNK):  # an erasure may bring thousands of keys
            await self._recompute(s, ordered[at : at + CHUNK])

    async def _recompute(self, s: AsyncSession, keys: list[int]) -> None:
        found = (await core(s, _MESSAGES, {"ids": keys})).all()
        rows = [
            {"message_id": mid, "conversation_id": cid, "text": text}
            for mid, cid, subject, body in found
            if (text := message_text(subject, body))
        ]
        # Messages are written once; the delete only matters for a replay, a rebuild or
        # an erasure, and costs an index probe per key otherwise.
        await core(s, _DELETE, {"ids": keys})
        if rows:
            await core(s, _INSERT, rows)


# Built once: this consumer runs for every message, and a statement built per round
# cost more CPU to construct than SQLite takes to run it.
_m = Message.__table__.c  # type: ignore[attr-defined]
_MESSAGES = PerDialect(
    lambda one_of: sa.select(_m.id, _m.conversation_id, _m.subject, _m.body).where(one_of(_m.id, "ids"))
)
_DELETE = PerDialect(lambda one_of: sa.delete(_table).where(one_of(_table.c.message_id, "ids")))
_INSERT = sa.insert(_table)
