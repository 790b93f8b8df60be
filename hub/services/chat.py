"""Internal messages between staff: one room per team and direct messages (issue 18).

Rooms (``ChatRoom``): a **team** room per team — read and written by the team's current
members and by admins; a **dm** room per pair of staff members — read and written by
those two alone (not admins: like notifications, a direct message is personal). Who may
read a room is decided here for REST and socket commands, and by
:func:`hub.services.visibility.may_see_chat` for the ``chat.message`` events pushed live
and replayed; both read the same facts (``member_ids`` for a DM, the team for a team
room, the reader's teams *now*), so someone who leaves a team stops receiving its room
at once (the gateway re-checks open sockets on ``user.updated``).

Each message is one ``chat_message`` row and one ``chat.message`` event-log row in the
same transaction, published after commit. ``@name`` mentions (the notes' rule,
:func:`hub.services.conversations.mentioned_users`) of people who may read the room become
``mention`` notifications (the notifications reactor, after commit, with ``room_id`` in
``data``). ``#123`` or a console link (``/console#c=123``) names a conversation: the
event carries only the ids; cards (subject, customer, channel, status) are resolved per
viewer by :func:`cards`, for the conversations *that viewer* may see.

Unread counts come from ``chat_read`` (one row per reader and room: the last message
read); a reader's own messages never count. Sends are limited per user
(``SEND_LIMIT`` in ``SEND_WINDOW``), counted in the database so the limit holds across
hub processes without Redis.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import ChatMessagePayload, ChatReadPayload
from hub.models import ChatMessage, ChatRead, ChatRoom, Contact, Conversation, Team, TeamMember, User
from hub.projections import LoggedEvent, core
from hub.services import notifications
from hub.services.access import Actor, can_view
from hub.services.conversations import mentioned_users
from hub.services.errors import Invalid, NotFound, ServiceError
from hub.services.uow import UnitOfWork, unit_of_work
from hub.textnorm import normalize

BODY_MAX = 4000
MAX_REFS = 10  # conversations one message may name
MAX_PAGE = 100
SEND_LIMIT = 20  # messages per user ...
SEND_WINDOW = timedelta(seconds=30)  # ... in this window
MAX_ID = 2**31 - 1
EXCERPT = notifications.EXCERPT
# "#123", or a link to the console's conversation (".../console#c=123").
REF = re.compile(r"(?:(?<![\w&#/])#|/console#c=)(\d{1,10})\b")


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"


@dataclass
class RoomView:
    id: int
    kind: str
    team_id: int | None
    name: str  # the team's name, or the other member's
    user_id: int | None  # a DM: the other member
    last_message_id: int | None
    unread: int = 0
    last: dict[str, Any] | None = None  # the newest message (author_id, body excerpt, created_at)


@dataclass
class MessageView:
    id: int
    room_id: int
    author_id: int | None
    body: str
    mentions: list[int]
    conversation_ids: list[int]
    created_at: datetime
    cards: list[dict[str, Any]] = field(default_factory=list)


# -- rights ------------------------------------------------------------------------------------
def may_read(actor: Actor, room: ChatRoom) -> bool:
    if room.kind == "dm":
        return actor.user_id is not None and actor.user_id in (room.user_a_id, room.user_b_id)
    return actor.is_admin or (room.team_id is not None and room.team_id in actor.team_ids)


async def _room(s: AsyncSession, actor: Actor, room_id: int) -> ChatRoom:
    room = await s.get(ChatRoom, room_id)
    if room is None or not may_read(actor, room):
        # Someone else's room answers as a missing one: nothing tells it exists.
        raise NotFound(f"room {room_id} not found", code="room_not_found")
    return room


def _members(room: ChatRoom) -> list[int]:
    return [i for i in (room.user_a_id, room.user_b_id) if i is not None]


# -- rooms -------------------------------------------------------------------------------------
async def _team_ids(s: AsyncSession, actor: Actor) -> list[int]:
    """The teams whose rooms ``actor`` reads: their own; every team for admins."""
    if actor.is_admin:
        return sorted(i for i in (await s.exec(select(Team.id))).all() if i is not None)
    return sorted(actor.team_ids)


async def _ensure_team_rooms(hub: Hub, team_ids: list[int]) -> None:
    """Team rooms are made the first time someone lists them (idempotent across processes)."""
    if not team_ids:
        return
    async with hub.db.session() as s:
        have = set((await s.exec(select(ChatRoom.team_id).where(col(ChatRoom.team_id).in_(team_ids)))).all())
    missing = [t for t in team_ids if t not in have]
    if not missing:
        return
    table = ChatRoom.__table__  # type: ignore[attr-defined]
    insert = sqlite_insert if hub.db.is_sqlite else pg_insert
    async with hub.db.transaction() as s:
        for team_id in missing:
            stmt = insert(table).values(kind="team", team_id=team_id, created_at=hub.now())
            await core(s, stmt.on_conflict_do_nothing(index_elements=["team_id"]))


async def _readable_rooms(s: AsyncSession, actor: Actor) -> list[ChatRoom]:
    me = actor.user_id
    teams = await _team_ids(s, actor)
    cond: list[Any] = [col(ChatRoom.team_id).in_(teams)] if teams else []
    if me is not None:
        cond += [col(ChatRoom.user_a_id) == me, col(ChatRoom.user_b_id) == me]
    if not cond:
        return []
    return list((await s.exec(select(ChatRoom).where(sa.or_(*cond)))).all())


async def _unread(s: AsyncSession, user_id: int, room_ids: Collection[int]) -> dict[int, int]:
    """Messages by others after the reader's marker, per room."""
    if not room_ids:
        return {}
    m, r = ChatMessage, ChatRead
    stmt = (
        select(m.room_id, sa.func.count())
        .select_from(m)
        .join(r, sa.and_(col(r.room_id) == col(m.room_id), col(r.user_id) == user_id), isouter=True)
        .where(
            col(m.room_id).in_(sorted(room_ids)),
            col(m.id) > sa.func.coalesce(col(r.last_read_message_id), 0),
            sa.or_(col(m.author_id).is_(None), col(m.author_id) != user_id),
        )
        .group_by(col(m.room_id))
    )
    return {room_id: int(n) for room_id, n in (await s.exec(stmt)).all()}


