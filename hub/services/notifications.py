"""In-app notifications: what a staff member is told about, one row per person and
source event, pushed live to their own consoles only.

The rows are derived from the committed event log by :class:`NotificationsReactor`, a
reactor on the projection runner (:mod:`hub.projections`): its rows, their
``notification.created`` events and its new checkpoint commit in one transaction, so
each source event notifies once however many hub processes run, and never inside a
request. ``uq_notification_source`` (user, event, kind) makes a replay harmless too.

Kinds (``KINDS``), each from one event type:

- ``mention``: an internal note (``message.created``, kind ``note``) names the user in
  ``meta.mentions`` — when they may see the conversation; never the note's author.
- ``assigned`` / ``transferred``: a conversation is assigned or transferred to the user
  by someone else (routing, a supervisor, a colleague) — accepting an offer is not news.
- ``offer_missed``: an offer to the user expired (``offer.updated``, status ``expired``).
- ``escalated``: a complaint escalated to the user's team (``complaint.escalated``):
  the members of ``escalated_to``; every supervisor when it has no team.
- ``low_score``: a low survey score (``survey.low_score``): the supervisors of the
  survey's team; every supervisor when it has none.

Tasks (a later feature) add a kind with :func:`register`. A user turns kinds off on
the profile page (``UserPreference.notify_off``): nothing is stored for those.
Stored text is bounded (``EXCERPT``) and is plain text: clients show it as text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import NotificationPayload
from hub.models import (
    Conversation,
    EventLog,
    Message,
    Notification,
    Role,
    TeamMember,
    User,
    UserPreference,
)
from hub.projections import LoggedEvent, core
from hub.services.access import Actor, can_view
from hub.services.errors import NotFound
from hub.services.uow import UnitOfWork, unit_of_work

KINDS = ["mention", "assigned", "transferred", "offer_missed", "escalated", "low_score"]
EXCERPT = 200  # characters of a note kept in a mention
MAX_PAGE = 100
MAX_MARK = 200  # ids in one mark-read request

_table = Notification.__table__  # type: ignore[attr-defined]


@dataclass
class Draft:
    """A notification to store: who, what, about which conversation or complaint."""

    user_id: int
    kind: str
    conversation_id: int | None = None
    complaint_id: int | None = None
    actor_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


# event type -> what it notifies; the reactor's table of sources (tasks: register()).
Source = Callable[[AsyncSession, LoggedEvent, "int | None"], Awaitable[list[Draft]]]
SOURCES: dict[str, list[Source]] = {}


def register(event_type: str, source: Source) -> None:
    """Notify from ``event_type`` too (the hook for tasks and later kinds, which also
    add their kind to ``KINDS`` so the profile page lists it)."""
    SOURCES.setdefault(event_type, []).append(source)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _active(s: AsyncSession, user_ids: Collection[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    rows = (
        await s.exec(select(User).where(col(User.id).in_(sorted(user_ids)), col(User.active).is_(True)))
    ).all()
    return {u.id: u for u in rows if u.id is not None}


async def _actor(s: AsyncSession, user: User) -> Actor:
    teams = (await s.exec(select(TeamMember.team_id).where(TeamMember.user_id == user.id))).all()
    return Actor(user_id=user.id, role=str(user.role), team_ids=frozenset(teams), name=user.name)


async def _mentions(s: AsyncSession, e: LoggedEvent, actor_id: int | None) -> list[Draft]:
    p = e.payload
    if p.get("kind") != "note" or e.conversation_id is None:
        return []
    message = await s.get(Message, _int(p.get("message_id")))
    conv = await s.get(Conversation, e.conversation_id)
    if message is None or conv is None:
        return []
    author = _int(p.get("author_id"))
    wanted = {i for i in (message.meta or {}).get("mentions", []) if _int(i) is not None and i != author}
    excerpt = " ".join(str(p.get("body") or "").split())[:EXCERPT]
    out = []
    for uid, u in (await _active(s, wanted)).items():
        # Only someone who may open the conversation: a mention shows part of a note.
        if can_view(await _actor(s, u), conv):
            out.append(
                Draft(
                    uid,
                    "mention",
                    conv.id,
                    actor_id=author,
                    data={"excerpt": excerpt, "message_id": message.id},
                )
            )
    return out


async def _handed_over(s: AsyncSession, e: LoggedEvent, actor_id: int | None) -> list[Draft]:
    assignee = _int(e.payload.get("assignee_id"))
    if assignee is None or assignee == actor_id or e.conversation_id is None:
        return []
    if e.payload.get("reason") == "offer_accepted":
        return []
    kind = "assigned" if e.type == "conversation.assigned" else "transferred"
    data: dict[str, Any] = {"channel": str(e.payload.get("channel") or "")[:20]}
    if kind == "transferred" and _int(e.payload.get("previous_assignee_id")) is not None:
        data["from_user_id"] = e.payload["previous_assignee_id"]
    return [Draft(assignee, kind, e.conversation_id, actor_id=actor_id, data=data)]


async def _offer_missed(s: AsyncSession, e: LoggedEvent, actor_id: int | None) -> list[Draft]:
    user_id = _int(e.payload.get("user_id"))
    if e.payload.get("status") != "expired" or user_id is None:
        return []
    return [Draft(user_id, "offer_missed", _int(e.payload.get("conversation_id")), data={})]


async def _supervisors(s: AsyncSession, team_id: int | None, *, members: bool) -> set[int]:
    """``members``: everyone in the team; else its supervisors. No team: all supervisors."""
    if team_id is None:
        rows = (await s.exec(select(User.id).where(User.role == Role.supervisor))).all()
        return {i for i in rows if i is not None}
    stmt = select(TeamMember.user_id).join(User, col(User.id) == TeamMember.user_id)
    stmt = stmt.where(TeamMember.team_id == team_id)
    if not members:
        stmt = stmt.where(col(User.role).in_([Role.supervisor, Role.admin]))
    return set((await s.exec(stmt)).all())


async def _escalated(s: AsyncSession, e: LoggedEvent, actor_id: int | None) -> list[Draft]:
    p = e.payload
    team_id = _int(p.get("escalated_to")) or e.team_id
    users = await _active(s, await _supervisors(s, team_id, members=True))
    data = {"reference": str(p.get("reference") or "")[:40], "stage": str(p.get("reason") or "")[:40]}
    return [
        Draft(uid, "escalated", _int(p.get("conversation_id")), _int(p.get("complaint_id")), data=data)
        for uid in users
    ]


async def _low_score(s: AsyncSession, e: LoggedEvent, actor_id: int | None) -> list[Draft]:
    p = e.payload
    users = await _active(s, await _supervisors(s, e.team_id, members=False))
    data = {"score": _int(p.get("score")), "survey": str(p.get("kind") or "")[:10]}
    return [
        Draft(uid, "low_score", _int(p.get("conversation_id")), _int(p.get("complaint_id")), data=data)
        for uid in users
    ]


register("message.created", _mentions)
register("conversation.assigned", _handed_over)
register("conversation.transferred", _handed_over)
register("offer.updated", _offer_missed)
register("complaint.escalated", _escalated)
register("survey.low_score", _low_score)


# -- the reactor ---------------------------------------------------------------------------
class NotificationsReactor:
    name = "notifications"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def apply(self, uow: UnitOfWork, events: Sequence[LoggedEvent], now: datetime) -> None:
        s = uow.session
        wanted = [e for e in events if e.type in SOURCES]
        if not wanted:
            return
        # The actor is on the row, not on the runner's LoggedEvent.
        actors = dict(
            (
                await s.exec(
                    select(EventLog.id, EventLog.actor_id).where(col(EventLog.id).in_([e.id for e in wanted]))
                )
            ).all()
        )
        drafts: list[tuple[LoggedEvent, Draft]] = []
        for e in wanted:
            for source in SOURCES[e.type]:
                drafts.extend((e, d) for d in await source(s, e, actors.get(e.id)))
        if not drafts:
            return
        off = await _turned_off(s, {d.user_id for _, d in drafts})
        for e, d in drafts:
            if d.kind not in off.get(d.user_id, ()):
                await _store(uow, e.id, d, now)

    async def fire_due(self, uow: UnitOfWork, now: datetime, limit: int) -> int:
        return 0

    def next_due_columns(self, now: datetime) -> list[Any]:
        return []  # no timers


async def _turned_off(s: AsyncSession, user_ids: Collection[int]) -> dict[int, set[str]]:
    rows = (
        await s.exec(select(UserPreference).where(col(UserPreference.user_id).in_(sorted(user_ids))))
    ).all()
    return {r.user_id: set(r.notify_off or []) for r in rows}


async def _store(uow: UnitOfWork, event_id: int, d: Draft, now: datetime) -> None:
    s = uow.session
    insert = sqlite_insert if uow.hub.db.is_sqlite else pg_insert
    stmt = (
        insert(_table)
        .values(
            user_id=d.user_id,
            kind=d.kind,
            event_id=event_id,
            conversation_id=d.conversation_id,
            complaint_id=d.complaint_id,
            actor_id=d.actor_id,
            data=d.data,
            created_at=now,
            read_at=None,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "event_id", "kind"])
        .returning(_table.c.id)
    )
    new_id = (await core(s, stmt)).scalar_one_or_none()
    if new_id is None:
        return  # notified already (a replay)
    uow.emit(
        "notification.created",
        NotificationPayload(
            notification_id=new_id,
            kind=d.kind,
            conversation_id=d.conversation_id,
            complaint_id=d.complaint_id,
            actor_id=d.actor_id,
            data=d.data,
            created_at=now,
            unread=await _unread(s, d.user_id),
        ),
        # The envelope names the conversation (privacy export and erasure find it by
        # that); visibility still shows it to ``user_id`` alone.
        conversation_id=d.conversation_id,
        user_id=d.user_id,
    )


# -- reading and marking (the API) -----------------------------------------------------------
async def _unread(s: AsyncSession, user_id: int) -> int:
    stmt = select(sa.func.count()).select_from(Notification)
    stmt = stmt.where(Notification.user_id == user_id, col(Notification.read_at).is_(None))
    return int((await s.exec(stmt)).one())


async def unread_count(hub: Hub, actor: Actor) -> int:
    assert actor.user_id is not None
    async with hub.db.session() as s:
        return await _unread(s, actor.user_id)


async def list_mine(
    hub: Hub, actor: Actor, *, unread: bool = False, cursor: int | None = None, limit: int = 30
) -> tuple[list[Notification], int | None]:
    """The caller's own notifications, newest first (keyset on id)."""
    stmt = select(Notification).where(Notification.user_id == actor.user_id)
    if unread:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    if cursor is not None:
        stmt = stmt.where(col(Notification.id) < cursor)
    limit = max(1, min(limit, MAX_PAGE))
    async with hub.db.session() as s:
        rows = list((await s.exec(stmt.order_by(col(Notification.id).desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


async def mark_read(hub: Hub, actor: Actor, ids: Collection[int] | None) -> int:
    """Mark the caller's notifications ``ids`` read (all of them with None); returns
    the unread count after. Someone else's id is ``404 notification_not_found`` — as if
    it did not exist. Marking what is read already changes nothing and emits nothing."""
    me = actor.user_id
    assert me is not None
    async with unit_of_work(hub, me) as uow:
        s = uow.session
        stmt = select(Notification).where(Notification.user_id == me, col(Notification.read_at).is_(None))
        if ids is not None:
            wanted = sorted(set(ids))[:MAX_MARK]
            mine = set(
                (
                    await s.exec(
                        select(Notification.id).where(
                            Notification.user_id == me, col(Notification.id).in_(wanted)
                        )
                    )
                ).all()
            )
            missing = [i for i in wanted if i not in mine]
            if missing:
                raise NotFound(f"notification {missing[0]} not found", code="notification_not_found")
            stmt = stmt.where(col(Notification.id).in_(wanted))
        rows = list((await s.exec(stmt)).all())
        now = hub.now()
        for row in rows:
            row.read_at = now
            s.add(row)
        await s.flush()
        unread = await _unread(s, me)
        if rows:
            uow.emit(
                "notification.read",
                NotificationPayload(
                    ids=[r.id for r in rows if r.id is not None], all=ids is None, unread=unread
                ),
                user_id=me,
            )
    return unread


# -- preferences (the profile page) ------------------------------------------------------------
async def preferences(s: AsyncSession, user_id: int) -> UserPreference:
    """The stored row, or the defaults (not added to the session)."""
    row = await s.get(UserPreference, user_id)
    return row if row is not None else UserPreference(user_id=user_id, notify_off=[])


async def scrub_conversations(s: AsyncSession, conversation_ids: Collection[int]) -> int:
    """Privacy erasure: drop the note excerpts kept in notifications (rows and their
    ``notification.created`` events) about these conversations, in the caller's
    transaction. Returns the rows changed. (Called by hub.services.privacy.erase_contact.)"""
    if not conversation_ids:
        return 0
    ids = sorted(conversation_ids)
    changed = 0
    rows = (await s.exec(select(Notification).where(col(Notification.conversation_id).in_(ids)))).all()
    for row in rows:
        if "excerpt" in (row.data or {}):
            row.data = {k: v for k, v in row.data.items() if k != "excerpt"}
            s.add(row)
            changed += 1
    events = (
        await s.exec(
            select(EventLog).where(
                EventLog.type == "notification.created", col(EventLog.conversation_id).in_(ids)
            )
        )
    ).all()
    for e in events:
        data = (e.payload or {}).get("data") or {}
        if "excerpt" in data:
            e.payload = {**e.payload, "data": {k: v for k, v in data.items() if k != "excerpt"}}
            s.add(e)
    return changed
