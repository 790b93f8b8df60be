"""Canned responses: team-specific or global, per language, found by /shortcut."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from hub.context import Hub
from hub.models import CannedResponse, Role, Team
from hub.services.access import Actor, require_role
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound
from hub.services.uow import unit_of_work

SHORTCUT = re.compile(r"^[\w\-]{1,64}$", re.UNICODE)


def visible_clause(actor: Actor) -> Any:
    if actor.is_admin:
        return sa.true()
    teams = sorted(actor.team_ids)
    return sa.or_(col(CannedResponse.team_id).is_(None), col(CannedResponse.team_id).in_(teams))


async def search(
    hub: Hub, actor: Actor, q: str = "", language: str | None = None, limit: int = 20
) -> list[CannedResponse]:
    stmt = select(CannedResponse).where(visible_clause(actor))
    if q:
        needle = q.strip().lstrip("/").lower()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(col(CannedResponse.shortcut)).startswith(needle),
                sa.func.lower(col(CannedResponse.title)).contains(needle),
            )
        )
    if language:
        stmt = stmt.where(CannedResponse.language == language)
    stmt = stmt.order_by(col(CannedResponse.shortcut)).limit(limit)
    async with hub.db.session() as s:
        return list((await s.exec(stmt)).all())


def _check(data: dict[str, Any]) -> None:
    if "shortcut" in data and not SHORTCUT.match(data["shortcut"] or ""):
        raise Invalid("shortcut must be 1-64 letters, digits, - or _", code="bad_shortcut")
    if "body" in data and not (data["body"] or "").strip():
        raise Invalid("body must not be empty", code="empty_body")


async def _team_exists(s: Any, team_id: int | None) -> None:
    if team_id is not None and await s.get(Team, team_id) is None:
        raise NotFound(f"team {team_id} not found", code="team_not_found")


async def create(hub: Hub, actor: Actor, data: dict[str, Any]) -> CannedResponse:
    require_role(actor, Role.supervisor)
    _check(data)
    if data.get("team_id") is not None and not actor.is_admin and data["team_id"] not in actor.team_ids:
        raise Forbidden("supervisors manage canned responses of their own teams", code="not_your_team")
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        await _team_exists(s, data.get("team_id"))
        clash = await s.exec(
            select(CannedResponse.id).where(
                CannedResponse.shortcut == data["shortcut"],
                CannedResponse.language == data.get("language", "en"),
            )
        )
        if clash.first() is not None:
            raise Conflict(f"/{data['shortcut']} exists for that language", code="shortcut_taken")
        row = CannedResponse(**data, created_by=actor.user_id, created_at=hub.now(), updated_at=hub.now())
        s.add(row)
        await s.flush()
    return row


async def update(hub: Hub, actor: Actor, canned_id: int, data: dict[str, Any]) -> CannedResponse:
    require_role(actor, Role.supervisor)
    _check(data)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(CannedResponse, canned_id)
        if row is None:
            raise NotFound(f"canned response {canned_id} not found")
        if not actor.is_admin and row.team_id not in actor.team_ids:
            raise Forbidden("supervisors manage canned responses of their own teams", code="not_your_team")
        # Moving it is a write into the target team too: the same check as on create.
        if "team_id" in data and not actor.is_admin and data["team_id"] not in actor.team_ids:
            raise Forbidden("supervisors manage canned responses of their own teams", code="not_your_team")
        await _team_exists(uow.session, data.get("team_id"))
        for key, value in data.items():
            setattr(row, key, value)
        row.updated_at = hub.now()
    return row


async def delete(hub: Hub, actor: Actor, canned_id: int) -> None:
    require_role(actor, Role.supervisor)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(CannedResponse, canned_id)
        if row is None:
            raise NotFound(f"canned response {canned_id} not found")
        if not actor.is_admin and row.team_id not in actor.team_ids:
            raise Forbidden("supervisors manage canned responses of their own teams", code="not_your_team")
        await uow.session.delete(row)
