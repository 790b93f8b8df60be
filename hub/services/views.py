"""Saved views: a named conversation search (hub.services.search.ConversationFilter)
in the console's sidebar, with a count.

* ``personal``: anyone's own; only they see it.
* ``team``: a supervisor's (or an admin's) for the members of one of their teams.
* ``everyone``: a supervisor's or an admin's for all staff.

Only the view's owner or an admin changes or deletes it (a team view: also the team's
supervisors). Whatever the scope, a view selects only what its *viewer* may see, and
``assignee: "me"`` is the viewer: one shared "My open chats" serves a whole team.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import Role, SavedView, Team
from hub.services.access import Actor, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Forbidden, NotFound
from hub.services.search import parse_filter, stored
from hub.services.uow import unit_of_work

SCOPES = ("personal", "team", "everyone")
MAX_NAME = 60
MAX_PERSONAL = 50  # per person
MAX_SHARED = 200  # team and everyone views in all


def clean_name(raw: Any) -> str:
    """1-60 characters of one line of text (control characters refused)."""
    text = " ".join(str(raw or "").split())
    if not text or len(text) > MAX_NAME:
        raise invalid_fields([("name", "bad_view_name", f"1-{MAX_NAME} characters")])
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200e\u200f" for ch in text):
        raise invalid_fields([("name", "bad_view_name", "no control characters")])
    return text


def visible_clause(actor: Actor) -> Any:
    """The views listed to ``actor``: their own, their teams', everyone's; admins also
    every team's (they look after them), never someone else's personal views."""
    own = col(SavedView.owner_id) == actor.user_id
    everyone = col(SavedView.scope) == "everyone"
    if actor.is_admin:
        return sa.or_(own, everyone, col(SavedView.scope) == "team")
    teams = (
        sa.and_(col(SavedView.scope) == "team", col(SavedView.team_id).in_(sorted(actor.team_ids)))
        if actor.team_ids
        else sa.false()
    )
    return sa.or_(sa.and_(own, col(SavedView.scope) == "personal"), everyone, teams)


async def list_views(s: AsyncSession, actor: Actor) -> list[SavedView]:
    scope_order = sa.case({"personal": 0, "team": 1}, value=col(SavedView.scope), else_=2)
    rows = await s.exec(
        select(SavedView)
        .where(visible_clause(actor))
        .order_by(scope_order, col(SavedView.position), col(SavedView.name), col(SavedView.id))
    )
    return list(rows.all())


async def load_view(s: AsyncSession, actor: Actor, view_id: int) -> SavedView:
    view = (await s.exec(select(SavedView).where(SavedView.id == view_id, visible_clause(actor)))).first()
    if view is None:
        raise NotFound(f"view {view_id} not found", code="view_not_found")
    return view


def may_change(actor: Actor, view: SavedView) -> bool:
    if actor.is_admin or view.owner_id == actor.user_id:
        return True
    return view.scope == "team" and actor.is_supervisor and view.team_id in actor.team_ids


async def _check_scope(s: AsyncSession, actor: Actor, scope: Any, team_id: Any) -> tuple[str, int | None]:
    if scope not in SCOPES:
        raise invalid_fields([("scope", "bad_view_scope", "personal, team or everyone")])
    if scope == "personal":
        if team_id is not None:
            raise invalid_fields([("team_id", "bad_view_team", "only a team view has a team")])
        return scope, None
    require_role(actor, Role.supervisor)  # shared views are the supervisors' and admins'
    if scope == "everyone":
        if team_id is not None:
            raise invalid_fields([("team_id", "bad_view_team", "a view for everyone has no team")])
        return scope, None
    if team_id is None or await s.get(Team, team_id) is None:
        raise invalid_fields([("team_id", "bad_view_team", "a team view needs one of your teams")])
    if not actor.is_admin and team_id not in actor.team_ids:
        raise Forbidden("supervisors share views with their own teams", code="not_your_team")
    return scope, int(team_id)


async def _check_room(s: AsyncSession, actor: Actor, scope: str) -> None:
    if scope == "personal":
        stmt = select(sa.func.count()).where(
            col(SavedView.owner_id) == actor.user_id, col(SavedView.scope) == "personal"
        )
        limit = MAX_PERSONAL
    else:
        stmt = select(sa.func.count()).where(col(SavedView.scope) != "personal")
        limit = MAX_SHARED
    if (await s.exec(stmt)).one() >= limit:
        raise invalid_fields([("name", "too_many_views", f"at most {limit} views")])


async def create_view(hub: Hub, actor: Actor, values: Mapping[str, Any]) -> SavedView:
    if actor.user_id is None:
        raise Forbidden("views belong to a person", code="role_required")
    name = clean_name(values.get("name"))
    f = parse_filter(values.get("filters"), prefix="filters.")
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        scope, team_id = await _check_scope(s, actor, values.get("scope", "personal"), values.get("team_id"))
        await _check_room(s, actor, scope)
        now = hub.now()
        view = SavedView(
            name=name,
            scope=scope,
            team_id=team_id,
            owner_id=actor.user_id,
            filters=stored(f),
            position=int(values.get("position") or 0),
            created_at=now,
            updated_at=now,
        )
        s.add(view)
        await s.flush()
    return view


async def update_view(hub: Hub, actor: Actor, view_id: int, changes: Mapping[str, Any]) -> SavedView:
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        view = await load_view(s, actor, view_id)
        _require_change(actor, view)
        if "name" in changes:
            view.name = clean_name(changes["name"])
        if "filters" in changes:
            view.filters = stored(parse_filter(changes["filters"], prefix="filters."))
        if "scope" in changes or "team_id" in changes:
            scope = changes.get("scope", view.scope)
            team_id = (
                changes["team_id"] if "team_id" in changes else (view.team_id if scope == "team" else None)
            )
            new_scope, new_team = await _check_scope(s, actor, scope, team_id)
            if (new_scope == "personal") != (view.scope == "personal"):
                await _check_room(s, actor, new_scope)
            view.scope, view.team_id = new_scope, new_team
        if "position" in changes:
            view.position = int(changes["position"] or 0)
        view.updated_at = hub.now()
        s.add(view)
    return view


async def delete_view(hub: Hub, actor: Actor, view_id: int) -> None:
    async with unit_of_work(hub, actor.user_id) as uow:
        view = await load_view(uow.session, actor, view_id)
        _require_change(actor, view)
        await uow.session.delete(view)


def _require_change(actor: Actor, view: SavedView) -> None:
    if not may_change(actor, view):
        raise Forbidden("only its owner, or an admin, may change a shared view", code="not_owner")
