"""Customer profiles."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import Contact, Conversation
from hub.services.access import Actor, visible_clause
from hub.services.errors import Forbidden, NotFound
from hub.services.uow import unit_of_work

EDITABLE = {"name", "language", "vip", "tags", "attributes", "notes"}


def contact_visible_clause(actor: Actor) -> Any:
    """A contact is visible when one of its conversations is (admins see all)."""
    if actor.is_admin:
        return sa.true()
    sub = select(Conversation.id).where(Conversation.contact_id == Contact.id, visible_clause(actor))
    return sa.exists(sub)


async def load_visible_contact(s: AsyncSession, actor: Actor, contact_id: int) -> Contact:
    contact = await s.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    ok = (
        await s.exec(select(Contact.id).where(Contact.id == contact_id, contact_visible_clause(actor)))
    ).first()
    if ok is None:
        raise Forbidden("you may not see this contact (no conversation in your teams)", code="not_your_team")
    return contact


async def update_contact(hub: Hub, actor: Actor, contact_id: int, changes: dict[str, Any]) -> Contact:
    async with unit_of_work(hub, actor.user_id) as uow:
        contact = await load_visible_contact(uow.session, actor, contact_id)
        for key, value in changes.items():
            if key not in EDITABLE:
                raise Forbidden(f"field {key!r} is not editable", code="unknown_field")
            if key == "tags":
                value = sorted({str(t).strip() for t in value if str(t).strip()})
            setattr(contact, key, value)
        contact.updated_at = hub.now()
    return contact


def search_clause(q: str) -> Any:
    like = f"%{q.strip().lower()}%"
    return sa.func.lower(col(Contact.name)).like(like)
