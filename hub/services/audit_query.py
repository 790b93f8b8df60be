"""The audit log as admins read it, and the first-run checklist.

The audit trail is the event log (``EventLog``, append-only, written in the same
transaction as the change): who (``actor_id``; none for the hub itself), what
(``type``), on what (conversation, team, user), when (``ts``) and the details
(``payload``: for admin changes to users and teams, ``changes`` holds each field's
``[before, after]``). Admins only: an entry's payload can name other teams' people and
customers, so a per-team view for supervisors would need a rule per event type; until
then the page and ``GET /audit`` are admin-only (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select

from hub.context import Hub
from hub.models import EventLog, Role, Team, TeamMember, User
from hub.services import visibility
from hub.services.access import Actor, require_role
from hub.services.errors import Invalid

#: Kinds the page filters by: the event type's prefix.
KINDS = (
    "conversation",
    "message",
    "presence",
    "user",
    "team",
    "offer",
    "contact",
    "organization",
    "tiers",
    "complaint",
    "survey",
    "notification",
)
ENTITIES = ("conversation", "team", "user")
MAX_LIMIT = 200
#: Values longer than this are cut in ``changes`` (team settings can be large).
MAX_VALUE_CHARS = 2000
SECRET_FIELDS = frozenset({"password", "password_hash"})
#: The channel kinds that do not count as "connected" for the checklist: the loopback
#: channel is for tests, demos and integration checks (config.example.toml).
NOT_CUSTOMER_CHANNELS = frozenset({"loopback"})


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    if isinstance(value, (dict, list)) and len(repr(value)) > MAX_VALUE_CHARS:
        return repr(value)[:MAX_VALUE_CHARS] + "…"
    return value


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for each field whose value differs (secrets masked)."""
    out: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if key in SECRET_FIELDS:
            if new is not None:
                out[key] = ["***", "***"]
            continue
        if old != new:
            out[key] = [_bounded(_plain(old)), _bounded(_plain(new))]
    return out


def _plain(value: Any) -> Any:
    """JSON-ready: enums as their values, sets and tuples as sorted lists."""
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value)
    if hasattr(value, "value") and not isinstance(value, (dict, list)):
        return value.value
    return value


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    kind: str | None = None  # event-type prefix ("user") or a whole type ("user.updated")
    entity: str | None = None  # conversation, team, user
    entity_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_entries(
    hub: Hub, actor: Actor, f: AuditFilter, *, before: int | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; ``before`` is the previous page's ``next_cursor`` (an entry id)."""
    require_role(actor, Role.admin)
    if f.since is not None and f.until is not None and f.until < f.since:
        raise Invalid("the end of the period is before its start", code="bad_audit_range")
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = select(EventLog)
    if f.actor_id is not None:
        stmt = stmt.where(EventLog.actor_id == f.actor_id)
    if f.kind:
        if "." in f.kind:
            stmt = stmt.where(EventLog.type == f.kind)
        else:
            stmt = stmt.where(col(EventLog.type).startswith(f.kind + "."))
    if f.entity is not None and f.entity_id is not None:
        column = {
            "conversation": EventLog.conversation_id,
            "team": EventLog.team_id,
            "user": EventLog.user_id,
        }[f.entity]
        stmt = stmt.where(column == f.entity_id)
    if f.since is not None:
        stmt = stmt.where(col(EventLog.ts) >= f.since)
    if f.until is not None:
        stmt = stmt.where(col(EventLog.ts) < f.until)
    if before is not None:
        stmt = stmt.where(col(EventLog.id) < before)
    stmt = stmt.order_by(col(EventLog.id).desc()).limit(limit + 1)
    async with hub.db.session() as s:
        rows = list((await s.exec(stmt)).all())
        more = len(rows) > limit
        rows = rows[:limit]
        people = {r.actor_id for r in rows if r.actor_id is not None}
        names = (
            dict((await s.exec(select(User.id, User.name).where(col(User.id).in_(people)))).all())
            if people
            else {}
        )
    items = [
        {
            "id": r.id,
            "ts": r.ts,
            "type": r.type,
            "actor_id": r.actor_id,
            "actor_name": names.get(r.actor_id) if r.actor_id is not None else None,
            "conversation_id": r.conversation_id,
            "team_id": r.team_id,
            "user_id": r.user_id,
            "changes": _changes_of(r),
            "payload": _shown(actor, r),
        }
        for r in rows
    ]
    return items, (rows[-1].id if more and rows else None)


def _shown(actor: Actor, row: EventLog) -> dict[str, Any]:
    """The payload, without the words of what is private to its people: a direct
    message between two colleagues, or someone's own notification. The entry (who,
    when, which room) stays in the log."""
    payload = row.payload or {}
    private = row.type in visibility.PERSONAL or (
        row.type in visibility.CHAT and not visibility.may_see_chat(actor, row)
    )
    if not private:
        return payload
    return {k: v for k, v in payload.items() if k not in _PRIVATE_KEYS}


_PRIVATE_KEYS = frozenset({"body", "data"})


def _changes_of(row: EventLog) -> dict[str, list[Any]]:
    """Before/after pairs: recorded ``changes``, else what the payload says it replaced."""
    p = row.payload or {}
    recorded = p.get("changes")
    if isinstance(recorded, dict) and recorded:
        return {str(k): list(v) for k, v in recorded.items() if isinstance(v, list) and len(v) == 2}
    pairs = {
        "assignee_id": ("previous_assignee_id", "assignee_id"),
        "team_id": ("previous_team_id", "team_id"),
        "presence": ("previous", "presence"),
    }
    out = {}
    for name, (old, new) in pairs.items():
        if old in p and new in p and p[old] != p[new]:
            out[name] = [p[old], p[new]]
    return out


# --- first-run checklist ----------------------------------------------------------------
async def checklist(hub: Hub, actor: Actor) -> dict[str, Any]:
    """What an empty hub still needs: a team, agents, a connected channel."""
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        teams = (await s.exec(select(func.count()).select_from(Team))).one()
        agents = (
            await s.exec(
                select(func.count())
                .select_from(User)
                .where(col(User.active).is_(True), col(User.role).in_([Role.agent, Role.supervisor]))
            )
        ).one()
    channels = [k for k in hub.channels.kinds() if k not in NOT_CUSTOMER_CHANNELS]
    steps = [
        {"key": "team", "done": teams > 0, "count": teams},
        {"key": "agents", "done": agents > 0, "count": agents},
        {"key": "channel", "done": bool(channels), "count": len(channels)},
    ]
    return {"steps": steps, "channels": channels, "complete": all(st["done"] for st in steps)}


# --- what the audit trail records of users and teams -------------------------------------
async def user_view(s: Any, user: User) -> dict[str, Any]:
    """The fields of a user an admin changes, as the audit trail compares them."""
    team_ids = (await s.exec(select(TeamMember.team_id).where(TeamMember.user_id == user.id))).all()
    return {
        "name": user.name,
        "email": user.email,
        "role": _plain(user.role),
        "language": user.language,
        "languages": list(user.languages or []),
        "skills": dict(user.skills or {}),
        "capacity": dict(user.capacity or {}),
        "active": user.active,
        "team_ids": sorted(team_ids),
    }


def team_view(team: Team) -> dict[str, Any]:
    return {
        "name": team.name,
        "description": team.description,
        "routing": dict(team.routing or {}),
        "business_hours": dict(team.business_hours or {}),
    }
