"""Users, teams and presence."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import col, delete, select

from hub.auth import hash_password_off_loop
from hub.context import Hub
from hub.events import PresencePayload, TeamPayload, UserPayload
from hub.models import Conversation, Presence, Role, Team, TeamMember, User
from hub.services.access import Actor, require_manages, require_role
from hub.services.audit_query import field_changes, team_view, user_view
from hub.services.credentials import ensure_another_admin, store_password
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound
from hub.services.password_policy import check_password
from hub.services.revocation import publish_access_change
from hub.services.uow import unit_of_work

CHANNEL_CAPACITY_DEFAULT = {
    "voice": 1,
    "sms": 3,
    "whatsapp": 3,
    "telegram": 3,
    "webchat": 3,
    "email": 5,
    "loopback": 3,
}


def _check_capacity(capacity: dict[str, int]) -> dict[str, int]:
    for channel, n in capacity.items():
        if not isinstance(n, int) or n < 0 or n > 100:
            raise Invalid(f"capacity.{channel} must be a whole number from 0 to 100", code="bad_capacity")
    return dict(capacity)


def _check_skills(skills: dict[str, int]) -> dict[str, int]:
    for skill, level in skills.items():
        if not skill or not isinstance(level, int) or not 1 <= level <= 10:
            raise Invalid(f"skills.{skill or '?'} level must be from 1 to 10", code="bad_skill")
    return dict(skills)


async def create_user(
    hub: Hub,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: Role = Role.agent,
    password: str | None = None,
    language: str = "en",
    team_ids: Iterable[int] = (),
    skills: dict[str, int] | None = None,
    languages: list[str] | None = None,
    capacity: dict[str, int] | None = None,
) -> tuple[User, str | None]:
    """Create a user; returns it and the generated password when none was given."""
    require_role(actor, Role.admin)
    email = email.strip().lower()
    if "@" not in email:
        raise Invalid("email must be an email address", code="bad_email")
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(12)
    else:
        check_password(password, email)
    password_hash = await hash_password_off_loop(password)  # before the write lock is taken
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        if (await s.exec(select(User.id).where(User.email == email))).first() is not None:
            raise Conflict(f"a user with email {email} exists", code="email_taken")
        user = User(
            email=email,
            name=name.strip() or email,
            role=Role(role),
            password_hash=password_hash,
            language=language,
            skills=_check_skills(skills or {}),
            languages=languages or [language],
            capacity=_check_capacity(capacity if capacity is not None else CHANNEL_CAPACITY_DEFAULT),
            presence=Presence.offline,
            presence_changed_at=hub.now(),
        )
        s.add(user)
        await s.flush()
        for team_id in set(team_ids):
            if await s.get(Team, team_id) is None:
                raise NotFound(f"team {team_id} not found", code="team_not_found")
            s.add(TeamMember(team_id=team_id, user_id=user.id))  # type: ignore[arg-type]
        await s.flush()
        changes = field_changes({}, await user_view(s, user))
        uow.emit(
            "user.updated",
            UserPayload(user_id=user.id, changes=changes, reason="created"),  # type: ignore[arg-type]
            user_id=user.id,
        )
    return user, generated


def _takes_admin_away(user: User, changes: dict[str, Any]) -> bool:
    """Would ``changes`` leave ``user`` without an active admin role?"""
    if user.role != Role.admin or not user.active:
        return False
    demoted = "role" in changes and Role(changes["role"]) != Role.admin
    return demoted or changes.get("active") is False


async def update_user(
    hub: Hub, actor: Actor, user_id: int, changes: dict[str, Any], *, keep_session: str | None = None
) -> User:
    """Admins change anything; a user may change their own name and language (their
    password through ``POST /auth/password``, which asks for the current one).

    A new password ends the user's sessions (except ``keep_session``, the cookie token
    hash of the admin's own session when they change their own) and open reset links.
    The last active admin cannot be demoted or deactivated (409 ``last_admin``).
    """
    own_fields = {"name", "language"}
    if not actor.is_admin and (actor.user_id != user_id or set(changes) - own_fields):
        raise Forbidden("only an admin may change these fields", code="role_required")
    password = changes.get("password")
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        user = await s.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        if _takes_admin_away(user, changes):
            await ensure_another_admin(hub, s, user)
        before = await user_view(s, user)
        for key, value in changes.items():
            if key == "password":
                if not isinstance(value, str):
                    raise Invalid("password must be text", code="weak_password")
                check_password(value, user.email)
                await store_password(
                    s, user, await hash_password_off_loop(value), hub.now(), keep_session=keep_session
                )
            elif key == "skills":
                user.skills = _check_skills(value)
            elif key == "capacity":
                user.capacity = _check_capacity(value)
            elif key == "role":
                user.role = Role(value)
            elif key == "team_ids":
                await s.exec(delete(TeamMember).where(col(TeamMember.user_id) == user_id))  # type: ignore[call-overload]
                for team_id in set(value):
                    if await s.get(Team, team_id) is None:
                        raise NotFound(f"team {team_id} not found", code="team_not_found")
                    s.add(TeamMember(team_id=team_id, user_id=user_id))
            elif key in {"name", "language", "languages", "active"}:
                setattr(user, key, value)
            else:
                raise Invalid(f"unknown field {key!r}", code="unknown_field")
        await s.flush()
        diff = field_changes(before, await user_view(s, user) | {"password": password})
        uow.emit(
            "user.updated", UserPayload(user_id=user_id, changes=diff, reason="updated"), user_id=user_id
        )
    if password is not None:
        await publish_access_change(hub, user_id, "password_changed")
    return user


async def set_presence(
    hub: Hub, actor: Actor, user_id: int, presence: str, *, reason: str | None = None
) -> User:
    """Set presence. Self, or a supervisor for someone else; routing acts as system."""
    try:
        value = Presence(presence)
    except ValueError:
        allowed = ", ".join(p.value for p in Presence)
        raise Invalid(
            f"unknown presence {presence!r}; expected one of {allowed}", code="bad_presence"
        ) from None
    if actor.user_id != user_id and not actor.is_supervisor:
        raise Forbidden("you may only change your own presence", code="not_self")
    async with unit_of_work(hub, actor.user_id) as uow:
        user = await uow.session.get(User, user_id)
        if user is None or not user.active:
            raise NotFound(f"user {user_id} not found")
        await require_manages(uow.session, actor, user_id)
        previous = user.presence
        if previous == value:
            return user
        user.presence = value
        user.presence_changed_at = hub.now()
        uow.emit(
            "presence.changed",
            PresencePayload(user_id=user_id, presence=value.value, previous=str(previous), reason=reason),
            user_id=user_id,
        )
    return user


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _check_closed_dates(business_hours: dict[str, Any]) -> None:
    """closed_dates is a list of calendar dates written YYYY-MM-DD: the form routing
    compares with the team's local date, so anything else would never close the team."""
    dates = business_hours.get("closed_dates", [])
    if not isinstance(dates, list):
        raise Invalid(
            'business_hours.closed_dates: expected a list of dates like ["2026-12-25"]',
            code="bad_closed_date",
        )
    for i, value in enumerate(dates):
        valid = isinstance(value, str) and _ISO_DATE.fullmatch(value) is not None
        if valid:
            try:
                date.fromisoformat(value)
            except ValueError:  # 2026-02-30, 2026-13-01
                valid = False
        if not valid:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise Invalid(
                f"business_hours.closed_dates[{i}]: {shown} is not a date; write YYYY-MM-DD, e.g. 2026-12-25",
                code="bad_closed_date",
            )


