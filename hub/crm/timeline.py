"""A contact's timeline: everything with this customer across channels, newest first.

Merged from the rows that already hold it — conversations (channel, team, agent,
category, outcome, satisfaction), internal notes, and the event log's profile changes
(who changed which field, merges, imports) — each source read with an index and a
limit, so one page costs a few small queries whatever the customer's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Conversation, EventLog, Message, MessageKind
from hub.services.access import Actor, visible_clause

PROFILE_EVENTS = (
    "contact.created",
    "contact.updated",
    "contact.merged",
    "contact.erased",
    "contact.consent_changed",  # consent (hub.services.consent): changes consent.<channel>.<purpose>
)


def _about(contact_id: int) -> Any:
    payload = EventLog.__table__.c.payload  # type: ignore[attr-defined]
    return sa.and_(
        col(EventLog.type).in_(PROFILE_EVENTS),
        sa.or_(
            payload["contact_id"].as_integer() == contact_id,
            payload["source_id"].as_integer() == contact_id,
            payload["target_id"].as_integer() == contact_id,
        ),
    )


async def timeline(
    s: AsyncSession, actor: Actor, contact_id: int, *, before: datetime | None, limit: int
) -> tuple[list[dict[str, Any]], datetime | None]:
    """(entries newest first, the ``before`` of the next page or None)."""
    convs_q = select(Conversation).where(Conversation.contact_id == contact_id, visible_clause(actor))
    if before is not None:
        convs_q = convs_q.where(col(Conversation.created_at) < before)
    convs = (await s.exec(convs_q.order_by(col(Conversation.created_at).desc()).limit(limit))).all()
    visible_ids = select(Conversation.id).where(Conversation.contact_id == contact_id, visible_clause(actor))
    notes_q = select(Message).where(
        col(Message.conversation_id).in_(visible_ids), Message.kind == MessageKind.note
    )
    if before is not None:
        notes_q = notes_q.where(col(Message.created_at) < before)
    notes = (await s.exec(notes_q.order_by(col(Message.created_at).desc()).limit(limit))).all()
    events_q = select(EventLog).where(_about(contact_id))
    if before is not None:
        events_q = events_q.where(col(EventLog.ts) < before)
    events = (
        await s.exec(events_q.order_by(col(EventLog.ts).desc(), col(EventLog.id).desc()).limit(limit))
    ).all()
    # Satisfaction answers of conversations on other pages still belong on this one.
    rated_q = select(Conversation).where(
        Conversation.contact_id == contact_id, visible_clause(actor), col(Conversation.csat_at).is_not(None)
    )
    if before is not None:
        rated_q = rated_q.where(col(Conversation.csat_at) < before)
    rated = (await s.exec(rated_q.order_by(col(Conversation.csat_at).desc()).limit(limit))).all()

    entries: list[dict[str, Any]] = []
    for c in convs:
        entries.append(
            {
                "kind": "conversation",
                "at": c.created_at,
                "conversation_id": c.id,
                "channel": c.channel,
                "team_id": c.team_id,
                "assignee_id": c.assignee_id,
                "status": str(c.status),
                "category": c.category,
                "subject": c.subject,
                "resolved_at": c.resolved_at,
            }
        )
    for c in rated:
        entries.append(
            {
                "kind": "satisfaction",
                "at": c.csat_at,
                "conversation_id": c.id,
                "score": c.csat_score,
                "comment": c.csat_comment,
            }
        )
    for m in notes:
        entries.append(
            {
                "kind": "note",
                "at": m.created_at,
                "conversation_id": m.conversation_id,
                "author_id": m.author_id,
                "body": m.body,
            }
        )
    for e in events:
        entries.append(
            {
                "kind": e.type.removeprefix("contact."),
                "at": e.ts,
                "actor_id": e.actor_id,
                "changes": e.payload.get("changes"),
                "reason": e.payload.get("reason"),
                "source_id": e.payload.get("source_id"),
                "target_id": e.payload.get("target_id"),
            }
        )
    # Newest first; at the same instant a change follows the conversation it is about.
    order = {"conversation": 0, "satisfaction": 1, "note": 2}
    entries.sort(key=lambda x: (x["at"], order.get(x["kind"], 3)), reverse=True)
    page = entries[:limit]
    more = len(entries) > limit or any(len(x) == limit for x in (convs, notes, events, rated))
    return page, (page[-1]["at"] if more and page else None)
