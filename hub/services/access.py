"""Who may see and do what. Roles: agent < supervisor < admin; teams scope agents
and supervisors, admins see everything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Conversation, Role, TeamMember, User
from hub.services.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    role: str  # Role value, or "system"
    team_ids: frozenset[int] = field(default_factory=frozenset)
    name: str = ""

    @property
    def is_system(self) -> bool:
        return self.role == "system"

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "system")

    @property
    def is_supervisor(self) -> bool:
        return self.role in ("supervisor", "admin", "system")


SYSTEM = Actor(user_id=None, role="system", name="Switchboard")


async def actor_for(session: AsyncSession, user: User) -> Actor:
    rows = await session.exec(select(TeamMember.team_id).where(TeamMember.user_id == user.id))
    return actor_of(user, frozenset(rows.all()))


def actor_of(user: User, team_ids: frozenset[int]) -> Actor:
    return Actor(user_id=user.id, role=str(user.role), team_ids=team_ids, name=user.name)


def visible_clause(actor: Actor) -> Any:
    """SQL condition on Conversation for what ``actor`` may read."""
    if actor.is_admin:
        return sa.true()
    mine = col(Conversation.assignee_id) == actor.user_id
    in_teams = col(Conversation.team_id).in_(sorted(actor.team_ids)) if actor.team_ids else sa.false()
    if actor.role == Role.supervisor:
        return sa.or_(mine, in_teams, col(Conversation.team_id).is_(None))
    return sa.or_(mine, in_teams)


def can_view(actor: Actor, conv: Conversation) -> bool:
    if actor.is_admin or conv.assignee_id == actor.user_id:
        return True
    if conv.team_id is not None and conv.team_id in actor.team_ids:
        return True
    return actor.role == Role.supervisor and conv.team_id is None


def require_view(actor: Actor, conv: Conversation) -> None:
    if not can_view(actor, conv):
        # Same answer as a missing conversation would be is tempting, but a 403 with a
        # clear reason is what an agent (and their supervisor) needs to understand.
        raise Forbidden("you may not see this conversation (not your team)", code="not_your_team")


def require_handler(actor: Actor, conv: Conversation) -> None:
    """Reply / resolve / transfer: the assignee, or a supervisor who can see it."""
    require_view(actor, conv)
    if actor.is_supervisor or conv.assignee_id == actor.user_id:
        return
    raise Forbidden("only the assigned agent or a supervisor may do this", code="not_assignee")


async def team_ids_of(session: AsyncSession, user_id: int) -> frozenset[int]:
    rows = await session.exec(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    return frozenset(rows.all())


def may_manage(actor: Actor, user_id: int, their_teams: frozenset[int]) -> bool:
    """Acting on another staff member (presence, offers, load): admins on anyone,
    supervisors on members of a team they are in, everyone on themself."""
    if actor.is_admin or actor.user_id == user_id:
        return True
    return actor.is_supervisor and bool(their_teams & actor.team_ids)


async def require_manages(session: AsyncSession, actor: Actor, user_id: int) -> None:
    if actor.is_admin or actor.user_id == user_id:
        return
    require_role(actor, Role.supervisor)
    if not may_manage(actor, user_id, await team_ids_of(session, user_id)):
        raise Forbidden("supervisors act on members of their own teams", code="not_your_team")


def require_role(actor: Actor, role: Role) -> None:
    order = {Role.agent: 0, Role.supervisor: 1, Role.admin: 2}
    have = 3 if actor.is_system else order.get(Role(actor.role), -1)
    if have < order[role]:
        raise Forbidden(f"this needs the {role.value} role", code="role_required")