def _check_team_settings(routing: dict[str, Any] | None, business_hours: dict[str, Any] | None) -> None:
    """Refuse settings routing would reject later, with the key named (422)."""
    from routing import hours
    from routing.policy import policy_from_settings

    try:
        if routing is not None:
            policy_from_settings("check", routing)
        if business_hours is not None:
            hours.validate(business_hours)
    except (ValueError, TypeError) as exc:
        raise Invalid(str(exc), code="bad_team_settings") from None
    if business_hours:
        _check_closed_dates(business_hours)


async def create_team(
    hub: Hub,
    actor: Actor,
    *,
    name: str,
    description: str = "",
    routing: dict[str, Any] | None = None,
    business_hours: dict[str, Any] | None = None,
) -> Team:
    require_role(actor, Role.admin)
    _check_team_settings(routing, business_hours)
    name = name.strip()
    if not name:
        raise Invalid("team name is required", code="bad_name")
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        if (await s.exec(select(Team.id).where(Team.name == name))).first() is not None:
            raise Conflict(f"a team named {name!r} exists", code="team_exists")
        team = Team(
            name=name, description=description, routing=routing or {}, business_hours=business_hours or {}
        )
        s.add(team)
        await s.flush()
        created = TeamPayload(team_id=team.id, changes=field_changes({}, team_view(team)), reason="created")  # type: ignore[arg-type]
        uow.emit("team.updated", created, team_id=team.id)
    return team