async def list_rooms(hub: Hub, actor: Actor) -> list[RoomView]:
    """The caller's rooms with unread counts: their teams' rooms (admins: every team's)
    and their direct messages; the most recently active first."""
    async with hub.db.session() as s:
        teams = await _team_ids(s, actor)
    await _ensure_team_rooms(hub, teams)
    async with hub.db.session() as s:
        rooms = await _readable_rooms(s, actor)
        ids = [r.id for r in rooms if r.id is not None]
        unread = await _unread(s, actor.user_id, ids) if actor.user_id is not None else {}
        team_names = dict(
            (
                await s.exec(
                    select(Team.id, Team.name).where(
                        col(Team.id).in_([r.team_id for r in rooms if r.team_id])
                    )
                )
            ).all()
        )
        others = {o for r in rooms for o in _members(r) if o != actor.user_id}
        user_names = dict(
            (await s.exec(select(User.id, User.name).where(col(User.id).in_(sorted(others))))).all()
        )
        last_ids = [r.last_message_id for r in rooms if r.last_message_id is not None]
        lasts = {
            m.id: m
            for m in (await s.exec(select(ChatMessage).where(col(ChatMessage.id).in_(last_ids)))).all()
        }
    out = []
    for r in rooms:
        assert r.id is not None
        other = next((o for o in _members(r) if o != actor.user_id), None) if r.kind == "dm" else None
        name = team_names.get(r.team_id, "") if r.kind == "team" else user_names.get(other, "")
        last = lasts.get(r.last_message_id) if r.last_message_id is not None else None
        out.append(
            RoomView(
                id=r.id,
                kind=r.kind,
                team_id=r.team_id,
                name=name,
                user_id=other,
                last_message_id=r.last_message_id,
                unread=unread.get(r.id, 0),
                last=(
                    {"author_id": last.author_id, "body": last.body[:EXCERPT], "created_at": last.created_at}
                    if last is not None
                    else None
                ),
            )
        )
    out.sort(key=lambda v: (-(v.last_message_id or 0), v.kind != "team", v.name.casefold()))
    return out


