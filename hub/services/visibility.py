"""Who may see which event: the one rule for live delivery, replay and ``GET /events``.

An event carries an envelope stamped when it was committed: the conversation, its
team and its assignee at that moment (``team_id``, ``user_id``), or for staff events
the user it is about. The rule reads only that envelope, the actor and — for staff
events — which teams the subject user belongs to, so the console gateway (live), the
resume replay and the REST event log give exactly the same answer. See
docs/protocol.md, "Who receives which event".

A *watch* (supervisors following a conversation, an agent with the thread open) adds
the conversation's events as long as the watcher may view the conversation *as of
each event*: a transfer to a team the watcher cannot see ends the watch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import EventLog, TeamMember
from hub.services.access import Actor

# Never sent to any client: internal plumbing between hub components.
INTERNAL = frozenset({"outbox.enqueued", "user.access_changed"})
# Facts about one staff member: themself, supervisors of a team they are in, admins.
STAFF = frozenset({"presence.changed", "agent.connected", "agent.disconnected", "user.updated"})
# Facts about a team: its members, admins.
TEAM = frozenset({"queue.stats", "team.updated"})
# Supervisors and admins only.
SUPERVISORS = frozenset({"contact.merged"})
# Supervisors of the event's team (all supervisors when it has none).
CARE_SUPERVISORS = frozenset({"complaint.escalated", "survey.low_score"})
# One staff member's own notifications: them alone, not even admins.
PERSONAL = frozenset({"notification.created", "notification.read"})

# Internal messages between staff (hub.services.chat): see may_see_chat.
CHAT = frozenset({"chat.message", "chat.read"})

TeamsOf = Callable[[int], Collection[int]]


class Envelope(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def conversation_id(self) -> int | None: ...
    @property
    def team_id(self) -> int | None: ...
    @property
    def user_id(self) -> int | None: ...
    @property
    def payload(self) -> dict[str, Any]: ...


def assignee_only(event_type: str) -> bool:
    """A conversation's messages (and typing, read marks): to its assignee once it has
    one, to its team while it has none (see :func:`may_see`)."""
    return event_type.startswith("message.") or event_type in ("typing", "read")


def conversation_scoped(event_type: str) -> bool:
    return event_type.startswith(("message.", "conversation.", "offer.")) or event_type in ("typing", "read")


def may_view_conversation(actor: Actor, team_id: int | None, assignee_id: int | None) -> bool:
    """``access.can_view`` on an event's envelope instead of the current row."""
    if actor.is_admin or (assignee_id is not None and assignee_id == actor.user_id):
        return True
    if team_id is not None:
        return team_id in actor.team_ids
    return actor.role == "supervisor"


def may_see(
    actor: Actor,
    ev: Envelope,
    teams_of: TeamsOf,
    watching: Collection[int] = frozenset(),
    *,
    watch_checked: bool = False,
) -> bool:
    """``watching``: conversations the caller follows. Live, a watched conversation's
    event is shown when the watcher may view the conversation as of that event (its
    envelope); ``watch_checked`` means the caller already checked that they may view
    it *now* (``GET /events?conversation_id=``), which shows its whole history, as
    ``GET /conversations/{id}/messages`` does."""
    t = ev.type
    if t in INTERNAL:
        return False
    if t in PERSONAL:
        return ev.user_id is not None and ev.user_id == actor.user_id
    if t in CHAT:
        return may_see_chat(actor, ev)
    if actor.is_admin:
        return True
    me = actor.user_id
    if (
        ev.conversation_id is not None
        and ev.conversation_id in watching
        and conversation_scoped(t)
        and not t.startswith("offer.")
        and (watch_checked or may_view_conversation(actor, ev.team_id, ev.user_id))
    ):
        return True
    if assignee_only(t):
        if t == "typing" and ev.payload.get("user_id") == me:
            return False  # not back to the typist
        if ev.user_id is not None:
            return ev.user_id == me
        return ev.team_id is not None and ev.team_id in actor.team_ids
    if t.startswith("conversation."):
        if me is not None and me in (ev.user_id, ev.payload.get("previous_assignee_id")):
            return True
        if ev.team_id is None:
            return actor.role == "supervisor"  # not yet routed to a team
        # The old team learns it left their queue; the new team sees it arrive.
        return ev.team_id in actor.team_ids or ev.payload.get("previous_team_id") in actor.team_ids
    if t.startswith("offer."):
        if ev.user_id is not None and ev.user_id == me:
            return True
        return actor.is_supervisor and ev.team_id is not None and ev.team_id in actor.team_ids
    if t in STAFF:
        if ev.user_id is not None and ev.user_id == me:
            return True
        return (
            actor.is_supervisor
            and ev.user_id is not None
            and bool(set(teams_of(ev.user_id)) & actor.team_ids)
        )
    if t in CARE_SUPERVISORS:
        # A missed target or a low score: the (escalation) team's supervisors.
        if not actor.is_supervisor:
            return False
        return ev.team_id in actor.team_ids if ev.team_id is not None else True
    if t.startswith(("complaint.", "survey.")):
        # Like a conversation: its owner (assignee / agent), its team, supervisors
        # while it has none.
        if me is not None and ev.user_id == me:
            return True
        if ev.team_id is None:
            return actor.role == "supervisor"
        return ev.team_id in actor.team_ids
    if t.startswith("task."):
        return _may_see_task(actor, ev, teams_of)
    if t in TEAM:
        return ev.team_id is not None and ev.team_id in actor.team_ids
    if t in SUPERVISORS:
        return actor.is_supervisor
    if t.startswith("campaign."):
        # Campaigns (issue 17): a reply's entry like the conversation's own events; the
        # lifecycle and progress to the supervisors of the campaign's team (admins above).
        if t == "campaign.replied":
            return may_view_conversation(actor, ev.team_id, ev.user_id)
        return actor.is_supervisor and ev.team_id is not None and ev.team_id in actor.team_ids
    if t == "contact.consent_changed":
        # Consent (issue 17): like contact.updated, an audit fact about a customer read
        # through the profile's API, not pushed; admins (above) see it in the audit log.
        return False
    if t.startswith(("rule.", "macro.")):
        # Rules and macros (issue 18): a firing like the conversation's own events (its
        # envelope); rule changes are an admin audit fact (admins returned above); a
        # personal macro's change its owner's alone.
        if t == "rule.fired":
            return may_view_conversation(actor, ev.team_id, ev.user_id)
        return t == "macro.changed" and ev.user_id is not None and ev.user_id == me
    return False  # unknown types are closed until someone decides who may see them