async def update_team(hub: Hub, actor: Actor, team_id: int, changes: dict[str, Any]) -> Team:
    require_role(actor, Role.admin)
    _check_team_settings(changes.get("routing"), changes.get("business_hours"))
    async with unit_of_work(hub, actor.user_id) as uow:
        team = await uow.session.get(Team, team_id)
        if team is None:
            raise NotFound(f"team {team_id} not found")
        before = team_view(team)
        for key, value in changes.items():
            if key not in {"name", "description", "routing", "business_hours"}:
                raise Invalid(f"unknown field {key!r}", code="unknown_field")
            setattr(team, key, value)
        diff = field_changes(before, team_view(team))
        uow.emit(
            "team.updated", TeamPayload(team_id=team_id, changes=diff, reason="updated"), team_id=team_id
        )
    return team


async def set_team_members(hub: Hub, actor: Actor, team_id: int, user_ids: Iterable[int]) -> None:
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        if await s.get(Team, team_id) is None:
            raise NotFound(f"team {team_id} not found")
        user_ids = list(user_ids)
        before = (await s.exec(select(TeamMember.user_id).where(TeamMember.team_id == team_id))).all()
        await s.exec(delete(TeamMember).where(col(TeamMember.team_id) == team_id))  # type: ignore[call-overload]
        for uid in set(user_ids):
            if await s.get(User, uid) is None:
                raise NotFound(f"user {uid} not found", code="user_not_found")
            s.add(TeamMember(team_id=team_id, user_id=uid))
        members = field_changes({"members": sorted(set(before))}, {"members": sorted(set(user_ids))})
        uow.emit(
            "team.updated", TeamPayload(team_id=team_id, changes=members, reason="members"), team_id=team_id
        )
        for uid in set(before) | set(user_ids):
            uow.emit("user.updated", UserPayload(user_id=uid, reason="members"), user_id=uid)


async def delete_team(hub: Hub, actor: Actor, team_id: int) -> None:
    """Only a team no conversation refers to: history must keep pointing somewhere."""
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        team = await s.get(Team, team_id)
        if team is None:
            raise NotFound(f"team {team_id} not found")
        used = (await s.exec(select(Conversation.id).where(Conversation.team_id == team_id).limit(1))).first()
        if used is not None:
            raise Conflict(
                "this team has conversations; transfer or keep them, and rename the team instead",
                code="team_in_use",
            )
        members = (await s.exec(select(TeamMember.user_id).where(TeamMember.team_id == team_id))).all()
        await s.exec(delete(TeamMember).where(col(TeamMember.team_id) == team_id))  # type: ignore[call-overload]
        gone = field_changes(team_view(team), {})
        await s.delete(team)
        uow.emit(
            "team.updated", TeamPayload(team_id=team_id, changes=gone, reason="deleted"), team_id=team_id
        )
        for uid in members:
            uow.emit("user.updated", UserPayload(user_id=uid), user_id=uid)