async def start_dm(hub: Hub, actor: Actor, user_id: int) -> RoomView:
    """The direct-message room with ``user_id`` (made once per pair)."""
    me = actor.user_id
    if me is None:
        raise Invalid("only staff members have direct messages", code="chat_self")
    if user_id == me:
        raise Invalid("a direct message needs someone else", code="chat_self")
    a, b = sorted((me, user_id))
    async with hub.db.transaction() as s:
        other = await s.get(User, user_id)
        if other is None or not other.active:
            raise NotFound(f"user {user_id} not found or inactive", code="user_not_found")
        table = ChatRoom.__table__  # type: ignore[attr-defined]
        insert = sqlite_insert if hub.db.is_sqlite else pg_insert
        stmt = insert(table).values(kind="dm", user_a_id=a, user_b_id=b, created_at=hub.now())
        await core(s, stmt.on_conflict_do_nothing(index_elements=["user_a_id", "user_b_id"]))
        room = (await s.exec(select(ChatRoom).where(ChatRoom.user_a_id == a, ChatRoom.user_b_id == b))).one()
        unread = (await _unread(s, me, [room.id])).get(room.id, 0) if room.id is not None else 0  # type: ignore[list-item]
    assert room.id is not None
    return RoomView(room.id, "dm", None, other.name, user_id, room.last_message_id, unread)


# -- messages ----------------------------------------------------------------------------------
def conversation_refs(text: str) -> list[int]:
    """The conversations ``text`` names (``#123``, ``/console#c=123``), first ones first."""
    out: list[int] = []
    for m in REF.finditer(text):
        n = int(m.group(1))
        if 1 <= n <= MAX_ID and n not in out:
            out.append(n)
        if len(out) == MAX_REFS:
            break
    return out