def may_see_chat(actor: Actor, ev: Envelope) -> bool:
    """A direct message reaches its two members (``member_ids``) and nobody else, not
    even admins; a team room's message the team's members (as of now: someone who left
    stops receiving it) and admins; ``chat.read`` the reader alone."""
    if ev.type == "chat.read":
        return ev.user_id is not None and ev.user_id == actor.user_id
    if ev.payload.get("room_kind") == "dm":
        members = ev.payload.get("member_ids")
        return actor.user_id is not None and isinstance(members, list) and actor.user_id in members
    if actor.is_admin:
        return True
    return ev.team_id is not None and ev.team_id in actor.team_ids


def _may_see_task(actor: Actor, ev: Envelope, teams_of: TeamsOf) -> bool:
    """Tasks (hub.services.tasks, the same rule as its list): the assignee, the
    assignee team's members, the creator, the previous assignees (it left them);
    supervisors also the tasks of their teams' members and unassigned ones."""
    me, p = actor.user_id, ev.payload
    if me is not None and me in (ev.user_id, p.get("created_by"), p.get("previous_assignee_id")):
        return True
    if ev.team_id in actor.team_ids or p.get("previous_team_id") in actor.team_ids:
        return True
    if not actor.is_supervisor:
        return False
    if ev.user_id is None:
        return ev.team_id is None
    return bool(set(teams_of(ev.user_id)) & actor.team_ids)


def prefilter(actor: Actor, watching: Collection[int] = frozenset()) -> Any:
    """A SQL superset of :func:`may_see` (narrows what replay and ``/events`` read)."""
    not_internal = col(EventLog.type).not_in(sorted(INTERNAL))
    if actor.is_admin:
        return not_internal
    teams = sorted(actor.team_ids)
    parts: list[Any] = [
        col(EventLog.user_id) == actor.user_id,
        col(EventLog.team_id).is_(None),
        col(EventLog.type).in_(sorted(STAFF)),
        col(EventLog.type).like("conversation.%"),  # previous team / previous assignee
        col(EventLog.type).like("task.%"),  # creator, previous assignees, members' tasks
    ]
    if teams:
        parts.append(col(EventLog.team_id).in_(teams))
    if watching:
        parts.append(col(EventLog.conversation_id).in_(sorted(watching)))
    return sa.and_(not_internal, sa.or_(*parts))


async def team_map(session: AsyncSession, user_ids: Collection[int]) -> dict[int, frozenset[int]]:
    """Current team memberships of these users (for staff events)."""
    if not user_ids:
        return {}
    rows = (
        await session.exec(
            select(TeamMember.user_id, TeamMember.team_id).where(
                col(TeamMember.user_id).in_(sorted(user_ids))
            )
        )
    ).all()
    out: dict[int, set[int]] = {}
    for uid, tid in rows:
        out.setdefault(uid, set()).add(tid)
    return {uid: frozenset(t) for uid, t in out.items()}


def _lookup(teams: dict[int, frozenset[int]]) -> TeamsOf:
    return lambda uid: teams.get(uid, frozenset())


async def read_visible(
    session: AsyncSession,
    actor: Actor,
    after: int,
    limit: int,
    *,
    watching: Collection[int] = frozenset(),
    event_type: str | None = None,
    conversation_id: int | None = None,
    max_scan: int | None = None,
    watch_checked: bool = False,
) -> tuple[list[EventLog], int | None]:
    """Events with id > ``after`` that ``actor`` may see, oldest first, at most ``limit``.

    Returns (rows, next_cursor): ``next_cursor`` is set when there may be more — the id
    of the last row returned, or of the last row *read* when ``max_scan`` rows were
    read without filling the page (so a caller never scans the whole log at once).
    """
    batch = max(200, min(limit * 2, 2_000))
    max_scan = max_scan if max_scan is not None else max(10_000, limit * 20)
    cursor, scanned = after, 0
    found: list[EventLog] = []
    while True:
        stmt = select(EventLog).where(col(EventLog.id) > cursor, prefilter(actor, watching))
        if event_type:
            stmt = stmt.where(EventLog.type == event_type)
        if conversation_id is not None:
            stmt = stmt.where(EventLog.conversation_id == conversation_id)
        rows = list((await session.exec(stmt.order_by(col(EventLog.id)).limit(batch))).all())
        if not rows:
            return found, None
        teams = await team_map(
            session,
            {
                r.user_id
                for r in rows
                if (r.type in STAFF or r.type.startswith("task.")) and r.user_id is not None
            },
        )
        teams_of = _lookup(teams)
        for row in rows:
            if may_see(actor, row, teams_of, watching, watch_checked=watch_checked):
                if len(found) == limit:
                    return found, found[-1].id
                found.append(row)
        scanned += len(rows)
        cursor = rows[-1].id or cursor
        if len(rows) < batch:
            return found, None
        if scanned >= max_scan:
            return found, cursor
