"""Macros: a named bundle of actions an agent applies to a conversation with one click
or shortcut (label + canned reply + resolve …).

``scope``: ``personal`` (its owner's alone, any staff member makes their own),
``team`` (the members of ``team_id``) or ``everyone`` — shared ones are made by
supervisors (for their own teams) and admins. Applying a macro does each action
through the services *as the agent*, in order, so it is authorized exactly as if they
had done each by hand; the first refusal stops it (a failed reply does not resolve)
and the answer says what was done. Changes write ``macro.changed``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import RuleChangedPayload
from hub.models import Macro, Role
from hub.rules import schema
from hub.rules.actions import perform
from hub.services.access import Actor, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Forbidden, NotFound, ServiceError
from hub.services.rules import references
from hub.services.uow import UnitOfWork, unit_of_work

SCOPES = ("personal", "team", "everyone")
MAX_PERSONAL = 100
MAX_SHARED = 300


def to_dict(m: Macro) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "scope": m.scope,
        "owner_id": m.owner_id,
        "team_id": m.team_id,
        "actions": m.actions,
        "position": m.position,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    }


def visible_clause(actor: Actor) -> Any:
    mine = col(Macro.owner_id) == actor.user_id
    everyone = col(Macro.scope) == "everyone"
    if actor.is_admin:
        return sa.or_(mine, col(Macro.scope) != "personal")
    teams = sorted(actor.team_ids)
    in_teams = sa.and_(col(Macro.scope) == "team", col(Macro.team_id).in_(teams)) if teams else sa.false()
    return sa.or_(mine, everyone, in_teams)


def _may_change(actor: Actor, m: Macro) -> bool:
    if m.scope == "personal":
        return m.owner_id == actor.user_id
    if actor.is_admin:
        return True
    if not actor.is_supervisor:
        return False
    return m.scope == "team" and m.team_id in actor.team_ids


async def _check(s: AsyncSession, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    problems: list[schema.Problem] = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        problems.append(("name", "required", "a name of 1 to 80 characters"))
    scope = data.get("scope") or "personal"
    team_id = data.get("team_id")
    if scope not in SCOPES:
        problems.append(("scope", "not_valid", "one of " + ", ".join(SCOPES)))
    elif scope == "team":
        if not isinstance(team_id, int):
            problems.append(("team_id", "required", "choose a team"))
        elif not actor.is_admin and team_id not in actor.team_ids:
            problems.append(("team_id", "not_your_team", "one of your teams"))
    if scope != "personal" and not actor.is_supervisor:
        raise Forbidden("shared macros are made by supervisors and admins", code="role_required")
    got, actions = schema.check_actions(data.get("actions"), schema.MACRO_ACTIONS)
    problems += got
    if not problems:
        problems += await references(s, actions, [])
    if problems:
        raise invalid_fields(problems)
    return {
        "name": str(name).strip(),
        "scope": scope,
        "team_id": team_id if scope == "team" else None,
        "owner_id": actor.user_id if scope == "personal" else None,
        "actions": actions,
        "position": data.get("position") if isinstance(data.get("position"), int) else 0,
    }


def _emit(uow: UnitOfWork, m: Macro, change: str) -> None:
    uow.emit(
        "macro.changed",
        RuleChangedPayload(id=m.id, name=m.name, change=change, scope=m.scope, owner_id=m.owner_id),
        user_id=m.owner_id,
        team_id=m.team_id,
    )


async def list_macros(hub: Hub, actor: Actor) -> list[dict[str, Any]]:
    async with hub.db.session() as s:
        rows = (
            await s.exec(
                select(Macro)
                .where(visible_clause(actor))
                .order_by(col(Macro.position), col(Macro.name), col(Macro.id))
            )
        ).all()
    return [to_dict(m) | {"editable": _may_change(actor, m)} for m in rows]


async def _visible(s: AsyncSession, actor: Actor, macro_id: int) -> Macro:
    m = (await s.exec(select(Macro).where(Macro.id == macro_id, visible_clause(actor)))).first()
    if m is None:
        raise NotFound(f"macro {macro_id} not found", code="macro_not_found")
    return m


async def create_macro(hub: Hub, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    if actor.user_id is None:
        require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        values = await _check(s, actor, data)
        if values["scope"] == "personal":
            count_of = select(sa.func.count()).select_from(Macro).where(Macro.owner_id == actor.user_id)
            limit = MAX_PERSONAL
        else:
            count_of = select(sa.func.count()).select_from(Macro).where(Macro.scope != "personal")
            limit = MAX_SHARED
        if (await s.exec(count_of)).one() >= limit:
            raise invalid_fields([("name", "too_many", f"at most {limit} macros")])
        now = hub.now()
        m = Macro(**values, created_by=actor.user_id, created_at=now, updated_at=now)
        s.add(m)
        await s.flush()
        _emit(uow, m, "created")
        return to_dict(m) | {"editable": True}


async def update_macro(hub: Hub, actor: Actor, macro_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        m = await _visible(s, actor, macro_id)
        if not _may_change(actor, m):
            raise Forbidden("you may not change this macro", code="not_your_macro")
        merged = to_dict(m) | {
            k: v for k, v in changes.items() if k in ("name", "scope", "team_id", "actions", "position")
        }
        values = await _check(s, actor, merged)
        if m.scope == "personal" and values["scope"] == "personal":
            values["owner_id"] = m.owner_id
        for k, v in values.items():
            setattr(m, k, v)
        m.updated_at = hub.now()
        s.add(m)
        await s.flush()
        _emit(uow, m, "updated")
        return to_dict(m) | {"editable": _may_change(actor, m)}


async def delete_macro(hub: Hub, actor: Actor, macro_id: int) -> None:
    async with unit_of_work(hub, actor.user_id) as uow:
        m = await _visible(uow.session, actor, macro_id)
        if not _may_change(actor, m):
            raise Forbidden("you may not change this macro", code="not_your_macro")
        _emit(uow, m, "deleted")
        await uow.session.delete(m)


async def apply_macro(hub: Hub, actor: Actor, conversation_id: int, macro_id: int) -> dict[str, Any]:
    """Do the macro's actions on the conversation as ``actor``, in order; stops at the
    first refusal. Returns each action's result (``ok``, or ``error`` with its code)."""
    async with hub.db.session() as s:
        m = await _visible(s, actor, macro_id)
    results: list[dict[str, Any]] = []
    for a in m.actions:
        try:
            out = await perform(hub, actor, a, conversation_id=conversation_id)
        except ServiceError as exc:
            if not results:
                raise  # nothing done: the plain refusal (404, 403, 409 …)
            results.append({"type": a["type"], "ok": False, "error": exc.code, "message": exc.message})
            break
        results.append({"type": a["type"], "ok": True, **out})
    return {"macro_id": m.id, "conversation_id": conversation_id, "results": results}
