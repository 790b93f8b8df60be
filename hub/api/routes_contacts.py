"""Contacts (customer profiles) and the event log."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import (
    MAX_ID,
    ContactOut,
    ContactPatch,
    ConversationOut,
    EventOut,
    Id,
    IdentityOut,
    Page,
    Position,
)
from hub.context import Hub
from hub.models import Contact, Conversation, Identity
from hub.services.access import Actor, can_view, visible_clause
from hub.services.contacts import contact_visible_clause, load_visible_contact, update_contact
from hub.services.visibility import read_visible

router = APIRouter(tags=["contacts"])


async def _contact_out(hub: Hub, contact: Contact) -> ContactOut:
    async with hub.db.session() as s:
        ids = (
            await s.exec(select(Identity).where(Identity.contact_id == contact.id).order_by(col(Identity.id)))
        ).all()
    return ContactOut.model_validate(contact).model_copy(
        update={"identities": [IdentityOut.model_validate(i) for i in ids]}
    )


@router.get("/contacts", response_model=Page[ContactOut])
async def list_contacts(
    q: str | None = Query(default=None, max_length=200, description="name, or an exact address"),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: Position | None = None,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[ContactOut]:
    stmt = select(Contact).where(contact_visible_clause(actor))
    if q:
        needle = q.strip().lower()
        by_address = select(Identity.contact_id).where(sa.func.lower(col(Identity.address)) == needle)
        stmt = stmt.where(
            sa.or_(sa.func.lower(col(Contact.name)).contains(needle), col(Contact.id).in_(by_address))
        )
    if cursor is not None:
        stmt = stmt.where(col(Contact.id) < cursor)
    stmt = stmt.order_by(col(Contact.id).desc()).limit(limit + 1)
    async with hub.db.session() as s:
        rows = list((await s.exec(stmt)).all())
        ids = (await s.exec(select(Identity).where(col(Identity.contact_id).in_([r.id for r in rows])))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    by_contact: dict[int, list[IdentityOut]] = {}
    for i in ids:
        by_contact.setdefault(i.contact_id, []).append(IdentityOut.model_validate(i))
    items = [
        ContactOut.model_validate(c).model_copy(update={"identities": by_contact.get(c.id or 0, [])})
        for c in rows
    ]
    return Page[ContactOut](items=items, next_cursor=rows[-1].id if more and rows else None)


@router.get("/contacts/{contact_id}", response_model=ContactOut)
async def get_contact(
    contact_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ContactOut:
    async with hub.db.session() as s:
        contact = await load_visible_contact(s, actor, contact_id)
    return await _contact_out(hub, contact)


@router.patch("/contacts/{contact_id}", response_model=ContactOut)
async def patch_contact(
    contact_id: Id, body: ContactPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ContactOut:
    contact = await update_contact(hub, actor, contact_id, body.model_dump(exclude_unset=True))
    return await _contact_out(hub, contact)


@router.get("/contacts/{contact_id}/conversations", response_model=Page[ConversationOut])
async def contact_conversations(
    contact_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Page[ConversationOut]:
    async with hub.db.session() as s:
        await load_visible_contact(s, actor, contact_id)
        rows = (
            await s.exec(
                select(Conversation)
                .where(Conversation.contact_id == contact_id, visible_clause(actor))
                .order_by(col(Conversation.id).desc())
                .limit(200)
            )
        ).all()
    return Page[ConversationOut](items=[ConversationOut.model_validate(c) for c in rows])


@router.get("/events", response_model=Page[EventOut], tags=["events"])
async def list_events(
    after: int = Query(default=0, ge=0, le=MAX_ID, description="return events with id > after"),
    cursor: int | None = Query(
        default=None, ge=0, le=MAX_ID, description="the next_cursor of the previous page (same as after)"
    ),
    limit: int = Query(default=200, ge=1, le=1000),
    type: str | None = Query(default=None, max_length=64),
    conversation_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[EventOut]:
    """The append-only event log, as far as the caller may see it, oldest first.

    Visibility is the console socket's rule (docs/protocol.md, "Who receives which
    event"); asking for one ``conversation_id`` the caller may view now counts as
    watching it, as the console does when it opens a thread.
    """
    start = cursor if cursor is not None else after
    async with hub.db.session() as s:
        watching: frozenset[int] = frozenset()
        if conversation_id is not None:
            conv = await s.get(Conversation, conversation_id)
            if conv is not None and can_view(actor, conv):
                watching = frozenset({conversation_id})
        rows, next_cursor = await read_visible(
            s,
            actor,
            start,
            limit,
            watching=watching,
            event_type=type,
            conversation_id=conversation_id,
            watch_checked=True,
        )
    return Page[EventOut](items=[EventOut.model_validate(e) for e in rows], next_cursor=next_cursor)