async def _readers(s: AsyncSession, room: ChatRoom, user_ids: Iterable[int]) -> list[int]:
    """Those of ``user_ids`` who may read ``room`` now (active; members / admins)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return []
    users = (await s.exec(select(User).where(col(User.id).in_(wanted), col(User.active).is_(True)))).all()
    if room.kind == "dm":
        return sorted(u.id for u in users if u.id in _members(room) and u.id is not None)
    members = set(
        (
            await s.exec(
                select(TeamMember.user_id).where(
                    TeamMember.team_id == room.team_id, col(TeamMember.user_id).in_(wanted)
                )
            )
        ).all()
    )
    return sorted(u.id for u in users if u.id is not None and (u.id in members or u.role == "admin"))


async def _check_rate(s: AsyncSession, hub: Hub, user_id: int) -> None:
    since = hub.now() - SEND_WINDOW
    stmt = select(sa.func.count(), sa.func.min(ChatMessage.created_at)).where(
        ChatMessage.author_id == user_id, col(ChatMessage.created_at) > since
    )
    count, oldest = (await s.exec(stmt)).one()
    if count >= SEND_LIMIT:
        wait = max(1, int(((oldest or since) + SEND_WINDOW - hub.now()).total_seconds()) + 1)
        raise RateLimited(f"too many messages; wait {wait} s", extra={"retry_after": wait})


def _payload(room: ChatRoom, msg: ChatMessage) -> ChatMessagePayload:
    assert msg.id is not None and room.id is not None
    return ChatMessagePayload(
        message_id=msg.id,
        room_id=room.id,
        room_kind=room.kind,
        team_id=room.team_id,
        member_ids=_members(room) if room.kind == "dm" else [],
        author_id=msg.author_id,
        body=msg.body,
        mentions=list(msg.mentions),
        conversation_ids=list(msg.refs),
        created_at=msg.created_at,
    )


async def send(hub: Hub, actor: Actor, room_id: int, body: str) -> MessageView:
    """Post ``body`` to a room the caller may read."""
    me = actor.user_id
    if me is None:
        raise Invalid("only staff members write internal messages", code="invalid")
    text = body.strip()
    if not text:
        raise Invalid("the message is empty", code="empty_body")
    if len(text) > BODY_MAX:
        raise Invalid(f"the message exceeds {BODY_MAX} characters", code="too_long")
    async with unit_of_work(hub, me) as uow:
        s = uow.session
        room = await _room(s, actor, room_id)
        await _check_rate(s, hub, me)
        mentioned = [u for u in await _readers(s, room, await mentioned_users(s, text)) if u != me]
        msg = ChatMessage(
            room_id=room_id,
            author_id=me,
            body=text,
            search=normalize(text)[: 2 * BODY_MAX],
            mentions=mentioned,
            refs=conversation_refs(text),
            created_at=hub.now(),
        )
        s.add(msg)
        await s.flush()
        assert msg.id is not None
        # Never backwards, whatever order concurrent sends commit in (PostgreSQL
        # re-reads the row after waiting for its lock).
        last = col(ChatRoom.last_message_id)
        await core(
            s,
            sa.update(ChatRoom)
            .where(col(ChatRoom.id) == room_id)
            .values(last_message_id=sa.case((last > msg.id, last), else_=msg.id)),
        )
        await _set_read(uow, me, room_id, msg.id)  # one's own message is read
        uow.emit("chat.message", _payload(room, msg), team_id=room.team_id, user_id=me)
    return _view(msg)


def _view(m: ChatMessage, cards: dict[int, dict[str, Any]] | None = None) -> MessageView:
    assert m.id is not None
    refs = list(m.refs or [])
    return MessageView(
        id=m.id,
        room_id=m.room_id,
        author_id=m.author_id,
        body=m.body,
        mentions=list(m.mentions or []),
        conversation_ids=refs,
        created_at=m.created_at,
        cards=[cards[i] for i in refs if cards and i in cards],
    )


async def _cards(s: AsyncSession, actor: Actor, ids: Collection[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = (
        await s.exec(
            select(Conversation, Contact.name)
            .join(Contact, col(Contact.id) == Conversation.contact_id)
            .where(col(Conversation.id).in_(sorted(ids)))
        )
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for conv, contact_name in rows:
        if conv.id is not None and can_view(actor, conv):
            out[conv.id] = {
                "conversation_id": conv.id,
                "subject": conv.subject[:200],
                "contact_name": (contact_name or "")[:200],
                "channel": conv.channel,
                "status": str(conv.status),
            }
    return out


async def cards(hub: Hub, actor: Actor, ids: Collection[int]) -> list[dict[str, Any]]:
    """Link cards for the conversations among ``ids`` the caller may see (others are
    left out, as if they did not exist)."""
    wanted = sorted(set(ids))[: MAX_REFS * 5]
    async with hub.db.session() as s:
        found = await _cards(s, actor, wanted)
    return [found[i] for i in wanted if i in found]


async def history(
    hub: Hub, actor: Actor, room_id: int, *, before: int | None = None, limit: int = 50
) -> tuple[list[MessageView], int | None]:
    """A room's messages, newest page first, each page oldest first; ``next_cursor``
    (pass as ``before``) when older ones exist."""
    limit = max(1, min(limit, MAX_PAGE))
    async with hub.db.session() as s:
        await _room(s, actor, room_id)
        stmt = select(ChatMessage).where(ChatMessage.room_id == room_id)
        if before is not None:
            stmt = stmt.where(col(ChatMessage.id) < before)
        rows = list((await s.exec(stmt.order_by(col(ChatMessage.id).desc()).limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        found = await _cards(s, actor, {i for m in rows for i in (m.refs or [])})
    rows.reverse()
    return [_view(m, found) for m in rows], (rows[0].id if more and rows else None)


async def search(
    hub: Hub, actor: Actor, q: str, *, before: int | None = None, limit: int = 30
) -> tuple[list[MessageView], int | None]:
    """Messages in the caller's rooms containing ``q`` (hub.textnorm's form: Arabic
    letter forms and marks, digits and case do not matter), newest first."""
    text = normalize(q)
    if len(text) < 2:
        raise Invalid("search for at least 2 characters", code="invalid")
    limit = max(1, min(limit, MAX_PAGE))
    async with hub.db.session() as s:
        rooms = [r.id for r in await _readable_rooms(s, actor) if r.id is not None]
        if not rooms:
            return [], None
        stmt = select(ChatMessage).where(
            col(ChatMessage.room_id).in_(rooms), col(ChatMessage.search).contains(text, autoescape=True)
        )
        if before is not None:
            stmt = stmt.where(col(ChatMessage.id) < before)
        rows = list((await s.exec(stmt.order_by(col(ChatMessage.id).desc()).limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        found = await _cards(s, actor, {i for m in rows for i in (m.refs or [])})
    return [_view(m, found) for m in rows], (rows[-1].id if more and rows else None)


# -- read markers ------------------------------------------------------------------------------
async def _set_read(uow: UnitOfWork, user_id: int, room_id: int, message_id: int) -> bool:
    """Move the marker forward (never back); True when it moved."""
    s = uow.session
    row = await s.get(ChatRead, (user_id, room_id))
    if row is not None and row.last_read_message_id >= message_id:
        return False
    if row is None:
        row = ChatRead(
            user_id=user_id, room_id=room_id, last_read_message_id=message_id, updated_at=uow.hub.now()
        )
    else:
        row.last_read_message_id = message_id
        row.updated_at = uow.hub.now()
    s.add(row)
    await s.flush()
    return True


async def mark_read(hub: Hub, actor: Actor, room_id: int, message_id: int | None = None) -> tuple[int, int]:
    """Read the room up to ``message_id`` (default: its newest message). Returns
    (last read message id, unread left); moving the marker emits ``chat.read`` to the
    reader's own consoles, a marker already there emits nothing."""
    me = actor.user_id
    if me is None:
        raise Invalid("only staff members read internal messages", code="invalid")
    async with unit_of_work(hub, me) as uow:
        s = uow.session
        room = await _room(s, actor, room_id)
        newest = room.last_message_id or 0
        target = newest if message_id is None else min(message_id, newest)
        moved = target > 0 and await _set_read(uow, me, room_id, target)
        unread = (await _unread(s, me, [room_id])).get(room_id, 0)
        row = await s.get(ChatRead, (me, room_id))
        marker = row.last_read_message_id if row is not None else 0
        if moved:
            uow.emit(
                "chat.read",
                ChatReadPayload(room_id=room_id, last_read_message_id=marker, unread=unread),
                user_id=me,
            )
    return marker, unread


# -- @mentions become notifications (the notifications reactor, after commit) -----------------
async def _chat_mentions(s: AsyncSession, e: LoggedEvent, actor_id: int | None) -> list[notifications.Draft]:
    p = e.payload
    room = await s.get(ChatRoom, p.get("room_id"))
    mentions = [i for i in p.get("mentions") or [] if isinstance(i, int)]
    if room is None or not mentions:
        return []
    author = p.get("author_id")
    excerpt = " ".join(str(p.get("body") or "").split())[:EXCERPT]
    data = {"excerpt": excerpt, "room_id": room.id, "message_id": p.get("message_id")}
    return [
        notifications.Draft(uid, "mention", actor_id=author if isinstance(author, int) else None, data=data)
        for uid in await _readers(s, room, mentions)  # still allowed to read it now
        if uid != author
    ]


notifications.register("chat.message", _chat_mentions)
