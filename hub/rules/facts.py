"""The facts rules see (:class:`hub.rules.engine.Facts`), read from the database.

One function for live execution and the dry run: the conversation as it is now, the
triggering message's text (else the customer's last message), the team's business
hours at ``now`` (routing.hours, the module routing and complaints use), the contact's
tiers, fields and — only for the segments some rule asks about — segment membership.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.crm.contact_query import reads_figures, where_clauses
from hub.models import (
    AuthorType,
    Contact,
    ContactFigures,
    ContactTier,
    Conversation,
    Direction,
    Message,
    Segment,
    Team,
)
from hub.rules.engine import Facts
from hub.services.access import SYSTEM
from hub.services.segments import parse_filter
from hub.textnorm import normalize
from routing.hours import is_open

MAX_TEXT = 4000  # characters of a message the text conditions read

_contact = Contact.__table__  # type: ignore[attr-defined]
_figures = ContactFigures.__table__  # type: ignore[attr-defined]


def segments_asked(rules: Iterable[Any]) -> set[int]:
    return {
        v
        for r in rules
        for c in r.conditions
        if c.get("field") == "segment"
        for v in c.get("values", [])
        if isinstance(v, int)
    }


async def _text(s: AsyncSession, conversation_id: int, message_id: int | None) -> str:
    body: str | None = None
    if message_id is not None:
        m = await s.get(Message, message_id)
        body = m.body if m is not None and m.conversation_id == conversation_id else None
    if body is None:
        body = (
            await s.exec(
                select(Message.body)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == Direction.inbound,
                    Message.author_type == AuthorType.contact,
                )
                .order_by(col(Message.id).desc())
                .limit(1)
            )
        ).first()
    return normalize((body or "")[:MAX_TEXT])


async def _segments(s: AsyncSession, contact_id: int, wanted: set[int], *, is_sqlite: bool) -> frozenset[int]:
    if not wanted:
        return frozenset()
    out = set()
    for seg in (await s.exec(select(Segment).where(col(Segment.id).in_(sorted(wanted))))).all():
        f = parse_filter(seg.filter)
        source = (
            _contact.outerjoin(_figures, _figures.c.contact_id == _contact.c.id)
            if reads_figures(f)
            else _contact
        )
        stmt = (
            sa.select(_contact.c.id)
            .select_from(source)
            .where(_contact.c.id == contact_id, *where_clauses(f, SYSTEM, is_sqlite=is_sqlite, region=None))
        )
        if (await (await s.connection()).execute(stmt)).first() is not None:
            out.add(seg.id or 0)
    return frozenset(out)


async def load(
    s: AsyncSession,
    *,
    trigger: str,
    conversation_id: int | None,
    contact_id: int | None = None,
    message_id: int | None = None,
    segments: set[int] | frozenset[int] = frozenset(),
    now: datetime,
    is_sqlite: bool,
) -> Facts | None:
    """The facts of a conversation (or, without one, of a contact); None when gone."""
    conv = await s.get(Conversation, conversation_id) if conversation_id is not None else None
    if conv is not None:
        contact_id = conv.contact_id
    contact = await s.get(Contact, contact_id) if contact_id is not None else None
    if conv is None and contact is None:
        return None
    business_open = True
    if conv is not None and conv.team_id is not None:
        team = await s.get(Team, conv.team_id)
        business_open = is_open(team.business_hours or {}, now) if team is not None else True
    tiers: frozenset[str] = frozenset()
    fields: dict[str, str] = {}
    member: frozenset[int] = frozenset()
    if contact is not None and contact.id is not None:
        rows = await s.exec(select(ContactTier.tier).where(ContactTier.contact_id == contact.id))
        tiers = frozenset(rows.all())
        fields = {
            str(k): str(v)[:200]
            for k, v in (contact.attributes or {}).items()
            if isinstance(v, (str, int, float))
        }
        member = await _segments(s, contact.id, set(segments), is_sqlite=is_sqlite)
    return Facts(
        trigger=trigger,
        conversation_id=conv.id if conv is not None else None,
        contact_id=contact.id if contact is not None else None,
        channel=conv.channel if conv is not None else None,
        team_id=conv.team_id if conv is not None else None,
        language=(conv.language if conv is not None else None) or (contact.language if contact else None),
        priority=conv.priority if conv is not None else 0,
        labels=frozenset(conv.tags or []) if conv is not None else frozenset(),
        category=str(conv.category) if conv is not None and conv.category else None,
        status=str(conv.status) if conv is not None else None,
        assignee_id=conv.assignee_id if conv is not None else None,
        text=await _text(s, conv.id, message_id) if conv is not None and conv.id is not None else "",
        business_open=business_open,
        tiers=tiers,
        segments=member,
        fields=fields,
    )
