"""Segments: saved contact filters, shared with every supervisor or private to one.

Supervisors and admins manage them; members are always the contacts the *viewer*
may see (hub.services.contacts.contact_visible_clause), so a shared segment never
widens anyone's view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.crm.contact_query import ContactFilter
from hub.models import Role, Segment
from hub.services.access import Actor, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Forbidden, NotFound
from hub.services.uow import unit_of_work

MAX_SEGMENTS = 500


def parse_filter(raw: Any) -> ContactFilter:
    try:
        return ContactFilter.model_validate(raw or {})
    except ValidationError as exc:
        raise invalid_fields(
            [
                ("filter." + ".".join(str(p) for p in e["loc"]), "invalid_filter", e["msg"])
                for e in exc.errors()
            ]
        ) from None


def _visible(actor: Actor) -> Any:
    if actor.is_admin:
        return sa.true()
    return sa.or_(col(Segment.shared).is_(True), col(Segment.owner_id) == actor.user_id)


async def list_segments(s: AsyncSession, actor: Actor) -> list[Segment]:
    require_role(actor, Role.supervisor)
    rows = await s.exec(select(Segment).where(_visible(actor)).order_by(col(Segment.name), col(Segment.id)))
    return list(rows.all())


async def load_segment(s: AsyncSession, actor: Actor, segment_id: int) -> Segment:
    require_role(actor, Role.supervisor)
    seg = await s.get(Segment, segment_id)
    if seg is None or not (actor.is_admin or seg.shared or seg.owner_id == actor.user_id):
        raise NotFound(f"segment {segment_id} not found")
    return seg


async def create_segment(hub: Hub, actor: Actor, values: Mapping[str, Any]) -> Segment:
    require_role(actor, Role.supervisor)
    f = parse_filter(values.get("filter"))
    async with unit_of_work(hub, actor.user_id) as uow:
        count = (await uow.session.exec(select(sa.func.count()).select_from(Segment))).one()
        if count >= MAX_SEGMENTS:
            raise invalid_fields([("name", "too_many_segments", f"at most {MAX_SEGMENTS} segments")])
        now = hub.now()
        seg = Segment(
            name=str(values["name"]).strip(),
            filter=f.model_dump(mode="json", exclude_defaults=True),
            shared=bool(values.get("shared", True)),
            owner_id=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(seg)
    return seg


async def update_segment(hub: Hub, actor: Actor, segment_id: int, changes: Mapping[str, Any]) -> Segment:
    async with unit_of_work(hub, actor.user_id) as uow:
        seg = await load_segment(uow.session, actor, segment_id)
        _require_owner(actor, seg)
        if "filter" in changes:
            seg.filter = parse_filter(changes["filter"]).model_dump(mode="json", exclude_defaults=True)
        if "name" in changes:
            seg.name = str(changes["name"]).strip()
        if "shared" in changes:
            seg.shared = bool(changes["shared"])
        seg.updated_at = hub.now()
        uow.session.add(seg)
    return seg


async def delete_segment(hub: Hub, actor: Actor, segment_id: int) -> None:
    async with unit_of_work(hub, actor.user_id) as uow:
        seg = await load_segment(uow.session, actor, segment_id)
        _require_owner(actor, seg)
        await uow.session.delete(seg)


def _require_owner(actor: Actor, seg: Segment) -> None:
    if not (actor.is_admin or seg.owner_id == actor.user_id):
        raise Forbidden("only its owner or an admin may change a segment", code="not_owner")
